import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, deploy, startPlatform, waitForExecution, type TestPlatform } from '../helpers/platform.js';

describe('asynchronous executions', () => {
  let t: TestPlatform;
  // These tests submit faster than the default token bucket (10 at once, 2/s) allows; test/capacity covers the limit.
  before(async () => (t = await startPlatform({ SPILLWAY_RETRY_BASE_DELAY_MS: 20 }, { policy: { backpressure: { tokenBucket: { burst: 1000 } } } })));
  after(async () => t.close());

  it('answers 202 with an executionId and goes pending → running → completed with output, timings and cost', async () => {
    const fn = await deploy(t.base, 'add', 'function add(a, b) { return a + b; }');
    const seen: string[] = [];
    const offStart = t.platform.events.on('execution_started', (e) => seen.push(`running:${e.executionId}`));
    const res = await api(t.base, 'POST', `/api/functions/${fn.id}/execute`, { input: { a: 2, b: 3 } });
    assert.equal(res.status, 202);
    assert.equal(res.body.data.status, 'pending');
    assert.equal(res.body.data.message, 'Function execution started');
    const id = res.body.data.executionId;
    assert.match(id, /^ex_/);
    const pending = (await api(t.base, 'GET', `/api/executions/${id}`)).body.data;
    assert.ok(['pending', 'running', 'completed'].includes(pending.status));
    const done = await waitForExecution(t, id);
    offStart();
    assert.ok(seen.includes(`running:${id}`), 'a running state was published');
    const rec = (await api(t.base, 'GET', `/api/executions/${id}`)).body.data;
    assert.equal(done.status, 'completed');
    assert.equal(rec.status, 'completed');
    assert.equal(rec.output, 5);
    assert.equal(rec.error, null);
    assert.equal(rec.retryCount, 0);
    assert.ok(rec.cpuUs > 0 && rec.wallUs >= rec.cpuUs);
    assert.ok(Date.parse(rec.endTime) >= Date.parse(rec.startTime));
    assert.equal(rec.cost.tier, 'basic');
    assert.equal(rec.cost.baseCost, 0.0001, 'one 100 ms CPU unit at the basic price');
    assert.ok(rec.cost.totalCost >= rec.cost.baseCost);
    assert.equal(typeof rec.cost.wallClockCost, 'number');
  });

  it('maps input to arguments: array spreads, object by parameter name, anything else as one argument', async () => {
    const fn = await deploy(t.base, 'shape', 'export function shape(first, second) { return { first, second }; }');
    const run = async (input: unknown) => {
      const res = await api(t.base, 'POST', `/api/functions/${fn.id}/execute`, { input });
      return (await waitForExecution(t, res.body.data.executionId)).output;
    };
    assert.deepEqual(await run([1, 2]), { first: 1, second: 2 });
    assert.deepEqual(await run({ second: 'b', first: 'a' }), { first: 'a', second: 'b' });
    assert.deepEqual(await run('solo'), { first: 'solo' });
    assert.deepEqual(await run({ other: 1 }), { first: { other: 1 } });
  });

  it('runs fetch-style handlers as executions with the input as a JSON POST body', async () => {
    const fn = await deploy(t.base, 'fetchy', 'export default { async fetch(req) { const body = await req.json(); return Response.json({ doubled: body.n * 2 }); } }');
    const res = await api(t.base, 'POST', `/api/functions/${fn.id}/execute`, { input: { n: 21 } });
    const rec = await waitForExecution(t, res.body.data.executionId);
    assert.deepEqual(rec.output, { doubled: 42 });
  });

  it('404s at once for a function that does not exist, and 400s a bad body', async () => {
    const res = await api(t.base, 'POST', '/api/functions/fn_missing/execute', { input: 1 });
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'FUNCTION_NOT_FOUND');
    const fn = await deploy(t.base, 'noop', 'export function noop() { return null; }');
    const bad = await api(t.base, 'POST', `/api/functions/${fn.id}/execute`, { inptu: 1 });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /unknown field\(s\) "inptu"/);
    const malformed = await api(t.base, 'POST', `/api/functions/${fn.id}/execute`, '{"input":');
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error.code, 'MALFORMED_JSON');
    const missing = await api(t.base, 'GET', '/api/executions/ex_nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'EXECUTION_NOT_FOUND');
  });

  it('retries a failing execution with backoff, then dead-letters it; the entry can be replayed once', async () => {
    const fn = await deploy(t.base, 'flaky', 'export function flaky(n) { throw new Error("always fails " + n); }', { retryCount: 2 });
    const retries: Array<{ id: string; status: string }> = [];
    const starts: Array<{ id: string; at: number }> = [];
    const off = t.platform.events.on('execution_completed', (e) => retries.push({ id: e.executionId, status: e.status }));
    const offStart = t.platform.events.on('execution_started', (e) => starts.push({ id: e.executionId, at: Date.now() }));
    const res = await api(t.base, 'POST', `/api/functions/${fn.id}/execute`, { input: [7] });
    const id = res.body.data.executionId;
    const rec = await waitForExecution(t, id);
    off();
    offStart();
    assert.equal(rec.status, 'failed');
    assert.equal(rec.retryCount, 2, 'two retries after the first attempt');
    assert.equal(rec.error.code, 'FUNCTION_ERROR');
    assert.equal(rec.error.functionFault, true);
    assert.match(rec.error.message, /always fails 7/);
    assert.deepEqual(retries.filter((r) => r.id === id).map((r) => r.status), ['pending', 'pending', 'failed']);
    const startTimes = starts.filter((s) => s.id === id).map((s) => s.at);
    // Base delay is 20 ms in this platform: retry 1 waits 20 ms, retry 2 waits 40 ms (2 s, 4 s, 8 s at the default base).
    assert.equal(startTimes.length, 3);
    assert.ok(startTimes[1] - startTimes[0] >= 20, `first retry started ≥ base (20 ms) after the first attempt: ${startTimes[1] - startTimes[0]} ms`);
    assert.ok(startTimes[2] - startTimes[1] >= 40, `second retry started ≥ 2× base (40 ms) after the first retry: ${startTimes[2] - startTimes[1]} ms`);
    assert.equal(rec.cost.retryCost, 0.00004, 'two retries at $0.00002');

    const letters = (await api(t.base, 'GET', '/api/dead-letters')).body.data;
    const entry = letters.find((l: any) => l.executionId === id);
    assert.ok(entry, 'the execution is in the dead-letter list');
    assert.equal(entry.attempts, 3);
    assert.equal(entry.error.code, 'FUNCTION_ERROR');

    await api(t.base, 'PUT', `/api/functions/${fn.id}`, { code: 'export function flaky(n) { return n * 6; }' });
    const replay = await api(t.base, 'POST', `/api/dead-letters/${entry.id}/replay`);
    assert.equal(replay.status, 202);
    assert.equal(replay.body.data.replayOf, entry.id);
    const replayed = await waitForExecution(t, replay.body.data.executionId);
    assert.equal(replayed.status, 'completed');
    assert.equal(replayed.output, 42);
    assert.equal(replayed.replayOf, entry.id);
    const again = await api(t.base, 'POST', `/api/dead-letters/${entry.id}/replay`);
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'DEAD_LETTER_REPLAYED');
    assert.equal((await api(t.base, 'POST', '/api/dead-letters/dl_nope/replay')).status, 404);
  });

  it('lists executions by function and status, newest first', async () => {
    const fn = await deploy(t.base, 'lister', 'export function lister(x) { return x; }');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await api(t.base, 'POST', `/api/functions/${fn.id}/execute`, { input: [i] })).body.data.executionId);
    for (const id of ids) await waitForExecution(t, id);
    const list = (await api(t.base, 'GET', `/api/executions?functionId=lister&status=completed`)).body.data;
    assert.deepEqual(list.map((e: any) => e.id).sort(), [...ids].sort());
    const bad = await api(t.base, 'GET', '/api/executions?status=weird');
    assert.equal(bad.status, 400);
  });
});
