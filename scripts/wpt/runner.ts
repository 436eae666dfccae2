/**
 * Runs a list of WPT files through one or both columns with a concurrency limit and an overall
 * time bound. Shared by the CLI (./run.ts) and the expectations test (test/wpt/wpt.test.ts).
 */
import { spawnSync } from 'node:child_process';
import type { WptFile } from './discover.js';
import type { ColumnOptions } from './job.js';
import { runInNode } from './node-column.js';
import { startStaticServer } from './static-server.js';
import type { FileRun } from './types.js';

/**
 * A column: `spillway`, `node` (the Node running the runner), or `node:<path to a node binary>`
 * for another Node as an extra anchor (`--also-node`).
 */
export type Column = string;

/** The Node version behind a Node column (runs `<binary> --version` for an extra one). */
const versions = new Map<Column, string>([['node', process.versions.node]]);
export function nodeVersionOf(column: Column): string {
  const known = versions.get(column);
  if (known) return known;
  const out = spawnSync(column.slice('node:'.length), ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (out.status !== 0) throw new Error(`${column.slice('node:'.length)}: not a runnable node binary (${out.error?.message ?? out.stderr.trim()})`);
  const version = out.stdout.trim().replace(/^v/, '');
  versions.set(column, version);
  return version;
}

export function columnLabel(column: Column): string {
  return column === 'spillway' ? 'Spillway' : `Node ${nodeVersionOf(column)}`;
}

export interface RunOptions {
  wptRoot: string;
  columns: Column[];
  /** Files run at once per column. */
  concurrency?: number;
  timeoutMs?: number;
  longTimeoutMs?: number;
  memoryLimitMb?: number;
  /** Past this, files not yet started are reported as not run. */
  overallMs?: number;
  onFile?: (column: Column, file: WptFile, run: FileRun) => void;
}

export interface HostError {
  error: string;
  runningFiles: string[];
}

export interface RunOutput {
  /** Per column, per file id. */
  runs: Record<Column, Map<string, FileRun>>;
  /** Host API parts the Spillway column used. */
  hostApiParts: string[];
  /** Errors thrown on the host side of an isolate (Spillway bugs), with the Spillway files running then. */
  hostErrors: HostError[];
  /** True when the overall bound cut the run short. */
  cutShort: boolean;
  elapsedMs: number;
}

async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) await work(items[next++]);
  });
  await Promise.all(workers);
}

export async function runFiles(files: WptFile[], options: RunOptions): Promise<RunOutput> {
  const started = Date.now();
  const server = await startStaticServer(options.wptRoot);
  const deadline = started + (options.overallMs ?? 20 * 60_000);
  let cutShort = false;
  const runs: Record<Column, Map<string, FileRun>> = { spillway: new Map(), node: new Map() };
  for (const c of options.columns) runs[c] ??= new Map();
  const column: ColumnOptions = {
    wptRoot: options.wptRoot,
    origin: server.origin,
    timeoutMs: options.timeoutMs ?? 10_000,
    longTimeoutMs: options.longTimeoutMs ?? 60_000,
  };
  // The Spillway column loads isolated-vm; imported only when used, so `--node-only` also runs on
  // a Node whose isolated-vm build is not installed.
  const spillway = options.columns.includes('spillway') ? await import('./spillway-column.js') : null;
  const hostApi = spillway ? (await import('./host-api.js')).buildHostApi([`${server.host}:${server.port}`]) : { api: null, parts: [], close: async () => {} };
  const runnable = files.filter((f) => !f.skip);
  // An error thrown on the host side of an isolate (in IsolateHost, not in the test) would end
  // this process as an unhandled rejection. It is a Spillway bug that a test found: record it
  // against the Spillway files running at the time, and go on (their invocations then end on
  // their wall-time limit).
  const inFlight = new Set<string>();
  const hostErrors: HostError[] = [];
  const onHostError = (err: unknown) => {
    hostErrors.push({ error: String((err as Error)?.stack ?? err), runningFiles: [...inFlight] });
  };
  process.on('unhandledRejection', onHostError);
  process.on('uncaughtException', onHostError);
  try {
    const jobs: Array<[Column, WptFile]> = [];
    for (const f of runnable) for (const c of options.columns) jobs.push([c, f]);
    // Long files first, so they do not end up alone at the tail of the run.
    jobs.sort((a, b) => Number(b[1].long) - Number(a[1].long));
    await pool(jobs, (options.concurrency ?? 4) * options.columns.length, async ([c, file]) => {
      let run: FileRun;
      if (Date.now() > deadline) {
        cutShort = true;
        run = { harness: 'CRASH', message: 'not run: the overall time bound of the run was reached', subtests: [], durationMs: 0 };
      } else if (c === 'spillway') {
        inFlight.add(file.id);
        const errorsBefore = hostErrors.length;
        try {
          run = await spillway!.runInSpillway(file, { ...column, hostApi: hostApi.api!, memoryLimitMb: options.memoryLimitMb ?? 256 });
        } finally {
          inFlight.delete(file.id);
        }
        const mine = hostErrors.slice(errorsBefore).filter((e) => e.runningFiles.includes(file.id));
        if (mine.length > 0) run.message = `${run.message ? `${run.message}; ` : ''}host-side error while this file ran: ${mine[0].error.split('\n')[0]}`;
      } else {
        run = await runInNode(file, column, c === 'node' ? process.execPath : c.slice('node:'.length));
      }
      runs[c].set(file.id, run);
      options.onFile?.(c, file, run);
    });
  } finally {
    process.off('unhandledRejection', onHostError);
    process.off('uncaughtException', onHostError);
    await hostApi.close();
    await server.close();
  }
  return { runs, hostApiParts: hostApi.parts, hostErrors, cutShort, elapsedMs: Date.now() - started };
}
