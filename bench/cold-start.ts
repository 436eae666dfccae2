/**
 * Cold start: the first call of a new version, against the warm call that follows it (same run,
 * same connection). For each of N iterations: deploy a new version (PUT /api/functions/:name with
 * changed code, mode `update`) or a new function (POST /api/functions, mode `create`), then time
 * from the client two GETs of /fn/<name>/ in a row on one keep-alive connection:
 *
 *   first call  = cold (the runtime starts an isolate for the new version),
 *   second call = warm (the baseline),
 *   end-to-end cold-start overhead = first - second, per iteration.
 *
 * Server side, two figures per cold start, reported by the probe preloaded into the server
 * (bench/lib/spillway-probe.ts) because the execution record stores only the boolean `coldStart`:
 *   isolate = IsolateHost's own coldStartUs (new isolate, guest runtime from code cache, bundle run,
 *             handler bound): the figure the server computes for the call's metering;
 *   path    = all of FunctionRuntime's cold path (also reads the bundle from the blob store).
 * Every call's execution record (x-spillway-execution-id → GET /api/executions/:id) is checked:
 * coldStart must be true on the first call and false on the second; if the record carries
 * `coldStartUs` it is reported too.
 *
 * Targets: p50 <= 5 ms and p99 <= 15 ms (server-side cold start and end-to-end overhead).
 *
 * When the measured tree has the pool of ready isolates (SPILLWAY_ISOLATE_POOL_SIZE, default 4),
 * the figures above are with the pool as configured by default, its hits and misses are reported,
 * and a second server with the pool off (SPILLWAY_ISOLATE_POOL_SIZE=0) runs --no-pool-iterations
 * new versions: the cold start when the pool is empty (a burst of new versions) or disabled.
 *
 *   node --no-node-snapshot --import tsx bench/cold-start.ts [--iterations=200] [--create-iterations=100] [--no-pool-iterations=100] [--pause-ms=20]
 */
import { readFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { api, deploy, markdownTable, numFlag, onProbe, parseFlags, percentile, round, sleep, SPILLWAY_ROOT, startSpillway, writeResults, type Server } from './lib/common.js';

const args = parseFlags();
const ITERATIONS = numFlag(args, 'iterations', 200);
const CREATE_ITERATIONS = numFlag(args, 'create-iterations', 100);
const PAUSE_MS = numFlag(args, 'pause-ms', 20);
const NO_POOL_ITERATIONS_ASKED = numFlag(args, 'no-pool-iterations', 100);

const code = (tag: string) => `export default { fetch(request) { return new Response(${JSON.stringify(tag)}) } }`;

interface Call {
  ms: number;
  status: number;
  body: string;
  executionId: string | null;
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** One GET on the shared keep-alive connection, timed from request to last byte. */
function timedGet(url: string): Promise<Call> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = httpRequest(url, { agent, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        resolve({ ms, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), executionId: (res.headers['x-spillway-execution-id'] as string | undefined) ?? null });
      });
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

type Mode = 'update' | 'create' | 'update, pool off';

interface Sample {
  mode: Mode;
  first: Call;
  warm: Call;
  overheadMs: number;
  isolateMs: number;
  pathMs: number;
  recordColdStart: [boolean | null, boolean | null];
  recordColdStartMs: number | null;
  /** The records' wallUs and cpuUs (ms) of the first and second call: the server's time inside the call once the isolate exists. */
  recordWallMs: [number | null, number | null];
  recordCpuMs: [number | null, number | null];
}

function stats(values: number[]) {
  return { n: values.length, p50: round(percentile(values, 50), 2), p90: round(percentile(values, 90), 2), p99: round(percentile(values, 99), 2), max: round(Math.max(...values), 2), min: round(Math.min(...values), 2) };
}

const t0 = Date.now();
/** Whether the measured tree has the pool of ready isolates (SPILLWAY_ISOLATE_POOL_SIZE); older trees reject the setting. */
const HAS_POOL = readFileSync(join(SPILLWAY_ROOT, 'src', 'config', 'config.ts'), 'utf8').includes('SPILLWAY_ISOLATE_POOL_SIZE');
const NO_POOL_ITERATIONS = HAS_POOL ? NO_POOL_ITERATIONS_ASKED : 0;
console.error(`cold-start: ${ITERATIONS} new versions (PUT), ${CREATE_ITERATIONS} new functions (POST)${NO_POOL_ITERATIONS ? `, then ${NO_POOL_ITERATIONS} new versions with the pool of ready isolates off` : ''}`);
const samples: Sample[] = [];
let failure: string | null = null;
const pools: Record<string, { hits: number; misses: number } | null> = {};

async function poolCounters(server: Server): Promise<{ hits: number; misses: number } | null> {
  const rt = (await api(server.base, 'GET', '/api/health')).body?.data?.runtime;
  return typeof rt?.poolHits === 'number' ? { hits: rt.poolHits, misses: rt.poolMisses } : null;
}

/** Waits until the pool of ready isolates is full again (at once when the tree has no pool). */
async function poolRefilled(server: Server): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const rt = (await api(server.base, 'GET', '/api/health')).body?.data?.runtime;
    if (typeof rt?.poolReady !== 'number' || rt.poolReady >= rt.poolSize) return;
    await sleep(2);
  }
  throw new Error('the pool of ready isolates did not refill within about a second');
}

/** One server: `updates` new versions of one function, then `creates` new functions; every sample tagged with its mode. */
async function series(env: Record<string, string>, updates: number, creates: number, updateMode: Mode, createMode: Mode): Promise<void> {
  const server = await startSpillway({ probe: true, env });
  const probeLines: Array<{ fn: string; isolateUs: number; pathUs: number }> = [];
  onProbe(server, 'coldstart', (d) => probeLines.push(d));
  const mine: Sample[] = [];
  const coldThenWarm = async (mode: Mode, name: string, tag: string, fnId: string): Promise<void> => {
    const before = probeLines.length;
    const url = `${server.base}/fn/${name}/`;
    const first = await timedGet(url);
    // The warm baseline is taken with the server at rest, as the first call found it: the pool
    // replaces the isolate the cold start took once that call has answered.
    await poolRefilled(server);
    const warm = await timedGet(url);
    if (first.status !== 200 || first.body !== tag) throw new Error(`first call of ${name} answered ${first.status} ${JSON.stringify(first.body.slice(0, 200))}, expected 200 ${JSON.stringify(tag)}`);
    if (warm.status !== 200 || warm.body !== tag) throw new Error(`second call of ${name} answered ${warm.status} ${JSON.stringify(warm.body.slice(0, 200))}`);
    // The probe line is written before the first response; give the pipe a moment if needed.
    for (let i = 0; i < 50 && probeLines.length === before; i++) await sleep(5);
    const cold = probeLines.slice(before).filter((l) => l.fn === fnId);
    if (cold.length !== 1) throw new Error(`expected exactly one isolate start for ${name} (${fnId}), the probe saw ${cold.length}`);
    mine.push({ mode, first, warm, overheadMs: first.ms - warm.ms, isolateMs: cold[0].isolateUs / 1000, pathMs: cold[0].pathUs / 1000, recordColdStart: [null, null], recordColdStartMs: null, recordWallMs: [null, null], recordCpuMs: [null, null] });
  };
  try {
    const created = await deploy(server.base, 'cold', code('v0'));
    // Warm up the server's own code paths (JIT) before measuring: a few versions, not counted.
    for (let i = 0; i < 10; i++) {
      await api(server.base, 'PUT', '/api/functions/cold', { code: code(`w${i}`) });
      await timedGet(`${server.base}/fn/cold/`);
      await timedGet(`${server.base}/fn/cold/`);
    }
    const pool0 = await poolCounters(server);
    for (let i = 1; i <= updates; i++) {
      const tag = `v${i}`;
      const res = await api(server.base, 'PUT', '/api/functions/cold', { code: code(tag) });
      if (res.status !== 200) throw new Error(`PUT /api/functions/cold failed: ${res.status} ${JSON.stringify(res.body)}`);
      await sleep(PAUSE_MS);
      await coldThenWarm(updateMode, 'cold', tag, created.id);
      if (i % 50 === 0) console.error(`  ${updateMode} ${i}/${updates}`);
    }
    const pool1 = await poolCounters(server);
    for (let i = 1; i <= creates; i++) {
      const name = `cold-new-${i}`;
      const tag = `n${i}`;
      const fn = await deploy(server.base, name, code(tag));
      await sleep(PAUSE_MS);
      await coldThenWarm(createMode, name, tag, fn.id);
      if (i % 50 === 0) console.error(`  ${createMode} ${i}/${creates}`);
    }
    const pool2 = await poolCounters(server);
    const diff = (a: typeof pool0, b: typeof pool0) => (a && b ? { hits: b.hits - a.hits, misses: b.misses - a.misses } : null);
    if (updates) pools[updateMode] = diff(pool0, pool1);
    if (creates) pools[createMode] = diff(pool1, pool2);
    // HTTP calls are recorded in batches (every 250 ms); then read every call's record.
    await sleep(1000);
    for (const s of mine) {
      for (const [k, call] of [s.first, s.warm].entries()) {
        if (!call.executionId) continue;
        const rec = await api(server.base, 'GET', `/api/executions/${call.executionId}`);
        if (rec.status !== 200) continue;
        s.recordColdStart[k] = rec.body.data.coldStart;
        s.recordWallMs[k] = rec.body.data.wallUs / 1000;
        s.recordCpuMs[k] = rec.body.data.cpuUs / 1000;
        if (k === 0 && typeof rec.body.data.coldStartUs === 'number') s.recordColdStartMs = rec.body.data.coldStartUs / 1000;
      }
    }
  } catch (err) {
    console.error(`cold-start failed: ${(err as Error).message}\n${server.child.tail()}`);
    throw err;
  } finally {
    samples.push(...mine);
    await server.close();
  }
}

try {
  await series({}, ITERATIONS, CREATE_ITERATIONS, 'update', 'create');
  if (NO_POOL_ITERATIONS > 0) await series({ SPILLWAY_ISOLATE_POOL_SIZE: '0' }, NO_POOL_ITERATIONS, 0, 'update, pool off', 'create');
} catch (err) {
  failure = (err as Error).message;
} finally {
  agent.destroy();
}

const modes = (['update', 'create', 'update, pool off'] as const).filter((m) => samples.some((s) => s.mode === m));
const summary = Object.fromEntries(
  modes.map((mode) => {
    const ss = samples.filter((s) => s.mode === mode);
    const recordMs = ss.map((s) => s.recordColdStartMs).filter((v): v is number => v !== null);
    const pick = (f: (s: Sample) => number | null) => ss.map(f).filter((v): v is number => v !== null);
    return [
      mode,
      {
        iterations: ss.length,
        pool: pools[mode] ?? null,
        serverIsolateMs: stats(ss.map((s) => s.isolateMs)),
        serverPathMs: stats(ss.map((s) => s.pathMs)),
        recordColdStartMs: recordMs.length ? stats(recordMs) : null,
        clientFirstMs: stats(ss.map((s) => s.first.ms)),
        clientWarmMs: stats(ss.map((s) => s.warm.ms)),
        overheadMs: stats(ss.map((s) => s.overheadMs)),
        recordFirstWallMs: stats(pick((s) => s.recordWallMs[0])),
        recordWarmWallMs: stats(pick((s) => s.recordWallMs[1])),
        recordFirstCpuMs: stats(pick((s) => s.recordCpuMs[0])),
        recordWarmCpuMs: stats(pick((s) => s.recordCpuMs[1])),
        records: {
          checked: ss.filter((s) => s.recordColdStart[0] !== null && s.recordColdStart[1] !== null).length,
          firstMarkedCold: ss.filter((s) => s.recordColdStart[0] === true).length,
          warmMarkedWarm: ss.filter((s) => s.recordColdStart[1] === false).length,
        },
      },
    ];
  }),
) as Record<string, any>;

const main = summary.update ?? summary.create;
const target = (v: number, limit: number) => ({ target: limit, actual: v, met: Number.isFinite(v) && v <= limit });
const targets = main
  ? {
      serverColdStartP50: target(main.serverIsolateMs.p50, 5),
      serverColdStartP99: target(main.serverIsolateMs.p99, 15),
      endToEndOverheadP50: target(main.overheadMs.p50, 5),
      endToEndOverheadP99: target(main.overheadMs.p99, 15),
    }
  : null;

const rowsFor = (mode: string) => {
  const m = summary[mode];
  const row = (label: string, s: ReturnType<typeof stats>) => [`${mode}: ${label}`, s.p50, s.p90, s.p99, s.max];
  return [
    row('server cold start (isolate)', m.serverIsolateMs),
    row('server cold path (blob read + isolate)', m.serverPathMs),
    ...(m.recordColdStartMs ? [row('execution record coldStartUs', m.recordColdStartMs)] : []),
    row('client: first call', m.clientFirstMs),
    row('client: second call (warm baseline)', m.clientWarmMs),
    row('**end-to-end overhead (first - warm)**', m.overheadMs),
    row('record wallUs, first call (after the isolate exists)', m.recordFirstWallMs),
    row('record wallUs, second call', m.recordWarmWallMs),
    row('record cpuUs, first call', m.recordFirstCpuMs),
    row('record cpuUs, second call', m.recordWarmCpuMs),
  ];
};
const ok = (t: { met: boolean }) => (t.met ? 'met' : 'MISSED');
const markdown = [
  `### cold-start: first call of a new version (${summary.update?.iterations ?? 0} new versions by PUT, ${summary.create?.iterations ?? 0} new functions by POST${summary['update, pool off'] ? `, ${summary['update, pool off'].iterations} new versions with SPILLWAY_ISOLATE_POOL_SIZE=0 on a second server` : ''}; ms)`,
  '',
  ...(failure ? [`**Run failed:** ${failure}`, ''] : []),
  modes.length ? markdownTable(['measure', 'p50', 'p90', 'p99', 'max'], modes.flatMap(rowsFor)) : '(no samples)',
  '',
  targets
    ? `Targets (new versions): server cold start p50 ${targets.serverColdStartP50.actual} ms (<= 5: ${ok(targets.serverColdStartP50)}), p99 ${targets.serverColdStartP99.actual} ms (<= 15: ${ok(targets.serverColdStartP99)}); ` +
      `end-to-end overhead p50 ${targets.endToEndOverheadP50.actual} ms (<= 5: ${ok(targets.endToEndOverheadP50)}), p99 ${targets.endToEndOverheadP99.actual} ms (<= 15: ${ok(targets.endToEndOverheadP99)}).`
    : '',
  '',
  modes.some((m) => summary[m].pool)
    ? `Pool of ready isolates (GET /api/health poolHits/poolMisses): ${modes.map((m) => (summary[m].pool ? `${m}: ${summary[m].pool.hits} hits, ${summary[m].pool.misses} misses` : `${m}: no pool`)).join('; ')}.\n`
    : 'This tree has no pool of ready isolates.\n',
  modes.map((m) => `Execution records (${m}): ${summary[m].records.firstMarkedCold}/${summary[m].iterations} first calls marked coldStart, ${summary[m].records.warmMarkedWarm}/${summary[m].iterations} second calls marked warm.`).join(' '),
].join('\n');

writeResults('cold-start', { config: { iterations: ITERATIONS, createIterations: CREATE_ITERATIONS, noPoolIterations: NO_POOL_ITERATIONS, pauseMs: PAUSE_MS, treeHasPool: HAS_POOL }, failure, summary, targets, elapsedS: round((Date.now() - t0) / 1000, 1) }, markdown);
console.log(markdown);

if (failure) process.exitCode = 1;
