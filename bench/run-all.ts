/**
 * `npm run bench`: runs every benchmark in sequence, each in its own process (which starts its
 * servers and load generator as further processes), then regenerates the figures section of
 * docs/performance.md (between `<!-- bench:figures -->` and `<!-- /bench:figures -->`) from
 * bench/results/*.json|md.
 *
 *   node --no-node-snapshot --import tsx bench/run-all.ts [--only=http-hello,io-multiplex,cold-start,memory] [--quick] [--no-docs] [--docs-only] [--wait-quiet=30]
 *
 * --docs-only runs nothing and regenerates the figures section from the results on disk.
 *
 * Before each benchmark it measures how busy the machine is (/proc/stat, 2 s windows) and waits up
 * to --wait-quiet seconds for three quiet windows in a row; the reading goes into the docs.
 *
 * --quick runs each benchmark briefly (a smoke test; its figures are not meant for the docs, so
 * --quick implies --no-docs). BENCH_SPILLWAY_ROOT=<tree> measures another checkout (see
 * docs/performance.md).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { machine, markdownTable, numFlag, parseFlags, RESULTS_DIR, ROOT, round, treeInfo, waitForQuiet } from './lib/common.js';

const BENCHMARKS: Array<{ name: string; args: string[]; quick: string[] }> = [
  { name: 'http-hello', args: [], quick: ['--duration=2', '--warmup=1'] },
  { name: 'io-multiplex', args: [], quick: ['--duration=2', '--warmup=1'] },
  { name: 'cold-start', args: [], quick: ['--iterations=20', '--create-iterations=10'] },
  { name: 'memory', args: [], quick: ['--functions=100'] },
  { name: 'metrics-api', args: [], quick: ['--executions=10000', '--calls=10', '--warmup=2'] },
];

const flags = parseFlags();
const only = flags.get('only')?.split(',').filter(Boolean);
const quick = flags.has('quick');
const writeDocs = !quick && !flags.has('no-docs');
const DOC = join(ROOT, 'docs', 'performance.md');
const BEGIN = '<!-- bench:figures -->';
const END = '<!-- /bench:figures -->';
const PER_BENCH_LIMIT_S = 240;
/** How long to wait for the machine to go quiet before each benchmark (--wait-quiet=<s>, 0 to not wait). */
const WAIT_QUIET_S = numFlag(flags, 'wait-quiet', quick ? 0 : 30);

for (const name of only ?? []) if (!BENCHMARKS.some((b) => b.name === name)) throw new Error(`unknown benchmark ${name}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`);
const docsOnly = flags.has('docs-only');
const selected = docsOnly ? [] : BENCHMARKS.filter((b) => !only || only.includes(b.name));

function runOne(name: string, args: string[], busyPct: number): Promise<{ code: number | null; seconds: number }> {
  const t = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--no-node-snapshot', '--import', 'tsx', join(ROOT, 'bench', `${name}.ts`), ...args], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, BENCH_MACHINE_BUSY_PCT: String(busyPct) } });
    const limit = setTimeout(() => {
      console.error(`run-all: ${name} passed ${PER_BENCH_LIMIT_S} s, stopping it`);
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    }, PER_BENCH_LIMIT_S * 1000);
    child.on('exit', (code) => {
      clearTimeout(limit);
      resolve({ code, seconds: round((Date.now() - t) / 1000, 1) });
    });
  });
}

const started = new Date();
const outcomes: Record<string, { code: number | null; seconds: number }> = {};
for (const b of selected) {
  // Shared machines: say how busy the machine was just before (and wait a little for quiet).
  const q = await waitForQuiet(WAIT_QUIET_S);
  console.error(`\n=== ${b.name} === (machine ${q.busyPct}% busy before it${q.quiet ? '' : `; not quiet for 6 s in a row within ${q.waitedS} s`})`);
  outcomes[b.name] = await runOne(b.name, quick ? b.quick : b.args, q.busyPct);
  console.error(`=== ${b.name}: exit ${outcomes[b.name].code} after ${outcomes[b.name].seconds} s`);
}

// ------------------------------------------------------------------------------------------
// Figures section, from whatever results exist (a result older than this run is marked).

function load(name: string): { json: any; md: string } | null {
  const jp = join(RESULTS_DIR, `${name}.json`);
  const mp = join(RESULTS_DIR, `${name}.md`);
  if (!existsSync(jp) || !existsSync(mp)) return null;
  return { json: JSON.parse(readFileSync(jp, 'utf8')), md: readFileSync(mp, 'utf8').trim() };
}

const yes = (met: boolean | null | undefined) => (met === true ? 'met' : met === false ? '**missed**' : 'n/a');
function summaryRows(name: string, json: any): Array<Array<string | number>> {
  const t = json.targets ?? {};
  switch (name) {
    case 'http-hello':
      return [
        ['http-hello', 'Spillway req/s >= 40% of node:http', `${round((t.spillwayAtLeast40PctOfNode?.actual ?? NaN) * 100, 0)}%`, yes(t.spillwayAtLeast40PctOfNode?.met)],
        ['http-hello', 'Spillway ahead of workerd', `${t.spillwayAheadOfWorkerd?.actual}x`, yes(t.spillwayAheadOfWorkerd?.met)],
      ];
    case 'io-multiplex':
      return Object.entries(t).map(([k, v]: [string, any]) => ['io-multiplex', `${k.slice(2)} in flight: >= 70% of plain node:http, no errors`, `${round(v.ratio * 100, 0)}%, ${v.errors} errors`, yes(v.met)]);
    case 'cold-start':
      return [
        ['cold-start', 'server-side cold start p50 <= 5 ms', `${t.serverColdStartP50?.actual} ms`, yes(t.serverColdStartP50?.met)],
        ['cold-start', 'server-side cold start p99 <= 15 ms', `${t.serverColdStartP99?.actual} ms`, yes(t.serverColdStartP99?.met)],
        ['cold-start', 'end-to-end first-call overhead p50 <= 5 ms', `${t.endToEndOverheadP50?.actual} ms`, yes(t.endToEndOverheadP50?.met)],
        ['cold-start', 'end-to-end first-call overhead p99 <= 15 ms', `${t.endToEndOverheadP99?.actual} ms`, yes(t.endToEndOverheadP99?.met)],
      ];
    case 'memory':
      return [['memory', 'RSS per warm function isolate <= 4 MB (1,000 functions)', `${t.perWarmFunctionRss?.actual} MB`, yes(t.perWarmFunctionRss?.met)]];
    default:
      return [];
  }
}

if (writeDocs) {
  const results = BENCHMARKS.map((b) => ({ name: b.name, r: load(b.name) }));
  const m = machine();
  // The code measured, as the results recorded it (they may come from a tree other than this checkout).
  const trees = [...new Set(results.filter((x) => x.r).map((x) => JSON.stringify(x.r!.json.tree ?? treeInfo())))].map((t) => JSON.parse(t) as ReturnType<typeof treeInfo>);
  const describeTree = (t: ReturnType<typeof treeInfo>) => `${t.commit ? `commit ${t.commit.slice(0, 12)}` : 'unknown commit'}${t.srcDirty ? ' with uncommitted changes in src/' : ''}${t.root !== ROOT ? ` (tree at ${t.root})` : ''}`;
  const lines: string[] = [
    BEGIN,
    '<!-- Generated by `npm run bench` (bench/run-all.ts); edits between these markers are overwritten. -->',
    '',
    `Results of the run ending ${(docsOnly ? new Date(results.map((x) => x.r?.json.date ?? '').sort().at(-1) || started) : started).toISOString().slice(0, 16).replace('T', ' ')} UTC on ${m.cpus} × ${m.cpuModel}, ${m.memGiB} GiB, Node ${m.node} (V8 ${m.v8}), ${m.platform}; ` +
      `code measured: ${trees.length ? trees.map(describeTree).join('; ') : describeTree(treeInfo())}.`,
    '',
    '### Targets',
    '',
    markdownTable(
      ['benchmark', 'target', 'measured', 'result'],
      results.flatMap(({ name, r }) => (r ? summaryRows(name, r.json) : [[name, '(not run)', '', '']])),
    ),
    '',
  ];
  for (const { name, r } of results) {
    if (!r) {
      lines.push(`### ${name}`, '', 'No results yet: run `npm run bench`.', '');
      continue;
    }
    const stale = !docsOnly && new Date(r.json.date) < started;
    if (stale) lines.push(`> ${name}: result from an earlier run (${r.json.date}), not re-run this time.`, '');
    lines.push(r.md, '');
    if (!stale && typeof r.json.machineBusyPctBefore === 'number') lines.push(`_Machine ${r.json.machineBusyPctBefore}% busy with other work just before this benchmark started; the benchmark took ${r.json.elapsedS} s._`, '');
  }
  lines.push(END);
  const section = lines.join('\n');
  const doc = existsSync(DOC) ? readFileSync(DOC, 'utf8') : `# Performance\n\n${BEGIN}\n${END}\n`;
  // The markers count only on lines of their own (prose may quote them).
  const lineAt = (marker: string) => {
    const m = new RegExp(`^${marker.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[ \t]*$`, 'm').exec(doc);
    return m ? m.index : -1;
  };
  const a = lineAt(BEGIN);
  const z = lineAt(END);
  if (a < 0 || z < a) throw new Error(`${DOC} lacks the markers ${BEGIN} … ${END}, each on a line of its own`);
  writeFileSync(DOC, doc.slice(0, a) + section + doc.slice(z + END.length));
  console.error(`\nrun-all: figures written to docs/performance.md`);
}

const failed = Object.entries(outcomes).filter(([, o]) => o.code !== 0);
console.error(`run-all: ${selected.length - failed.length}/${selected.length} benchmarks ran cleanly in ${round((Date.now() - started.getTime()) / 1000, 0)} s${failed.length ? `; failed: ${failed.map(([n]) => n).join(', ')}` : ''}`);
if (failed.length) process.exitCode = 1;
