/**
 * The load tester end to end: a real server on a free port, real autocannon in a child process,
 * real isolates and the real execution records (docs/load-tester.md).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { LoadTestView } from '../../src/loadtest/types.js';
import { api, deploy, startPlatform, type TestPlatform } from '../helpers/platform.js';

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

describe('load tester', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startPlatform();
  });
  after(async () => t.close());

  /** Starts a test and resolves with its final view, awaiting the platform's completion event. */
  async function runToEnd(body: Record<string, unknown>): Promise<LoadTestView> {
    const ended = t.platform.events.once('load_test_completed');
    const started = await api<LoadTestView>(t.base, 'POST', '/api/load-tests', body);
    assert.equal(started.status, 202, JSON.stringify(started.body));
    assert.equal(started.body.data.status, 'running');
    const event = await ended;
    assert.equal(event.id, started.body.data.id);
    const got = await api<LoadTestView>(t.base, 'GET', `/api/load-tests/${event.id}`);
    assert.equal(got.status, 200);
    return got.body.data;
  }

  it('a counted test completes with no errors; counts add up; tiers are counted; cost is the sum of the records it produced', async () => {
    const fn = await deploy(t.base, 'hello', 'export default { fetch() { return new Response("hello") } }');
    const view = await runToEnd({ function: 'hello', concurrency: 5, requests: 200 });
    assert.equal(view.status, 'completed');
    assert.equal(view.error, null);
    assert.equal(view.functionId, fn.id);
    assert.match(view.url, /^http:\/\/127\.0\.0\.1:\d+\/fn\/hello\/$/);
    const r = view.result!;
    assert.equal(r.total, 200);
    assert.equal(r.ok, 200);
    assert.equal(r.non2xx + r.errors, 0);
    assert.equal(r.ok + r.non2xx + r.errors, r.total);
    assert.deepEqual(r.statusCounts, { '200': 200 });
    assert.deepEqual(r.tiers, { baseline: 200 });
    assert.deepEqual(r.errorsByCode, {});
    assert.equal(r.connections, 5);
    assert.ok(r.requestsPerSec > 0);
    assert.ok(r.latencyMs.p50 > 0 && r.latencyMs.p50 <= r.latencyMs.p95 && r.latencyMs.p95 <= r.latencyMs.p99 && r.latencyMs.p99 <= r.latencyMs.max);

    // The server's side: exactly the 200 calls the test made, read back from the store.
    const records = await t.platform.store.listExecutions({ functionId: fn.id, trigger: 'http', limit: 1000 });
    assert.equal(records.length, 200);
    const x = r.executions;
    assert.equal(x.source, 'x-spillway-execution-id');
    assert.equal(x.records, 200);
    assert.equal(x.missing, 0);
    assert.deepEqual(x.byStatus, { completed: 200 });
    assert.equal(x.coldStarts, records.filter((rec) => rec.coldStart).length);
    assert.ok(x.coldStarts >= 1, 'a new function starts cold');
    const cost = records.reduce((a, rec) => a + rec.cost!.totalCost, 0);
    assert.ok(x.costUsd > 0);
    assert.ok(Math.abs(x.costUsd - cost) <= cost * 1e-9, `${x.costUsd} vs ${cost}`);
    const cpuMs = records.reduce((a, rec) => a + rec.cpuUs! / 1000, 0);
    const wallMs = records.reduce((a, rec) => a + rec.wallUs! / 1000, 0);
    assert.ok(Math.abs(x.cpuMs - cpuMs) < 0.01 && Math.abs(x.wallMs - wallMs) < 0.01);
    assert.ok(x.cpuToWall !== null && x.cpuToWall > 0 && x.cpuToWall <= 1.5);

    const list = await api<LoadTestView[]>(t.base, 'GET', '/api/load-tests');
    assert.equal(list.body.data[0]!.id, view.id);
  });

  it('a timed test pushes progress on /api/events before the completed event', async () => {
    const socket = new WebSocket(`${t.base.replace('http', 'ws')}/api/events?types=load_test_progress,load_test_completed`);
    const messages: Array<{ type: string; data: any; timestamp: string }> = [];
    try {
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      const completed = new Promise<void>((resolve) =>
        socket.on('message', (m) => {
          messages.push(JSON.parse(String(m)));
          if (messages.at(-1)!.type === 'load_test_completed') resolve();
        }),
      );
      const started = await api<LoadTestView>(t.base, 'POST', '/api/load-tests', { function: 'hello', concurrency: 5, durationS: 2 });
      assert.equal(started.status, 202);
      await completed;
      const id = started.body.data.id;
      assert.ok(messages.every((m) => m.data.id === id && typeof m.timestamp === 'string'));
      const progress = messages.filter((m) => m.type === 'load_test_progress');
      assert.ok(progress.length >= 1, 'at least one progress message');
      assert.equal(messages.at(-1)!.type, 'load_test_completed');
      assert.equal(messages.filter((m) => m.type === 'load_test_completed').length, 1);
      const first = progress[0]!.data;
      assert.ok(first.requests > 0 && first.requests === first.ok + first.non2xx + first.errors);
      assert.ok(first.reqPerSec > 0 && first.p50Ms > 0 && first.p99Ms >= first.p50Ms);
      const done = messages.at(-1)!.data;
      assert.equal(done.status, 'completed');
      assert.ok(done.result.durationS >= 2);
      assert.ok(done.result.total >= first.requests);
      assert.equal(done.result.errors, 0);
      assert.equal(done.result.executions.records, done.result.ok);
    } finally {
      socket.close();
    }
  });

  it('refuses out-of-bounds options with 400 naming the field, unknown functions with 404, inactive ones with 409', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ function: 'hello', concurrency: 0 }, /concurrency: got 0, must be between 1 and 200 connections/],
      [{ function: 'hello', concurrency: 201 }, /concurrency: got 201, must be between 1 and 200 connections/],
      [{ function: 'hello', durationS: 61 }, /durationS: got 61, must be between 1 and 60 seconds/],
      [{ function: 'hello', requests: 100_001 }, /requests: got 100001, must be between 1 and 100,000 requests/],
      [{ function: 'hello', rate: 5001 }, /rate: got 5001, must be between 1 and 5,000 requests per second/],
      [{ function: 'hello', concurrency: 2.5 }, /concurrency: got 2\.5, must be a whole number/],
      [{ function: 'hello', durationS: 5, requests: 10 }, /requests: .*not both/],
      [{}, /function: got nothing, is required/],
      [{ function: 'hello', headers: { 'X-Api-Key': 'mine' } }, /headers: .*must not set .*x-api-key/],
      [{ function: 'hello', path: 'no-slash' }, /path: got "no-slash", must start with "\/"/],
      [{ function: 'hello', method: 'BREW' }, /method: got "BREW", must be one of GET/],
      [{ function: 'hello', connections: 5 }, /unknown field\(s\) "connections"/],
    ];
    for (const [body, message] of cases) {
      const res = await api(t.base, 'POST', '/api/load-tests', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error.code, 'VALIDATION_FAILED');
      assert.match(res.body.error.message, message);
    }
    const missing = await api(t.base, 'POST', '/api/load-tests', { function: 'nope' });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'FUNCTION_NOT_FOUND');

    await deploy(t.base, 'sleepy', 'export default { fetch() { return new Response("zzz") } }');
    assert.equal((await api(t.base, 'PUT', '/api/functions/sleepy', { status: 'inactive' })).status, 200);
    const inactive = await api(t.base, 'POST', '/api/load-tests', { function: 'sleepy' });
    assert.equal(inactive.status, 409);
    assert.equal(inactive.body.error.code, 'FUNCTION_INACTIVE');

    for (const method of ['GET', 'DELETE']) {
      const unknown = await api(t.base, method, '/api/load-tests/lt_nope');
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error.code, 'LOAD_TEST_NOT_FOUND');
    }
  });

  it('runs one test at a time (409 naming the running one); DELETE cancels it, keeps what it measured, and the load generator is gone', async () => {
    const firstProgress = t.platform.events.once('load_test_progress');
    const started = await api<LoadTestView>(t.base, 'POST', '/api/load-tests', { function: 'hello', concurrency: 2, durationS: 60 });
    assert.equal(started.status, 202);
    const id = started.body.data.id;
    await firstProgress;
    const pid = t.platform.loadTests.processId(id);
    assert.ok(typeof pid === 'number');
    process.kill(pid, 0); // alive

    const second = await api(t.base, 'POST', '/api/load-tests', { function: 'hello', requests: 10 });
    assert.equal(second.status, 409);
    assert.equal(second.body.error.code, 'LOAD_TEST_RUNNING');
    assert.match(second.body.error.message, new RegExp(`Load test ${id} is running against "hello"`));
    assert.equal((await api<LoadTestView>(t.base, 'GET', `/api/load-tests/${id}`)).body.data.status, 'running');

    const cancelled = await api<LoadTestView>(t.base, 'DELETE', `/api/load-tests/${id}`);
    assert.equal(cancelled.status, 200);
    assert.equal(cancelled.body.data.status, 'cancelled');
    const r = cancelled.body.data.result!;
    assert.equal(r.stoppedEarly, true);
    assert.ok(r.durationS < 60 && r.total > 0 && r.total === r.ok + r.non2xx + r.errors);
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
    assert.equal(t.platform.loadTests.processId(id), null);
    // Cancelling again changes nothing.
    assert.equal((await api<LoadTestView>(t.base, 'DELETE', `/api/load-tests/${id}`)).body.data.status, 'cancelled');

    // The slot is free again.
    const next = await runToEnd({ function: 'hello', requests: 10, concurrency: 2 });
    assert.equal(next.status, 'completed');
    assert.equal(next.result!.total, 10);
  });

  it('sends the method, path, query, body and headers asked for, with x-api-key: loadtest, at the rate asked for', async () => {
    await deploy(
      t.base,
      'picky',
      `export default { async fetch(req) {
        const url = new URL(req.url);
        const ok = req.method === 'POST' && url.pathname === '/p' && url.search === '?q=1' && req.headers.get('x-test') === 'yes' && req.headers.get('x-api-key') === 'loadtest' && (await req.text()) === 'ping';
        return new Response(null, { status: ok ? 200 : 418 });
      } }`,
    );
    const view = await runToEnd({ function: 'picky', concurrency: 2, requests: 20, rate: 10, method: 'POST', path: '/p?q=1', body: 'ping', headers: { 'x-test': 'yes' } });
    assert.deepEqual(view.result!.statusCounts, { '200': 20 });
    // 10 a second: the 20th request cannot go before the second second.
    assert.ok(view.result!.durationS >= 1, `${view.result!.durationS} s`);
  });

  it('counts the failures of a function that throws by their Spillway error code', async () => {
    await deploy(t.base, 'thrower', 'export default { fetch() { throw new Error("boom") } }');
    const view = await runToEnd({ function: 'thrower', concurrency: 5, requests: 50 });
    assert.equal(view.status, 'completed');
    const r = view.result!;
    assert.equal(r.total, 50);
    assert.equal(r.ok, 0);
    assert.equal(r.non2xx, 50);
    assert.equal(sum(r.errorsByCode), r.non2xx + r.errors);
    // Every call ran and threw; a circuit breaker, when one guards /fn/, may refuse some instead.
    assert.ok((r.errorsByCode.FUNCTION_ERROR ?? 0) > 0);
    for (const code of Object.keys(r.errorsByCode)) assert.match(code, /^(FUNCTION_ERROR|CIRCUIT_OPEN)$/);
    assert.equal(r.statusCounts['500'], r.errorsByCode.FUNCTION_ERROR);
    assert.equal(r.executions.byStatus.failed, r.errorsByCode.FUNCTION_ERROR);
    assert.ok(r.executions.costUsd > 0, 'failed calls are billed too');
  });
});

describe('load tester shutdown', () => {
  it('closing the server stops a running test: the load generator is gone and the test ends cancelled', async () => {
    const t = await startPlatform();
    try {
      await deploy(t.base, 'hello', 'export default { fetch() { return new Response("hello") } }');
      const firstProgress = t.platform.events.once('load_test_progress');
      const ended = t.platform.events.once('load_test_completed');
      const started = await api<LoadTestView>(t.base, 'POST', '/api/load-tests', { function: 'hello', concurrency: 2, durationS: 60 });
      assert.equal(started.status, 202);
      await firstProgress;
      const pid = t.platform.loadTests.processId(started.body.data.id)!;
      await t.close();
      assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
      const event = await ended;
      assert.equal(event.status, 'cancelled');
      assert.ok(event.result!.total > 0);
    } finally {
      await t.close();
    }
  });
});
