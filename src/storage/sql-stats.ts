/**
 * Aggregation over the `executions` table (metrics and cost APIs), shared by the SQLite and
 * PostgreSQL adapters so the two compute the same figures. The database does the work: counts,
 * sums, averages, UTC hour/day buckets and percentile ranks are SQL over the `created_at` indexes;
 * the adapter only turns the rows into records.
 *
 * Percentiles are PostgreSQL's `percentile_cont` (linear interpolation between the two ranks
 * around `p × (n − 1)`). SQLite has no percentile function, so its query ranks the window's rows
 * with `ROW_NUMBER() OVER (PARTITION BY group ORDER BY value)` (one sort per ranked column) and
 * picks the two neighbouring values of each rank; `interpolate` then does the multiply-add that
 * percentile_cont does internally. Both therefore give the same number for the same rows (the
 * contract suite checks it). Percentiles and CPU/wall averages cover finished attempts (rows with
 * both a wall and a CPU time).
 *
 * Buckets group by a prefix of the ISO-8601 `created_at` text (13 characters: the UTC hour, 10:
 * the day), which both databases compute the same way and which sorts chronologically.
 */
import type { ExecutionBucket, ExecutionStats, FunctionExecutionStats, StatsWindow } from './types.js';
import { param, type Dialect } from './sql-migrations.js';

/** How rows are grouped: one group for the window, per function, per UTC hour or per UTC day. */
export type StatsGroup = 'all' | 'function' | 'hour' | 'day';

type Row = Record<string, unknown>;

const PERCENTILES = { w50: ['wall_us', 0.5], w95: ['wall_us', 0.95], w99: ['wall_us', 0.99], c95: ['cpu_us', 0.95] } as const;
type PercentileKey = keyof typeof PERCENTILES;

function groupExpr(group: StatsGroup): string | null {
  switch (group) {
    case 'all':
      return null;
    case 'function':
      return 'function_id';
    case 'hour':
      return 'substr(created_at, 1, 13)';
    case 'day':
      return 'substr(created_at, 1, 10)';
  }
}

function costField(dialect: Dialect, field: 'totalCost' | 'wallClockCost'): string {
  return dialect === 'sqlite' ? `json_extract(cost, '$.${field}')` : `(cost->>'${field}')::double precision`;
}

/** The WHERE clause and its parameters for a window. */
export function windowFilter(dialect: Dialect, window: StatsWindow): { where: string; params: unknown[] } {
  const params: unknown[] = [window.since, window.until];
  let where = `created_at >= ${param(dialect, 1)} AND created_at < ${param(dialect, 2)}`;
  if (window.functionId !== undefined) {
    params.push(window.functionId);
    where += ` AND function_id = ${param(dialect, 3)}`;
  }
  return { where, params };
}

const FINISHED = 'wall_us IS NOT NULL AND cpu_us IS NOT NULL';

/**
 * Counts, sums and averages per group (column `g`); on PostgreSQL also the percentiles
 * (columns w50, w95, w99, c95, in µs), which SQLite gets from sqlitePercentileSql.
 */
export function aggregateSql(dialect: Dialect, group: StatsGroup, window: StatsWindow): string {
  const g = groupExpr(group);
  const count = (cond: string) => `SUM(CASE WHEN ${cond} THEN 1 ELSE 0 END) AS`;
  const cols = [
    `${g ?? "'all'"} AS g`,
    'COUNT(*) AS total',
    `${count("status = 'pending'")} pending`,
    `${count("status = 'running'")} running`,
    `${count("status = 'completed'")} completed`,
    `${count("status = 'failed'")} failed`,
    `${count("trigger = 'http'")} http`,
    `${count("trigger = 'async'")} async_count`,
    `${count('cold_start')} cold_starts`,
    `SUM(CASE WHEN ${FINISHED} THEN cpu_us END) AS cpu_total`,
    `AVG(CASE WHEN ${FINISHED} THEN cpu_us END) AS cpu_avg`,
    `AVG(CASE WHEN ${FINISHED} THEN wall_us END) AS wall_avg`,
    `SUM(${costField(dialect, 'totalCost')}) AS total_cost`,
    `SUM(${costField(dialect, 'wallClockCost')}) AS wall_clock_cost`,
  ];
  if (dialect === 'postgres' && window.percentiles !== false) {
    for (const [key, [column, p]] of Object.entries(PERCENTILES)) {
      cols.push(`percentile_cont(${p}) WITHIN GROUP (ORDER BY ${column}) FILTER (WHERE ${FINISHED}) AS ${key}`);
    }
  }
  const { where } = windowFilter(dialect, window);
  return `SELECT ${cols.join(', ')} FROM executions WHERE ${where}${g ? ` GROUP BY ${g} ORDER BY ${g}` : ''}`;
}

/**
 * SQLite: per group, the row count `n` and, for each percentile p, the values at ranks
 * floor(p × (n − 1)) (column `<key>_lo`) and the next one (`<key>_hi`).
 */
export function sqlitePercentileSql(group: StatsGroup, window: StatsWindow): string {
  const g = groupExpr(group);
  const partition = g ? `PARTITION BY ${g} ` : '';
  const { where } = windowFilter('sqlite', window);
  const picks: string[] = [];
  for (const [key, [column, p]] of Object.entries(PERCENTILES)) {
    const rank = column === 'wall_us' ? 'rw' : 'rc';
    picks.push(`MAX(CASE WHEN ${rank} = CAST((n - 1) * ${p} AS INTEGER) THEN ${column} END) AS ${key}_lo`);
    picks.push(`MAX(CASE WHEN ${rank} = CAST((n - 1) * ${p} AS INTEGER) + 1 THEN ${column} END) AS ${key}_hi`);
  }
  return (
    `WITH ranked AS (SELECT ${g ?? "'all'"} AS g, wall_us, cpu_us, ` +
    `ROW_NUMBER() OVER (${partition}ORDER BY wall_us) - 1 AS rw, ` +
    `ROW_NUMBER() OVER (${partition}ORDER BY cpu_us) - 1 AS rc, ` +
    `COUNT(*) OVER (${partition.trim()}) AS n ` +
    `FROM executions WHERE ${where} AND ${FINISHED}) ` +
    `SELECT g, MAX(n) AS n, ${picks.join(', ')} FROM ranked GROUP BY g`
  );
}

/** percentile_cont's interpolation between the values at ranks floor(p(n−1)) and the next. */
export function interpolate(p: number, n: number, lo: unknown, hi: unknown): number | null {
  if (lo === null || lo === undefined || n <= 0) return null;
  const position = p * (n - 1);
  const fraction = position - Math.floor(position);
  if (fraction === 0 || hi === null || hi === undefined) return Number(lo);
  return Number(lo) + (Number(hi) - Number(lo)) * fraction;
}

/** Turns a SQLite percentile row into the columns PostgreSQL's aggregate row carries (w50 … c95). */
export function sqlitePercentiles(row: Row): Record<PercentileKey, number | null> {
  const n = Number(row.n);
  const out = {} as Record<PercentileKey, number | null>;
  for (const [key, [, p]] of Object.entries(PERCENTILES) as Array<[PercentileKey, readonly [string, number]]>) {
    out[key] = interpolate(p, n, row[`${key}_lo`], row[`${key}_hi`]);
  }
  return out;
}

/** Costs are sums of many small floats: rounded to 1e-12 dollars like each record's own cost. */
function money(value: unknown): number {
  return value === null || value === undefined ? 0 : Math.round(Number(value) * 1e12) / 1e12;
}

const num = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value));
const maybe = (value: unknown, scale = 1): number | null => (value === null || value === undefined ? null : Number(value) / scale);

/** An aggregate row (with percentile columns w50 … c95 in µs) as ExecutionStats. */
export function decodeStats(row: Row | undefined): ExecutionStats {
  const r = row ?? {};
  return {
    total: num(r.total),
    pending: num(r.pending),
    running: num(r.running),
    completed: num(r.completed),
    failed: num(r.failed),
    http: num(r.http),
    async: num(r.async_count),
    coldStarts: num(r.cold_starts),
    cpuUsTotal: num(r.cpu_total),
    cpuUsAvg: maybe(r.cpu_avg),
    cpuUsP95: maybe(r.c95),
    wallMsAvg: maybe(r.wall_avg, 1000),
    wallMsP50: maybe(r.w50, 1000),
    wallMsP95: maybe(r.w95, 1000),
    wallMsP99: maybe(r.w99, 1000),
    totalCost: money(r.total_cost),
    wallClockCost: money(r.wall_clock_cost),
  };
}

export function decodeFunctionStats(row: Row): FunctionExecutionStats {
  return { functionId: String(row.g), ...decodeStats(row) };
}

/** A bucket row; `g` is the 13- or 10-character prefix of created_at. */
export function decodeBucket(row: Row): ExecutionBucket {
  const key = String(row.g);
  const s = decodeStats(row);
  return {
    start: key.length === 13 ? `${key}:00:00.000Z` : `${key}T00:00:00.000Z`,
    executions: s.total,
    errors: s.failed,
    cost: s.totalCost,
    wallClockCost: s.wallClockCost,
    cpuUsAvg: s.cpuUsAvg,
    wallMsAvg: s.wallMsAvg,
    wallMsP95: s.wallMsP95,
  };
}

/** SQLite: merges the percentile rows into the aggregate rows by group. */
export function withSqlitePercentiles(rows: Row[], percentileRows: Row[]): Row[] {
  const byGroup = new Map(percentileRows.map((r) => [String(r.g), sqlitePercentiles(r)]));
  return rows.map((r) => ({ ...r, ...(byGroup.get(String(r.g)) ?? {}) }));
}
