/**
 * Builds the guest runtime (src/runtime/guest/) into one script, once per process, and a V8 code
 * cache for it, so each new isolate compiles the Web APIs from cache instead of from source.
 *
 * Why not a startup snapshot: isolated-vm's snapshots lose closure bindings of lazily compiled
 * functions ("L is not defined" inside web-streams-polyfill), and measured here a snapshot start
 * (3.1 ms p50) was no faster than a fresh isolate compiling from the code cache (2.9 ms p50).
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { guestBuildOptions, guestBuildPlugins } from './guest-build.js';
import { webBuildPlugins } from './guest-web-build.js';
import { ivm, type IsolatedVM } from './ivm.js';

const GUEST_ENTRY = fileURLToPath(new URL('./guest/index.ts', import.meta.url));

let cached: Promise<GuestCode> | null = null;

/**
 * What most handlers touch on their first request; run once before the code cache is made.
 * Each step is independent, and one that fails only leaves its functions out of the cache.
 */
const GUEST_WARM_UP = `for (const step of [
  () => { const u = new URL('https://user:pw@example.com:8080/a/../b?x=1&y=%20#h'); u.searchParams.append('z', '1'); return u.href; },
  () => new URLSearchParams('a=1&b=2').toString(),
  () => new TextDecoder().decode(new TextEncoder().encode('héllo')),
  () => new ReadableStream({ start(c) { c.enqueue(new Uint8Array(1)); c.close(); } }).getReader().read(),
  () => new AbortController().abort(),
  () => structuredClone({ a: [1, new Date(0)] }),
  () => btoa(atob('aGk=')),
  () => new Response('x').text(),
  () => new Request('https://example.com/', { method: 'POST', body: 'x', headers: { a: 'b' } }).arrayBuffer(),
]) { try { Promise.resolve(step()).catch(() => {}); } catch {} }`;

export interface GuestCode {
  /** The guest runtime as a classic script. */
  source: string;
  /** V8 code cache for `source`, or undefined if V8 produced none. */
  cachedData: IsolatedVM.ExternalCopy<ArrayBuffer> | undefined;
}

export function loadGuestCode(): Promise<GuestCode> {
  cached ??= (async () => {
    const result = await build({
      entryPoints: [GUEST_ENTRY],
      bundle: true,
      format: 'iife',
      platform: 'neutral',
      target: 'es2022',
      minify: true,
      write: false,
      legalComments: 'none',
      // whatwg-url and its dependencies have only a "main" field, which the neutral platform ignores.
      mainFields: ['module', 'main'],
      logLevel: 'silent',
      ...guestBuildOptions,
      plugins: [...webBuildPlugins, ...guestBuildPlugins],
    });
    const source = result.outputFiles[0].text;
    const scratch = new ivm.Isolate({ memoryLimit: 128 });
    try {
      // A code cache made right after compiling holds only the top-level code: every function
      // the guest runs at start-up (and the lazily loaded Web API modules) would be compiled
      // from source in each new isolate. So run the guest once here, touch the globals most
      // handlers use, and make the cache from the same script again: V8's in-isolate compilation
      // cache hands back the now-compiled functions, and the cache carries their bytecode.
      const context = await scratch.createContext();
      const first = await scratch.compileScript(source, { filename: 'spillway:guest' });
      await first.run(context);
      await context.eval(GUEST_WARM_UP, { timeout: 5000 });
      const script = await scratch.compileScript(source, { filename: 'spillway:guest', produceCachedData: true });
      return { source, cachedData: (script as IsolatedVM.Script & IsolatedVM.CachedDataResult).cachedData };
    } finally {
      scratch.dispose();
    }
  })();
  return cached;
}
