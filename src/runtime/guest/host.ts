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

/** One operation for the host, produced by a batch and read by `drain`. */
export type Op =
  | ['timer', string, number, number]
  | ['clearTimer', string, number]
  | ['respond', string, { status: number; headers: Array<[string, string]>; body: string | Uint8Array | null; stream: boolean }]
  | ['chunk', string, Uint8Array]
  | ['end', string]
  | ['result', string, string | undefined]
  | ['error', string, { code: 'FUNCTION_ERROR' | 'BAD_RESPONSE'; name: string; message: string; stack?: string }]
  | ['log', string, string, string]
  | ['call', string, number, string, unknown]
  | ['done', string];

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
  inFlightByInvocation.set(inv, inFlight + 1);
  const id = nextCallId++;
  ops.push(['call', inv, id, method, args]);
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

declare const __spw_host_sync: ((method: string, args: unknown) => unknown) | undefined;

export function hostSync<T = unknown>(method: string, args: unknown): T {
  if (typeof __spw_host_sync !== 'function') throw new TypeError(`${method} is not available in this isolate.`);
  return __spw_host_sync(method, args) as T;
}
