/**
 * AbortController and AbortSignal (DOM §3.1), with `AbortSignal.abort`, `AbortSignal.timeout`,
 * `AbortSignal.any` (dependent signals), `reason` and `throwIfAborted`. Written from the spec's
 * algorithms: the `abort-controller` package predates `reason`, `any` and `timeout`.
 *
 * `AbortSignal.timeout` uses a timer that does not keep its invocation open (a handler that
 * sets a 60 s timeout signal and answers at once is done at once), supplied by the event loop.
 */
import { DOMException } from './dom-exception.js';
import { defineEventHandler, Event, EventTarget, fireEvent, signalHooks } from './events.js';

interface SignalState {
  aborted: boolean;
  reason: unknown;
  algorithms: Set<() => void>;
  dependent: boolean;
  /** Signals this dependent signal follows (strong: a source must outlive what follows it). */
  sources: Set<AbortSignal>;
  /** Dependent signals following this one (weak: nobody may hold them any more). */
  dependents: Set<WeakRef<AbortSignal>>;
}

const states = new WeakMap<object, SignalState>();
let constructing = false;

function stateOf(signal: unknown, member: string): SignalState {
  const s = typeof signal === 'object' && signal !== null ? states.get(signal) : undefined;
  if (!s) throw new TypeError(`'${member}' called on an object that is not an AbortSignal.`);
  return s;
}

/** A timer that does not keep its invocation open; set by the event loop. */
export const abortTimerHooks = {
  setTimeout: (_fn: () => void, _ms: number): void => {
    throw new TypeError('AbortSignal.timeout is not available here.');
  },
};

function createSignal(): AbortSignal {
  constructing = true;
  try {
    return new AbortSignal();
  } finally {
    constructing = false;
  }
}

function toTimeout(value: unknown): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new TypeError(`AbortSignal.timeout: the delay must be a finite number of milliseconds, got ${String(value)}.`);
  const ms = Math.trunc(n);
  if (ms < 0 || ms > Number.MAX_SAFE_INTEGER) throw new TypeError(`AbortSignal.timeout: the delay must be between 0 and ${Number.MAX_SAFE_INTEGER} ms, got ${String(value)}.`);
  return ms;
}

export class AbortSignal extends EventTarget {
  constructor() {
    if (!constructing) throw new TypeError('Illegal constructor');
    super();
    states.set(this, { aborted: false, reason: undefined, algorithms: new Set(), dependent: false, sources: new Set(), dependents: new Set() });
  }

  static abort(reason?: unknown): AbortSignal {
    const signal = createSignal();
    const s = states.get(signal)!;
    s.aborted = true;
    s.reason = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
    return signal;
  }

  static timeout(milliseconds: number): AbortSignal {
    if (arguments.length === 0) throw new TypeError("Failed to execute 'timeout' on 'AbortSignal': 1 argument required, but only 0 present.");
    const ms = toTimeout(milliseconds);
    const signal = createSignal();
    abortTimerHooks.setTimeout(() => signalAbort(signal, new DOMException('The operation timed out.', 'TimeoutError')), ms);
    return signal;
  }

  static any(signals: Iterable<AbortSignal>): AbortSignal {
    if (arguments.length === 0) throw new TypeError("Failed to execute 'any' on 'AbortSignal': 1 argument required, but only 0 present.");
    if (signals === null || (typeof signals !== 'object' && typeof signals !== 'function') || typeof (signals as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new TypeError("Failed to execute 'any' on 'AbortSignal': The provided value cannot be converted to a sequence.");
    }
    const list = [...signals];
    for (const signal of list) stateOf(signal, 'any');
    const result = createSignal();
    const r = states.get(result)!;
    for (const signal of list) {
      const s = states.get(signal)!;
      if (s.aborted) {
        r.aborted = true;
        r.reason = s.reason;
        return result;
      }
    }
    r.dependent = true;
    const ref = new WeakRef(result);
    for (const signal of list) {
      const s = states.get(signal)!;
      const sources = s.dependent ? [...s.sources] : [signal];
      for (const source of sources) {
        r.sources.add(source);
        states.get(source)!.dependents.add(ref);
      }
    }
    return result;
  }

  get aborted(): boolean {
    return stateOf(this, 'aborted').aborted;
  }

  get reason(): unknown {
    return stateOf(this, 'reason').reason;
  }

  throwIfAborted(): void {
    const s = stateOf(this, 'throwIfAborted');
    if (s.aborted) throw s.reason;
  }

  declare onabort: ((this: AbortSignal, ev: Event) => unknown) | null;

  get [Symbol.toStringTag](): string {
    return 'AbortSignal';
  }
}
defineEventHandler(AbortSignal.prototype, 'abort');

/** DOM "signal abort". */
function signalAbort(signal: AbortSignal, reason: unknown): void {
  const s = states.get(signal)!;
  if (s.aborted) return;
  s.aborted = true;
  s.reason = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
  const dependentsToAbort: AbortSignal[] = [];
  for (const ref of s.dependents) {
    const dependent = ref.deref();
    if (!dependent) continue;
    const d = states.get(dependent)!;
    if (d.aborted) continue;
    d.aborted = true;
    d.reason = s.reason;
    dependentsToAbort.push(dependent);
  }
  s.dependents.clear();
  runAbortSteps(signal, s);
  for (const dependent of dependentsToAbort) runAbortSteps(dependent, states.get(dependent)!);
}

function runAbortSteps(signal: AbortSignal, s: SignalState): void {
  const algorithms = [...s.algorithms];
  s.algorithms.clear();
  for (const algorithm of algorithms) algorithm();
  fireEvent(signal, new Event('abort'));
  // A dependent signal that aborted no longer needs its sources.
  s.sources.clear();
}

const signals = new WeakMap<object, AbortSignal>();

export class AbortController {
  constructor() {
    signals.set(this, createSignal());
  }

  get signal(): AbortSignal {
    const signal = signals.get(this);
    if (!signal) throw new TypeError("'signal' called on an object that is not an AbortController.");
    return signal;
  }

  abort(reason?: unknown): void {
    const signal = signals.get(this);
    if (!signal) throw new TypeError("'abort' called on an object that is not an AbortController.");
    signalAbort(signal, reason);
  }

  get [Symbol.toStringTag](): string {
    return 'AbortController';
  }
}

/** Runs `algorithm` when `signal` aborts (the spec's "add an abort algorithm"); for other Web APIs. */
export function onAbort(signal: AbortSignal, algorithm: () => void): () => void {
  const s = stateOf(signal, 'onAbort');
  s.algorithms.add(algorithm);
  return () => s.algorithms.delete(algorithm);
}

signalHooks.isSignal = (value) => typeof value === 'object' && value !== null && states.has(value);
signalHooks.aborted = (value) => states.get(value as object)?.aborted === true;
signalHooks.onAbort = (signal, algorithm) => void onAbort(signal as AbortSignal, algorithm);
