/**
 * The esbuild options that let npm modules written for Node run inside the isolate: each Node
 * built-in they require is aliased to a small shim (src/runtime/guest/web/node-shims/, see its
 * README), and their free `process`/`Buffer` references resolve to module-local stand-ins instead
 * of guest globals. Used by the guest build (./guest-code.ts).
 */
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';

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
  define: Object.fromEntries(WEB_GLOBALS.map((name) => [name, `globalThis.${name}`])),
};

/** undici modules replaced by a lighter stand-in (see the shim's header for why). */
const UNDICI_REPLACEMENTS: Array<{ request: RegExp; from: RegExp; shim: string }> = [{ request: /^\.\/tree$/, from: /[\\/]undici[\\/]lib[\\/]core$/, shim: 'undici-tree.cjs' }];

export const guestBuildPlugins: Plugin[] = [
  {
    name: 'spillway-undici-slim',
    setup(build) {
      for (const r of UNDICI_REPLACEMENTS) {
        build.onResolve({ filter: r.request }, (args) => (r.from.test(args.resolveDir) ? { path: shim(r.shim) } : undefined));
      }
    },
  },
];
