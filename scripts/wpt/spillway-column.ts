/**
 * The Spillway column: runs one WPT file (one variant) in a fresh Spillway isolate, through the
 * same pieces a deployed function uses: the guest runtime (loadGuestCode), IsolateHost, and the
 * platform's host API. The test runs inside one invocation of the runner's handler
 * (./spillway-handler.js), so its timers and host calls (fetch, crypto) are that invocation's.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadGuestCode } from '../../src/runtime/guest-code.js';
import type { HostApi } from '../../src/runtime/host-api.js';
import { IsolateHost } from '../../src/runtime/isolate-host.js';
import type { WptFile } from './discover.js';
import { exposeLexicals } from './expose-lexicals.js';
import { harnessTimeoutMs, scriptsFor, WORKER_SCOPE, type ColumnOptions } from './job.js';
import { fromRaw, locationParts, testUrl, type FileRun, type RawRun } from './types.js';

const HANDLER = readFileSync(fileURLToPath(new URL('./spillway-handler.js', import.meta.url)), 'utf8');

export interface SpillwayColumnOptions extends ColumnOptions {
  hostApi: HostApi;
  /** Isolate memory limit, MB. */
  memoryLimitMb: number;
}

/** Keyed by the source text itself: the same path can hold different files in another WPT root. */
const exposedCache = new Map<string, string>();
function exposedSource(source: string): string {
  let out = exposedCache.get(source);
  if (out === undefined) exposedCache.set(source, (out = exposeLexicals(source)));
  return out;
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
      scripts: scriptsFor(file, options).map((script) => ({ ...script, source: exposedSource(script.source) })),
      timeoutMs: harnessMs,
    };
    // The wall limit backs up the in-isolate timeout (which ends the harness itself); the CPU
    // limit stops a test that spins without yielding.
    const handle = host.invoke('call', { input: job }, { timeoutMs: harnessMs + 5000, cpuLimitMs: harnessMs + 5000 });
    const outcome = await handle.outcome;
    if (outcome.type === 'error') return crash(`${outcome.error.code}: ${outcome.error.message}`, started);
    if (outcome.type !== 'result' || outcome.json === undefined) return crash('the runner handler returned nothing', started);
    // The handler answers with its results already serialised (a string), see spillway-handler.js.
    return fromRaw(JSON.parse(JSON.parse(outcome.json) as string) as RawRun, Date.now() - started);
  } finally {
    host.dispose();
  }
}
