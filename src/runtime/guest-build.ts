/**
 * The esbuild options that let npm modules written for Node run inside the isolate: each Node
 * built-in they require is aliased to a small shim (src/runtime/guest/web/node-shims/, see its
 * README), and their free `process`/`Buffer` references resolve to module-local stand-ins instead
 * of guest globals. Used by the guest build (./guest-code.ts).
 */
import { fileURLToPath } from 'node:url';

const shim = (name: string) => fileURLToPath(new URL(`./guest/web/node-shims/${name}`, import.meta.url));

const EMPTY = ['http', 'net', 'querystring', 'zlib', 'perf_hooks', 'worker_threads', 'sqlite'];

function aliases(): Record<string, string> {
  const map: Record<string, string> = {
    'node:assert': shim('assert.cjs'),
    'node:util': shim('util.cjs'),
    'node:util/types': shim('util.cjs'),
    'node:stream': shim('stream.cjs'),
    'node:events': shim('events.cjs'),
    'node:crypto': shim('crypto.cjs'),
  };
  for (const name of EMPTY) map[`node:${name}`] = shim('empty.cjs');
  return map;
}

/**
 * Blob and File are injected (./guest/web/node-shims/inject.js): bundled modules check against
 * Spillway's own classes whatever a handler later does to the globals.
 *
 * Web globals that bundled modules name at load time (undici's WebIDL type checks capture
 * `MessagePort`, `URL`, `AbortSignal`, …). Read through `globalThis` so one the isolate lacks
 * (MessagePort) is `undefined` instead of a ReferenceError.
 */
const WEB_GLOBALS = ['MessagePort', 'URL', 'URLSearchParams', 'AbortSignal', 'ReadableStream'];

export const guestBuildOptions = {
  alias: aliases(),
  inject: [shim('inject.js')],
  // Web classes and functions must keep their names (`Request.name`, WebIDL's idlharness checks
  // them) through minification.
  keepNames: true,
  define: Object.fromEntries(WEB_GLOBALS.map((name) => [name, `globalThis.${name}`])),
};
