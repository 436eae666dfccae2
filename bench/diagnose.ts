/**
 * Where a warm call's time goes: the same load against Spillway servers that differ in one thing
 * each, next to bare node:http, interleaved in rounds (same run, same noise). Not part of
 * `npm run bench`; its figures are evidence for docs/performance.md, not targets.
 *
 * Variants are counterfactual switches in the preloaded probe (bench/lib/spillway-probe.ts;
 * nothing in src/ changes):
 *   default       Spillway as shipped (with the probe loaded, like the other variants);
 *   sync-normal   SQLite commits without an fsync per commit (synchronous=NORMAL instead of FULL);
 *   no-record     HTTP calls are not written to the execution history at all;
 *   no-stack      Error.stackTraceLimit = 0 (Errors cost no stack capture);
 *   no-record+no-stack  both.
 *
 *   node --no-node-snapshot --import tsx bench/diagnose.ts [--handler=hello|timer] [--connections=50] [--rounds=3] [--duration=4] [--warmup=1] [--variants=default,sync-normal,no-record,no-stack,no-record+no-stack]
 */
import { deploy, fmtInt, fmtPct, markdownTable, numFlag, parseFlags, procCpuSeconds, round, runLoad, startNodeHttp, startSpillway, writeResults, type LoadResult, type Server } from './lib/common.js';

const args = parseFlags();
const HANDLER_KIND = (args.get('handler') || 'hello') as 'hello' | 'timer';
if (HANDLER_KIND !== 'hello' && HANDLER_KIND !== 'timer') throw new Error('--handler must be hello or timer');
const CONNECTIONS = numFlag(args, 'connections', HANDLER_KIND === 'hello' ? 50 : 2000);
const ROUNDS = numFlag(args, 'rounds', 3);
const DURATION_S = numFlag(args, 'duration', 4);
const WARMUP_S = numFlag(args, 'warmup', 1);
const VARIANTS = (args.get('variants') || 'default,sync-normal,no-record,no-stack,no-record+no-stack').split(',');
const NOFILE = CONNECTIONS * 2 + 1024;

const HANDLER =
  HANDLER_KIND === 'hello'
    ? `export default { fetch(request) { return new Response('hello') } }`
    : `export default { async fetch() { await new Promise(r => setTimeout(r, 50)); return new Response('waited') } }`;
const EXPECT = HANDLER_KIND === 'hello' ? 'hello' : 'waited';

interface Entry {
  name: string;
  server: Server;
  url: string;
  rounds: Array<LoadResult & { serverCpuPct: number }>;
}

const t0 = Date.now();
console.error(`diagnose: ${HANDLER_KIND} handler, ${CONNECTIONS} connections, ${ROUNDS} rounds of ${WARMUP_S} + ${DURATION_S} s; variants ${VARIANTS.join(', ')}`);
const entries: Entry[] = [];
try {
  const node = await startNodeHttp(HANDLER_KIND, { nofile: NOFILE });
  entries.push({ name: 'node:http (bare)', server: node, url: `${node.base}/`, rounds: [] });
  for (const variant of VARIANTS) {
    const experiment = variant === 'default' ? '' : variant.replace(/\+/g, ',');
    const server = await startSpillway({ probe: true, nofile: NOFILE, env: { BENCH_PROBE_EXPERIMENT: experiment } });
    await deploy(server.base, 'fn', HANDLER);
    entries.push({ name: `Spillway ${variant}`, server, url: `${server.base}/fn/fn/`, rounds: [] });
  }
  for (const e of entries) {
    const res = await fetch(e.url);
    const text = await res.text();
    if (res.status !== 200 || text !== EXPECT) throw new Error(`${e.name} answered ${res.status} ${JSON.stringify(text.slice(0, 200))}`);
  }
  for (let r = 1; r <= ROUNDS; r++) {
    for (const e of entries) {
      const cpu0 = procCpuSeconds(e.server.child.pid);
      const started = process.hrtime.bigint();
      const result = await runLoad({ url: e.url, connections: CONNECTIONS, durationS: DURATION_S, warmupS: WARMUP_S, nofile: NOFILE });
      const wallS = Number(process.hrtime.bigint() - started) / 1e9;
      e.rounds.push({ ...result, serverCpuPct: round(((procCpuSeconds(e.server.child.pid) - cpu0) / wallS) * 100, 1) });
    }
    console.error(`  round ${r}: ${entries.map((e) => `${e.name} ${fmtInt(e.rounds.at(-1)!.reqPerSec)}`).join(', ')}`);
  }
} finally {
  for (const e of entries) await e.server.close();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const nodeRps = median(entries[0].rounds.map((x) => x.reqPerSec));
const defaultEntry = entries.find((e) => e.name === 'Spillway default');
const defaultRps = defaultEntry ? median(defaultEntry.rounds.map((x) => x.reqPerSec)) : NaN;
const rows = entries.map((e) => {
  const rps = median(e.rounds.map((x) => x.reqPerSec));
  const cpu = median(e.rounds.map((x) => x.serverCpuPct));
  // Server CPU per request, from the median round's figures: what each variant saves.
  const cpuUsPerReq = median(e.rounds.map((x) => (x.serverCpuPct / 100 / x.reqPerSec) * 1e6));
  return { name: e.name, rps, cpu, cpuUsPerReq: round(cpuUsPerReq, 0), p99: median(e.rounds.map((x) => x.latencyMs.p99)), errors: e.rounds.reduce((a, x) => a + x.errors + x.timeouts + x.non2xx, 0), rounds: e.rounds.map((x) => round(x.reqPerSec, 0)) };
});
const markdown = [
  `### diagnose: ${HANDLER_KIND} handler, ${CONNECTIONS} connections (${ROUNDS} interleaved rounds of ${DURATION_S} s after ${WARMUP_S} s warm-up; medians)`,
  '',
  markdownTable(
    ['server', 'req/s', 'rounds', 'vs node:http', 'vs Spillway default', 'server CPU', 'server CPU µs / req (approx.)', 'p99 ms', 'errors'],
    rows.map((r) => [r.name, fmtInt(r.rps), r.rounds.map(fmtInt).join(' / '), fmtPct(r.rps / nodeRps), r.name.startsWith('Spillway') ? `${round(r.rps / defaultRps, 2)}x` : '', `${r.cpu}%`, r.cpuUsPerReq, r.p99, r.errors]),
  ),
  '',
  'CPU per request is approximate: the server CPU is averaged over warm-up + run, the request rate over the run.',
].join('\n');
writeResults(`diagnose-${HANDLER_KIND}`, { config: { handler: HANDLER, connections: CONNECTIONS, rounds: ROUNDS, durationS: DURATION_S, warmupS: WARMUP_S, variants: VARIANTS }, rows, elapsedS: round((Date.now() - t0) / 1000, 1) }, markdown);
console.log(markdown);
