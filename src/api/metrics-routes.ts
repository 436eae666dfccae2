/**
 * Metrics and costs over the API (seed 001's `GET /api/metrics`, `/api/costs/system`,
 * `/api/costs/trends`, with Spillway's additions: CPU vs wall, percentiles, cold starts, tiers,
 * per-function rows and series) and Prometheus at `GET /metrics`. The figures come from the
 * store's aggregation methods (SQL over the indexed executions table); this file picks the
 * windows, fills empty buckets with zeros and shapes the responses. docs/metrics.md has every
 * route with an example.
 */
import type { FastifyInstance } from 'fastify';
import type { Platform } from '../platform.js';
import { costSystemQuerySchema, costTrendsQuerySchema, metricsQuerySchema, parseOrThrow } from '../protocol/schemas.js';
import type { ExecutionBucket, ExecutionStats, FunctionRecord } from '../storage/types.js';
import { PrometheusMetrics } from './prometheus-metrics.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const WINDOW_MS = { '1h': HOUR_MS, '24h': DAY_MS, '7d': 7 * DAY_MS, '30d': 30 * DAY_MS } as const;
/** Series are hourly up to this window, daily beyond. */
const HOURLY_UP_TO_MS = 48 * HOUR_MS;

type Unit = 'hour' | 'day';

const iso = (ms: number) => new Date(ms).toISOString();
const unitMs = (unit: Unit) => (unit === 'hour' ? HOUR_MS : DAY_MS);
const floorTo = (ms: number, unit: Unit) => ms - (ms % unitMs(unit));
/** A percentage with two decimals, as seed 001's successRate (86.96). */
const pct = (part: number, whole: number) => (whole === 0 ? 0 : Math.round((part / whole) * 10_000) / 100);
const money = (n: number) => Math.round(n * 1e12) / 1e12;

export async function metricsRoutes(app: FastifyInstance, platform: Platform): Promise<void> {
  const { store, clock } = platform;
  const prometheus = new PrometheusMetrics(platform);
  app.addHook('onClose', async () => prometheus.close());

  /** The window ending now: `since <= createdAt < until` (until is just past now, so now counts). */
  const windowOf = (ms: number) => {
    const now = clock.now();
    return { since: iso(now - ms), until: iso(now + 1) };
  };

  /** Buckets from `firstStart` through the bucket holding now, every one present (zeros when empty). */
  async function series(unit: Unit, firstStart: number, functionId?: string, percentiles = true): Promise<ExecutionBucket[]> {
    const now = clock.now();
    const found = await store.executionBuckets({ unit, since: iso(firstStart), until: iso(now + 1), percentiles, ...(functionId ? { functionId } : {}) });
    const byStart = new Map(found.map((b) => [b.start, b]));
    const out: ExecutionBucket[] = [];
    for (let start = firstStart; start <= now; start += unitMs(unit)) {
      out.push(byStart.get(iso(start)) ?? { start: iso(start), executions: 0, errors: 0, cost: 0, wallClockCost: 0, cpuUsAvg: null, wallMsAvg: null, wallMsP95: null });
    }
    return out;
  }

  app.get<{ Querystring: Record<string, string> }>('/api/metrics', async (request) => {
    const { window } = parseOrThrow(metricsQuerySchema, request.query, 'query');
    const range = windowOf(WINDOW_MS[window]);
    const [s, recent, functions] = await Promise.all([store.executionStats(range), store.executionStats({ ...windowOf(HOUR_MS), percentiles: false }), store.listFunctions()]);
    const snapshot = platform.capacity.snapshot();
    const saved = money(s.wallClockCost - s.totalCost);
    return {
      success: true,
      data: {
        window,
        since: range.since,
        until: range.until,
        totalExecutions: s.total,
        recentExecutions: recent.total,
        completedExecutions: s.completed,
        failedExecutions: s.failed,
        pendingExecutions: s.pending,
        runningExecutions: s.running,
        successRate: pct(s.completed, s.completed + s.failed),
        activeFunctions: functions.filter((fn) => fn.status === 'active').length,
        currentInstances: snapshot.baseline.workers,
        averageExecutionTime: s.wallMsAvg ?? 0,
        cpu: { totalUs: s.cpuUsTotal, averageUs: s.cpuUsAvg ?? 0 },
        wall: { averageMs: s.wallMsAvg ?? 0, p50Ms: s.wallMsP50, p95Ms: s.wallMsP95, p99Ms: s.wallMsP99 },
        coldStarts: s.coldStarts,
        byTrigger: { http: s.http, async: s.async },
        cost: { total: s.totalCost, wallClock: s.wallClockCost, saved, savedPct: pct(saved, s.wallClockCost) },
        tiers: { mode: snapshot.mode, weights: snapshot.weights, baselineWorkers: snapshot.baseline.workers, burstWorkers: snapshot.burst?.workers ?? 0 },
      },
    };
  });

  app.get<{ Querystring: Record<string, string> }>('/api/metrics/functions', async (request) => {
    const { window } = parseOrThrow(metricsQuerySchema, request.query, 'query');
    const range = windowOf(WINDOW_MS[window]);
    const [rows, functions] = await Promise.all([store.executionStatsByFunction(range), store.listFunctions()]);
    const stats = new Map(rows.map((r) => [r.functionId, r]));
    // Every existing function (zeros when idle), then deleted ones that still have executions in the window.
    const out = functions.map((fn) => functionRow(fn.id, fn, stats.get(fn.id) ?? null));
    const known = new Set(functions.map((fn) => fn.id));
    for (const r of rows) if (!known.has(r.functionId)) out.push(functionRow(r.functionId, null, r));
    out.sort((a, b) => b.executions - a.executions || String(a.functionName).localeCompare(String(b.functionName)));
    return { success: true, data: { window, since: range.since, until: range.until, functions: out } };
  });

  app.get<{ Params: { id: string }; Querystring: Record<string, string> }>('/api/metrics/functions/:id', async (request) => {
    const { window } = parseOrThrow(metricsQuerySchema, request.query, 'query');
    const fn = await platform.functions.resolve(request.params.id);
    const ms = WINDOW_MS[window];
    const range = windowOf(ms);
    const unit: Unit = ms <= HOURLY_UP_TO_MS ? 'hour' : 'day';
    const [s, buckets] = await Promise.all([store.executionStats({ ...range, functionId: fn.id }), series(unit, floorTo(Date.parse(range.since), unit), fn.id)]);
    return { success: true, data: { window, since: range.since, until: range.until, ...functionRow(fn.id, fn, s), unit, series: buckets } };
  });

  app.get<{ Querystring: Record<string, string> }>('/api/costs/system', async (request) => {
    const query = parseOrThrow(costSystemQuerySchema, request.query, 'query');
    const today = iso(clock.now()).slice(0, 10);
    const startDate = query.startDate ?? (query.endDate !== undefined && query.endDate < today ? query.endDate : today);
    const endDate = query.endDate ?? (startDate > today ? startDate : today);
    const range = { since: `${startDate}T00:00:00.000Z`, until: iso(Date.parse(`${endDate}T00:00:00.000Z`) + DAY_MS) };
    const [rows, functions] = await Promise.all([store.executionStatsByFunction({ ...range, percentiles: false }), store.listFunctions()]);
    const byId = new Map(functions.map((fn) => [fn.id, fn]));
    const totalSystemCost = money(rows.reduce((n, r) => n + r.totalCost, 0));
    const wallClockCost = money(rows.reduce((n, r) => n + r.wallClockCost, 0));
    const totalExecutions = rows.reduce((n, r) => n + r.total, 0);
    const saved = money(wallClockCost - totalSystemCost);
    const functionCosts = rows
      .map((r) => ({ functionId: r.functionId, functionName: byId.get(r.functionId)?.name ?? null, totalCost: r.totalCost, executionCount: r.total, tier: byId.get(r.functionId)?.tier ?? null, wallClockCost: r.wallClockCost }))
      .sort((a, b) => b.totalCost - a.totalCost || b.executionCount - a.executionCount);
    return {
      success: true,
      data: {
        period: { startDate, endDate },
        totalSystemCost,
        totalExecutions,
        averageCostPerExecution: totalExecutions === 0 ? 0 : money(totalSystemCost / totalExecutions),
        functionCosts,
        wallClockCost,
        savings: { amount: saved, percent: pct(saved, wallClockCost) },
      },
    };
  });

  app.get<{ Querystring: Record<string, string> }>('/api/costs/trends', async (request) => {
    const { period } = parseOrThrow(costTrendsQuerySchema, request.query, 'query');
    const now = clock.now();
    if (period === '24h') {
      const buckets = await series('hour', floorTo(now, 'hour') - 23 * HOUR_MS, undefined, false);
      return { success: true, data: { period, hourly: buckets.map((b) => ({ hour: `${b.start.slice(11, 13)}:00`, start: b.start, cost: b.cost, wallClockCost: b.wallClockCost, executions: b.executions })) } };
    }
    const days = period === '7d' ? 7 : 30;
    const buckets = await series('day', floorTo(now, 'day') - (days - 1) * DAY_MS, undefined, false);
    return { success: true, data: { period, daily: buckets.map((b) => ({ day: b.start.slice(0, 10), start: b.start, cost: b.cost, wallClockCost: b.wallClockCost, executions: b.executions })) } };
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await prometheus.scrape();
    return reply.header('content-type', prometheus.contentType).send(text);
  });
}

/** One function's figures for a window (zeros when it had no executions). */
function functionRow(functionId: string, fn: FunctionRecord | null, s: ExecutionStats | null) {
  return {
    functionId,
    functionName: fn?.name ?? null,
    ...(fn ? {} : { deleted: true }),
    executions: s?.total ?? 0,
    errors: s?.failed ?? 0,
    errorRate: pct(s?.failed ?? 0, s?.total ?? 0),
    latencyMs: { p50: s?.wallMsP50 ?? null, p95: s?.wallMsP95 ?? null, p99: s?.wallMsP99 ?? null },
    cpuUs: { avg: s?.cpuUsAvg ?? null, p95: s?.cpuUsP95 ?? null },
    wallMs: { avg: s?.wallMsAvg ?? null },
    coldStarts: s?.coldStarts ?? 0,
    cost: { total: s?.totalCost ?? 0, wallClock: s?.wallClockCost ?? 0 },
  };
}
