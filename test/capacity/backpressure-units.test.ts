/**
 * The backpressure mechanisms on their own, on a ManualClock: token buckets at their thresholds
 * and their bounded memory, the circuit breaker's states, the load shedder's levels and
 * hysteresis over a real SQLite queue's depth, and the queue-read pacer's batches and backoff.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Backpressure } from '../../src/capacity/backpressure/backpressure.js';
import { BreakerRegistry, BrokenCircuitError, CircuitBreaker, HALF_OPEN_BUSY_RETRY_MS } from '../../src/capacity/backpressure/circuit-breaker.js';
import { clientKey } from '../../src/capacity/backpressure/client-key.js';
import { LoadShedder } from '../../src/capacity/backpressure/load-shedder.js';
import { QueueReadPacer } from '../../src/capacity/backpressure/read-pacer.js';
import { TokenBucketLimiter } from '../../src/capacity/backpressure/token-bucket.js';
import { DEFAULT_CAPACITY_POLICY } from '../../src/capacity/policy.js';
import { ManualClock } from '../../src/core/clock.js';
import { SpillwayError } from '../../src/core/errors.js';
import { SqliteJobQueue } from '../../src/queue/local/sqlite-job-queue.js';

const BP = DEFAULT_CAPACITY_POLICY.backpressure;

describe('token bucket', () => {
  it('admits the burst of 10, refuses the 11th for 500 ms, and admits one more 500 ms later', () => {
    const clock = new ManualClock();
    const buckets = new TokenBucketLimiter(BP.tokenBucket, clock);
    for (let i = 1; i <= 10; i++) assert.equal(buckets.take('a').ok, true, `request ${i}`);
    assert.deepEqual(buckets.take('a'), { ok: false, retryAfterMs: 500 });
    clock.advance(499);
    assert.equal(buckets.take('a').ok, false);
    clock.advance(1);
    assert.equal(buckets.take('a').ok, true);
    assert.equal(buckets.take('a').ok, false);
    assert.equal(buckets.take('b').ok, true, 'another key has its own bucket');
  });

  it('refills at 2 per second up to the burst, never beyond', () => {
    const clock = new ManualClock();
    const buckets = new TokenBucketLimiter(BP.tokenBucket, clock);
    for (let i = 0; i < 10; i++) buckets.take('a');
    clock.advance(60_000);
    let admitted = 0;
    while (buckets.take('a').ok) admitted++;
    assert.equal(admitted, 10);
  });

  it('remembers at most maxKeys buckets, forgetting the least recently used (a forgotten bucket is full)', () => {
    const clock = new ManualClock();
    const buckets = new TokenBucketLimiter({ ...BP.tokenBucket, burst: 1, maxKeys: 3 }, clock);
    for (const key of ['a', 'b', 'c']) assert.equal(buckets.take(key).ok, true);
    assert.equal(buckets.take('a').ok, false, 'a is empty and now the most recently used');
    assert.equal(buckets.take('d').ok, true);
    assert.equal(buckets.size, 3);
    assert.equal(buckets.take('b').ok, true, 'b was evicted, so it came back full');
    assert.equal(buckets.take('a').ok, false, 'a was kept');
  });
});

describe('client key', () => {
  it('is the API key, else the bearer token, else the IP, and never holds a secret', () => {
    const byKey = clientKey({ headers: { 'x-api-key': 'sk-secret', authorization: 'Bearer tok' }, ip: '10.0.0.1' });
    assert.match(byKey, /^key:[0-9a-f]{32}$/);
    assert.ok(!byKey.includes('sk-secret'));
    const byToken = clientKey({ headers: { authorization: 'Bearer tok-secret' }, ip: '10.0.0.1' });
    assert.match(byToken, /^bearer:[0-9a-f]{32}$/);
    assert.ok(!byToken.includes('tok-secret'));
    assert.equal(clientKey({ headers: { authorization: 'Basic abc' }, ip: '10.0.0.1' }), 'ip:10.0.0.1');
    assert.equal(clientKey({ headers: {}, ip: '::1' }), 'ip:::1');
    assert.equal(clientKey({ headers: { 'x-api-key': 'k' }, ip: '1.1.1.1' }), clientKey({ headers: { 'x-api-key': 'k' }, ip: '2.2.2.2' }));
  });
});

describe('circuit breaker', () => {
  const make = (clock = new ManualClock()) => ({ clock, breaker: new CircuitBreaker('fn:x', BP.circuitBreaker, clock) });

  it('opens after 5 consecutive failures; a success in between starts the count again', () => {
    const { breaker } = make();
    for (let i = 0; i < 4; i++) breaker.failure();
    breaker.success();
    for (let i = 0; i < 4; i++) breaker.failure();
    assert.equal(breaker.state, 'closed');
    breaker.failure();
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.allow(), false);
    assert.equal(breaker.retryAfterMs, 30_000);
  });

  it('half-opens after 30 s, admits exactly one trial, and closes on its success', () => {
    const { clock, breaker } = make();
    for (let i = 0; i < 5; i++) breaker.failure();
    clock.advance(29_999);
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.retryAfterMs, 1);
    clock.advance(1);
    assert.equal(breaker.state, 'half_open');
    assert.equal(breaker.retryAfterMs, 0);
    assert.equal(breaker.allow(), true, 'the trial');
    assert.equal(breaker.allow(), false, 'only one trial at a time');
    assert.equal(breaker.retryAfterMs, HALF_OPEN_BUSY_RETRY_MS);
    breaker.success();
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.allow(), true);
  });

  it('re-opens for another 30 s when the trial fails; a released trial frees the slot', () => {
    const { clock, breaker } = make();
    for (let i = 0; i < 5; i++) breaker.failure();
    clock.advance(30_000);
    assert.equal(breaker.allow(), true);
    breaker.release();
    assert.equal(breaker.state, 'half_open');
    assert.equal(breaker.allow(), true, 'the slot is free again');
    breaker.failure();
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.retryAfterMs, 30_000);
  });

  it('ignores late results while open, and reset() closes it', () => {
    const { breaker } = make();
    for (let i = 0; i < 5; i++) breaker.failure();
    breaker.success();
    assert.equal(breaker.state, 'open', 'a late success from before the opening does not close it');
    breaker.reset();
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.consecutiveFailures, 0);
  });

  it('execute() refuses with BrokenCircuitError while open and counts rejections', async () => {
    const { breaker } = make();
    for (let i = 0; i < 5; i++) await assert.rejects(breaker.execute(() => Promise.reject(new Error('down'))), /down/);
    await assert.rejects(breaker.execute(async () => 1), (err: unknown) => err instanceof BrokenCircuitError && err.retryAfterMs === 30_000);
  });

  it('the registry hands out one breaker per key and stays bounded', () => {
    const clock = new ManualClock();
    const registry = new BreakerRegistry(BP.circuitBreaker, clock, 2);
    const burst = registry.get('burst:lambda');
    assert.equal(registry.get('burst:lambda'), burst);
    for (let i = 0; i < 5; i++) burst.failure();
    registry.get('downstream:http://a:80');
    registry.get('downstream:http://b:80');
    assert.equal(registry.size, 2);
    assert.equal(registry.peek('burst:lambda'), burst, 'the open breaker was kept; a closed one was forgotten');
    assert.deepEqual(registry.notClosed(), [{ key: 'burst:lambda', state: 'open', retryAfterMs: 30_000 }]);
  });

  it('a function breaker counts function faults only', () => {
    const clock = new ManualClock();
    const bp = new Backpressure({ policy: BP, clock, queueDepth: async () => 0 });
    const fn = { id: 'fn_1', name: 'one' };
    const req = { headers: {}, ip: '127.0.0.1' };
    for (let i = 0; i < 10; i++) bp.admitInvocation(fn, req).report('INTERNAL');
    assert.equal(bp.functionBreaker('fn_1').state, 'closed', 'platform faults do not count');
    for (let i = 0; i < 5; i++) bp.admitInvocation(fn, req).report('TIMEOUT');
    assert.throws(
      () => bp.admitInvocation(fn, req),
      (err: unknown) => err instanceof SpillwayError && err.code === 'CIRCUIT_OPEN' && err.details?.retryAfterMs === 30_000 && /Function "one"/.test(err.message),
    );
    bp.functionDeployed('fn_1');
    assert.equal(bp.functionBreaker('fn_1').state, 'closed', 'a new version closes it');
  });
});

describe('load shedding', () => {
  it('sheds low above 1000 and normal above 2000, never high, until the queue is below 500', () => {
    const shedder = new LoadShedder({ policy: BP.loadShedding, clock: new ManualClock(), depth: async () => 0 });
    const levels = [1000, 1001, 1500, 2000, 2001, 1999, 1000, 500, 499, 1000, 1001].map((depth) => [depth, shedder.observe(depth)]);
    assert.deepEqual(levels, [
      [1000, 'none'],
      [1001, 'low'],
      [1500, 'low'],
      [2000, 'low'],
      [2001, 'normal'],
      [1999, 'normal'],
      [1000, 'normal'],
      [500, 'normal'],
      [499, 'none'],
      [1000, 'none'],
      [1001, 'low'],
    ]);
  });

  it('reads a real queue’s depth at most once a second, and applies the levels per priority', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spillway-shed-'));
    const clock = new ManualClock();
    const queue = new SqliteJobQueue({ path: join(dir, 'queue.db'), clock });
    let reads = 0;
    const shedder = new LoadShedder({
      policy: BP.loadShedding,
      clock,
      depth: async () => {
        reads++;
        return queue.pending();
      },
    });
    try {
      // Delayed jobs (retries, postponed executions) count: they are waiting to run.
      for (let i = 0; i < 1000; i++) await queue.enqueue({ executionId: `ex_${i}`, attempt: 0 }, { delayMs: i < 10 ? 3_600_000 : 0 });
      assert.deepEqual(await shedder.check('low'), { ok: true, depth: 1000 }, 'at the threshold, not above it');
      await queue.enqueue({ executionId: 'ex_1000', attempt: 0 });
      assert.deepEqual(await shedder.check('low'), { ok: true, depth: 1000 }, 'the depth read is reused for a second');
      clock.advance(1000);
      const low = await shedder.check('low');
      assert.equal(low.ok, false);
      assert.equal(low.depth, 1001);
      assert.equal(low.ok === false && low.retryAfterMs > 0, true);
      assert.equal((await shedder.check('normal')).ok, true);
      assert.equal((await shedder.check('high')).ok, true);

      // Drain to 600: still shedding (hysteresis), and the cached depth is reused within the second.
      const readsBefore = reads;
      const taken = await queue.receive({ max: 401, leaseMs: 60_000, waitMs: 0 });
      for (const d of taken) await queue.ack(d);
      assert.equal((await shedder.check('low')).ok, false);
      assert.equal(reads, readsBefore, 'no new read within the second');
      clock.advance(1000);
      const at600 = await shedder.check('low');
      assert.equal(at600.depth, 600);
      assert.equal(at600.ok, false, 'still shed at 600: shedding stops below 500');
      for (const d of await queue.receive({ max: 101, leaseMs: 60_000, waitMs: 0 })) await queue.ack(d);
      clock.advance(1000);
      const at499 = await shedder.check('low');
      assert.deepEqual(at499, { ok: true, depth: 499 });
    } finally {
      await queue.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('queue-read pacer', () => {
  it('reads at most 5, pauses 100 ms after a full read, none after a short one', () => {
    const pacer = new QueueReadPacer(BP.queueReads);
    assert.equal(pacer.batch(64), 5);
    assert.equal(pacer.batch(3), 3);
    assert.equal(pacer.afterRead(5, 5), 100);
    assert.equal(pacer.afterRead(2, 5), 0);
  });

  it('backs off 100 ms doubling to 30 s on errors, and resets after a read', () => {
    const pacer = new QueueReadPacer(BP.queueReads);
    const delays = Array.from({ length: 12 }, () => pacer.afterError());
    assert.deepEqual(delays, [100, 200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 30_000, 30_000, 30_000]);
    pacer.afterRead(0, 5);
    assert.equal(pacer.afterError(), 100);
  });
});
