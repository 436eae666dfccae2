/**
 * Warm HTTP invocation of a hello-world handler, against same-run baselines:
 *   (i)   bare node:http hello world (own process),
 *   (ii)  Spillway serving the handler at /fn/hello/ (src/main.ts in its own process),
 *   (iii) Cloudflare workerd serving the same handler (own process).
 * All three servers are started first and stay up (idle when not measured); then, in each of
 * --rounds rounds, each server in turn gets autocannon (own process, 50 connections) for a
 * warm-up (not counted) and a measured run. Interleaving rounds spreads the noise of a shared
 * machine over all three; each server's figure is its median round, and the ratios are of medians.
 * Targets: Spillway >= 40% of node:http req/s, and ahead of workerd.
 *
 *   node --no-node-snapshot --import tsx bench/http-hello.ts [--rounds=3] [--duration=5] [--warmup=1] [--connections=50] [--cpu-prof]
 *
 * --cpu-prof runs the Spillway server with V8's CPU profiler and prints its top self-time functions.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deploy, fmtInt, fmtPct, markdownTable, numFlag, parseFlags, procCpuSeconds, round, runLoad, startNodeHttp, startSpillway, startWorkerd, writeResults, type LoadResult, type Server } from './lib/common.js';
import { summarizeCpuProfile } from './lib/cpuprofile.js';

const args = parseFlags();
const ROUNDS = numFlag(args, 'rounds', 3);
const DURATION_S = numFlag(args, 'duration', 5);
const WARMUP_S = numFlag(args, 'warmup', 1);
const CONNECTIONS = numFlag(args, 'connections', 50);
const CPU_PROF = args.has('cpu-prof');

const HANDLER = `export default { fetch(request) { return new Response('hello') } }`;

interface Target {
  name: string;
  server: Server | null;
  url: string | null;
  error: string | null;
  rounds: Array<LoadResult & { serverCpuPct: number }>;
}

async function prepare(name: string, start: () => Promise<Server>, path: string): Promise<Target> {
  let server: Server | null = null;
  try {
    server = await start();
    const url = `${server.base}${path}`;
    const probe = await fetch(url);
    const text = await probe.text();
    if (probe.status !== 200 || text !== 'hello') throw new Error(`${name} answered ${probe.status} ${JSON.stringify(text.slice(0, 200))} instead of 200 "hello"`);
    return { name, server, url, error: null, rounds: [] };
  } catch (err) {
    await server?.close();
    return { name, server: null, url: null, error: (err as Error).message, rounds: [] };
  }
}

/** The round with the median req/s (the lower middle one for an even count). */
function median(rounds: Target['rounds']): (LoadResult & { serverCpuPct: number }) | null {
  if (rounds.length === 0) return null;
  const sorted = [...rounds].sort((a, b) => a.reqPerSec - b.reqPerSec);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

const t0 = Date.now();
console.error(`http-hello: ${CONNECTIONS} connections, ${ROUNDS} rounds of ${WARMUP_S} s warm-up + ${DURATION_S} s per server`);
const profDir = CPU_PROF ? mkdtempSync(join(tmpdir(), 'spillway-prof-')) : null;
const targetsList: Target[] = [];
try {
  targetsList.push(await prepare('node:http (bare)', () => startNodeHttp('hello'), '/'));
  targetsList.push(
    await prepare(
      'Spillway /fn/hello/',
      async () => {
        const server = await startSpillway({ nodeArgs: profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [] });
        try {
          await deploy(server.base, 'hello', HANDLER);
        } catch (err) {
          await server.close();
          throw err;
        }
        return server;
      },
      '/fn/hello/',
    ),
  );
  targetsList.push(await prepare('workerd', () => startWorkerd(HANDLER), '/'));
  for (let round_ = 1; round_ <= ROUNDS; round_++) {
    for (const t of targetsList) {
      if (!t.server || !t.url) continue;
      const cpu0 = procCpuSeconds(t.server.child.pid);
      const started = process.hrtime.bigint();
      try {
        const result = await runLoad({ url: t.url, connections: CONNECTIONS, durationS: DURATION_S, warmupS: WARMUP_S });
        const wallS = Number(process.hrtime.bigint() - started) / 1e9;
        t.rounds.push({ ...result, serverCpuPct: round(((procCpuSeconds(t.server.child.pid) - cpu0) / wallS) * 100, 1) });
      } catch (err) {
        t.error = (err as Error).message;
      }
    }
    console.error(`  round ${round_}: ${targetsList.map((t) => `${t.name} ${fmtInt(t.rounds.at(-1)?.reqPerSec ?? NaN)}`).join(', ')} req/s`);
  }
} finally {
  for (const t of targetsList) await t.server?.close();
}

const [nodeT, spillT, workerdT] = targetsList;
const nodeM = median(nodeT.rounds);
const spillM = median(spillT.rounds);
const workerdM = median(workerdT.rounds);
const baseRps = nodeM?.reqPerSec ?? NaN;
const table = markdownTable(
  ['server', 'req/s (median round)', 'rounds', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'server CPU', 'load-gen CPU', 'vs node:http'],
  targetsList.map((t) => {
    const m = median(t.rounds);
    return m
      ? [t.name, fmtInt(m.reqPerSec), t.rounds.map((r) => fmtInt(r.reqPerSec)).join(' / '), m.latencyMs.p50, m.latencyMs.p99, m.errors + m.timeouts, m.non2xx, `${m.serverCpuPct}%`, `${m.loadGenCpuPct}%`, fmtPct(m.reqPerSec / baseRps)]
      : [t.name, 'n/a', '', 'n/a', 'n/a', 'n/a', 'n/a', '', '', `failed: ${t.error?.split('\n')[0].slice(0, 200)}`];
  }),
);

const ratioNode = spillM ? spillM.reqPerSec / baseRps : NaN;
const ratioWorkerd = spillM && workerdM ? spillM.reqPerSec / workerdM.reqPerSec : NaN;
// Per-round ratios (same round, minutes apart at most): how stable the ratio is on this machine.
const roundRatios = spillT.rounds.map((s, i) => ({
  round: i + 1,
  vsNode: nodeT.rounds[i] ? round(s.reqPerSec / nodeT.rounds[i].reqPerSec, 3) : null,
  vsWorkerd: workerdT.rounds[i] ? round(s.reqPerSec / workerdT.rounds[i].reqPerSec, 3) : null,
}));
const targets = {
  spillwayAtLeast40PctOfNode: { target: 0.4, actual: round(ratioNode, 3), met: ratioNode >= 0.4 },
  spillwayAheadOfWorkerd: { target: 1, actual: round(ratioWorkerd, 3), met: workerdM ? ratioWorkerd > 1 : null, note: workerdM ? undefined : `workerd did not run: ${workerdT.error}` },
};

let profile: ReturnType<typeof summarizeCpuProfile> | null = null;
if (profDir) {
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (file) profile = summarizeCpuProfile(JSON.parse(readFileSync(join(profDir, file), 'utf8')), 25);
}

const markdown = [
  `### http-hello: warm hello-world invocation (${CONNECTIONS} connections; ${ROUNDS} interleaved rounds of ${DURATION_S} s per server, each after ${WARMUP_S} s warm-up)`,
  '',
  table,
  '',
  `Spillway / node:http: **${fmtPct(ratioNode)}** (target >= 40%: ${targets.spillwayAtLeast40PctOfNode.met ? 'met' : 'MISSED'}). ` +
    (workerdM ? `Spillway / workerd: **${round(ratioWorkerd, 2)}x** (target > 1x: ${targets.spillwayAheadOfWorkerd.met ? 'met' : 'MISSED'}).` : `workerd could not run here: ${workerdT.error}`),
  `Per round, Spillway / node:http: ${roundRatios.map((r) => fmtPct(r.vsNode ?? NaN)).join(', ')}; Spillway / workerd: ${roundRatios.map((r) => `${r.vsWorkerd ?? 'n/a'}x`).join(', ')}.`,
  `CPU is % of one core over warm-up + run (server: all its threads) and over the run (load generator).`,
  profile ? `\nSpillway server CPU profile, top self time:\n\n${markdownTable(['self %', 'self ms', 'function', 'where'], profile.top.map((f) => [f.selfPct.toFixed(1), fmtInt(f.selfMs), f.functionName, f.where]))}` : '',
].join('\n');

writeResults(
  'http-hello',
  {
    config: { connections: CONNECTIONS, rounds: ROUNDS, durationS: DURATION_S, warmupS: WARMUP_S, handler: HANDLER },
    servers: targetsList.map((t) => ({ name: t.name, url: t.url, error: t.error, median: median(t.rounds), rounds: t.rounds })),
    roundRatios,
    targets,
    cpuProfile: profile ? { ...profile, top: profile.top.slice(0, 15) } : undefined,
    elapsedS: round((Date.now() - t0) / 1000, 1),
  },
  markdown,
);
console.log(markdown);
