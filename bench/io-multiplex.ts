/**
 * I/O multiplexing: many calls in flight, each awaiting a 50 ms host timer. Spillway serves
 *
 *   export default { async fetch() { await new Promise(r => setTimeout(r, 50)); return new Response('waited') } }
 *
 * at /fn/wait/, against the same work as a plain async function in a bare node:http server
 * (bench/lib/node-server.mjs MODE=timer), both in their own processes, measured in the same run,
 * alternating at each level so that noise on a shared machine hits both alike. Load: autocannon
 * (own process) with 500, 2,000 and 5,000 connections (one request in flight per connection).
 *
 * Theoretical ceiling at c connections: c / 0.05 s req/s (10,000 / 40,000 / 100,000). The
 * figures also give each process's CPU (server from /proc/<pid>/stat over the warm-up + run,
 * load generator over the run) so a saturated core on either side is visible.
 *
 * Target: Spillway >= 70% of the plain function's req/s at 2,000 and 5,000, with no errors.
 * Cloudflare's workerd serving the same handler runs too, as a reference (not a target): what a
 * runtime built for isolates in C++ reaches against the plain function on the same machine.
 *
 * Spillway runs with the probe (bench/lib/spillway-probe.ts) unless --no-probe: it counts the
 * entries into the isolate (batches), which shows whether the isolate or Node's main thread is
 * the busy side; the isolate's own CPU comes from GET /api/health (runtime.batchCpuUs).
 *
 *   node --no-node-snapshot --import tsx bench/io-multiplex.ts [--levels=500,2000,5000] [--duration=8] [--warmup=2] [--no-probe]
 */
import { api, deploy, fmtInt, fmtPct, markdownTable, numFlag, parseFlags, probeBatches, procCpuSeconds, round, runLoad, startNodeHttp, startSpillway, startWorkerd, writeResults, type LoadResult, type Server } from './lib/common.js';

const args = parseFlags();
const LEVELS = (args.get('levels') || '500,2000,5000').split(',').map(Number);
const DURATION_S = numFlag(args, 'duration', 8);
const WARMUP_S = numFlag(args, 'warmup', 2);
const DELAY_MS = 50;
const NOFILE = Math.max(...LEVELS) * 2 + 1024;
const PROBE = !args.has('no-probe');

const HANDLER = `export default { async fetch() { await new Promise(r => setTimeout(r, ${DELAY_MS})); return new Response('waited') } }`;

interface Row {
  level: number;
  server: 'node:http plain async function' | 'Spillway /fn/wait/' | 'workerd (reference)';
  result: LoadResult | null;
  /** CPU of the whole server process (all threads), % of one core, over warm-up + run. */
  serverCpuPct: number | null;
  /** Spillway only: CPU inside the isolate (GET /api/health runtime.batchCpuUs), % of one core. */
  isolateCpuPct: number | null;
  /** Spillway only, from the probe: entries into the isolate over warm-up + run. */
  batches: { batchesPerS: number; eventsPerBatch: number; meanBatchMs: number; maxBatchMs: number; busyPct: number; meanIsolateCpuMs: number; meanApplyOpsMs: number } | null;
  error: string | null;
}

async function batchCpuUs(server: Server): Promise<number> {
  const res = await api(server.base, 'GET', '/api/health');
  return Number(res.body?.data?.runtime?.batchCpuUs ?? NaN);
}

async function measure(level: number, name: Row['server'], server: Server, url: string, spillway: boolean): Promise<Row> {
  const cpu0 = procCpuSeconds(server.child.pid);
  const iso0 = spillway ? await batchCpuUs(server) : NaN;
  if (spillway && PROBE) await probeBatches(server);
  const t = process.hrtime.bigint();
  try {
    const result = await runLoad({ url, connections: level, durationS: DURATION_S, warmupS: WARMUP_S, timeoutS: 10, nofile: NOFILE });
    const wallS = Number(process.hrtime.bigint() - t) / 1e9;
    const serverCpuPct = round(((procCpuSeconds(server.child.pid) - cpu0) / wallS) * 100, 1);
    const b = spillway && PROBE ? await probeBatches(server) : null;
    const isolateCpuPct = spillway ? round(((await batchCpuUs(server)) - iso0) / 1e4 / wallS, 1) : null;
    const batches = b ? { batchesPerS: round(b.batches / (b.wallMs / 1000), 0), eventsPerBatch: b.eventsPerBatch, meanBatchMs: round(b.meanBatchMs, 2), maxBatchMs: round(b.maxBatchMs, 1), busyPct: b.busyPct, meanIsolateCpuMs: round(b.meanIsolateCpuMs, 2), meanApplyOpsMs: round(b.meanApplyOpsMs, 2) } : null;
    return { level, server: name, result, serverCpuPct, isolateCpuPct, batches, error: null };
  } catch (err) {
    return { level, server: name, result: null, serverCpuPct: null, isolateCpuPct: null, batches: null, error: (err as Error).message };
  }
}

async function check(url: string): Promise<void> {
  const t = Date.now();
  const res = await fetch(url);
  const text = await res.text();
  if (res.status !== 200 || text !== 'waited') throw new Error(`${url} answered ${res.status} ${JSON.stringify(text.slice(0, 200))} instead of 200 "waited"`);
  if (Date.now() - t < DELAY_MS - 1) throw new Error(`${url} answered in ${Date.now() - t} ms, before its ${DELAY_MS} ms timer`);
}

const t0 = Date.now();
console.error(`io-multiplex: levels ${LEVELS.join(', ')}; ${WARMUP_S} s warm-up + ${DURATION_S} s per server and level; open files ${NOFILE}`);
const rows: Row[] = [];
let failure: string | null = null;
let nodeServer: Server | null = null;
let spillway: Server | null = null;
let workerd: Server | null = null;
let workerdError: string | null = null;
try {
  nodeServer = await startNodeHttp('timer', { nofile: NOFILE });
  spillway = await startSpillway({ nofile: NOFILE, probe: PROBE });
  await deploy(spillway.base, 'wait', HANDLER);
  const nodeUrl = `${nodeServer.base}/`;
  const spillUrl = `${spillway.base}/fn/wait/`;
  await check(nodeUrl);
  await check(spillUrl);
  try {
    workerd = await startWorkerd(HANDLER, { nofile: NOFILE });
    await check(`${workerd.base}/`);
  } catch (err) {
    workerdError = (err as Error).message;
    console.error(`  workerd (reference) could not run: ${workerdError}`);
  }
  for (const level of LEVELS) {
    rows.push(await measure(level, 'node:http plain async function', nodeServer, nodeUrl, false));
    rows.push(await measure(level, 'Spillway /fn/wait/', spillway, spillUrl, true));
    const [a, b] = rows.slice(-2);
    if (workerd) rows.push(await measure(level, 'workerd (reference)', workerd, `${workerd.base}/`, false));
    const w = workerd ? rows[rows.length - 1] : null;
    console.error(`  ${level}: node ${fmtInt(a.result?.reqPerSec ?? NaN)} req/s, Spillway ${fmtInt(b.result?.reqPerSec ?? NaN)} req/s${w ? `, workerd ${fmtInt(w.result?.reqPerSec ?? NaN)} req/s` : ''}`);
  }
} catch (err) {
  failure = (err as Error).message;
  console.error(`io-multiplex failed: ${failure}`);
} finally {
  await nodeServer?.close();
  await spillway?.close();
  await workerd?.close();
}

const levels = LEVELS.map((level) => {
  const base = rows.find((r) => r.level === level && r.server.startsWith('node'))?.result ?? null;
  const spill = rows.find((r) => r.level === level && r.server.startsWith('Spillway'))?.result ?? null;
  const ratio = base && spill ? spill.reqPerSec / base.reqPerSec : NaN;
  const spillErrors = spill ? spill.errors + spill.timeouts + spill.non2xx : NaN;
  const ref = rows.find((r) => r.level === level && r.server.startsWith('workerd'))?.result ?? null;
  const workerdRatio = base && ref ? ref.reqPerSec / base.reqPerSec : null;
  return { level, ceiling: level / (DELAY_MS / 1000), ratio: round(ratio, 3), spillErrors, workerdRatio: workerdRatio === null ? null : round(workerdRatio, 3) };
});
const targets = Object.fromEntries(
  levels
    .filter((l) => l.level >= 2000)
    .map((l) => [`at${l.level}`, { target: '>= 70% of node:http req/s, no errors', ratio: l.ratio, errors: l.spillErrors, met: l.ratio >= 0.7 && l.spillErrors === 0 }]),
);

const table = markdownTable(
  ['in flight', 'server', 'req/s', '% of ceiling', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'server CPU', 'of which isolate', 'load-gen CPU', 'vs plain'],
  rows.map((r) => {
    const l = levels.find((x) => x.level === r.level)!;
    if (!r.result) return [fmtInt(r.level), r.server, 'n/a', '', '', '', '', '', '', '', '', `failed: ${r.error?.split('\n')[0].slice(0, 160)}`];
    const x = r.result;
    return [
      fmtInt(r.level),
      r.server,
      fmtInt(x.reqPerSec),
      fmtPct(x.reqPerSec / l.ceiling),
      x.latencyMs.p50,
      x.latencyMs.p99,
      x.errors + x.timeouts,
      x.non2xx,
      r.serverCpuPct === null ? 'n/a' : `${r.serverCpuPct}%`,
      r.isolateCpuPct === null ? '' : `${r.isolateCpuPct}%`,
      `${x.loadGenCpuPct}%`,
      r.server.startsWith('Spillway') ? `**${fmtPct(l.ratio)}**` : r.server.startsWith('workerd') && l.workerdRatio !== null ? fmtPct(l.workerdRatio) : '',
    ];
  }),
);
const ok = (met: boolean) => (met ? 'met' : 'MISSED');
const markdown = [
  `### io-multiplex: handler awaiting a 50 ms timer (${DURATION_S} s per run after ${WARMUP_S} s warm-up)`,
  '',
  ...(failure ? [`**Run failed:** ${failure}`, ''] : []),
  table,
  '',
  ...(rows.some((r) => r.batches)
    ? [
        markdownTable(
          ['in flight', 'entries into the isolate /s', 'events per entry', 'mean entry ms', 'of which isolate CPU ms', 'of which host applying ops ms', 'max entry ms', 'time with an entry in progress'],
          rows
            .filter((r) => r.batches)
            .map((r) => [fmtInt(r.level), fmtInt(r.batches!.batchesPerS), r.batches!.eventsPerBatch, r.batches!.meanBatchMs, r.batches!.meanIsolateCpuMs, r.batches!.meanApplyOpsMs, r.batches!.maxBatchMs, `${r.batches!.busyPct}%`]),
        ),
        '',
      ]
    : []),
  `Ceiling = connections / 0.05 s: ${levels.map((l) => `${fmtInt(l.ceiling)} req/s at ${fmtInt(l.level)}`).join(', ')}. CPU is % of one core, averaged over warm-up + run for the server (all its threads; "of which isolate" is the CPU spent inside the isolate) and over the run for the load generator (autocannon, one process). An entry (batch) is one apply() into the isolate with every event ready at that moment, plus the host applying what it produced; the rest of its wall time (mean entry - isolate CPU - applying ops) is hand-offs between threads and waiting for Node's main thread to pick the result up.`,
  '',
  ...(workerdError ? [`workerd (reference) could not run: ${workerdError}`, ''] : []),
  `Targets: ${Object.entries(targets)
    .map(([k, t]) => `${k.slice(2)} in flight: Spillway ${fmtPct(t.ratio)} of plain, ${t.errors} errors (>= 70%, no errors: ${ok(t.met)})`)
    .join('; ')}.`,
].join('\n');

writeResults('io-multiplex', { config: { levels: LEVELS, durationS: DURATION_S, warmupS: WARMUP_S, delayMs: DELAY_MS, nofile: NOFILE, handler: HANDLER }, failure, rows, levels, targets, elapsedS: round((Date.now() - t0) / 1000, 1) }, markdown);
console.log(markdown);
if (failure) process.exitCode = 1;
