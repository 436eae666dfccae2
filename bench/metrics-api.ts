/**
 * Metrics and cost API latency over a realistic history: a real server (its own process, SQLite)
 * whose store is seeded, before the server starts, with --executions executions (default 100,000)
 * of --functions functions (default 20, popularity skewed) spread over the last --days days
 * (default 30). The seed goes through a SqliteMetadataStore opened on the server's own database
 * file (<data dir>/spillway.db, the file openStore picks), then closed; the server migrates it
 * again at start (a no-op) and serves from it. Records look like real ones: 5% failed, 1%
 * pending, 30% queued, 2% cold starts, wall times log-normal around 20 ms with 5-20% of it CPU,
 * costs from src/executions/cost.ts. A fixed PRNG seed makes runs comparable.
 *
 * Each endpoint is called --warmup times (default 5), then --calls times (default 50) one after
 * another from this process; p50/p95/max are client-side milliseconds. `GET /api/health`, measured
 * in the same run, is the floor (HTTP + Fastify + JSON, no aggregation). Target: p95 under 100 ms
 * for each endpoint.
 *
 *   node --no-node-snapshot --import tsx bench/metrics-api.ts [--executions=100000] [--functions=20] [--days=30] [--calls=50] [--warmup=5]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeCost, type Tier } from '../src/executions/cost.js';
import { SqliteMetadataStore } from '../src/storage/sqlite/sqlite-metadata-store.js';
import type { ExecutionRecord, FunctionRecord } from '../src/storage/types.js';
import { markdownTable, numFlag, parseFlags, percentile, round, startSpillway, writeResults } from './lib/common.js';

const args = parseFlags();
const EXECUTIONS = numFlag(args, 'executions', 100_000);
const FUNCTIONS = numFlag(args, 'functions', 20);
const DAYS = numFlag(args, 'days', 30);
const CALLS = numFlag(args, 'calls', 50);
const WARMUP = numFlag(args, 'warmup', 5);
const TARGET_MS = 100;
const t0 = Date.now();

/** mulberry32: a small deterministic PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function seed(dataDir: string): Promise<{ seedSeconds: number; functions: FunctionRecord[] }> {
  const started = Date.now();
  const store = new SqliteMetadataStore({ path: join(dataDir, 'spillway.db') });
  await store.migrate();
  const now = Date.now();
  const tiers: Tier[] = ['basic', 'standard', 'premium', 'enterprise'];
  const functions: FunctionRecord[] = Array.from({ length: FUNCTIONS }, (_, i) => ({
    id: `fn_bench_${String(i).padStart(2, '0')}`,
    name: `fn-${String(i).padStart(2, '0')}`,
    description: 'seeded by bench/metrics-api.ts',
    status: 'active',
    config: { timeout: 30_000, retryCount: 1, memoryLimitMb: 128, cpuLimitMs: 1_000 },
    currentVersion: 'b'.repeat(64),
    tier: tiers[i % tiers.length]!,
    createdAt: new Date(now - (DAYS + 1) * 86_400_000).toISOString(),
    updatedAt: new Date(now - (DAYS + 1) * 86_400_000).toISOString(),
  }));
  for (const fn of functions) await store.createFunction(fn);
  const random = prng(42);
  // Zipf-like popularity: function i gets weight 1 / (i + 1).
  const weights = functions.map((_, i) => 1 / (i + 1));
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const pick = () => {
    let r = random() * totalWeight;
    for (let i = 0; i < weights.length; i++) if ((r -= weights[i]!) <= 0) return functions[i]!;
    return functions.at(-1)!;
  };
  const BATCH = 5_000;
  for (let done = 0; done < EXECUTIONS; done += BATCH) {
    const batch: ExecutionRecord[] = [];
    for (let i = done; i < Math.min(EXECUTIONS, done + BATCH); i++) {
      const fn = pick();
      const created = now - random() * DAYS * 86_400_000;
      const r = random();
      const status = r < 0.01 ? 'pending' : r < 0.06 ? 'failed' : 'completed';
      const finished = status !== 'pending';
      // Log-normal wall time around 20 ms; CPU 5-20% of it.
      const wallUs = Math.round(20_000 * Math.exp((random() + random() + random() - 1.5) * 1.5));
      const cpuUs = Math.round(wallUs * (0.05 + random() * 0.15));
      const coldStart = random() < 0.02;
      const at = new Date(created).toISOString();
      batch.push({
        id: `ex_bench_${i}`,
        functionId: fn.id,
        versionId: fn.currentVersion,
        trigger: random() < 0.3 ? 'async' : 'http',
        input: null,
        output: null,
        status,
        error: status === 'failed' ? { code: 'FUNCTION_ERROR', message: 'seeded failure', functionFault: true } : null,
        retryCount: 0,
        maxRetries: 1,
        createdAt: at,
        startTime: finished ? at : null,
        endTime: finished ? new Date(created + wallUs / 1000).toISOString() : null,
        duration: finished ? wallUs / 1000 : null,
        cpuUs: finished ? cpuUs : null,
        wallUs: finished ? wallUs : null,
        coldStart: finished && coldStart,
        instanceId: finished ? 'bench' : null,
        logs: [],
        cost: finished ? computeCost({ tier: fn.tier as Tier, cpuUs, wallUs, retryCount: 0, coldStart, inputBytes: 64, outputBytes: 128 }) : null,
        nextAttemptAt: null,
        inputBytes: 64,
        outputBytes: finished ? 128 : 0,
        replayOf: null,
      });
    }
    await store.insertExecutions(batch);
  }
  await store.close();
  return { seedSeconds: round((Date.now() - started) / 1000, 1), functions };
}

const dataDir = await mkdtemp(join(tmpdir(), 'spillway-bench-metrics-'));
const { seedSeconds, functions } = await seed(dataDir);
console.error(`metrics-api: seeded ${EXECUTIONS} executions of ${FUNCTIONS} functions over ${DAYS} days in ${seedSeconds} s`);
const server = await startSpillway({ dataDir });

const monthAgo = new Date(Date.now() - (DAYS - 1) * 86_400_000).toISOString().slice(0, 10);
const top = functions[0]!.name;
const ENDPOINTS: Array<[label: string, path: string]> = [
  ['health (baseline)', '/api/health'],
  ['metrics 24h', '/api/metrics'],
  ['metrics 30d', '/api/metrics?window=30d'],
  ['functions 24h', '/api/metrics/functions'],
  ['functions 30d', '/api/metrics/functions?window=30d'],
  [`function ${top} 24h (+hourly series)`, `/api/metrics/functions/${top}`],
  [`function ${top} 30d (+daily series)`, `/api/metrics/functions/${top}?window=30d`],
  ['costs/system today', '/api/costs/system'],
  [`costs/system ${DAYS} days`, `/api/costs/system?startDate=${monthAgo}`],
  ['costs/trends 24h', '/api/costs/trends'],
  ['costs/trends 7d', '/api/costs/trends?period=7d'],
  ['costs/trends 30d', '/api/costs/trends?period=30d'],
  ['prometheus /metrics', '/metrics'],
];

async function call(path: string): Promise<number> {
  const start = performance.now();
  const res = await fetch(`${server.base}${path}`, { signal: AbortSignal.timeout(30_000) });
  await res.arrayBuffer();
  const ms = performance.now() - start;
  if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}`);
  return ms;
}

const results: Array<{ label: string; path: string; p50: number; p95: number; max: number; met: boolean | null }> = [];
try {
  for (const [label, path] of ENDPOINTS) {
    for (let i = 0; i < WARMUP; i++) await call(path);
    const times: number[] = [];
    for (let i = 0; i < CALLS; i++) times.push(await call(path));
    const p95 = round(percentile(times, 95), 1);
    results.push({ label, path, p50: round(percentile(times, 50), 1), p95, max: round(Math.max(...times), 1), met: path === '/api/health' ? null : p95 < TARGET_MS });
    console.error(`metrics-api: ${label}: p50 ${results.at(-1)!.p50} ms, p95 ${p95} ms`);
  }
} finally {
  await server.close();
  await rm(dataDir, { recursive: true, force: true });
}

const markdown = [
  `### metrics-api`,
  '',
  `${EXECUTIONS.toLocaleString('en-US')} executions of ${FUNCTIONS} functions over ${DAYS} days in SQLite (seeded in ${seedSeconds} s); ${CALLS} sequential calls per endpoint after ${WARMUP} warm-up calls; client-side ms. Target: p95 < ${TARGET_MS} ms.`,
  '',
  markdownTable(
    ['endpoint', 'path', 'p50 ms', 'p95 ms', 'max ms', 'target'],
    results.map((r) => [r.label, `\`${r.path}\``, r.p50, r.p95, r.max, r.met === null ? 'baseline' : r.met ? 'met' : '**missed**']),
  ),
].join('\n');
const targets = Object.fromEntries(results.filter((r) => r.met !== null).map((r) => [r.label, { p95: r.p95, met: r.met }]));
writeResults('metrics-api', { config: { executions: EXECUTIONS, functions: FUNCTIONS, days: DAYS, calls: CALLS, warmup: WARMUP, targetMs: TARGET_MS }, seedSeconds, results, targets, elapsedS: round((Date.now() - t0) / 1000, 1) }, markdown);
console.log(markdown);
