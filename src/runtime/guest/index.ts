/**
 * The guest side of Spillway's runtime: everything here runs inside a V8 isolate.
 *
 * The guest is a state machine driven by the host. The host enters the isolate only through
 * `__spw.run(items)`, with a batch of events (start an invocation, a timer fired, the client
 * wants the next chunk, cancel). The guest handles each event, lets the promise chains it woke
 * run, and returns the operations it wants the host to perform (start a timer, send a response,
 * write a chunk, log a line) together with how long each invocation ran. Nothing in the guest ever
 * waits: an invocation that awaits a timer simply has no work until the host sends the timer's
 * event. That is what lets thousands of I/O-bound invocations share one isolate and one thread.
 */
import { buildEnv, installPlatformGlobal } from './bindings.js';
import type { BatchResult, GuestError, HttpRequestPayload, Item, Op } from './protocol.js';
import { callHooks, dropCalls, flat, hostCall, hostSync, ops, resetOutbound, settleCall, state } from './host.js';
import { installCoreGlobals } from './web/core.js';
import { reportException } from './web/events.js';
import { installFetchGlobals, loadFetchApi, Request, Response, responseBodyForHost } from './web/fetch-api.js';

declare const require: (id: string) => unknown;

/**
 * V8's `gc()` (the host sets --expose-gc), taken off the global before any user code runs. Three
 * full collections in a row: the first marks and sweeps, the next ones free and uncommit the pages
 * the sweep emptied (measured: one collection took an idle isolate's RSS from 4.13 to 4.04 MB,
 * three to 3.20 MB).
 */
const collectGarbage: (() => void) | null = (() => {
  const g = globalThis as { gc?: unknown };
  const fn = typeof g.gc === 'function' ? (g.gc as () => void) : null;
  // V8 installs it non-configurable (it cannot be deleted) but writable: what user code sees is
  // `gc === undefined`.
  if (fn) g.gc = undefined;
  return fn;
})();
function compactHeap(): void {
  if (!collectGarbage || invocations.size > 0) return;
  for (let i = 0; i < 3; i++) collectGarbage();
}

/**
 * The standard Encoding implementation behind the TextEncoder/TextDecoder globals, taken from its
 * module (evaluated on first use, as the lazy globals are) rather than from the global, which user
 * code may replace.
 */
let encodingModule: typeof import('./web/encoding.js') | null = null;
function encoding(): typeof import('./web/encoding.js') {
  return (encodingModule ??= require('./web/encoding.js') as typeof import('./web/encoding.js'));
}

interface Invocation {
  id: string;
  pending: number;
  responded: boolean;
  waitUntil: number;
  waitUntilTotal: number;
  pull: (() => void) | null;
  cancelled: boolean;
}

type HandlerKind = 'fetch' | 'handler' | 'plain';

interface UserModule {
  default?: unknown;
  __spw_plain?: unknown;
  [name: string]: unknown;
}

declare const __spw_user: UserModule | undefined;

const invocations = new Map<string, Invocation>();
/** `unref` timers (AbortSignal.timeout) do not keep their invocation open. */
const timers = new Map<number, { inv: string; fn: (...args: unknown[]) => void; args: unknown[]; repeatMs: number | null; unref: boolean }>();
let nextTimerId = 1;
/** Pending timers per invocation, for the cap. */
const timerCounts = new Map<string, number>();

function forgetTimer(id: number): void {
  const timer = timers.get(id);
  if (!timer) return;
  timers.delete(id);
  const left = (timerCounts.get(timer.inv) ?? 1) - 1;
  if (left <= 0) timerCounts.delete(timer.inv);
  else timerCounts.set(timer.inv, left);
}
let kind: HandlerKind | null = null;
let target: ((...args: unknown[]) => unknown) | null = null;
let targetThis: unknown = undefined;
let plainParams: string[] | null = null;
let env: Record<string, unknown> = {};

/** Longest error message or stack sent to the host, in characters. */
const MAX_ERROR_TEXT = 16 * 1024;
/** Most bytes of response headers (names and values) a handler may send. */
const MAX_RESPONSE_HEADER_BYTES = 256 * 1024;
/** Most timers one invocation, and the whole isolate, may have pending: each is a timer on the host. */
const MAX_TIMERS_PER_INVOCATION = 10_000;
const MAX_TIMERS_PER_ISOLATE = 100_000;

/** A bounded string for the host, whatever the value (getters and toString may throw or lie). */
function boundedText(value: unknown, max: number): string {
  let s: string;
  try {
    s = typeof value === 'string' ? value : String(value);
  } catch {
    s = '[a value that could not be converted to a string]';
  }
  return flat(s.length > max ? `${s.slice(0, max)}… [${s.length - max} more characters]` : s);
}

function describe(err: unknown, code: GuestError['code'] = 'FUNCTION_ERROR'): GuestError {
  try {
    if (err instanceof Error) {
      const stack = err.stack;
      return { code, name: boundedText(err.name, 256), message: boundedText(err.message, MAX_ERROR_TEXT), stack: stack === undefined ? undefined : boundedText(stack, MAX_ERROR_TEXT) };
    }
    return { code, name: 'Error', message: boundedText(typeof err === 'string' ? err : safeStringify(err), MAX_ERROR_TEXT) };
  } catch {
    return { code, name: 'Error', message: 'The function threw a value that could not be described.' };
  }
}

function safeStringify(value: unknown): string {
  try {
    return typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/* ------------------------------------------------------------------ globals */

function currentInvocation(): string {
  return state.current ?? '';
}

// A host call keeps its invocation open, like a timer.
callHooks.begin = (inv) => {
  const record = invocations.get(inv);
  if (!record) return false;
  record.pending++;
  return true;
};
callHooks.end = (inv) => {
  const record = invocations.get(inv);
  if (record) settlePending(record);
};

/**
 * HTML's timer initialisation steps: a handler that is not a function is converted to a string
 * now and run as a script when the timer fires; the timeout is a WebIDL `long` (so 2^32 is 0)
 * and a negative one is 0.
 */
function setTimer(repeat: boolean, handler: unknown, ms?: unknown, args: unknown[] = [], unref = false): number {
  let fn: (...a: unknown[]) => void;
  if (typeof handler === 'function') fn = handler as (...a: unknown[]) => void;
  else {
    const code = String(handler);
    fn = () => void (0, eval)(code);
  }
  const inv = currentInvocation();
  const pendingHere = timerCounts.get(inv) ?? 0;
  if (pendingHere >= MAX_TIMERS_PER_INVOCATION || timers.size >= MAX_TIMERS_PER_ISOLATE) {
    throw new RangeError(
      `setTimeout/setInterval: more than ${pendingHere >= MAX_TIMERS_PER_INVOCATION ? `${MAX_TIMERS_PER_INVOCATION} timers pending in one invocation` : `${MAX_TIMERS_PER_ISOLATE} timers pending in this function`}; clear or await some before starting more.`,
    );
  }
  timerCounts.set(inv, pendingHere + 1);
  const delay = Math.max(0, Number(ms) | 0);
  const id = nextTimerId++;
  timers.set(id, { inv, fn, args, repeatMs: repeat ? Math.max(1, delay) : null, unref });
  const record = invocations.get(inv);
  if (record && !unref) record.pending++;
  ops.push(['timer', inv, id, delay]);
  return id;
}

function clearTimer(id: unknown): void {
  const timer = timers.get(Number(id));
  if (!timer) return;
  forgetTimer(Number(id));
  const record = invocations.get(timer.inv);
  if (record && !timer.unref) settlePending(record);
  ops.push(['clearTimer', timer.inv, Number(id)]);
}

const LOG_LEVELS = ['log', 'info', 'warn', 'error', 'debug'] as const;
const consoleImpl: Record<string, (...args: unknown[]) => void> = {};
for (const level of LOG_LEVELS) {
  consoleImpl[level] = (...args: unknown[]) => {
    ops.push(['log', currentInvocation(), level, args.map((a) => (typeof a === 'string' ? a : a instanceof Error ? a.stack ?? a.message : safeStringify(a))).join(' ')]);
  };
}

installCoreGlobals(globalThis, {
  setUnrefTimeout: (fn, ms) => void setTimer(false, fn, ms, [], true),
  logUncaught: (message) => void ops.push(['log', currentInvocation(), 'error', message]),
});
installFetchGlobals(globalThis);
installPlatformGlobal(globalThis);

Object.assign(globalThis, {
  console: consoleImpl,
  setTimeout: (fn: unknown, ms?: unknown, ...args: unknown[]) => setTimer(false, fn, ms, args),
  setInterval: (fn: unknown, ms?: unknown, ...args: unknown[]) => setTimer(true, fn, ms, args),
  clearTimeout: clearTimer,
  clearInterval: clearTimer,
});

/* ------------------------------------------------------------------ lifecycle */

function settlePending(record: Invocation): void {
  record.pending--;
  maybeDone(record);
}

function maybeDone(record: Invocation): void {
  if (record.responded && record.pending <= 0 && record.waitUntil <= 0 && invocations.has(record.id)) {
    invocations.delete(record.id);
    // Only unref timers can be left; the host drops them with the invocation.
    for (const [timerId, timer] of timers) if (timer.inv === record.id) forgetTimer(timerId);
    ops.push(['done', record.id]);
  }
}

/** Most `ctx.waitUntil` promises one invocation may register (their work is also bounded by the function's timeout). */
const MAX_WAIT_UNTIL = 1000;

function makeContext(record: Invocation) {
  return {
    waitUntil(promise: unknown) {
      if (!invocations.has(record.id)) throw new TypeError('waitUntil: this invocation has already ended; call waitUntil while the request is being handled.');
      if (record.waitUntilTotal >= MAX_WAIT_UNTIL) throw new RangeError(`waitUntil: at most ${MAX_WAIT_UNTIL} promises per invocation; combine them with Promise.all.`);
      record.waitUntilTotal++;
      record.waitUntil++;
      Promise.resolve(promise)
        .catch((err) => ops.push(['log', record.id, 'error', `waitUntil promise rejected: ${describe(err).message}`]))
        .finally(() => {
          record.waitUntil--;
          maybeDone(record);
        });
    },
    passThroughOnException() {},
  };
}

function mapArguments(input: unknown): unknown[] {
  if (input === undefined || input === null) return [];
  if (Array.isArray(input)) return input;
  if (plainParams && plainParams.length >= 2 && typeof input === 'object' && plainParams.every((p) => Object.prototype.hasOwnProperty.call(input, p))) {
    return plainParams.map((p) => (input as Record<string, unknown>)[p]);
  }
  return [input];
}

/** A handler's own Response object can be tampered with; what reaches the host must be a sane head. */
function checkResponseHead(status: unknown, headers: unknown[]): void {
  const bad = (message: string) => Object.assign(new TypeError(message), { spwCode: 'BAD_RESPONSE' });
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) throw bad(`The response status must be an integer from 200 to 599, got ${boundedText(status, 64)}.`);
  let bytes = 0;
  for (const pair of headers) {
    if (!Array.isArray(pair) || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') throw bad('The response headers must be pairs of strings.');
    bytes += pair[0].length + pair[1].length + 4;
    if (bytes > MAX_RESPONSE_HEADER_BYTES) throw bad(`The response headers are larger than ${MAX_RESPONSE_HEADER_BYTES} bytes; send less in headers (put it in the body).`);
  }
}

async function sendResponse(record: Invocation, value: unknown): Promise<void> {
  if (!(value instanceof Response)) {
    const got = value === null ? 'null' : typeof value === 'object' ? (value as object).constructor?.name ?? 'object' : typeof value;
    throw Object.assign(new TypeError(`The handler must return a Response (or a Promise of one), got ${got}.`), { spwCode: 'BAD_RESPONSE' });
  }
  const headers: Array<[string, string]> = [...value.headers];
  checkResponseHead(value.status, headers);
  const body = responseBodyForHost(value);
  if (body.kind !== 'stream') {
    const payload = body.kind === 'none' ? null : body.kind === 'text' ? body.text : body.bytes;
    record.responded = true;
    ops.push(['respond', record.id, { status: value.status, headers, body: payload, stream: false }]);
    return;
  }
  record.responded = true;
  ops.push(['respond', record.id, { status: value.status, headers, body: null, stream: true }]);
  const reader = body.stream.getReader();
  record.pending++;
  try {
    for (;;) {
      await new Promise<void>((resolve) => (record.pull = resolve));
      if (record.cancelled) {
        await reader.cancel('client went away');
        return;
      }
      const { done, value: chunk } = await reader.read();
      if (done) break;
      const bytes = typeof chunk === 'string' ? new (encoding().TextEncoder)().encode(chunk) : chunk instanceof Uint8Array ? chunk : new Uint8Array(chunk as ArrayBuffer);
      ops.push(['chunk', record.id, bytes]);
    }
    ops.push(['end', record.id]);
  } finally {
    record.pull = null;
    settlePending(record);
  }
}

async function startInvocation(id: string, mode: 'http' | 'call', payload: HttpRequestPayload | { input: unknown }): Promise<void> {
  const record: Invocation = { id, pending: 1, responded: false, waitUntil: 0, waitUntilTotal: 0, pull: null, cancelled: false };
  // Binds Request/Response below: undici's classes load on first use, which a plain function called with JSON never needs.
  if (mode === 'http' || kind !== 'plain') loadFetchApi();
  invocations.set(id, record);
  const ctx = makeContext(record);
  try {
    if (!target) throw new Error('No handler was loaded.');
    if (mode === 'http') {
      const p = payload as HttpRequestPayload;
      const request = new Request(p.url, { method: p.method, headers: p.headers, body: p.body });
      let result: unknown;
      if (kind === 'fetch') result = await target.call(targetThis, request, env, ctx);
      else if (kind === 'handler') result = await target.call(targetThis, request, ctx);
      else {
        const input = p.body === null || p.body === '' ? undefined : JSON.parse(typeof p.body === 'string' ? p.body : new (encoding().TextDecoder)().decode(p.body));
        result = Response.json(await target.apply(targetThis, mapArguments(input)));
      }
      await sendResponse(record, result);
    } else {
      const input = (payload as { input: unknown }).input;
      let output: unknown;
      if (kind === 'plain') output = await target.apply(targetThis, mapArguments(input));
      else {
        const request = new Request('http://spillway.internal/', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(input ?? null),
        });
        const response = await (kind === 'fetch' ? target.call(targetThis, request, env, ctx) : target.call(targetThis, request, ctx));
        if (!(response instanceof Response)) throw Object.assign(new TypeError('The handler must return a Response.'), { spwCode: 'BAD_RESPONSE' });
        const text = await response.text();
        try {
          output = JSON.parse(text);
        } catch {
          output = text;
        }
      }
      let encoded: string | undefined;
      try {
        encoded = JSON.stringify(output);
      } catch (err) {
        throw Object.assign(new TypeError(`The function's return value is not JSON-serialisable: ${describe(err).message}`), { spwCode: 'BAD_RESPONSE' });
      }
      record.responded = true;
      ops.push(['result', id, encoded]);
    }
  } catch (err) {
    const code = (err as { spwCode?: string } | null)?.spwCode === 'BAD_RESPONSE' ? 'BAD_RESPONSE' : 'FUNCTION_ERROR';
    record.responded = true;
    ops.push(['error', id, describe(err, code)]);
  } finally {
    settlePending(record);
  }
}

function fireTimer(id: number): void {
  const timer = timers.get(id);
  if (!timer) return;
  const record = invocations.get(timer.inv);
  const holds = record !== undefined && !timer.unref;
  if (timer.repeatMs === null) {
    forgetTimer(id);
  } else {
    if (holds) record.pending++;
    ops.push(['timer', timer.inv, id, timer.repeatMs]);
  }
  try {
    timer.fn.apply(globalThis, timer.args);
  } catch (err) {
    reportException(err);
  } finally {
    if (holds) settlePending(record);
  }
}

function cancel(id: string): void {
  const record = invocations.get(id);
  if (!record) return;
  record.cancelled = true;
  invocations.delete(id);
  for (const [timerId, timer] of timers) if (timer.inv === id) forgetTimer(timerId);
  dropCalls(id);
  logBytes.delete(id);
  record.pull?.();
}

/* ------------------------------------------------------------------ entry points */

/**
 * Runs a batch of host events. Each event's CPU is measured with the guest clock (milliseconds,
 * the best an isolate has); the host reconciles the batch's total against the isolate's own CPU
 * counter. The batch yields once between events so the promise chain each event woke runs
 * before the next event's clock starts. The operations come back with the result (`ops`).
 */
/** A batch started and its operations not yet taken (set again and again only if one was interrupted). */
let batchOpen = false;
/** The last batch did not run all its events (budget, refusal or interruption): the host puts them back. */
let lastIncomplete = false;

async function run(items: Item[], budgetMs: number, pipelined = false, opsInResult = true): Promise<BatchResult> {
  // The host may submit a batch while the previous one is still running (it queues behind it on
  // the isolate's thread). If the previous one left events unrun, the host puts those back at the
  // head of its queues only once it sees that result: running this batch now would run later
  // events before them. So such a batch runs nothing and is put back whole, after them.
  if (pipelined && (batchOpen || lastIncomplete)) {
    lastIncomplete = true;
    return Object.assign(Object.create(null) as BatchResult, { cpu: [], consumed: 0, ops: [], endMs: Date.now() });
  }
  batchOpen = true;
  const cpu = new Map<string, number>();
  const batchStart = Date.now();
  let consumed = 0;
  for (const item of items) {
    if (consumed > 0 && Date.now() - batchStart >= budgetMs) break;
    const owner = item[0] === 'timer' ? timers.get(item[1])?.inv ?? '' : item[0] === 'gc' ? '' : item[1];
    globalThis.__spw.currentIndex = consumed;
    state.current = owner;
    const t0 = Date.now();
    if (item[0] === 'start') void startInvocation(item[1], item[2], item[3]);
    else if (item[0] === 'timer') fireTimer(item[1]);
    else if (item[0] === 'pull') invocations.get(item[1])?.pull?.();
    else if (item[0] === 'reply') settleCall(item[2], item[3], item[4]);
    else if (item[0] === 'cancel') cancel(item[1]);
    else if (item[0] === 'gc') compactHeap();
    await null;
    await null;
    cpu.set(owner, (cpu.get(owner) ?? 0) + (Date.now() - t0));
    consumed++;
  }
  // Left set: promise chains the last event woke may still run before the batch's task ends
  // (and start timers or host calls for it); `drain` clears it.
  // Null prototype: the batch's promise resolves with this object, and a handler that defines
  // Object.prototype.then (WPT streams/piping/then-interception does) must not make it a thenable.
  const result = Object.assign(Object.create(null) as BatchResult, { cpu: [...cpu], consumed });
  // The operations travel with the result, in the same crossing. They are collected by a getter
  // because the result is copied out only after the isolate has drained its microtask queue (the
  // isolate's microtask policy is V8's default, "auto": microtasks run when the host's call into
  // the isolate returns, and isolated-vm copies the settled promise's value after that): the
  // getter runs at copy time, when every promise chain the batch woke has run, exactly when the
  // host used to call `drain` in a second crossing.
  lastIncomplete = consumed < items.length;
  // isolated-vm 6 refuses to copy accessors: there the host calls `take` right after (OPS_IN_RESULT in ../ivm.ts).
  if (!opsInResult) return Object.assign(result, { ops: [], endMs: 0 });
  Object.defineProperty(result, 'ops', { enumerable: true, get: takeOps });
  // When the batch really ended (after its microtasks): the host bounds how much of the isolate's
  // CPU counter the batch queued behind this one can already have used.
  Object.defineProperty(result, 'endMs', { enumerable: true, get: () => Date.now() });
  return result;
}

/**
 * Returns the operations the last batch produced: read through the batch result's `ops` getter
 * when it is copied to the host, and called by the host after an interrupted batch (CPU limit),
 * where `index` says which event was running.
 */
function drain(): { ops: typeof ops; index: number } {
  // Only after an interruption: the events after `index` go back to the host's queues.
  lastIncomplete = true;
  return { ops: takeOps(), index: globalThis.__spw.currentIndex };
}

/** The last batch's operations and when it ended, for a host that cannot take them with the result. */
function take(): { ops: Op[]; endMs: number } {
  return Object.assign(Object.create(null) as { ops: Op[]; endMs: number }, { ops: takeOps(), endMs: Date.now() });
}

function takeOps(): Op[] {
  batchOpen = false;
  state.current = null;
  resetOutbound();
  return guardOps(ops.splice(0));
}

/** Console output sent to the host per invocation; the host keeps `maxLogBytes` of it. */
const logBytes = new Map<string, number>();
let maxLogBytes = 64 * 1024;

/**
 * The last gate before operations cross to the host: console output stops at the host's cap (the
 * host sees one character more and marks the truncation), error texts are bounded, strings are
 * flat and binary data is cut to its view. Whatever produced an operation (console, reported
 * exceptions, the event loop), nothing larger than this crosses, so a small heap cannot make the
 * host copy gigabytes by repeating one string.
 */
function guardOps(out: Op[]): Op[] {
  const kept: Op[] = [];
  for (const op of out) {
    switch (op[0]) {
      case 'log': {
        const used = logBytes.get(op[1]) ?? 0;
        const room = maxLogBytes + 1 - used;
        if (room <= 0) continue;
        const text = boundedText(op[3], room);
        logBytes.set(op[1], used + text.length);
        kept.push(['log', op[1], boundedText(op[2], 16), text]);
        continue;
      }
      case 'error': {
        const e = op[2];
        kept.push(['error', op[1], { code: e.code === 'BAD_RESPONSE' ? 'BAD_RESPONSE' : 'FUNCTION_ERROR', name: boundedText(e.name, 256), message: boundedText(e.message, MAX_ERROR_TEXT), stack: e.stack === undefined ? undefined : boundedText(e.stack, MAX_ERROR_TEXT) }]);
        continue;
      }
      case 'respond': {
        const body = op[2].body;
        kept.push(['respond', op[1], { ...op[2], headers: op[2].headers.map(([n, v]) => [flat(n), flat(v)] as [string, string]), body: typeof body === 'string' ? flat(body) : body instanceof Uint8Array ? ownBytes(body) : body }]);
        continue;
      }
      case 'chunk':
        kept.push(['chunk', op[1], ownBytes(op[2])]);
        continue;
      case 'result':
        kept.push(typeof op[2] === 'string' ? ['result', op[1], flat(op[2])] : op);
        continue;
      case 'done':
        logBytes.delete(op[1]);
        kept.push(op);
        continue;
      default:
        kept.push(op);
    }
  }
  logBytes.delete('');
  return kept;
}

/** A view's own bytes: the host copy of a view carries its whole buffer. */
function ownBytes(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}

/** Binds the user's bundle. Returns the handler kind, or throws a message the host reports as NO_HANDLER. */
function load(params: string[] | null, bindings: Record<string, unknown>, limits: { maxLogBytes?: number } = {}): HandlerKind {
  if (typeof limits.maxLogBytes === 'number') maxLogBytes = limits.maxLogBytes;
  env = buildEnv(bindings);
  plainParams = params;
  const mod = typeof __spw_user === 'object' && __spw_user ? __spw_user : ({} as UserModule);
  const def = mod.default;
  if (def && typeof def === 'object' && typeof (def as { fetch?: unknown }).fetch === 'function') {
    kind = 'fetch';
    target = (def as { fetch: (...a: unknown[]) => unknown }).fetch;
    targetThis = def;
  } else if (typeof def === 'function') {
    kind = 'handler';
    target = def as (...a: unknown[]) => unknown;
  } else if (typeof mod.__spw_plain === 'function') {
    kind = 'plain';
    target = mod.__spw_plain as (...a: unknown[]) => unknown;
  } else {
    const fns = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
    if (fns.length !== 1) throw new Error(`found ${fns.length} exported functions (${fns.join(', ') || 'none'}); export a default handler or exactly one function`);
    kind = 'plain';
    target = mod[fns[0]] as (...a: unknown[]) => unknown;
  }
  return kind;
}

declare global {
  // eslint-disable-next-line no-var
  var __spw: { run: typeof run; drain: typeof drain; take: typeof take; load: typeof load; currentIndex: number; hostCall: typeof hostCall; hostSync: typeof hostSync };
}

// `hostCall`/`hostSync` are reachable from user code here, on purpose: they offer nothing beyond the
// capabilities the Web APIs and bindings expose (the host decides which methods exist).
globalThis.__spw = { run, drain, take, load, currentIndex: 0, hostCall, hostSync };
