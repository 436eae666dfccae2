/**
 * The Node anchor column: the same WPT file, in a fresh `node` process (the Node running the
 * runner), in Node's own realm (./node-child.cjs), with the same worker-scope shim and the same
 * static server. It shows what plain Node passes, next to Spillway's figure.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { WptFile } from './discover.js';
import { harnessTimeoutMs, scriptsFor, WORKER_SCOPE, type ColumnOptions } from './job.js';
import { fromRaw, locationParts, testUrl, type FileRun, type RawRun } from './types.js';

const CHILD = fileURLToPath(new URL('./node-child.cjs', import.meta.url));

/** `execPath`: the node binary (default: the one running the runner). */
export async function runInNode(file: WptFile, options: ColumnOptions, execPath = process.execPath): Promise<FileRun> {
  const started = Date.now();
  const harnessMs = harnessTimeoutMs(file, options);
  const job = {
    workerScope: WORKER_SCOPE,
    location: locationParts(testUrl(options.origin, file.path, file.variant)),
    scripts: scriptsFor(file, options),
    timeoutMs: harnessMs,
  };
  // `gc()` only for files that ask for it through common/gc.js, as Node's own WPT runner does.
  const flags = file.scripts.includes('common/gc.js') ? ['--expose-gc'] : [];
  const child = spawn(execPath, [...flags, '--max-old-space-size=512', CHILD], { stdio: ['pipe', 'ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const results = child.stdio[3] as Readable;
  results.setEncoding('utf8');
  results.on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (err = (err + chunk).slice(-2000)));
  child.stdin!.on('error', () => {});
  child.stdin!.end(JSON.stringify(job));
  // The child's own timeout ends the harness; this kill is the backstop for a child that hangs.
  let killed = false;
  const backstop = setTimeout(() => {
    killed = true;
    child.kill('SIGKILL');
  }, harnessMs + 10_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(backstop);
  if (out) {
    try {
      return fromRaw(JSON.parse(out) as RawRun, Date.now() - started);
    } catch {
      /* fall through to a crash */
    }
  }
  const why = killed ? `killed after ${harnessMs + 10_000} ms` : `exited with code ${code}`;
  return { harness: 'CRASH', message: `node ${why}${err ? `: ${err.trim().split('\n').slice(-3).join(' | ')}` : ''}`, subtests: [], durationMs: Date.now() - started };
}
