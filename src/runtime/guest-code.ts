/**
 * Builds the guest runtime (src/runtime/guest/) into one script and a V8 startup snapshot of it,
 * once per process. Every isolate then starts from the snapshot, so the Web APIs cost nothing at
 * cold start.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { ivm, type IsolatedVM } from './ivm.js';

const GUEST_ENTRY = fileURLToPath(new URL('./guest/index.ts', import.meta.url));

let cached: Promise<GuestCode> | null = null;

export interface GuestCode {
  /** The guest runtime as a classic script. */
  source: string;
  /** A V8 startup snapshot with the guest runtime evaluated, or null where snapshots failed. */
  snapshot: IsolatedVM.ExternalCopy<ArrayBuffer> | null;
}

export function loadGuestCode(): Promise<GuestCode> {
  cached ??= (async () => {
    const result = await build({
      entryPoints: [GUEST_ENTRY],
      bundle: true,
      format: 'iife',
      platform: 'neutral',
      target: 'es2022',
      // Minified code breaks inside isolated-vm snapshots ("X is not defined" on lazily compiled
      // functions), and size does not matter once the code is in the snapshot.
      minify: false,
      write: false,
      legalComments: 'none',
      logLevel: 'silent',
    });
    const source = result.outputFiles[0].text;
    let snapshot: IsolatedVM.ExternalCopy<ArrayBuffer> | null = null;
    try {
      snapshot = process.env.SPILLWAY_NO_SNAPSHOT ? null : ivm.Isolate.createSnapshot([{ code: source, filename: 'spillway:guest' }]);
    } catch {
      snapshot = null;
    }
    return { source, snapshot };
  })();
  return cached;
}
