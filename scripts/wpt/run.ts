/**
 * `npm run wpt [-- <path filters>] [options]`: runs the web-platform-tests subset in Spillway
 * isolates and, as the anchor, in plain Node; prints the per-area table; on a full run writes it
 * into docs/web-platform.md; writes every subtest's result to scripts/wpt/results/wpt.json.
 *
 *   --update            rewrite test/wpt/expectations.json from the Spillway column
 *   --spillway-only     skip the Node column (faster; the docs table is not written)
 *   --node-only         skip the Spillway column
 *   --also-node PATH    another node binary as an extra anchor column (repeatable), e.g. Node 24
 *                       from scripts/with-node.sh's cache beside the Node 20 running the runner
 *   --concurrency N     files at once per column (default 3)
 *   --timeout-ms N      harness time per file (default 10000; `timeout=long` files get 6x)
 *   --max-minutes N     overall bound (default 20); files not started by then are reported as not run
 *   --verbose           print every failing subtest
 *
 * See "The WPT runner" in docs/web-platform.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertWptRoot, discover, wptRoot } from './discover.js';
import { compare, readExpectations, updateExpectations, writeExpectations } from './expectations.js';
import { fileReport, markdownTable, skippedList, tally, writeGeneratedSection } from './report.js';
import { columnLabel, runFiles, type Column } from './runner.js';
import type { FileRun } from './types.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const DOC = join(REPO, 'docs', 'web-platform.md');
const RESULTS = join(REPO, 'scripts', 'wpt', 'results', 'wpt.json');

interface Args {
  filters: string[];
  update: boolean;
  columns: Column[];
  concurrency: number;
  timeoutMs: number;
  maxMinutes: number;
  verbose: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { filters: [], update: false, columns: ['spillway', 'node'], concurrency: 3, timeoutMs: 10_000, maxMinutes: 20, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = (name: string): number => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${name}: got ${argv[i]}, expected a positive number`);
      return v;
    };
    if (a === '--update') args.update = true;
    else if (a === '--spillway-only') args.columns = args.columns.filter((c) => c !== 'node');
    else if (a === '--node-only') args.columns = args.columns.filter((c) => c !== 'spillway');
    else if (a === '--also-node') {
      const path = argv[++i];
      if (!path) throw new Error('--also-node: give the path of a node binary');
      args.columns.push(`node:${resolvePath(path)}`);
    }
    else if (a === '--concurrency') args.concurrency = num(a);
    else if (a === '--timeout-ms') args.timeoutMs = num(a);
    else if (a === '--max-minutes') args.maxMinutes = num(a);
    else if (a === '--verbose') args.verbose = true;
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}; see the header of scripts/wpt/run.ts`);
    else args.filters.push(a.replace(/^(\.\.\/)?shared\/wpt\//, ''));
  }
  if (args.update && !args.columns.includes('spillway')) throw new Error('--update needs the Spillway column (drop --node-only)');
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const root = wptRoot(REPO);
  assertWptRoot(root);
  const files = discover(root, args.filters);
  if (files.length === 0) throw new Error(`no *.any.js file under ${root} matches ${args.filters.join(', ')}`);
  const runnable = files.filter((f) => !f.skip).length;
  console.log(`WPT: ${root}\n${files.length} files/variants, ${runnable} runnable, ${files.length - runnable} skipped; columns: ${args.columns.map(columnLabel).join(', ')}`);

  const out = await runFiles(files, {
    wptRoot: root,
    columns: args.columns,
    concurrency: args.concurrency,
    timeoutMs: args.timeoutMs,
    longTimeoutMs: args.timeoutMs * 6,
    overallMs: args.maxMinutes * 60_000,
    onFile(column, file, run) {
      const pass = run.subtests.filter((s) => s.status === 'PASS').length;
      const harness = run.harness === 'OK' ? '' : `  [${run.harness}${run.message ? `: ${run.message.split('\n')[0].slice(0, 160)}` : ''}]`;
      console.log(`${column.padEnd(8)} ${String(pass).padStart(5)}/${String(run.subtests.length).padEnd(5)} ${file.id}${harness}`);
      if (args.verbose) for (const s of run.subtests) if (s.status !== 'PASS') console.log(`           ${s.status} ${s.name}${s.message ? ` :: ${s.message.split('\n')[0].slice(0, 200)}` : ''}`);
    },
  });

  const reports = files.map((f) => fileReport(f, Object.fromEntries(args.columns.map((c) => [c, out.runs[c].get(f.id)])), args.columns));
  const { areas, total } = tally(reports, args.columns);
  const table = markdownTable(areas, total, args.columns);
  console.log(`\n${table}\n`);
  console.log(`Skipped:\n${skippedList(files) || '(none)'}\n`);
  console.log(`host API parts in the Spillway column: ${out.hostApiParts.join(', ') || '(none)'}; elapsed ${(out.elapsedMs / 1000).toFixed(1)} s${out.cutShort ? ' (CUT SHORT by --max-minutes)' : ''}`);

  for (const e of out.hostErrors) console.log(`HOST-SIDE ERROR (a Spillway bug, not a test failure) while ${e.runningFiles.join(', ') || '(no file)'} ran:\n  ${e.error.split('\n').slice(0, 4).join('\n  ')}`);

  mkdirSync(dirname(RESULTS), { recursive: true });
  writeFileSync(
    RESULTS,
    JSON.stringify({ node: process.versions.node, wptRoot: root, columns: Object.fromEntries(args.columns.map((c) => [c, columnLabel(c)])), filters: args.filters, elapsedMs: out.elapsedMs, hostApiParts: out.hostApiParts, hostErrors: out.hostErrors, areas: Object.fromEntries(areas), total, files: reports }, null, 1),
  );
  console.log(`full results: ${RESULTS}`);

  const full = args.filters.length === 0 && args.columns.includes('spillway') && args.columns.includes('node') && !out.cutShort;
  if (full) {
    const body = [
      `Measured by \`npm run wpt${args.columns.some((c) => c.startsWith('node:')) ? ' -- --also-node …' : ''}\` on Node ${process.versions.node} (${process.platform}/${process.arch}), ${new Date().toISOString().slice(0, 10)}. ` +
        `Spillway runs each file in a fresh isolate (on the Node running the runner); each Node column runs it in a fresh \`node\` process of that version, in Node's own realm.`,
      '',
      table,
      '',
      `Skipped files (${files.filter((f) => f.skip).length} of ${files.length} files/variants):`,
      '',
      skippedList(files),
    ].join('\n');
    writeGeneratedSection(DOC, body);
    console.log(`table written to ${DOC}`);
  } else {
    console.log('(partial run: docs/web-platform.md not rewritten; run `npm run wpt` with no filters and both columns for that)');
  }

  const spillwayRuns: Map<string, FileRun> = out.runs.spillway;
  if (args.columns.includes('spillway')) {
    const expected = readExpectations();
    if (args.update) {
      const ids = args.filters.length === 0 ? new Set(files.map((f) => f.id)) : undefined;
      writeExpectations(updateExpectations(expected, spillwayRuns, ids));
      console.log('test/wpt/expectations.json updated');
    } else {
      const { regressions, newlyPassing } = compare(expected, spillwayRuns);
      for (const r of regressions) console.log(`REGRESSION ${r.id} :: ${r.name} (${r.got})`);
      if (newlyPassing.length > 0) console.log(`${newlyPassing.length} subtests pass that test/wpt/expectations.json does not list yet: run \`npm run wpt -- --update\` to record them.`);
      if (regressions.length > 0) process.exitCode = 1;
    }
  }
}

main().catch((err: unknown) => {
  console.error(`wpt: ${(err as Error).message}`);
  process.exitCode = 1;
});
