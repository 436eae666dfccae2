/**
 * The execution rollups (migration 4: tables `execution_rollups`, per hour, and
 * `execution_rollups_daily`, per day), shared by the SQLite and PostgreSQL adapters: what a row
 * holds, how a write changes it, and how a stats query over a long window reads it.
 *
 * One row per (function, UTC hour — or UTC day — of `created_at`) sums the executions in a **final**
 * state (completed or failed) of that period: counts (executions, completed, failed, http, async,
 * cold starts, finished attempts), sums (CPU µs, wall µs, duration ms, cost, wall-clock cost) and
 * two sparse log-scale histograms (wall µs and CPU µs; JSON objects bucket → count). The store keeps
 * both tables in the same transaction as the write that changes an execution: insertExecutions and
 * createExecution add final records; updateExecution reads the old row first, takes the old
 * contribution out when the old row was final and puts the new one in when the new row is final.
 * So a row counts exactly once however often it is rewritten (running → completed, failed → pending
 * for a retry → completed, a final row rewritten again), and each rollup row always equals the sum
 * over the final rows of its period. Trigger is a pair of counters (http, async), not a key column:
 * it halves the rows and no query groups by it.
 *
 * A stats query whose window spans at least one whole UTC hour reads:
 * - the whole days from the daily table and the whole hours around them from the hourly one
 *   (hourly series read hours only), ≈ functions × (days + 46) rows at most, instead of every execution;
 * - the executions of the whole hours that are not final (pending/running; `executions_status_created`);
 * - every execution of the partial hours at the window's two edges (`executions_created`);
 * and adds them up in JS. Counts, sums and averages therefore equal the raw-row figures (costs up
 * to float summation order; both are rounded to 1e-12). Percentiles are exact (the ranked query of
 * sql-stats.ts) when the window holds at most `exactPercentileLimit` finished attempts (default
 * 2,000); beyond that they come from the merged histograms: each rank's value is the geometric
 * middle of its bucket, interpolated as percentile_cont does, so the result is within a factor
 * √1.1 of the exact one (±4.9%; 0 µs is its own bucket and exact).
 */
import type { ExecutionRecord, StatsWindow } from './types.js';
import { param, type Dialect } from './sql-migrations.js';
import type { StatsGroup } from './sql-stats.js';

type Row = Record<string, unknown>;

export const ROLLUP_MIGRATION = 4;

/** Histogram bucket ratio: bucket k holds [R^k, R^(k+1)) µs. */
export const BUCKET_RATIO = 1.1;
const LOG_R = Math.log(BUCKET_RATIO);
/** The bucket of 0 (and of negative values, which do not occur). */
const ZERO_BUCKET = -100_000;
/** Relative error bound of a histogram percentile: √R − 1. */
export const PERCENTILE_ERROR = Math.sqrt(BUCKET_RATIO) - 1;
/** Default: percentiles are ranked exactly up to this many finished attempts in the window. */
export const EXACT_PERCENTILE_LIMIT = 2_000;

const HOUR_MS = 3_600_000;

export function bucketOf(value: number): number {
  if (!(value > 0)) return ZERO_BUCKET;
  let k = Math.floor(Math.log(value) / LOG_R);
  // Float rounding at a boundary: settle on R^k <= value < R^(k+1).
  if (BUCKET_RATIO ** k > value) k--;
  else if (BUCKET_RATIO ** (k + 1) <= value) k++;
  return k;
}

/** The value a bucket stands for: the geometric middle of its range (0 for the zero bucket). */
export function bucketValue(k: number): number {
  return k === ZERO_BUCKET ? 0 : BUCKET_RATIO ** (k + 0.5);
}

type Hist = Map<number, number>;

/** Sums over a set of executions (one group of a query, or one rollup row's change). */
export interface Acc {
  executions: number;
  pending: number;
  running: number;
  completed: number;
  failed: number;
  http: number;
  async: number;
  coldStarts: number;
  finished: number;
  cpuUs: number;
  wallUs: number;
  durationMs: number;
  totalCost: number;
  wallClockCost: number;
  /** Whether any row had a cost (SUM over no costs is NULL, as in the raw query). */
  costed: boolean;
  wallHist: Hist;
  cpuHist: Hist;
}

export function emptyAcc(): Acc {
  return {
    executions: 0, pending: 0, running: 0, completed: 0, failed: 0, http: 0, async: 0, coldStarts: 0, finished: 0,
    cpuUs: 0, wallUs: 0, durationMs: 0, totalCost: 0, wallClockCost: 0, costed: false, wallHist: new Map(), cpuHist: new Map(),
  };
}

/** What one execution contributes, whatever its source (a record or a raw row). */
export interface Contribution {
  status: string;
  trigger: string;
  coldStart: boolean;
  cpuUs: number | null;
  wallUs: number | null;
  duration: number | null;
  totalCost: number | null;
  wallClockCost: number | null;
}

const bump = (h: Hist, k: number, n: number) => {
  const v = (h.get(k) ?? 0) + n;
  if (v === 0) h.delete(k);
  else h.set(k, v);
};

export function addContribution(acc: Acc, c: Contribution, sign = 1): void {
  acc.executions += sign;
  if (c.status === 'pending') acc.pending += sign;
  else if (c.status === 'running') acc.running += sign;
  else if (c.status === 'completed') acc.completed += sign;
  else if (c.status === 'failed') acc.failed += sign;
  if (c.trigger === 'http') acc.http += sign;
  else if (c.trigger === 'async') acc.async += sign;
  if (c.coldStart) acc.coldStarts += sign;
  if (c.duration !== null) acc.durationMs += sign * c.duration;
  if (c.cpuUs !== null && c.wallUs !== null) {
    acc.finished += sign;
    acc.cpuUs += sign * c.cpuUs;
    acc.wallUs += sign * c.wallUs;
    bump(acc.wallHist, bucketOf(c.wallUs), sign);
    bump(acc.cpuHist, bucketOf(c.cpuUs), sign);
  }
  if (c.totalCost !== null) {
    acc.totalCost += sign * c.totalCost;
    acc.costed = true;
  }
  if (c.wallClockCost !== null) {
    acc.wallClockCost += sign * c.wallClockCost;
    acc.costed = true;
  }
}

export function isFinal(status: string): boolean {
  return status === 'completed' || status === 'failed';
}

export function recordContribution(r: ExecutionRecord): Contribution {
  return {
    status: r.status,
    trigger: r.trigger,
    coldStart: r.coldStart,
    cpuUs: r.cpuUs,
    wallUs: r.wallUs,
    duration: r.duration,
    totalCost: r.cost ? r.cost.totalCost : null,
    wallClockCost: r.cost ? r.cost.wallClockCost : null,
  };
}

const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** A row of rawRowsSql as a contribution. */
export function rowContribution(row: Row): Contribution {
  return {
    status: String(row.status),
    trigger: String(row.trigger),
    coldStart: row.cold_start === true || row.cold_start === 1,
    cpuUs: numOrNull(row.cpu_us),
    wallUs: numOrNull(row.wall_us),
    duration: numOrNull(row.duration),
    totalCost: numOrNull(row.total_cost),
    wallClockCost: numOrNull(row.wall_clock_cost),
  };
}

export const hourKey = (createdAt: string) => createdAt.slice(0, 13);

/** A rollup table: hourly rows, and daily rows (the same sums per UTC day) so long windows read few rows. */
export interface Level {
  table: string;
  /** The period column: the first `width` characters of created_at. */
  key: string;
  width: number;
}
export const HOURLY: Level = { table: 'execution_rollups', key: 'hour', width: 13 };
export const DAILY: Level = { table: 'execution_rollups_daily', key: 'day', width: 10 };
export const LEVELS: readonly Level[] = [HOURLY, DAILY];

export function mergeAcc(into: Acc, from: Acc): void {
  into.executions += from.executions;
  into.pending += from.pending;
  into.running += from.running;
  into.completed += from.completed;
  into.failed += from.failed;
  into.http += from.http;
  into.async += from.async;
  into.coldStarts += from.coldStarts;
  into.finished += from.finished;
  into.cpuUs += from.cpuUs;
  into.wallUs += from.wallUs;
  into.durationMs += from.durationMs;
  into.totalCost += from.totalCost;
  into.wallClockCost += from.wallClockCost;
  into.costed ||= from.costed;
  for (const [k, n] of from.wallHist) bump(into.wallHist, k, n);
  for (const [k, n] of from.cpuHist) bump(into.cpuHist, k, n);
}

/** Changes to hourly rollup rows, by `function_id \u0000 hour`. */
export type Deltas = Map<string, Acc>;

export function addToDeltas(deltas: Deltas, functionId: string, createdAt: string, c: Contribution, sign: number): void {
  const key = `${functionId}\u0000${hourKey(createdAt)}`;
  let acc = deltas.get(key);
  if (!acc) deltas.set(key, (acc = emptyAcc()));
  addContribution(acc, c, sign);
}

/** The rollup change of inserting these records (only final ones count). */
export function insertDeltas(records: readonly ExecutionRecord[]): Deltas {
  const deltas: Deltas = new Map();
  for (const r of records) if (isFinal(r.status)) addToDeltas(deltas, r.functionId, r.createdAt, recordContribution(r), 1);
  return deltas;
}

/** The rollup change of replacing `old` (a raw row, or undefined when missing) by `next`. */
export function updateDeltas(old: Row | undefined, next: ExecutionRecord): Deltas {
  const deltas: Deltas = new Map();
  if (!old) return deltas;
  if (isFinal(String(old.status))) addToDeltas(deltas, String(old.function_id), String(old.created_at), rowContribution(old), -1);
  if (isFinal(next.status)) addToDeltas(deltas, next.functionId, next.createdAt, recordContribution(next), 1);
  return deltas;
}

/** The columns a contribution is read from, for `SELECT <this> FROM executions`. */
export function rawColumns(dialect: Dialect): string {
  const cost = (f: string) => (dialect === 'sqlite' ? `json_extract(cost, '$.${f}')` : `(cost->>'${f}')::double precision`);
  return `function_id, created_at, status, trigger, cold_start, cpu_us, wall_us, duration, ${cost('totalCost')} AS total_cost, ${cost('wallClockCost')} AS wall_clock_cost`;
}

/** The old row, for updateDeltas (PostgreSQL locks it until the transaction ends). */
export function oldRowSql(dialect: Dialect): string {
  return `SELECT ${rawColumns(dialect)} FROM executions WHERE id = ${param(dialect, 1)}${dialect === 'postgres' ? ' FOR UPDATE' : ''}`;
}

/** Every final row, for the backfill when migration 4 is applied. */
export function backfillSql(dialect: Dialect): string {
  return `SELECT ${rawColumns(dialect)} FROM executions WHERE status IN ('completed', 'failed')`;
}

const COUNTERS = ['executions', 'completed', 'failed', 'http', 'async_count', 'cold_starts', 'finished', 'cpu_us', 'wall_us', 'duration_ms', 'total_cost', 'wall_clock_cost'] as const;

function counterValues(a: Acc): number[] {
  return [a.executions, a.completed, a.failed, a.http, a.async, a.coldStarts, a.finished, a.cpuUs, a.wallUs, a.durationMs, a.totalCost, a.wallClockCost];
}

/** The statements that apply one delta row: ensure the row, read (and lock) its histograms, write. */
export function deltaSql(dialect: Dialect, level: Level): { ensure: string; read: string; write: string } {
  const p = (n: number) => param(dialect, n);
  const { table, key } = level;
  const cols = ['function_id', key, ...COUNTERS, 'wall_hist', 'cpu_hist'];
  const ensure =
    `INSERT INTO ${table} (${cols.join(', ')}) VALUES (${p(1)}, ${p(2)}, ${COUNTERS.map(() => '0').join(', ')}, '{}', '{}') ` +
    `ON CONFLICT (function_id, ${key}) DO NOTHING`;
  const read = `SELECT wall_hist, cpu_hist FROM ${table} WHERE function_id = ${p(1)} AND ${key} = ${p(2)}${dialect === 'postgres' ? ' FOR UPDATE' : ''}`;
  const sets = COUNTERS.map((c, i) => `${c} = ${c} + ${p(i + 1)}`);
  const n = COUNTERS.length;
  const write =
    `UPDATE ${table} SET ${sets.join(', ')}, wall_hist = ${p(n + 1)}, cpu_hist = ${p(n + 2)} ` +
    `WHERE function_id = ${p(n + 3)} AND ${key} = ${p(n + 4)}`;
  return { ensure, read, write };
}

/**
 * PostgreSQL: one statement applying `rows` delta rows to a level's table, the histograms merged in
 * SQL (jsonb), rows locked in the VALUES order (sorted: a fixed lock order). SQLite, which runs in
 * process, uses deltaSql's three statements per row instead.
 */
export function pgUpsertSql(level: Level, rows: number): string {
  const { table, key } = level;
  const width = 2 + COUNTERS.length + 2;
  const tuples: string[] = [];
  for (let r = 0; r < rows; r++) tuples.push(`(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(', ')})`);
  const merge = (col: string) =>
    `(SELECT COALESCE(jsonb_object_agg(k, n), '{}'::jsonb)::text FROM (SELECT k, SUM(n) AS n FROM (` +
    `SELECT key AS k, value::bigint AS n FROM jsonb_each_text(${table}.${col}::jsonb) UNION ALL ` +
    `SELECT key, value::bigint FROM jsonb_each_text(excluded.${col}::jsonb)) u GROUP BY k HAVING SUM(n) <> 0) m)`;
  return (
    `INSERT INTO ${table} (function_id, ${key}, ${COUNTERS.join(', ')}, wall_hist, cpu_hist) VALUES ${tuples.join(', ')} ` +
    `ON CONFLICT (function_id, ${key}) DO UPDATE SET ${COUNTERS.map((c) => `${c} = ${table}.${c} + excluded.${c}`).join(', ')}, ` +
    `wall_hist = ${merge('wall_hist')}, cpu_hist = ${merge('cpu_hist')}`
  );
}

/** Parameters of pgUpsertSql for these delta rows. */
export function pgUpsertParams(entries: Array<{ functionId: string; period: string; acc: Acc }>): unknown[] {
  return entries.flatMap(({ functionId, period, acc }) => [functionId, period, ...counterValues(acc), mergeHistText('{}', acc.wallHist), mergeHistText('{}', acc.cpuHist)]);
}

/** The rows a level's table changes by, in sorted key order (a fixed lock order on PostgreSQL). */
export function deltaEntries(deltas: Deltas, level: Level): Array<{ functionId: string; period: string; acc: Acc }> {
  const byKey = new Map<string, Acc>();
  for (const [key, acc] of deltas) {
    const [functionId, hour] = key.split('\u0000') as [string, string];
    const k = `${functionId}\u0000${hour.slice(0, level.width)}`;
    const into = byKey.get(k);
    if (into) mergeAcc(into, acc);
    else byKey.set(k, copyAcc(acc));
  }
  return [...byKey.keys()].sort().map((k) => {
    const [functionId, period] = k.split('\u0000') as [string, string];
    return { functionId, period, acc: byKey.get(k)! };
  });
}

function copyAcc(acc: Acc): Acc {
  const out = emptyAcc();
  mergeAcc(out, acc);
  return out;
}

function parseHist(text: unknown): Hist {
  const out: Hist = new Map();
  if (typeof text !== 'string' || text === '{}') return out;
  for (const [k, v] of Object.entries(JSON.parse(text) as Record<string, number>)) out.set(Number(k), v);
  return out;
}

function mergeHistText(text: unknown, delta: Hist): string {
  const h = parseHist(text);
  for (const [k, n] of delta) bump(h, k, n);
  return JSON.stringify(Object.fromEntries([...h].sort((a, b) => a[0] - b[0])));
}

/** Parameters of deltaSql().write for a delta, given the row's current histograms. */
export function writeParams(functionId: string, hour: string, acc: Acc, current: Row | undefined): unknown[] {
  return [...counterValues(acc), mergeHistText(current?.wall_hist, acc.wallHist), mergeHistText(current?.cpu_hist, acc.cpuHist), functionId, hour];
}

// ---- Queries ----------------------------------------------------------------------------------

/** A range of one rollup table's periods: `key >= from AND key < to`. */
export interface Span {
  level: Level;
  from: string;
  to: string;
}

/** The window split into rollup spans and raw edges, or null when it has no whole hour. */
export interface RollupPlan {
  /** Whole days from the daily table, the whole hours around them from the hourly one. */
  spans: Span[];
  /** ISO bounds of the whole-hour span (the raw edges are the window outside it). */
  fromIso: string;
  toIso: string;
}

const DAY_MS = 24 * HOUR_MS;

export function planWindow(window: StatsWindow, group: StatsGroup): RollupPlan | null {
  const since = Date.parse(window.since);
  const until = Date.parse(window.until);
  if (!Number.isFinite(since) || !Number.isFinite(until)) return null;
  const h0 = Math.ceil(since / HOUR_MS) * HOUR_MS;
  const h1 = Math.floor(until / HOUR_MS) * HOUR_MS;
  if (h1 - h0 < HOUR_MS) return null;
  const key = (ms: number, level: Level) => new Date(ms).toISOString().slice(0, level.width);
  const hours = (from: number, to: number): Span[] => (to > from ? [{ level: HOURLY, from: key(from, HOURLY), to: key(to, HOURLY) }] : []);
  const d0 = Math.ceil(h0 / DAY_MS) * DAY_MS;
  const d1 = Math.floor(h1 / DAY_MS) * DAY_MS;
  // Hourly groups need hourly rows; otherwise whole days come from the daily table.
  const spans =
    group !== 'hour' && d1 > d0
      ? [...hours(h0, d0), { level: DAILY, from: key(d0, DAILY), to: key(d1, DAILY) }, ...hours(d1, h1)]
      : hours(h0, h1);
  return { spans, fromIso: new Date(h0).toISOString(), toIso: new Date(h1).toISOString() };
}

function rollupGroup(group: StatsGroup, level: Level): string {
  switch (group) {
    case 'all':
      return "'all'";
    case 'function':
      return 'function_id';
    case 'hour':
      return level.key;
    case 'day':
      return `substr(${level.key}, 1, 10)`;
  }
}

function rawGroup(group: StatsGroup, row: Row): string {
  switch (group) {
    case 'all':
      return 'all';
    case 'function':
      return String(row.function_id);
    case 'hour':
      return String(row.created_at).slice(0, 13);
    case 'day':
      return String(row.created_at).slice(0, 10);
  }
}

/** The statements of a rollup-based stats query, with their parameters. */
export function rollupQueries(dialect: Dialect, group: StatsGroup, window: StatsWindow, plan: RollupPlan) {
  const p = (n: number) => param(dialect, n);
  const fn = window.functionId;
  const withFn = (params: unknown[]) => (fn !== undefined ? [...params, fn] : params);
  const spanQuery = (span: Span, what: 'sums' | 'hists') => {
    const { table, key } = span.level;
    const g = rollupGroup(group, span.level);
    const where = `${key} >= ${p(1)} AND ${key} < ${p(2)}${fn !== undefined ? ` AND function_id = ${p(3)}` : ''}`;
    const sql =
      what === 'sums'
        ? `SELECT ${g} AS g, ${COUNTERS.map((c) => `SUM(${c}) AS ${c}`).join(', ')} FROM ${table} WHERE ${where}${group === 'all' ? '' : ` GROUP BY ${g}`}`
        : `SELECT ${g} AS g, wall_hist, cpu_hist FROM ${table} WHERE ${where} AND finished <> 0`;
    return { sql, params: withFn([span.from, span.to]) };
  };
  return {
    sums: plan.spans.map((span) => spanQuery(span, 'sums')),
    hists: plan.spans.map((span) => spanQuery(span, 'hists')),
    /** Raw rows of a range (run for each edge). */
    edge: (since: string, until: string) => ({
      sql: `SELECT ${rawColumns(dialect)} FROM executions WHERE created_at >= ${p(1)} AND created_at < ${p(2)}${fn !== undefined ? ` AND function_id = ${p(3)}` : ''}`,
      params: withFn([since, until]),
    }),
    /**
     * Rows of the whole hours that are not final yet, of every function (through the status index:
     * few rows; with a function filter the planner would walk that function's rows instead), which
     * `openRows` filters.
     */
    open: {
      sql: `SELECT ${rawColumns(dialect)} FROM executions WHERE status IN ('pending', 'running') AND created_at >= ${p(1)} AND created_at < ${p(2)}`,
      params: [plan.fromIso, plan.toIso],
    },
    openRows: (rows: Row[]) => (fn === undefined ? rows : rows.filter((r) => r.function_id === fn)),
  };
}

/** Adds the rollup sums rows into the groups. */
export function addSums(groups: Map<string, Acc>, rows: Row[]): void {
  for (const r of rows) {
    const acc = groupAcc(groups, String(r.g));
    acc.executions += Number(r.executions ?? 0);
    acc.completed += Number(r.completed ?? 0);
    acc.failed += Number(r.failed ?? 0);
    acc.http += Number(r.http ?? 0);
    acc.async += Number(r.async_count ?? 0);
    acc.coldStarts += Number(r.cold_starts ?? 0);
    acc.finished += Number(r.finished ?? 0);
    acc.cpuUs += Number(r.cpu_us ?? 0);
    acc.wallUs += Number(r.wall_us ?? 0);
    acc.durationMs += Number(r.duration_ms ?? 0);
    acc.totalCost += Number(r.total_cost ?? 0);
    acc.wallClockCost += Number(r.wall_clock_cost ?? 0);
    if (Number(r.executions ?? 0) > 0) acc.costed = true;
  }
}

/** Adds the rollup histogram rows into the groups. */
export function addHists(groups: Map<string, Acc>, rows: Row[]): void {
  for (const r of rows) {
    const acc = groupAcc(groups, String(r.g));
    for (const [k, n] of parseHist(r.wall_hist)) bump(acc.wallHist, k, n);
    for (const [k, n] of parseHist(r.cpu_hist)) bump(acc.cpuHist, k, n);
  }
}

/** Adds raw execution rows into their groups. */
export function addRawRows(groups: Map<string, Acc>, group: StatsGroup, rows: Row[]): void {
  for (const r of rows) addContribution(groupAcc(groups, rawGroup(group, r)), rowContribution(r));
}

function groupAcc(groups: Map<string, Acc>, g: string): Acc {
  let acc = groups.get(g);
  if (!acc) groups.set(g, (acc = emptyAcc()));
  return acc;
}

/** How many finished attempts the groups hold (decides exact vs histogram percentiles). */
export function finishedCount(groups: Map<string, Acc>): number {
  let n = 0;
  for (const acc of groups.values()) n += acc.finished;
  return n;
}

/** percentile_cont over a histogram: the interpolation between the values at ranks ⌊p(n−1)⌋ and the next. */
export function histPercentile(hist: Hist, p: number): number | null {
  let n = 0;
  for (const c of hist.values()) n += c;
  if (n <= 0) return null;
  const position = p * (n - 1);
  const lo = Math.floor(position);
  const fraction = position - lo;
  const keys = [...hist.keys()].sort((a, b) => a - b);
  const at = (rank: number): number => {
    let seen = 0;
    for (const k of keys) {
      seen += hist.get(k)!;
      if (rank < seen) return bucketValue(k);
    }
    return bucketValue(keys.at(-1)!);
  };
  const vLo = at(lo);
  if (fraction === 0 || lo + 1 >= n) return vLo;
  return vLo + (at(lo + 1) - vLo) * fraction;
}

/**
 * The groups as rows of the shape aggregateSql returns (g, total, …, w50 … c95), ordered by g and
 * without empty groups; `histPercentiles` fills w50 … c95 from the histograms.
 */
export function groupRows(groups: Map<string, Acc>, histPercentiles: boolean): Row[] {
  const rows: Row[] = [];
  for (const g of [...groups.keys()].sort()) {
    const a = groups.get(g)!;
    const total = a.executions;
    if (total === 0) continue;
    const row: Row = {
      g,
      total,
      pending: a.pending,
      running: a.running,
      completed: a.completed,
      failed: a.failed,
      http: a.http,
      async_count: a.async,
      cold_starts: a.coldStarts,
      cpu_total: a.finished > 0 ? a.cpuUs : null,
      cpu_avg: a.finished > 0 ? a.cpuUs / a.finished : null,
      wall_avg: a.finished > 0 ? a.wallUs / a.finished : null,
      total_cost: a.costed ? a.totalCost : null,
      wall_clock_cost: a.costed ? a.wallClockCost : null,
    };
    if (histPercentiles) {
      row.w50 = histPercentile(a.wallHist, 0.5);
      row.w95 = histPercentile(a.wallHist, 0.95);
      row.w99 = histPercentile(a.wallHist, 0.99);
      row.c95 = histPercentile(a.cpuHist, 0.95);
    }
    rows.push(row);
  }
  return rows;
}
