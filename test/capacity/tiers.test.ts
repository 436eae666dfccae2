/**
 * The tiers end to end, on a real server with real worker processes: the baseline shares load and
 * heals, paths pin tiers, the controller's spillover weights split traffic exactly, scaling events
 * are stored, listed and pushed live, the burst tier goes away when idle, and capacity failures
 * answer with honest codes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { ManualClock } from '../../src/core/clock.js';
import type { UtilisationSample } from '../../src/capacity/spillover-controller.js';
import type { LocalBurstTier } from '../../src/capacity/local-burst-tier.js';
import { FakeLambda } from '../helpers/fake-lambda.js';
import { api, deploy, startPlatform, type TestPlatform } from '../helpers/platform.js';

const SLOW = `export default { async fetch(request) {
  const ms = Number(new URL(request.url).searchParams.get('ms') ?? 0);
  await new Promise((r) => setTimeout(r, ms));
  return new Response('ok');
} }`;

/** Never fires in a test: ticks are driven by calling capacity.tick(). */
const NO_TIMER = { spillover: { sampleIntervalMs: 7 * 24 * 3_600_000 } };

async function call(t: TestPlatform, path: string): Promise<{ status: number; tier: string | null; instance: string | null; executionId: string | null; body: string; retryAfter: string | null; code?: string }> {
  const res = await fetch(`${t.base}${path}`);
  const body = await res.text();
  const code = res.headers.get('content-type')?.includes('json') ? (JSON.parse(body) as { error?: { code: string } }).error?.code : undefined;
  return { status: res.status, tier: res.headers.get('x-spillway-tier'), instance: res.headers.get('x-spillway-instance'), executionId: res.headers.get('x-spillway-execution-id'), body, retryAfter: res.headers.get('retry-after'), code };
}

describe('capacity tiers', () => {
  it('two baseline workers share concurrent calls; headers and execution records name the worker', async () => {
    const t = await startPlatform({ SPILLWAY_BASELINE_WORKERS: 2, SPILLWAY_BURST_TIER: 'off' });
    try {
      assert.equal(t.platform.capacity.baseline.size, 2);
      await deploy(t.base, 'slow', SLOW);
      const calls = await Promise.all(Array.from({ length: 10 }, () => call(t, '/fn/slow/?ms=150')));
      for (const c of calls) {
        assert.equal(c.status, 200);
        assert.equal(c.body, 'ok');
        assert.equal(c.tier, 'baseline');
      }
      assert.deepEqual(new Set(calls.map((c) => c.instance)), new Set(['baseline-0', 'baseline-1']));
      await t.platform.recorder.flush();
      for (const c of calls) assert.equal((await t.platform.store.getExecution(c.executionId!))?.instanceId, c.instance);
    } finally {
      await t.close();
    }
  });

  it('paths pin a tier: /burst/ and /lambda/ cold-start a burst worker once, /baseline/ and /fargate/ stay on the baseline', async () => {
    const t = await startPlatform({ SPILLWAY_BURST_TIER: 'local' });
    try {
      await deploy(t.base, 'slow', SLOW);
      const first = await call(t, '/burst/fn/slow/');
      assert.deepEqual([first.status, first.tier, first.instance, first.body], [200, 'burst', 'burst-1', 'ok']);
      const second = await call(t, '/lambda/fn/slow/');
      assert.deepEqual([second.status, second.tier, second.instance], [200, 'burst', 'burst-1']);
      for (const path of ['/baseline/fn/slow/', '/fargate/fn/slow/', '/fn/slow/']) {
        const c = await call(t, path);
        assert.deepEqual([c.status, c.tier, c.instance], [200, 'baseline', 'baseline-0'], path);
      }
      await t.platform.recorder.flush();
      assert.equal((await t.platform.store.getExecution(first.executionId!))?.coldStart, true);
      assert.equal((await t.platform.store.getExecution(second.executionId!))?.coldStart, false);
      assert.equal(t.platform.capacity.snapshot().burst?.coldStarts, 1);
    } finally {
      await t.close();
    }
  });

  it('spillover sends exactly 30 of every 100 unpinned calls to the burst tier; events are stored, listed and pushed live; recovery and scale-down follow the windows', async () => {
    const clock = new ManualClock();
    let sample: UtilisationSample = { cpuPct: 10, memoryPct: 10 };
    const t = await startPlatform({ SPILLWAY_BURST_TIER: 'local' }, { clock, utilisation: async () => sample, policy: { ...NO_TIMER, baseline: { minWorkers: 1, maxWorkers: 2 } } });
    const socket = new WebSocket(`${t.base.replace('http', 'ws')}/api/events?types=scaling_event`);
    const pushed: Array<{ type: string; data: { action: string }; timestamp: string }> = [];
    socket.on('message', (m) => pushed.push(JSON.parse(String(m))));
    try {
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      await deploy(t.base, 'slow', SLOW);

      const normal = [];
      for (let i = 0; i < 10; i++) normal.push((await call(t, '/fn/slow/')).tier);
      assert.deepEqual(new Set(normal), new Set(['baseline']));

      sample = { cpuPct: 91, memoryPct: 20 };
      const changes = await t.platform.capacity.tick();
      assert.deepEqual(changes.map((c) => c.action).sort(), ['scale_up', 'spillover_on']);
      assert.equal(t.platform.capacity.baseline.size, 2, 'scale_up started a real worker process');
      assert.deepEqual(t.platform.capacity.snapshot().weights, { baseline: 70, burst: 30 });

      // Spilled calls only go to burst capacity that is up (no one waits on a worker's cold start): start it first.
      assert.equal((await call(t, '/burst/fn/slow/')).instance, 'burst-1');
      const tiers: string[] = [];
      for (let i = 0; i < 20; i++) {
        const c = await call(t, '/fn/slow/');
        assert.equal(c.status, 200);
        tiers.push(c.tier!);
      }
      assert.equal(tiers.filter((x) => x === 'burst').length, 6, `20 calls at 70/30: ${tiers.join(',')}`);

      const history = await api(t.base, 'GET', '/api/metrics/scaling-history');
      assert.equal(history.status, 200);
      assert.deepEqual(history.body.data.map((e: { action: string }) => e.action).sort(), ['scale_up', 'spillover_on']);
      const on = history.body.data.find((e: { action: string }) => e.action === 'spillover_on');
      assert.equal(on.tier, 'burst');
      assert.equal(on.metric, 'cpu_pct');
      assert.equal(on.value, 91);
      assert.equal(on.threshold, 85);
      assert.equal(on.timestamp, new Date(clock.now()).toISOString());

      // Calm: spillover ends after 5 minutes below 70%, the extra worker after 15.
      sample = { cpuPct: 20, memoryPct: 20 };
      await t.platform.capacity.tick();
      clock.advance(4 * 60_000 + 59_000);
      assert.deepEqual(await t.platform.capacity.tick(), []);
      clock.advance(1_000);
      assert.deepEqual((await t.platform.capacity.tick()).map((c) => c.action), ['spillover_off']);
      assert.deepEqual(t.platform.capacity.snapshot().weights, { baseline: 100, burst: 0 });
      for (let i = 0; i < 10; i++) assert.equal((await call(t, '/fn/slow/')).tier, 'baseline');
      clock.advance(10 * 60_000);
      assert.deepEqual((await t.platform.capacity.tick()).map((c) => c.action), ['scale_down']);
      assert.equal(t.platform.capacity.baseline.size, 1);

      const filtered = await api(t.base, 'GET', '/api/metrics/scaling-history?action=scale_down');
      assert.deepEqual(filtered.body.data.map((e: { action: string }) => e.action), ['scale_down']);
      const bad = await api(t.base, 'GET', '/api/metrics/scaling-history?action=explode');
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.code, 'VALIDATION_FAILED');
      assert.match(bad.body.error.message, /action/);

      const ordered = ['scale_up', 'spillover_on', 'spillover_off', 'scale_down'];
      if (pushed.length < 4) await new Promise<void>((resolve) => socket.on('message', () => pushed.length >= 4 && resolve()));
      assert.deepEqual(pushed.map((m) => m.type), ['scaling_event', 'scaling_event', 'scaling_event', 'scaling_event']);
      assert.deepEqual(pushed.map((m) => m.data.action).sort(), [...ordered].sort());
      assert.deepEqual(pushed.slice(2).map((m) => m.data.action), ['spillover_off', 'scale_down']);
    } finally {
      socket.close();
      await t.close();
    }
  });

  it('a worker process killed mid-call fails only its own calls; the other worker keeps serving, and the baseline heals', async () => {
    const t = await startPlatform({ SPILLWAY_BASELINE_WORKERS: 2, SPILLWAY_BURST_TIER: 'off' }, { policy: NO_TIMER });
    try {
      await deploy(t.base, 'slow', SLOW);
      const [worker] = t.platform.capacity.baseline.processWorkers;
      assert.ok(worker?.pid);
      // Two concurrent calls: one on each worker (least loaded first).
      const calls = [call(t, '/fn/slow/?ms=5000'), call(t, '/fn/slow/?ms=300')];
      while (worker.inFlight === 0) await new Promise((r) => setImmediate(r));
      process.kill(worker.pid!, 'SIGKILL');
      await worker.whenExited;
      const results = await Promise.all(calls);
      const crashed = results.find((r) => r.instance === 'baseline-1')!;
      const served = results.find((r) => r.instance === 'baseline-0')!;
      assert.equal(crashed.status, 502);
      assert.equal(crashed.code, 'ISOLATE_CRASHED');
      assert.deepEqual([served.status, served.body], [200, 'ok']);
      assert.equal(t.platform.capacity.baseline.size, 1);
      assert.equal((await call(t, '/fn/slow/')).status, 200);

      await t.platform.capacity.tick();
      assert.equal(t.platform.capacity.baseline.size, 2, 'the next controller step starts a replacement');
      const again = await Promise.all(Array.from({ length: 4 }, () => call(t, '/fn/slow/?ms=100')));
      assert.ok(again.some((c) => c.instance === 'baseline-2'));
    } finally {
      await t.close();
    }
  });

  it('an idle burst worker is stopped after burst.idleStopMs on the clock', async () => {
    const clock = new ManualClock();
    const t = await startPlatform({ SPILLWAY_BURST_TIER: 'local' }, { clock, policy: { ...NO_TIMER, burst: { idleStopMs: 60_000 } } });
    try {
      await deploy(t.base, 'slow', SLOW);
      assert.equal((await call(t, '/burst/fn/slow/')).instance, 'burst-1');
      const burst = t.platform.capacity.burst as LocalBurstTier;
      const [worker] = burst.processWorkers;
      assert.ok(worker);
      // The call's metering (its last message) may arrive just after the response: idle means none in flight.
      while (worker.inFlight > 0) await new Promise((r) => setImmediate(r));
      clock.advance(59_000);
      assert.equal(burst.processWorkers.length, 1);
      clock.advance(15_000);
      assert.equal(burst.processWorkers.length, 0);
      await worker.whenExited;
      const next = await call(t, '/burst/fn/slow/');
      assert.deepEqual([next.status, next.instance], [200, 'burst-2']);
    } finally {
      await t.close();
    }
  });

  it('a full baseline with no burst tier queues calls briefly, then answers 503 NO_CAPACITY with Retry-After; /burst/ without a burst tier is 503 BURST_UNAVAILABLE', async () => {
    const t = await startPlatform({ SPILLWAY_BURST_TIER: 'off' }, { policy: { baseline: { minWorkers: 1, maxInFlightPerWorker: 1 }, burst: { maxQueued: 1, maxQueueWaitMs: 20_000 } } });
    try {
      await deploy(t.base, 'slow', SLOW);
      const results = await Promise.all([call(t, '/fn/slow/?ms=400'), call(t, '/fn/slow/?ms=10'), call(t, '/fn/slow/?ms=10')]);
      const statuses = results.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 200, 503], 'one runs, one waits for its slot, one is refused');
      const refused = results.find((r) => r.status === 503)!;
      assert.equal(refused.code, 'NO_CAPACITY');
      assert.equal(refused.retryAfter, '1');
      assert.equal(t.platform.capacity.snapshot().router.queued, 1);

      const burst = await call(t, '/burst/fn/slow/');
      assert.deepEqual([burst.status, burst.code, burst.retryAfter, burst.tier], [503, 'BURST_UNAVAILABLE', '1', 'burst']);
      assert.equal((await call(t, '/fn/slow/')).status, 200, 'the function still serves');
    } finally {
      await t.close();
    }
  });

  it('SPILLWAY_BURST_TIER=lambda: /burst/ calls go through the Lambda tier (real SDK, against a local stand-in for the Lambda API) and answer with the handler\'s response', async () => {
    const fake = await new FakeLambda().start();
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
    process.env.AWS_SECRET_ACCESS_KEY = 'secret';
    const t = await startPlatform({ SPILLWAY_BURST_TIER: 'lambda', SPILLWAY_LAMBDA_ENDPOINT: fake.endpoint, SPILLWAY_LAMBDA_ROLE_ARN: 'arn:aws:iam::123456789012:role/spillway-fn' });
    try {
      await deploy(t.base, 'slow', SLOW);
      const c = await call(t, '/burst/fn/slow/?ms=5');
      assert.deepEqual([c.status, c.body, c.tier], [200, 'ok', 'burst']);
      assert.match(c.instance ?? '', /^lambda:spillway-slow-/);
      assert.equal(fake.functions.size, 1, 'the version was deployed as one Lambda function');
      assert.equal((await call(t, '/fn/slow/')).tier, 'baseline', 'unpinned calls stay on the baseline at 100/0');
      assert.equal(t.platform.capacity.snapshot().burst?.kind, 'lambda');
    } finally {
      await t.close();
      await fake.stop();
      process.env.AWS_ACCESS_KEY_ID = saved.id;
      process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
      if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
      if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
    }
  });

  it('a spilled call never waits for a burst worker\'s cold start: it stays on the baseline while the burst tier warms up', async () => {
    const clock = new ManualClock();
    let sample: UtilisationSample = { cpuPct: 10, memoryPct: 10 };
    const t = await startPlatform({ SPILLWAY_BURST_TIER: 'local' }, { clock, utilisation: async () => sample, policy: { ...NO_TIMER, baseline: { minWorkers: 1, maxWorkers: 1 } } });
    try {
      await deploy(t.base, 'slow', SLOW);
      sample = { cpuPct: 95, memoryPct: 10 };
      assert.deepEqual((await t.platform.capacity.tick()).map((c) => c.action), ['spillover_on']);
      const burst = t.platform.capacity.burst as LocalBurstTier;
      const first = [];
      for (let i = 0; i < 4; i++) first.push((await call(t, '/fn/slow/')).tier);
      // The 4th call's turn found no burst worker up: it ran on the baseline, and one started warming.
      assert.deepEqual(first, ['baseline', 'baseline', 'baseline', 'baseline']);
      assert.ok(burst.warming, 'a burst worker is starting');
      await burst.warming;
      assert.equal(burst.processWorkers.length, 1);
      const next = [];
      for (let i = 0; i < 10; i++) next.push((await call(t, '/fn/slow/')).tier);
      assert.equal(next.filter((x) => x === 'burst').length, 3);
    } finally {
      await t.close();
    }
  });
});
