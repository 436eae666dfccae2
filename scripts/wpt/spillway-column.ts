/**
 * The Spillway column: runs one WPT file (one variant) in a fresh Spillway isolate, through the
 * same pieces a deployed function uses: the guest runtime (loadGuestCode), IsolateHost, and the
 * platform's host API. The test runs inside one invocation of the runner's handler
 * (./spillway-handler.js), so its timers and host calls (fetch, crypto) are that invocation's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadGuestCode } from '../../src/runtime/guest-code.js';
import type { HostApi } from '../../src/runtime/host-api.js';
import { IsolateHost } from '../../src/runtime/isolate-host.js';
import type { WptFile } from './discover.js';
import { fromRaw, locationParts, testUrl, type FileRun, type RawRun } from './types.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const HANDLER = readFileSync(join(HERE, 'spillway-handler.js'), 'utf8');
export const WORKER_SCOPE = readFileSync(join(HERE, 'worker-scope.js'), 'utf8');

export interface ColumnOptions {
  wptRoot: string;
  /** Origin of the static server that serves `wptRoot`. */
  origin: string;
  /** Harness time per file, in ms (normal / `timeout=long`). */
  timeoutMs: number;
  longTimeoutMs: number;
}

export interface SpillwayColumnOptions extends ColumnOptions {
  hostApi: HostApi;
  /** Isolate memory limit, MB. */
  memoryLimitMb: number;
}

const sourceCache = new Map<string, string>();
export function readScript(root: string, path: string): string {
  const key = join(root, path);
  let source = sourceCache.get(key);
  if (source === undefined) {
    source = readFileSync(key, 'utf8');
    sourceCache.set(key, source);
  }
  return source;
}

/** The scripts a file runs, in order: testharness.js, its META scripts, itself; each with the URL it is served from. */
export function scriptsFor(file: WptFile, options: ColumnOptions): Array<{ name: string; url: string; source: string }> {
  return ['resources/testharness.js', ...file.scripts].map((path) => ({
    name: path,
    url: `${options.origin}/${path}`,
    source: readScript(options.wptRoot, path),
  }));
}

export function harnessTimeoutMs(file: WptFile, options: ColumnOptions): number {
  return file.long ? options.longTimeoutMs : options.timeoutMs;
}

function crash(message: string, startedMs: number): FileRun {
  return { harness: 'CRASH', message, subtests: [], durationMs: Date.now() - startedMs };
}

export async function runInSpillway(file: WptFile, options: SpillwayColumnOptions): Promise<FileRun> {
  const started = Date.now();
  const guest = await loadGuestCode();
  const harnessMs = harnessTimeoutMs(file, options);
  let host: IsolateHost;
  try {
    host = await IsolateHost.create({
      bundle: HANDLER,
      plainParams: null,
      memoryLimitMb: options.memoryLimitMb,
      guest,
      hostApi: options.hostApi,
      filename: 'wpt-runner.js',
      functionId: 'wpt-runner',
      versionId: file.id,
    });
  } catch (err) {
    return crash(`the isolate did not start: ${(err as Error).message}`, started);
  }
  try {
    const job = {
      workerScope: WORKER_SCOPE,
      location: locationParts(testUrl(options.origin, file.path, file.variant)),
      scripts: scriptsFor(file, options),
      timeoutMs: harnessMs,
    };
    // The wall limit backs up the in-isolate timeout (which ends the harness itself); the CPU
    // limit stops a test that spins without yielding.
    const handle = host.invoke('call', { input: job }, { timeoutMs: harnessMs + 5000, cpuLimitMs: harnessMs + 5000 });
    const outcome = await handle.outcome;
    if (outcome.type === 'error') return crash(`${outcome.error.code}: ${outcome.error.message}`, started);
    if (outcome.type !== 'result' || outcome.json === undefined) return crash('the runner handler returned nothing', started);
    return fromRaw(JSON.parse(outcome.json) as RawRun, Date.now() - started);
  } finally {
    host.dispose();
  }
}
