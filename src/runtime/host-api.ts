/**
 * What the host offers guest code beyond timers: named methods the guest reaches through
 * `hostCall` (asynchronous, see ./guest/host.ts) and `hostSync` (synchronous, small and bounded).
 *
 * Each capability (outbound fetch, key-value store, analytics, crypto) registers its methods here
 * from its own module; the isolate host only routes calls and replies. Arguments and results are
 * structured clones: a method never hands the guest a host object.
 */
export interface HostCallContext {
  invocationId: string;
  functionId: string;
  versionId: string;
  /** Aborted when the invocation ends (finished, failed, timed out, cancelled): stop its I/O. */
  signal: AbortSignal;
}

export type HostMethod = (args: unknown, ctx: HostCallContext) => unknown | Promise<unknown>;
export type HostSyncMethod = (args: unknown) => unknown;

export interface HostApi {
  /** Asynchronous methods, by name (e.g. `fetch.start`, `kv.get`). */
  async: Record<string, HostMethod>;
  /** Synchronous methods, by name (e.g. `crypto.random`). */
  sync: Record<string, HostSyncMethod>;
}

export function emptyHostApi(): HostApi {
  return { async: Object.create(null), sync: Object.create(null) };
}

/** Merges capability modules' methods into one API; a name registered twice is a programming error. */
export function composeHostApi(...parts: Array<Partial<HostApi>>): HostApi {
  const api = emptyHostApi();
  for (const part of parts) {
    for (const kind of ['async', 'sync'] as const) {
      for (const [name, fn] of Object.entries(part[kind] ?? {})) {
        if (name in api[kind]) throw new Error(`host method ${name} registered twice`);
        (api[kind] as Record<string, unknown>)[name] = fn;
      }
    }
  }
  return api;
}

/** The error shape that crosses back into the guest. */
export function toGuestError(err: unknown): { name: string; message: string } {
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: 'Error', message: String(err) };
}
