/**
 * `/api/costs/comparison` through a real server: the measured workload comes from real metered
 * calls and matches their records; POST overrides recompute every part; bad input is a 400 that
 * names the field.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { seed000 } from '../../src/costs/comparison.js';
import { api, deploy, startPlatform, waitForExecution, type TestPlatform } from '../helpers/platform.js';

const near = (actual: number, expected: number, what: string, tolerance = 1e-9) =>
  assert.ok(Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)), `${what}: got ${actual}, expected ${expected}`);

describe('/api/costs/comparison', () => {
  let t: TestPlatform;
  before(async () => (t = await startPlatform()));
  after(async () => t.close());

  it('with no calls yet: a zero workload, which costs only the baseline', async () => {
    const res = await api(t.base, 'GET', '/api/costs/comparison');
    assert.equal(res.status, 200);
    assert.equal(res.body.success, true);
    const d = res.body.data;
    assert.equal(d.window, '24h');
    assert.equal(d.workload.measured.calls, 0);
    assert.equal(d.workload.measured.basis, 'window');
    assert.equal(d.projection.serverless.monthlyUsd, 0);
    near(d.projection.spillway.monthlyUsd, 2 * 0.079 * 720, 'Spillway = baseline');
    assert.deepEqual(d.projection.cheapest, ['serverless']);
  });

  it('GET measures calls/s, CPU and wall per call from the window’s real executions, and projects them', async () => {
    const fn = await deploy(
      t.base,
      'busy',
      'export default { async fetch(req) { let x = 0; for (let i = 0; i < 200000; i++) x += i % 7; await new Promise((r) => setTimeout(r, 5)); return new Response(String(x)); } }',
      { memoryLimitMb: 64 },
    );
    for (let i = 0; i < 12; i++) {
      const res = await fetch(`${t.base}/fn/busy`);
      assert.equal(res.status, 200);
      await res.text();
    }
    const exec = await api(t.base, 'POST', `/api/functions/${fn.id}/execute`, { input: {} });
    await waitForExecution(t, exec.body.data.executionId);

    const res = await api(t.base, 'GET', '/api/costs/comparison?window=1h');
    assert.equal(res.status, 200);
    const d = res.body.data;
    assert.equal(d.window, '1h');

    // The same sums straight from the store.
    const records = (await t.platform.store.listExecutions({ limit: 1000 })).filter((e) => e.cpuUs !== null && e.wallUs !== null);
    assert.equal(records.length, 13);
    const cpuUs = records.reduce((s, e) => s + e.cpuUs!, 0);
    const wallUs = records.reduce((s, e) => s + e.wallUs!, 0);
    const m = d.workload.measured;
    assert.equal(m.calls, 13);
    assert.equal(m.basis, 'window');
    assert.equal(m.windowSeconds, 3600);
    assert.equal(m.totalCpuUs, cpuUs);
    assert.equal(m.totalWallUs, wallUs);
    near(m.callsPerSecond, 13 / 3600, 'calls/s');
    near(m.cpuMsPerCall, cpuUs / 13 / 1000, 'CPU ms per call');
    near(m.wallMsPerCall, wallUs / 13 / 1000, 'wall ms per call');
    assert.ok(m.cpuMsPerCall > 0 && m.wallMsPerCall >= 5, 'the calls used CPU and waited on a timer');
    assert.equal(m.memoryMb, 64, 'the function’s memory limit');

    assert.deepEqual(d.workload.used, { callsPerSecond: m.callsPerSecond, cpuMsPerCall: m.cpuMsPerCall, wallMsPerCall: m.wallMsPerCall, memoryMb: 64 });
    const p = d.projection;
    assert.deepEqual(p.workload, d.workload.used);
    const perCall = (64 / 1024) * (Math.max(m.wallMsPerCall, m.cpuMsPerCall) / 1000) * 0.0000133334 + 0.0000002;
    near(p.serverless.perCallUsd, perCall, 'per call');
    near(p.serverless.monthlyUsd, m.callsPerSecond * 720 * 3600 * perCall, 'serverless monthly');
    assert.equal(p.fixedBaseline.tasks, 2);
    assert.equal(p.spillway.burstCallsPerSecond, 0);
    assert.deepEqual(p.cheapest, ['serverless'], '13 calls an hour is cheapest on a pay-per-call tier');

    // The seed parts and the defaults ride along.
    near(d.seed000.breakEvenRequestsPerSecond.value, 15.31, 'break-even', 1e-3);
    assert.equal(d.seed000.lambdaMonthlyUsd.stated, 742.46);
    near(d.seed004.lambda.perRequestUsd.value, 0.00000186, 'seed 004 per request');
    assert.equal(d.seed004.lambda.perRequestUsd.stated, 0.000001036);
    assert.equal(d.defaults.seed000.hoursPerMonth, 720);
    assert.equal(d.defaults.projection.spillway.spillAboveUtilisation, 0.85);
  });

  it('POST recomputes with overrides of the workload and the prices', async () => {
    const res = await api(t.base, 'POST', '/api/costs/comparison', {
      window: '7d',
      workload: { callsPerSecond: 100, cpuMsPerCall: 10, wallMsPerCall: 200, memoryMb: 1024 },
      projection: { baseline: { minTasks: 4 } },
      seed000: { requestsPerSecond: 50 },
      seed004: { monthlyVolumes: [5_000_000] },
    });
    assert.equal(res.status, 200);
    const d = res.body.data;
    assert.equal(d.window, '7d');
    assert.equal(d.workload.measured.calls, 13, 'still measured, then overridden');
    assert.deepEqual(d.workload.used, { callsPerSecond: 100, cpuMsPerCall: 10, wallMsPerCall: 200, memoryMb: 1024 });
    near(d.projection.serverless.monthlyUsd, seed000().lambdaMonthlyUsd.value, 'the §8 Lambda figure');
    near(d.projection.spillway.monthlyUsd, 4 * 0.079 * 720, 'four baseline tasks');
    assert.equal(d.projection.spillway.baselineTasks, 4);
    near(d.seed000.lambdaMonthlyUsd.value, seed000().lambdaMonthlyUsd.value / 2, 'half the §8 traffic');
    assert.equal(d.seed000.lambdaMonthlyUsd.stated, null, 'stated figures only for the seed’s own inputs');
    assert.deepEqual(d.seed004.lambda.monthly.map((r: { requests: number }) => r.requests), [5_000_000]);
    near(d.seed004.lambda.monthly[0].usd.value, 9.3, 'seed 004 at 5M');

    const partial = await api(t.base, 'POST', '/api/costs/comparison', { workload: { callsPerSecond: 1000 } });
    assert.equal(partial.status, 200);
    near(partial.body.data.workload.used.callsPerSecond, 1000, 'overridden');
    near(partial.body.data.workload.used.cpuMsPerCall, partial.body.data.workload.measured.cpuMsPerCall, 'measured kept');

    const empty = await api(t.base, 'POST', '/api/costs/comparison');
    assert.equal(empty.status, 200);
    assert.equal(empty.body.data.window, '24h');
  });

  it('400 VALIDATION_FAILED naming the field: negative prices, unknown fields, strings, bad window', async () => {
    const cases: Array<[string, string, unknown, RegExp]> = [
      ['POST', '/api/costs/comparison', { projection: { serverless: { pricePerGbSecondUsd: -1 } } }, /projection\.serverless\.pricePerGbSecondUsd: got -1, must be 0 or more/],
      ['POST', '/api/costs/comparison', { seed004: { lambdaPricePerMsUsd: -0.0000000083 } }, /seed004\.lambdaPricePerMsUsd: got -8\.3e-9, must be 0 or more/],
      ['POST', '/api/costs/comparison', { seed000: { lambdaPrice: 1 } }, /seed000: unknown field\(s\) "lambdaPrice"/],
      ['POST', '/api/costs/comparison', { prices: {} }, /unknown field\(s\) "prices"/],
      ['POST', '/api/costs/comparison', { workload: { callsPerSecond: '100' } }, /workload\.callsPerSecond: got "100", must be a number/],
      ['POST', '/api/costs/comparison', { projection: { baseline: { targetUtilisation: 1.5 } } }, /projection\.baseline\.targetUtilisation: got 1\.5, must be at most 1/],
      ['POST', '/api/costs/comparison', { projection: { baseline: { minTasks: 2.5 } } }, /projection\.baseline\.minTasks: got 2\.5, must be a whole number of tasks/],
      ['POST', '/api/costs/comparison', { window: '2d' }, /window: got "2d", must be one of 1h, 24h, 7d/],
      ['GET', '/api/costs/comparison?window=30d', undefined, /window: got "30d", must be one of 1h, 24h, 7d/],
      ['GET', '/api/costs/comparison?windw=1h', undefined, /unknown field\(s\) "windw"/],
    ];
    for (const [method, path, body, message] of cases) {
      const res = await api(t.base, method, path, body);
      assert.equal(res.status, 400, `${method} ${path} ${JSON.stringify(body)}`);
      assert.equal(res.body.success, false);
      assert.equal(res.body.error.code, 'VALIDATION_FAILED');
      assert.match(res.body.error.message, message);
    }
    const malformed = await api(t.base, 'POST', '/api/costs/comparison', '{"workload":');
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error.code, 'MALFORMED_JSON');
  });
});
