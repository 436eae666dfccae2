/**
 * Backpressure end to end: a real server on real SQLite and isolates, on a ManualClock so windows
 * pass without sleeping. Token buckets on submissions (and on invocations when the policy says
 * so), circuit breakers per function (HTTP calls, submissions, queued executions postponed, a
 * deploy closing the circuit) and per downstream origin (outbound fetch), load shedding by
 * priority, and the validation of `priority`.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { api, deploy, startPlatform, waitForExecution, type TestPlatform } from '../helpers/platform.js';

/** Stops the worker: its receive waits up to 1 s of the Clock, so the clock has to pass it. */
async function stopWorker(t: TestPlatform, clock: ManualClock): Promise<void> {
  const stopping = t.platform.worker.stop();
  clock.advance(1000);
  await stopping;
}

const asyncExecutions = async (t: TestPlatform, functionId: string) => (await t.platform.store.listExecutions({ functionId, trigger: 'async' })).length;

describe('token bucket on submissions (default policy)', () => {
  let t: TestPlatform;
  let clock: ManualClock;
  before(async () => {
    clock = new ManualClock();
    t = await startPlatform({}, { clock });
  });
  after(async () => t.close());

  it('admits 10 submissions from one IP, refuses the 11th with 429 + Retry-After: 1 and creates nothing, admits one more 500 ms later', async () => {
    const fn = await deploy(t.base, 'bucketed', 'export function f(x) { return x; }');
    for (let i = 1; i <= 10; i++) assert.equal((await api(t.base, 'POST', `/api/functions/${fn.id}/execute`, { input: i })).status, 202, `submission ${i}`);
    const before = await asyncExecutions(t, fn.id);
    const refused = await api(t.base, 'POST', `/api/functions/${fn.id}/execute`, { input: 11 });
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.equal(refused.headers.get('x-spillway-error-source'), 'platform');
    assert.equal(refused.body.error.code, 'RATE_LIMITED');
    assert.match(refused.body.error.message, /client IP .*at most 10 at once, refilled at 2 per second\. Wait 1 s/);
    assert.equal(refused.body.error.details?.retryAfterMs, 500);
    assert.equal(await asyncExecutions(t, fn.id), before, 'the refused submission created no execution');

    clock.advance(499);
    assert.equal((await api(t.base, 'POST', `/api/functions/${fn.id}/execute`, { input: 12 })).status, 429);
    clock.advance(1);
    assert.equal((await api(t.base, 'POST', `/api/functions/${fn.id}/execute`, { input: 13 })).status, 202);
    assert.equal((await api(t.base, 'POST', `/api/functions/${fn.id}/execute`, { input: 14 })).status, 429);
  });

  it('keys buckets by API key, then bearer token, before the IP', async () => {
    const fn = await deploy(t.base, 'keyed', 'export function f() { return 1; }');
    const submit = (headers: Record<string, string>) => api(t.base, 'POST', `/api/functions/${fn.id}/execute`, {}, headers);
    // The IP's bucket is empty after the test above; keys and tokens have buckets of their own.
    assert.equal((await submit({})).status, 429);
    for (let i = 0; i < 10; i++) assert.equal((await submit({ 'x-api-key': 'key-a' })).status, 202);
    assert.equal((await submit({ 'x-api-key': 'key-a' })).status, 429);
    assert.equal((await submit({ 'x-api-key': 'key-b' })).status, 202);
    assert.equal((await submit({ authorization: 'Bearer token-1' })).status, 202);
    const byToken = await submit({ authorization: 'Bearer token-1', 'x-api-key': 'key-a' });
    assert.equal(byToken.status, 429, 'x-api-key wins over the bearer token');
    assert.match(byToken.body.error.message, /this API key/);
    assert.ok(!byToken.body.error.message.includes('key-a'), 'the key itself is never echoed');
  });

  it('does not limit /fn invocations unless the policy says so', async () => {
    await deploy(t.base, 'free', 'export default { fetch() { return new Response("ok"); } }');
    for (let i = 0; i < 15; i++) assert.equal((await fetch(`${t.base}/fn/free`)).status, 200);
  });

  it('400s an unknown priority, naming the field and the values allowed', async () => {
    const fn = await deploy(t.base, 'prio', 'export function f() { return 1; }');
    const res = await api(t.base, 'POST', `/api/functions/${fn.id}/execute`, { input: 1, priority: 'urgent' }, { 'x-api-key': 'prio' });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'VALIDATION_FAILED');
    assert.match(res.body.error.message, /priority: got "urgent", must be "low", "normal" or "high"/);
    const ok = await api(t.base, 'POST', `/api/functions/${fn.id}/execute`, { input: 1, priority: 'high' }, { 'x-api-key': 'prio' });
    assert.equal(ok.status, 202);
    assert.equal(ok.body.data.priority, 'high');
  });

  it('sheds low above 1000 pending executions and normal above 2000, never high', async () => {
    const fn = await deploy(t.base, 'shed', 'export function f() { return 1; }');
    // Nothing drains the queue while the worker is stopped; the jobs are real, delayed an hour.
    await stopWorker(t, clock);
    const fill = async (n: number) => {
      for (let i = 0; i < n; i++) await t.platform.queue.enqueue({ executionId: `ex_filler_${i}`, attempt: 0 }, { delayMs: 3_600_000 });
    };
    const submit = (priority: string) => api(t.base, 'POST', `/api/functions/${fn.id}/execute`, { priority }, { 'x-api-key': `shed-${priority}` });
    await fill(1001);
    clock.advance(1000); // past the depth cache
    const low = await submit('low');
    assert.equal(low.status, 503);
    assert.equal(low.body.error.code, 'LOAD_SHED');
    assert.equal(low.headers.get('retry-after'), '10');
    assert.match(low.body.error.message, /holds 10\d\d pending executions, so "low" priority submissions \(above 1000\) are refused until it is back below 500/);
    assert.equal(await asyncExecutions(t, fn.id), 0, 'the shed submission created no execution');
    assert.equal((await submit('normal')).status, 202);
    assert.equal((await submit('high')).status, 202);

    await fill(1000);
    clock.advance(1000);
    const normal = await submit('normal');
    assert.equal(normal.status, 503);
    assert.equal(normal.body.error.code, 'LOAD_SHED');
    assert.match(normal.body.error.message, /"low" and "normal" priority submissions \(above 2000\)/);
    assert.equal((await submit('low')).status, 503);
    assert.equal((await submit('high')).status, 202, 'high is never shed');
  });
});

describe('token bucket on invocations (limitInvocations: true)', () => {
  let t: TestPlatform;
  let clock: ManualClock;
  before(async () => {
    clock = new ManualClock();
    t = await startPlatform({}, { clock, policy: { backpressure: { tokenBucket: { limitInvocations: true } } } });
  });
  after(async () => t.close());

  it('admits 10 calls, 429s the 11th without running it, and admits one more 500 ms later', async () => {
    await deploy(t.base, 'limited', 'let n = 0; export default { fetch() { n++; return new Response(String(n)); } }');
    for (let i = 1; i <= 10; i++) assert.equal(await (await fetch(`${t.base}/fn/limited`)).text(), String(i));
    const refused = await fetch(`${t.base}/fn/limited`);
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.equal((await refused.json()).error.code, 'RATE_LIMITED');
    clock.advance(500);
    assert.equal(await (await fetch(`${t.base}/fn/limited`)).text(), '11', 'the refused call never ran');
  });
});

/** A local upstream: `/hold` answers only when released; `/down` answers 500; anything else 200. */
async function upstream(): Promise<{ server: Server; origin: string; port: number; hits: Map<string, number>; held: ServerResponse[]; heldArrived: () => Promise<void> }> {
  const hits = new Map<string, number>();
  const held: ServerResponse[] = [];
  let waiting: (() => void) | null = null;
  const server = createServer((req, res) => {
    hits.set(req.url ?? '', (hits.get(req.url ?? '') ?? 0) + 1);
    if (req.url === '/hold') {
      held.push(res);
      waiting?.();
      waiting = null;
    } else if (req.url === '/down') {
      res.writeHead(500).end('down');
    } else {
      res.end('up');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { server, origin: `http://127.0.0.1:${port}`, port, hits, held, heldArrived: () => new Promise<void>((resolve) => (waiting = resolve)) };
}

describe('circuit breakers', () => {
  let t: TestPlatform;
  let clock: ManualClock;
  let holdUp: Awaited<ReturnType<typeof upstream>>;
  let downUp: Awaited<ReturnType<typeof upstream>>;
  /** A port nothing listens on (a server was there and closed): connections are refused. */
  let closedPort: number;
  before(async () => {
    clock = new ManualClock();
    [holdUp, downUp] = await Promise.all([upstream(), upstream()]);
    const gone = await upstream();
    closedPort = gone.port;
    await new Promise((resolve) => gone.server.close(resolve));
    t = await startPlatform({ SPILLWAY_FETCH_ALLOW_HOSTS: `127.0.0.1:${holdUp.port},127.0.0.1:${downUp.port},127.0.0.1:${closedPort}` }, { clock });
  });
  after(async () => {
    await t.close();
    holdUp.server.close();
    downUp.server.close();
  });

  const flakyCode = (origin: string) => `
    export default {
      async fetch(req) {
        const q = new URL(req.url).searchParams;
        if (q.has('fail')) throw new Error('boom');
        if (q.has('status')) return new Response('handler said no', { status: Number(q.get('status')) });
        if (q.has('hold')) await (await fetch('${origin}/hold')).text();
        return new Response('ok');
      },
    };`;

  it('opens after 5 function faults (not on the handler’s own 5xx); refuses calls and submissions with 503 + Retry-After; other functions keep working', async () => {
    const flaky = await deploy(t.base, 'flaky', flakyCode(holdUp.origin));
    const steady = await deploy(t.base, 'steady', 'export default { fetch() { return new Response("steady"); } }');
    for (let i = 0; i < 6; i++) assert.equal((await fetch(`${t.base}/fn/flaky?status=503`)).status, 503, 'the handler’s own 503');
    assert.equal((await fetch(`${t.base}/fn/flaky`)).status, 200, 'still closed: a Response of any status is not a failure');

    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${t.base}/fn/flaky?fail`);
      assert.equal(res.status, 500);
      assert.equal((await res.json()).error.code, 'FUNCTION_ERROR');
    }
    const refused = await fetch(`${t.base}/fn/flaky`);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '30');
    assert.equal(refused.headers.get('x-spillway-error-source'), 'platform');
    const body = await refused.json();
    assert.equal(body.error.code, 'CIRCUIT_OPEN');
    assert.match(body.error.message, /Function "flaky" is not being called: .*half-opens in 30 s/);

    // Both functions, side by side: the open circuit is flaky's alone.
    const [flakyRes, steadyRes] = await Promise.all([fetch(`${t.base}/fn/flaky`), fetch(`${t.base}/fn/steady`)]);
    assert.equal(flakyRes.status, 503);
    assert.equal(await steadyRes.text(), 'steady');

    const submitted = await api(t.base, 'POST', `/api/functions/${flaky.id}/execute`, { input: 1 });
    assert.equal(submitted.status, 503);
    assert.equal(submitted.body.error.code, 'CIRCUIT_OPEN');
    assert.equal(submitted.headers.get('retry-after'), '30');
    assert.equal(await asyncExecutions(t, flaky.id), 0, 'no execution was created');
    const other = await api(t.base, 'POST', `/api/functions/${steady.id}/execute`, { input: 1 });
    assert.equal(other.status, 202);
    assert.equal((await waitForExecution(t, other.body.data.executionId)).status, 'completed');

    const health = await api(t.base, 'GET', '/api/health');
    assert.deepEqual(health.body.data.backpressure.circuits, [{ key: `fn:${flaky.id}`, state: 'open', retryAfterMs: 30_000 }]);
    clock.advance(12_000);
    assert.equal((await fetch(`${t.base}/fn/flaky`)).headers.get('retry-after'), '18');
  });

  it('half-opens after 30 s: one trial at a time; a failed trial re-opens it, a successful one closes it', async () => {
    clock.advance(18_000);
    assert.equal((await fetch(`${t.base}/fn/flaky?fail`)).status, 500, 'the trial ran and failed');
    const reopened = await fetch(`${t.base}/fn/flaky`);
    assert.equal(reopened.status, 503);
    assert.equal(reopened.headers.get('retry-after'), '30');

    clock.advance(30_000);
    const arrived = holdUp.heldArrived();
    const trial = fetch(`${t.base}/fn/flaky?hold`);
    await arrived; // the trial is in flight, held by the upstream
    const second = await fetch(`${t.base}/fn/flaky`);
    assert.equal(second.status, 503, 'half-open admits exactly one');
    assert.equal(second.headers.get('retry-after'), '1');
    assert.equal((await second.json()).error.details.state, 'half_open');
    holdUp.held.shift()!.end('released');
    const trialRes = await trial;
    assert.equal(trialRes.status, 200);
    assert.equal(await trialRes.text(), 'ok');
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${t.base}/fn/flaky`)).status, 200, 'closed again');
  });

  it('postpones a queued execution that reaches the worker while the circuit is open, then runs it when it half-opens', async () => {
    const later = await deploy(t.base, 'later', flakyCode(holdUp.origin));
    await stopWorker(t, clock);
    const submitted = await api(t.base, 'POST', `/api/functions/${later.id}/execute`, { input: { n: 1 } });
    assert.equal(submitted.status, 202);
    const id = submitted.body.data.executionId;
    for (let i = 0; i < 5; i++) assert.equal((await fetch(`${t.base}/fn/later?fail`)).status, 500);
    const openedAt = clock.now();
    assert.equal(t.platform.backpressure.functionBreaker(later.id).state, 'open');

    const postponed = t.platform.events.once('execution_postponed', (e) => e.executionId === id);
    t.platform.worker.start();
    const event = await postponed;
    assert.equal(event.reason, 'circuit_open');
    assert.equal(Date.parse(event.until), openedAt + 30_000);
    const record = await t.platform.store.getExecution(id);
    assert.equal(record?.status, 'pending', 'not failed');
    assert.equal(record?.retryCount, 0, 'not counted as a retry');
    assert.equal(record?.nextAttemptAt, event.until);
    assert.equal((await t.platform.store.listDeadLetters()).some((d) => d.executionId === id), false);

    clock.advance(30_000);
    const done = await waitForExecution(t, id);
    assert.equal(done.status, 'completed', 'the postponed execution was the trial, and it succeeded');
    assert.equal(t.platform.backpressure.functionBreaker(later.id).state, 'closed');
  });

  it('deploying new code closes the function’s circuit', async () => {
    const fn = await deploy(t.base, 'redeployed', 'export default { fetch() { throw new Error("v1 is broken"); } }');
    for (let i = 0; i < 5; i++) assert.equal((await fetch(`${t.base}/fn/redeployed`)).status, 500);
    assert.equal((await fetch(`${t.base}/fn/redeployed`)).status, 503);
    const noCode = await api(t.base, 'PUT', `/api/functions/${fn.id}`, { description: 'still broken' });
    assert.equal(noCode.status, 200);
    assert.equal((await fetch(`${t.base}/fn/redeployed`)).status, 503, 'a change without new code leaves it open');
    const updated = await api(t.base, 'PUT', `/api/functions/${fn.id}`, { code: 'export default { fetch() { return new Response("v2"); } }' });
    assert.equal(updated.status, 200);
    const res = await fetch(`${t.base}/fn/redeployed`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'v2');
  });

  it('opens per downstream origin after 5 failing answers: the guest’s fetch then rejects at once with a TypeError naming the origin', async () => {
    await deploy(
      t.base,
      'caller',
      `export default {
        async fetch(req) {
          const path = new URL(req.url).searchParams.get('path');
          try {
            const r = await fetch('${downUp.origin}' + path);
            return new Response('status ' + r.status);
          } catch (e) {
            return new Response(e.name + ': ' + e.message, { status: 502 });
          }
        },
      };`,
    );
    for (let i = 0; i < 5; i++) assert.equal(await (await fetch(`${t.base}/fn/caller?path=/down`)).text(), 'status 500');
    assert.equal(downUp.hits.get('/down'), 5);
    const refused = await fetch(`${t.base}/fn/caller?path=/ok`);
    assert.equal(refused.status, 502, 'the handler caught the rejection and answered');
    assert.equal(
      await refused.text(),
      `TypeError: fetch: not sending to http://127.0.0.1:${downUp.port}: its circuit breaker is open after repeated failures (errors, timeouts or 5xx answers); try again in 30 s.`,
    );
    assert.equal(downUp.hits.get('/ok'), undefined, 'nothing was sent');
    const arrived = holdUp.heldArrived();
    const viaOtherOrigin = fetch(`${t.base}/fn/flaky?hold`);
    await arrived;
    holdUp.held.shift()!.end('released');
    assert.equal((await viaOtherOrigin).status, 200, 'another origin is unaffected');
    assert.equal(t.platform.backpressure.functionBreaker((await t.platform.functions.resolve('caller')).id).state, 'closed', 'the function answered: its own breaker is closed');

    clock.advance(30_000);
    assert.equal(await (await fetch(`${t.base}/fn/caller?path=/ok`)).text(), 'status 200', 'half-open: the trial went out and closed it');
    assert.equal(downUp.hits.get('/ok'), 1);
  });

  it('counts refused connections against the origin too', async () => {
    await deploy(
      t.base,
      'unreachable',
      `export default {
        async fetch() {
          try { await fetch('http://127.0.0.1:${closedPort}/'); return new Response('sent'); }
          catch (e) { return new Response(e.message, { status: 502 }); }
        },
      };`,
    );
    for (let i = 0; i < 5; i++) assert.match(await (await fetch(`${t.base}/fn/unreachable`)).text(), /ECONNREFUSED/);
    assert.match(await (await fetch(`${t.base}/fn/unreachable`)).text(), new RegExp(`^fetch: not sending to http://127\\.0\\.0\\.1:${closedPort}: its circuit breaker is open`));
  });
});
