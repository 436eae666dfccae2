/**
 * The metrics and cost routes against a real server and SQLite, on a ManualClock: executions with
 * known times, statuses and costs are written straight into the store, and every figure the API
 * gives is checked against the arithmetic done by hand here (counts, sums, percentile_cont
 * percentiles, windows, zero-filled buckets), plus the 400 and 404 paths.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import type { ExecutionRecord, FunctionRecord } from '../../src/storage/types.js';
import { api, startPlatform, type TestPlatform } from '../helpers/platform.js';

const NOW = Date.parse('2026-03-10T12:30:00.000Z');
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

function fn(id: string, name: string, tier: string): FunctionRecord {
  return { id, name, description: '', status: 'active', config: { timeout: 30_000, retryCount: 0, memoryLimitMb: 128, cpuLimitMs: 1_000 }, currentVersion: 'a'.repeat(64), tier, createdAt: new Date(NOW - 10 * DAY).toISOString(), updatedAt: new Date(NOW - 10 * DAY).toISOString() };
}

let seq = 0;
/** An execution created `ago` ms before NOW; finished (with times and a cost) unless pending. */
function ex(functionId: string, ago: number, over: Partial<ExecutionRecord> & { wallUs?: number; cost?: ExecutionRecord['cost'] } = {}): ExecutionRecord {
  const at = new Date(NOW - ago).toISOString();
  const status = over.status ?? 'completed';
  const finished = status !== 'pending';
  const wallUs = over.wallUs ?? 1_000;
  return {
    id: `ex_seed_${seq++}`,
    functionId,
    versionId: 'a'.repeat(64),
    trigger: 'http',
    input: null,
    output: null,
    error: null,
    retryCount: 0,
    maxRetries: 0,
    createdAt: at,
    startTime: finished ? at : null,
    endTime: finished ? at : null,
    duration: finished ? wallUs / 1000 : null,
    cpuUs: finished ? wallUs / 10 : null,
    wallUs: finished ? wallUs : null,
    coldStart: false,
    instanceId: null,
    logs: [],
    cost: finished ? { tier: 'basic', billedDurationMs: 1, baseCost: 0.0001, coldStartCost: 0, retryCost: 0, dataTransferCost: 0, totalCost: 0.0001, wallClockCost: 0.0003, resourceUsage: { memoryMB: 128, cpuCores: 0.1 } } : null,
    nextAttemptAt: null,
    inputBytes: 0,
    outputBytes: 0,
    replayOf: null,
    ...over,
    status,
  };
}

describe('metrics and cost API (seeded executions, manual clock)', () => {
  let t: TestPlatform;
  const near = (actual: number | null, expected: number) => assert.ok(actual !== null && Math.abs(actual - expected) < 1e-9, `${actual} ≈ ${expected}`);

  before(async () => {
    t = await startPlatform({}, { clock: new ManualClock(NOW) });
    const store = t.platform.store;
    for (const f of [fn('fn_alpha', 'alpha', 'basic'), fn('fn_beta', 'beta', 'standard'), fn('fn_idle', 'idle', 'basic')]) assert.equal(await store.createFunction(f), 'created');
    const betaCost = { tier: 'standard', billedDurationMs: 1, baseCost: 0.0003, coldStartCost: 0, retryCost: 0, dataTransferCost: 0, totalCost: 0.0003, wallClockCost: 0.0009, resourceUsage: { memoryMB: 512, cpuCores: 0.5 } };
    await store.insertExecutions([
      ex('fn_alpha', 10 * MIN, { wallUs: 1_000, coldStart: true }), // 12:20
      ex('fn_alpha', 20 * MIN, { wallUs: 2_000, trigger: 'async' }), // 12:10
      ex('fn_alpha', 2 * HOUR, { wallUs: 3_000, status: 'failed' }), // 10:30
      ex('fn_alpha', 3 * HOUR, { wallUs: 4_000 }), // 09:30
      ex('fn_alpha', 5 * MIN, { status: 'pending', trigger: 'async' }), // 12:25
      ex('fn_alpha', 3 * DAY, { wallUs: 10_000 }), // 2026-03-07 12:30: only in 7d and 30d
      ex('fn_beta', 30 * MIN, { wallUs: 500, cost: betaCost }), // 12:00
      ex('fn_ghost', 90 * MIN, { wallUs: 6_000, trigger: 'async' }), // 11:00, a function since deleted
    ]);
  });
  after(() => t?.close());

  it('GET /api/metrics gives seed 001 fields and the additions for the default 24 h window', async () => {
    const res = await api(t.base, 'GET', '/api/metrics');
    assert.equal(res.status, 200);
    assert.equal(res.body.success, true);
    const d = res.body.data;
    assert.equal(d.window, '24h');
    assert.deepEqual(
      { total: d.totalExecutions, recent: d.recentExecutions, completed: d.completedExecutions, failed: d.failedExecutions, pending: d.pendingExecutions, running: d.runningExecutions, successRate: d.successRate, active: d.activeFunctions, instances: d.currentInstances },
      { total: 7, recent: 4, completed: 5, failed: 1, pending: 1, running: 0, successRate: 83.33, active: 3, instances: 1 },
    );
    // Wall times in the window: 500 1000 2000 3000 4000 6000 µs.
    near(d.averageExecutionTime, 16_500 / 6 / 1000);
    near(d.wall.averageMs, 16_500 / 6 / 1000);
    near(d.wall.p50Ms, 2.5);
    near(d.wall.p95Ms, 5.5);
    near(d.wall.p99Ms, 5.9);
    near(d.cpu.totalUs, 1_650);
    near(d.cpu.averageUs, 275);
    assert.equal(d.coldStarts, 1);
    assert.deepEqual(d.byTrigger, { http: 4, async: 3 });
    assert.deepEqual(d.cost, { total: 0.0008, wallClock: 0.0024, saved: 0.0016, savedPct: 66.67 });
    assert.deepEqual(d.tiers, { mode: 'normal', weights: { baseline: 100, burst: 0 }, baselineWorkers: 1, burstWorkers: 0 });
  });

  it('windows: 1h and 7d count only their executions', async () => {
    const hour = (await api(t.base, 'GET', '/api/metrics?window=1h')).body.data;
    assert.equal(hour.totalExecutions, 4);
    assert.equal(hour.recentExecutions, 4);
    const week = (await api(t.base, 'GET', '/api/metrics?window=7d')).body.data;
    assert.equal(week.totalExecutions, 8);
    assert.equal(week.cost.total, 0.0009);
  });

  it('GET /api/metrics/functions gives a row per function, idle and deleted ones included', async () => {
    const res = await api(t.base, 'GET', '/api/metrics/functions?window=24h');
    assert.equal(res.status, 200);
    const rows = res.body.data.functions;
    assert.deepEqual(rows.map((r: any) => [r.functionName, r.executions]), [['alpha', 5], ['beta', 1], [null, 1], ['idle', 0]]);
    const alpha = rows[0];
    assert.deepEqual({ ...alpha, latencyMs: null, cpuUs: null, wallMs: null }, { functionId: 'fn_alpha', functionName: 'alpha', executions: 5, errors: 1, errorRate: 20, latencyMs: null, cpuUs: null, wallMs: null, coldStarts: 1, cost: { total: 0.0004, wallClock: 0.0012 } });
    // alpha's wall times: 1000 2000 3000 4000 µs; CPU is a tenth of each.
    near(alpha.latencyMs.p50, 2.5);
    near(alpha.latencyMs.p95, 3.85);
    near(alpha.latencyMs.p99, 3.97);
    near(alpha.cpuUs.avg, 250);
    near(alpha.cpuUs.p95, 385);
    near(alpha.wallMs.avg, 2.5);
    assert.equal(rows[2].functionId, 'fn_ghost');
    assert.equal(rows[2].deleted, true);
    assert.deepEqual(rows[3], { functionId: 'fn_idle', functionName: 'idle', executions: 0, errors: 0, errorRate: 0, latencyMs: { p50: null, p95: null, p99: null }, cpuUs: { avg: null, p95: null }, wallMs: { avg: null }, coldStarts: 0, cost: { total: 0, wallClock: 0 } });
  });

  it('GET /api/metrics/functions/:idOrName gives the row and an hourly series with every hour present', async () => {
    const res = await api(t.base, 'GET', '/api/metrics/functions/alpha');
    assert.equal(res.status, 200);
    const d = res.body.data;
    assert.equal(d.functionId, 'fn_alpha');
    assert.equal(d.executions, 5);
    assert.equal(d.unit, 'hour');
    // From 2026-03-09T12:00 (the window's start rounded down) through the current hour: 25 buckets.
    assert.equal(d.series.length, 25);
    assert.equal(d.series[0].start, '2026-03-09T12:00:00.000Z');
    assert.equal(d.series.at(-1).start, '2026-03-10T12:00:00.000Z');
    const nonEmpty = d.series.filter((b: any) => b.executions > 0).map((b: any) => [b.start.slice(11, 16), b.executions, b.errors]);
    assert.deepEqual(nonEmpty, [['09:00', 1, 0], ['10:00', 1, 1], ['12:00', 3, 0]]);
    assert.deepEqual(d.series[1], { start: '2026-03-09T13:00:00.000Z', executions: 0, errors: 0, cost: 0, wallClockCost: 0, cpuUsAvg: null, wallMsAvg: null, wallMsP95: null });
    const noon = d.series.at(-1);
    assert.equal(noon.cost, 0.0002);
    near(noon.wallMsP95, 1.95);
  });

  it('a 7d window gives a daily series; the id works like the name', async () => {
    const d = (await api(t.base, 'GET', '/api/metrics/functions/fn_alpha?window=7d')).body.data;
    assert.equal(d.unit, 'day');
    assert.deepEqual(d.series.map((b: any) => [b.start.slice(0, 10), b.executions]), [['2026-03-03', 0], ['2026-03-04', 0], ['2026-03-05', 0], ['2026-03-06', 0], ['2026-03-07', 1], ['2026-03-08', 0], ['2026-03-09', 0], ['2026-03-10', 5]]);
  });

  it('unknown function → 404 FUNCTION_NOT_FOUND; bad window → 400 naming the field', async () => {
    const missing = await api(t.base, 'GET', '/api/metrics/functions/nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'FUNCTION_NOT_FOUND');
    for (const path of ['/api/metrics?window=2h', '/api/metrics/functions?window=1y', '/api/metrics/functions/alpha?window=', '/api/metrics?windows=24h']) {
      const res = await api(t.base, 'GET', path);
      assert.equal(res.status, 400, path);
      assert.equal(res.body.error.code, 'VALIDATION_FAILED');
      assert.match(res.body.error.message, /window/, path);
    }
  });

  it('GET /api/costs/system: seed shape for today (UTC) by default, plus wall-clock cost and savings', async () => {
    const res = await api(t.base, 'GET', '/api/costs/system');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.data, {
      period: { startDate: '2026-03-10', endDate: '2026-03-10' },
      totalSystemCost: 0.0008,
      totalExecutions: 7,
      averageCostPerExecution: Math.round((0.0008 / 7) * 1e12) / 1e12,
      functionCosts: [
        { functionId: 'fn_alpha', functionName: 'alpha', totalCost: 0.0004, executionCount: 5, tier: 'basic', wallClockCost: 0.0012 },
        { functionId: 'fn_beta', functionName: 'beta', totalCost: 0.0003, executionCount: 1, tier: 'standard', wallClockCost: 0.0009 },
        { functionId: 'fn_ghost', functionName: null, totalCost: 0.0001, executionCount: 1, tier: null, wallClockCost: 0.0003 },
      ],
      wallClockCost: 0.0024,
      savings: { amount: 0.0016, percent: 66.67 },
    });
    const past = (await api(t.base, 'GET', '/api/costs/system?startDate=2026-03-07&endDate=2026-03-08')).body.data;
    assert.deepEqual([past.totalExecutions, past.totalSystemCost, past.functionCosts.length], [1, 0.0001, 1]);
    const all = (await api(t.base, 'GET', '/api/costs/system?startDate=2026-03-01')).body.data;
    assert.deepEqual([all.period.endDate, all.totalExecutions], ['2026-03-10', 8]);
  });

  it('GET /api/costs/system rejects bad dates, naming the field', async () => {
    for (const [query, field] of [['startDate=2026-03-10&endDate=2026-03-01', 'startDate'], ['startDate=2026-02-30', 'startDate'], ['endDate=10-03-2026', 'endDate'], ['startDate=2024-01-01&endDate=2026-01-01', 'endDate'], ['from=2026-01-01', 'from']] as const) {
      const res = await api(t.base, 'GET', `/api/costs/system?${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(res.body.error.code, 'VALIDATION_FAILED');
      assert.match(res.body.error.message, new RegExp(field), query);
    }
  });

  it('GET /api/costs/trends: 24 hourly buckets by default, 7 or 30 daily ones, empty ones as zeros', async () => {
    const res = await api(t.base, 'GET', '/api/costs/trends');
    assert.equal(res.status, 200);
    const hourly = res.body.data.hourly;
    assert.equal(hourly.length, 24);
    assert.deepEqual(hourly[0], { hour: '13:00', start: '2026-03-09T13:00:00.000Z', cost: 0, wallClockCost: 0, executions: 0 });
    assert.equal(hourly.at(-1).hour, '12:00');
    assert.deepEqual(hourly.filter((h: any) => h.executions > 0).map((h: any) => [h.hour, h.executions, h.cost]), [['09:00', 1, 0.0001], ['10:00', 1, 0.0001], ['11:00', 1, 0.0001], ['12:00', 4, 0.0005]]);
    const week = (await api(t.base, 'GET', '/api/costs/trends?period=7d')).body.data.daily;
    assert.deepEqual(week.map((d: any) => [d.day, d.executions]), [['2026-03-04', 0], ['2026-03-05', 0], ['2026-03-06', 0], ['2026-03-07', 1], ['2026-03-08', 0], ['2026-03-09', 0], ['2026-03-10', 7]]);
    assert.equal((await api(t.base, 'GET', '/api/costs/trends?period=30d')).body.data.daily.length, 30);
    const bad = await api(t.base, 'GET', '/api/costs/trends?period=1h');
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /period: got "1h", must be one of 24h, 7d, 30d/);
  });
});
