/**
 * Before/after of code changes in the same run: node:http and Spillway servers started from
 * several trees (e.g. a `git archive` snapshot of the old commit and this checkout), each given
 * the same load in turn, interleaved in rounds, so the machine's noise falls on all of them.
 * Not part of `npm run bench`; used for docs/perf-notes-session3.md.
 *
 *   node --no-node-snapshot --import tsx bench/compare-trees.ts --trees=old=/tmp/perf-old,new=. [--handler=hello|timer] [--connections=50] [--rounds=3] [--duration=4] [--warmup=1] [--no-node]
 */
import { deploy, fmtInt, fmtPct, markdownTable, numFlag, parseFlags, procCpuSeconds, round, runLoad, startNodeHttp, startSpillway, type LoadResult, type Server } from './lib/common.js';

const args = parseFlags();
const HANDLER_KIND = (args.get('handler') || 'hello') as 'hello' | 'timer';
const CONNECTIONS = numFlag(args, 'connections', HANDLER_KIND === 'hello' ? 50 : 2000);
const ROUNDS = numFlag(args, 'rounds', 3);
const DURATION_S = numFlag(args, 'duration', 4);
const WARMUP_S = numFlag(args, 'warmup', 1);
const TREES = (args.get('trees') || 'new=.').split(',').map((t) => {
  const [name, root] = t.includes('=') ? t.split('=') : [t, t];
  return { name, root };
});
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

const entries: Entry[] = [];
try {
  if (!args.has('no-node')) {
    const node = await startNodeHttp(HANDLER_KIND, { nofile: NOFILE });
    entries.push({ name: 'node:http', server: node, url: `${node.base}/`, rounds: [] });
  }
  for (const t of TREES) {
    const server = await startSpillway({ root: t.root, nofile: NOFILE });
    await deploy(server.base, 'fn', HANDLER);
    entries.push({ name: `Spillway ${t.name}`, server, url: `${server.base}/fn/fn/`, rounds: [] });
  }
  for (const e of entries) {
    const res = await fetch(e.url);
    const text = await res.text();
    if (res.status !== 200 || text !== EXPECT) throw new Error(`${e.name} answered ${res.status} ${JSON.stringify(text.slice(0, 200))}`);
  }
  for (let r = 1; r <= ROUNDS; r++) {
    // Rotate the order each round so no server always runs first.
    const order = entries.map((_, i) => entries[(i + r - 1) % entries.length]);
    for (const e of order) {
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
const base = entries[0];
const baseRps = median(base.rounds.map((x) => x.reqPerSec));
const rows = entries.map((e) => {
  const rps = median(e.rounds.map((x) => x.reqPerSec));
  return [
    e.name,
    fmtInt(rps),
    e.rounds.map((x) => fmtInt(x.reqPerSec)).join(' / '),
    fmtPct(rps / baseRps),
    // Per round, against the first entry's same round.
    e.rounds.map((x, i) => fmtPct(x.reqPerSec / base.rounds[i].reqPerSec)).join(' / '),
    `${median(e.rounds.map((x) => x.serverCpuPct))}%`,
    round(median(e.rounds.map((x) => (x.serverCpuPct / 100 / x.reqPerSec) * 1e6)), 0),
    median(e.rounds.map((x) => x.latencyMs.p50)),
    median(e.rounds.map((x) => x.latencyMs.p99)),
    e.rounds.reduce((a, x) => a + x.errors + x.timeouts + x.non2xx, 0),
  ];
});
console.log(
  [
    `### compare-trees: ${HANDLER_KIND} handler, ${CONNECTIONS} connections (${ROUNDS} interleaved rounds of ${DURATION_S} s after ${WARMUP_S} s warm-up; medians)`,
    '',
    markdownTable(['server', 'req/s', 'rounds', `vs ${base.name}`, 'per round', 'server CPU', 'CPU µs/req', 'p50 ms', 'p99 ms', 'errors'], rows),
  ].join('\n'),
);
