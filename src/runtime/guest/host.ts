/**
 * The guest's only ways to reach the host (runs inside the isolate).
 *
 * - `hostCall(method, args)`: asynchronous. The call is queued as an operation; the host performs
 *   it (outbound fetch, key-value store, analytics, crypto) while the isolate runs other events,
 *   and answers with a `reply` event in a later batch. An invocation awaiting a host call holds no
 *   thread and accrues no CPU, exactly like one awaiting a timer.
 * - `hostSync(method, args)`: synchronous, for the few Web APIs that must answer at once
 *   (`crypto.getRandomValues`). It blocks the isolate's thread until Node's main thread answers,
 *   so it is kept for small, bounded work.
 *
 * Arguments and results cross the boundary as structured clones (strings, numbers, plain objects,
 * arrays, ArrayBuffers and typed arrays): no host object or function is ever visible in here.
 */
import type { Op } from './protocol.js';

/* Intrinsics captured before any user code runs, so a function that patches globals cannot
   change what the bridge checks. */
const { apply } = Reflect;
const { getPrototypeOf, keys: ownKeys } = Object;
const { isArray } = Array;
const { isView } = ArrayBuffer;
const charCodeAt = String.prototype.charCodeAt;
const SharedBuffer = (globalThis as { SharedArrayBuffer?: new (n: number) => ArrayBufferLike }).SharedArrayBuffer;
const byteLengthOf = (b: ArrayBufferLike) => b.byteLength;

/** Most data one host call may carry (string characters plus binary bytes). */
export const MAX_CALL_ARG_BYTES = 32 * 1024 * 1024;
/** Most data all host calls of one batch may carry together: strings can repeat, copies cannot. */
export const MAX_BATCH_CALL_BYTES = 256 * 1024 * 1024;
/** Most data a synchronous host call may carry (they are for small, bounded work). */
export const MAX_SYNC_ARG_BYTES = 1024 * 1024;
const MAX_DEPTH = 64;
let batchCallBytes = 0;

/** Called by `drain`: the host has taken this batch's calls. */
export function resetOutbound(): void {
  batchCallBytes = 0;
}

/**
 * Makes a long string flat (one piece) here, in JavaScript. isolated-vm's copy of a result would
 * otherwise flatten a rope (a string built by concatenation) while serialising, and running out
 * of memory there aborts the whole process instead of stopping just this isolate. V8 flattens a
 * rope on `charCodeAt`.
 */
export function flat(s: string): string {
  if (s.length > 1024) apply(charCodeAt, s, [0]);
  return s;
}

/**
 * Copies a value the guest hands to the host into plain data: strings, numbers, booleans, null,
 * plain objects, arrays, Dates and binary data, at most `limit` bytes (a string counts every time
 * it appears, since the copy repeats it), `MAX_DEPTH` levels, no cycles. Getters and Proxy traps
 * run here, in the guest, once; what crosses is the copy. Throws TypeError or RangeError, which
 * the caller sees.
 */
export function toHost(value: unknown, limit: number, what: string): { value: unknown; bytes: number } {
  let bytes = 0;
  const ancestors = new Set<object>();
  const buffers = new Set<ArrayBufferLike>();
  const count = (n: number) => {
    bytes += n;
    if (bytes > limit) throw new RangeError(`${what}: more than ${limit} bytes of data for one call to the host; send less at once.`);
  };
  const copy = (v: unknown, depth: number): unknown => {
    switch (typeof v) {
      case 'string':
        count(v.length);
        return flat(v);
      case 'number':
      case 'boolean':
      case 'undefined':
      case 'bigint':
        return v;
      case 'function':
      case 'symbol':
        throw new TypeError(`${what}: a ${typeof v} cannot be sent to the host.`);
    }
    if (v === null) return null;
    if (depth > MAX_DEPTH) throw new RangeError(`${what}: data nested deeper than ${MAX_DEPTH} levels cannot be sent to the host.`);
    const o = v as object;
    if (isView(o) || o instanceof ArrayBuffer) {
      const buffer = isView(o) ? (o as ArrayBufferView).buffer : (o as ArrayBuffer);
      if (SharedBuffer && buffer instanceof SharedBuffer) throw new TypeError(`${what}: shared memory cannot be sent to the host.`);
      if (!buffers.has(buffer)) {
        buffers.add(buffer);
        count(byteLengthOf(buffer));
      }
      return o;
    }
    if (o instanceof Date) return new Date(o.getTime());
    if (ancestors.has(o)) throw new TypeError(`${what}: a cyclic structure cannot be sent to the host.`);
    ancestors.add(o);
    try {
      if (isArray(o)) {
        const length = (o as unknown[]).length;
        count(length * 8);
        const out: unknown[] = [];
        for (let i = 0; i < length; i++) out.push(copy((o as unknown[])[i], depth + 1));
        return out;
      }
      const proto = getPrototypeOf(o);
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(`${what}: only plain objects, arrays, strings, numbers and binary data can be sent to the host.`);
      }
      const out: Record<string, unknown> = {};
      for (const key of ownKeys(o)) {
        count(key.length + 8);
        // Defined, not assigned: a key named "__proto__" stays an ordinary key.
        Object.defineProperty(out, key, { value: copy((o as Record<string, unknown>)[key], depth + 1), enumerable: true, writable: true, configurable: true });
      }
      return out;
    } finally {
      ancestors.delete(o);
    }
  };
  const result = copy(value, 0);
  return { value: result, bytes };
}

/** Operations produced since the last drain. */
export const ops: Op[] = [];

/** The invocation whose event is running (null between events). */
export const state = { current: null as string | null };

interface PendingCall {
  inv: string;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

const calls = new Map<number, PendingCall>();
let nextCallId = 1;

/** Hooks the event loop installs: keep an invocation open while its calls are in flight. */
export const callHooks = {
  /** Returns false when the invocation is gone (the call is refused). */
  begin: (_inv: string): boolean => false,
  end: (_inv: string): void => {},
};

/** Most host calls one invocation may have in flight; more is a runaway loop, not real work. */
export const MAX_CALLS_IN_FLIGHT = 512;
const inFlightByInvocation = new Map<string, number>();

/** Error thrown for a failed host call; `name` carries the host's error name (TypeError, AbortError, …). */
export class HostError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/**
 * Calls a host method for the running invocation, or for `owner`: an API whose later calls happen
 * deep in promise chains (a fetch body read long after the fetch began) names the invocation it
 * captured when it started, since `state.current` only holds during an event's own turn.
 */
export function hostCall<T = unknown>(method: string, args: unknown, owner: string | null = state.current): Promise<T> {
  const inv = owner;
  if (inv === null || !callHooks.begin(inv)) {
    return Promise.reject(new TypeError(`${method}: I/O is only possible while a request is being handled (not at module load, and not after the invocation ended).`));
  }
  const inFlight = inFlightByInvocation.get(inv) ?? 0;
  if (inFlight >= MAX_CALLS_IN_FLIGHT) {
    callHooks.end(inv);
    return Promise.reject(new RangeError(`${method}: more than ${MAX_CALLS_IN_FLIGHT} I/O operations in flight in one invocation; await some before starting more.`));
  }
  let copied: ReturnType<typeof toHost>;
  try {
    if (typeof method !== 'string') throw new TypeError('hostCall: the method must be a string.');
    copied = toHost(args, MAX_CALL_ARG_BYTES, method);
    if (batchCallBytes + copied.bytes > MAX_BATCH_CALL_BYTES) {
      throw new RangeError(`${method}: more than ${MAX_BATCH_CALL_BYTES} bytes of data handed to the host at once; await earlier calls before starting more.`);
    }
  } catch (err) {
    callHooks.end(inv);
    return Promise.reject(err);
  }
  batchCallBytes += copied.bytes;
  inFlightByInvocation.set(inv, inFlight + 1);
  const id = nextCallId++;
  ops.push(['call', inv, id, method, copied.value]);
  return new Promise<T>((resolve, reject) => {
    calls.set(id, { inv, resolve: resolve as (v: unknown) => void, reject });
  });
}

/** Settles a host call with the host's answer (a `reply` event). */
export function settleCall(id: number, ok: boolean, value: unknown): void {
  const call = calls.get(id);
  if (!call) return;
  calls.delete(id);
  const left = (inFlightByInvocation.get(call.inv) ?? 1) - 1;
  if (left <= 0) inFlightByInvocation.delete(call.inv);
  else inFlightByInvocation.set(call.inv, left);
  try {
    if (ok) call.resolve(value);
    else {
      const e = (value ?? {}) as { name?: string; message?: string };
      call.reject(new HostError(String(e.name ?? 'Error'), String(e.message ?? 'host call failed')));
    }
  } finally {
    callHooks.end(call.inv);
  }
}

/** Forgets the calls of a cancelled invocation: their replies are ignored. */
export function dropCalls(inv: string): void {
  for (const [id, call] of calls) if (call.inv === inv) calls.delete(id);
  inFlightByInvocation.delete(inv);
}

/*
 * The host's synchronous callback is taken off the global before any user code runs: user code
 * reaches it only through `hostSync`, which copies and bounds what it is given.
 */
const hostSyncCallback = (globalThis as { __spw_host_sync?: (method: string, args: unknown) => unknown }).__spw_host_sync;
delete (globalThis as { __spw_host_sync?: unknown }).__spw_host_sync;

export function hostSync<T = unknown>(method: string, args: unknown): T {
  if (typeof method !== 'string') throw new TypeError('hostSync: the method must be a string.');
  if (typeof hostSyncCallback !== 'function') throw new TypeError(`${method} is not available in this isolate.`);
  return apply(hostSyncCallback, undefined, [method, toHost(args, MAX_SYNC_ARG_BYTES, method).value]) as T;
}
