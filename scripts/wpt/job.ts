/**
 * What both columns hand the realm that runs a file: the worker-scope shim, testharness.js, the
 * META scripts and the test file (with the URLs they are served from), and the harness timeout.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WptFile } from './discover.js';

export const WORKER_SCOPE = readFileSync(fileURLToPath(new URL('./worker-scope.js', import.meta.url)), 'utf8');

export interface ColumnOptions {
  wptRoot: string;
  /** Origin of the static server that serves `wptRoot`. */
  origin: string;
  /** Harness time per file, in ms (normal / `timeout=long`). */
  timeoutMs: number;
  longTimeoutMs: number;
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
