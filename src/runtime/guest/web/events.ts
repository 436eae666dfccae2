/**
 * Event and EventTarget (DOM §2), ErrorEvent, and "report an exception" (HTML §8.1.4.6) for the
 * global scope. There is no DOM tree in an isolate, so an event's path is its target alone.
 *
 * Why not event-target-shim: its events can never be trusted (`isTrusted` is an own,
 * non-configurable `false` on every event, so an AbortSignal's `abort` event could not be a
 * platform event) and it wraps non-Error exceptions thrown by listeners in new Errors before
 * reporting them. The DOM algorithms here are short and followed step by step.
 */
import { DOMException } from './dom-exception.js';

const NONE = 0;
const CAPTURING_PHASE = 1;
const AT_TARGET = 2;
const BUBBLING_PHASE = 3;

interface EventState {
  type: string;
  bubbles: boolean;
  cancelable: boolean;
  composed: boolean;
  target: EventTarget | null;
  currentTarget: EventTarget | null;
  phase: number;
  stopPropagation: boolean;
  stopImmediatePropagation: boolean;
  canceled: boolean;
  inPassiveListener: boolean;
  dispatching: boolean;
  initialized: boolean;
  trusted: boolean;
  timeStamp: number;
}

const eventStates = new WeakMap<object, EventState>();
const timeOrigin = Date.now();

function stateOf(event: unknown, member: string): EventState {
  const s = typeof event === 'object' && event !== null ? eventStates.get(event) : undefined;
  if (!s) throw new TypeError(`'${member}' called on an object that is not an Event.`);
  return s;
}

function isTrustedGetter(this: unknown): boolean {
  return stateOf(this, 'isTrusted').trusted;
}

export interface EventInit {
  bubbles?: boolean;
  cancelable?: boolean;
  composed?: boolean;
}

function dictionary(init: unknown, what: string): Record<string, unknown> {
  if (init === undefined || init === null) return {};
  if (typeof init !== 'object' && typeof init !== 'function') throw new TypeError(`Failed to construct '${what}': the init argument is not an object.`);
  return init as Record<string, unknown>;
}

export class Event {
  static readonly NONE = NONE;
  static readonly CAPTURING_PHASE = CAPTURING_PHASE;
  static readonly AT_TARGET = AT_TARGET;
  static readonly BUBBLING_PHASE = BUBBLING_PHASE;

  constructor(type: string, eventInitDict?: EventInit) {
    if (arguments.length === 0) throw new TypeError("Failed to construct 'Event': 1 argument required, but only 0 present.");
    const init = dictionary(eventInitDict, 'Event');
    eventStates.set(this, {
      type: String(type),
      bubbles: Boolean(init.bubbles),
      cancelable: Boolean(init.cancelable),
      composed: Boolean(init.composed),
      target: null,
      currentTarget: null,
      phase: NONE,
      stopPropagation: false,
      stopImmediatePropagation: false,
      canceled: false,
      inPassiveListener: false,
      dispatching: false,
      initialized: true,
      trusted: false,
      timeStamp: performanceNow(),
    });
    // [LegacyUnforgeable]: an own accessor on every instance.
    Object.defineProperty(this, 'isTrusted', { get: isTrustedGetter, enumerable: true, configurable: false });
  }

  declare readonly isTrusted: boolean;

  get type(): string {
    return stateOf(this, 'type').type;
  }
  get target(): EventTarget | null {
    return stateOf(this, 'target').target;
  }
  get srcElement(): EventTarget | null {
    return stateOf(this, 'srcElement').target;
  }
  get currentTarget(): EventTarget | null {
    return stateOf(this, 'currentTarget').currentTarget;
  }
  composedPath(): EventTarget[] {
    const s = stateOf(this, 'composedPath');
    return s.currentTarget ? [s.currentTarget] : [];
  }
  get eventPhase(): number {
    return stateOf(this, 'eventPhase').phase;
  }
  stopPropagation(): void {
    stateOf(this, 'stopPropagation').stopPropagation = true;
  }
  get cancelBubble(): boolean {
    return stateOf(this, 'cancelBubble').stopPropagation;
  }
  set cancelBubble(value: boolean) {
    if (value) stateOf(this, 'cancelBubble').stopPropagation = true;
  }
  stopImmediatePropagation(): void {
    const s = stateOf(this, 'stopImmediatePropagation');
    s.stopPropagation = true;
    s.stopImmediatePropagation = true;
  }
  get bubbles(): boolean {
    return stateOf(this, 'bubbles').bubbles;
  }
  get cancelable(): boolean {
    return stateOf(this, 'cancelable').cancelable;
  }
  get returnValue(): boolean {
    return !stateOf(this, 'returnValue').canceled;
  }
  set returnValue(value: boolean) {
    const s = stateOf(this, 'returnValue');
    if (!value && s.cancelable && !s.inPassiveListener) s.canceled = true;
  }
  preventDefault(): void {
    const s = stateOf(this, 'preventDefault');
    if (s.cancelable && !s.inPassiveListener) s.canceled = true;
  }
  get defaultPrevented(): boolean {
    return stateOf(this, 'defaultPrevented').canceled;
  }
  get composed(): boolean {
    return stateOf(this, 'composed').composed;
  }
  get timeStamp(): number {
    return stateOf(this, 'timeStamp').timeStamp;
  }
  initEvent(type: string, bubbles = false, cancelable = false): void {
    if (arguments.length === 0) throw new TypeError("Failed to execute 'initEvent' on 'Event': 1 argument required, but only 0 present.");
    const s = stateOf(this, 'initEvent');
    if (s.dispatching) return;
    s.initialized = true;
    s.stopPropagation = false;
    s.stopImmediatePropagation = false;
    s.canceled = false;
    s.trusted = false;
    s.target = null;
    s.type = String(type);
    s.bubbles = Boolean(bubbles);
    s.cancelable = Boolean(cancelable);
  }
  get [Symbol.toStringTag](): string {
    return 'Event';
  }
}
for (const [name, value] of Object.entries({ NONE, CAPTURING_PHASE, AT_TARGET, BUBBLING_PHASE })) {
  Object.defineProperty(Event, name, { value, enumerable: true, writable: false, configurable: false });
  Object.defineProperty(Event.prototype, name, { value, enumerable: true, writable: false, configurable: false });
}

/* ------------------------------------------------------------------ EventTarget */


type Callback = ((event: Event) => unknown) | { handleEvent(event: Event): unknown };

interface Listener {
  type: string;
  callback: Callback;
  capture: boolean;
  passive: boolean;
  once: boolean;
  removed: boolean;
}

export interface AddEventListenerOptions {
  capture?: boolean;
  once?: boolean;
  passive?: boolean;
  signal?: unknown;
}

const listenerLists = new WeakMap<object, Listener[]>();

function listenersOf(target: unknown, member: string): Listener[] {
  const list = typeof target === 'object' && target !== null ? listenerLists.get(target) : undefined;
  if (!list) throw new TypeError(`'${member}' called on an object that is not an EventTarget.`);
  return list;
}

/** Hooks the abort module installs so `addEventListener({ signal })` works without an import cycle. */
export const signalHooks = {
  isSignal: (_value: unknown): boolean => false,
  aborted: (_signal: unknown): boolean => false,
  onAbort: (_signal: unknown, _algorithm: () => void): void => {},
};

function flatten(options: unknown): { capture: boolean; once: boolean; passive: boolean; signal: unknown } {
  if (typeof options === 'object' && options !== null) {
    const o = options as AddEventListenerOptions;
    const capture = Boolean(o.capture);
    const once = Boolean(o.once);
    const passive = Boolean(o.passive);
    const signal = o.signal;
    if (signal !== undefined && !signalHooks.isSignal(signal)) {
      throw new TypeError("Failed to execute 'addEventListener' on 'EventTarget': member signal is not of type AbortSignal.");
    }
    return { capture, once, passive, signal };
  }
  return { capture: Boolean(options), once: false, passive: false, signal: undefined };
}

function checkCallback(callback: unknown, member: string): Callback | null {
  if (callback === null || callback === undefined) return null;
  if (typeof callback !== 'function' && typeof callback !== 'object') {
    throw new TypeError(`Failed to execute '${member}' on 'EventTarget': parameter 2 is not of type 'EventListener'.`);
  }
  return callback as Callback;
}

export class EventTarget {
  constructor() {
    listenerLists.set(this, []);
  }

  addEventListener(type: string, callback: Callback | null, options?: AddEventListenerOptions | boolean): void {
    if (arguments.length < 2) throw new TypeError(`Failed to execute 'addEventListener' on 'EventTarget': 2 arguments required, but only ${arguments.length} present.`);
    const list = listenersOf(this, 'addEventListener');
    const cb = checkCallback(callback, 'addEventListener');
    const { capture, once, passive, signal } = flatten(options);
    if (signal !== undefined && signalHooks.aborted(signal)) return;
    if (cb === null) return;
    const t = String(type);
    if (list.some((l) => l.type === t && l.callback === cb && l.capture === capture)) return;
    const listener: Listener = { type: t, callback: cb, capture, passive, once, removed: false };
    list.push(listener);
    if (signal !== undefined) signalHooks.onAbort(signal, () => removeListener(list, listener));
  }

  removeEventListener(type: string, callback: Callback | null, options?: { capture?: boolean } | boolean): void {
    if (arguments.length < 2) throw new TypeError(`Failed to execute 'removeEventListener' on 'EventTarget': 2 arguments required, but only ${arguments.length} present.`);
    const list = listenersOf(this, 'removeEventListener');
    const cb = checkCallback(callback, 'removeEventListener');
    const capture = typeof options === 'object' && options !== null ? Boolean(options.capture) : Boolean(options);
    const t = String(type);
    const found = list.find((l) => l.type === t && l.callback === cb && l.capture === capture);
    if (found) removeListener(list, found);
  }

  dispatchEvent(event: Event): boolean {
    if (arguments.length === 0) throw new TypeError("Failed to execute 'dispatchEvent' on 'EventTarget': 1 argument required, but only 0 present.");
    listenersOf(this, 'dispatchEvent');
    const s = eventStates.get(event as object);
    if (!s) throw new TypeError("Failed to execute 'dispatchEvent' on 'EventTarget': parameter 1 is not of type 'Event'.");
    if (s.dispatching || !s.initialized) throw new DOMException('The event is already being dispatched or was not initialized.', 'InvalidStateError');
    s.trusted = false;
    return dispatch(this, event);
  }

  get [Symbol.toStringTag](): string {
    return 'EventTarget';
  }
}

function removeListener(list: Listener[], listener: Listener): void {
  listener.removed = true;
  const i = list.indexOf(listener);
  if (i >= 0) list.splice(i, 1);
}

/** DOM "dispatch" for a target with no parent: capture listeners, then the others, both AT_TARGET. */
function dispatch(target: EventTarget, event: Event): boolean {
  const s = eventStates.get(event)!;
  s.dispatching = true;
  s.target = target;
  s.currentTarget = target;
  s.phase = AT_TARGET;
  const list = listenerLists.get(target) ?? [];
  invoke(target, event, s, list, true);
  invoke(target, event, s, list, false);
  s.phase = NONE;
  s.currentTarget = null;
  s.dispatching = false;
  s.stopPropagation = false;
  s.stopImmediatePropagation = false;
  return !s.canceled;
}

function invoke(target: EventTarget, event: Event, s: EventState, list: Listener[], capture: boolean): void {
  if (s.stopPropagation) return;
  for (const listener of list.slice()) {
    if (listener.removed || listener.type !== s.type || listener.capture !== capture) continue;
    if (listener.once) removeListener(list, listener);
    if (listener.passive) s.inPassiveListener = true;
    try {
      const cb = listener.callback;
      if (typeof cb === 'function') cb.call(target, event);
      else {
        const handleEvent = cb.handleEvent;
        if (typeof handleEvent !== 'function') throw new TypeError("The listener's handleEvent is not a function.");
        handleEvent.call(cb, event);
      }
    } catch (err) {
      reportException(err);
    }
    s.inPassiveListener = false;
    if (s.stopImmediatePropagation) return;
  }
}

/** Fires a platform event (isTrusted true) at `target`; returns false if a listener cancelled it. */
export function fireEvent(target: EventTarget, event: Event): boolean {
  const s = eventStates.get(event)!;
  s.trusted = true;
  return dispatch(target, event);
}

/**
 * Defines an event handler IDL attribute (`onabort`, ...) on a prototype: setting a function
 * registers one listener, in the position of the first set, that calls the current handler.
 */
export function defineEventHandler(proto: object, type: string): void {
  const handlers = new WeakMap<object, { value: unknown; listener: ((e: Event) => unknown) | null }>();
  Object.defineProperty(proto, `on${type}`, {
    get(this: EventTarget) {
      listenersOf(this, `on${type}`);
      return handlers.get(this)?.value ?? null;
    },
    set(this: EventTarget, value: unknown) {
      const list = listenersOf(this, `on${type}`);
      let h = handlers.get(this);
      const v = typeof value === 'function' || (typeof value === 'object' && value !== null) ? value : null;
      if (!h) handlers.set(this, (h = { value: null, listener: null }));
      h.value = v;
      if (v === null) {
        if (h.listener) {
          const found = list.find((l) => l.callback === h!.listener);
          if (found) removeListener(list, found);
          h.listener = null;
        }
        return;
      }
      if (!h.listener) {
        const state = h;
        h.listener = function (this: unknown, event: Event) {
          const fn = state.value;
          if (typeof fn !== 'function') return undefined;
          const result = (fn as (e: Event) => unknown).call(this, event);
          if (result === false) event.preventDefault();
          return result;
        };
        list.push({ type, callback: h.listener, capture: false, passive: false, once: false, removed: false });
      }
    },
    enumerable: true,
    configurable: true,
  });
}

/* ------------------------------------------------------------------ ErrorEvent and the global scope */

export interface ErrorEventInit extends EventInit {
  message?: string;
  filename?: string;
  lineno?: number;
  colno?: number;
  error?: unknown;
}

const errorFields = new WeakMap<object, { message: string; filename: string; lineno: number; colno: number; error: unknown }>();

function errorFieldsOf(self: unknown, member: string) {
  const f = typeof self === 'object' && self !== null ? errorFields.get(self) : undefined;
  if (!f) throw new TypeError(`'${member}' called on an object that is not an ErrorEvent.`);
  return f;
}

export class ErrorEvent extends Event {
  constructor(type: string, eventInitDict?: ErrorEventInit) {
    if (arguments.length === 0) throw new TypeError("Failed to construct 'ErrorEvent': 1 argument required, but only 0 present.");
    super(type, eventInitDict);
    const init = dictionary(eventInitDict, 'ErrorEvent');
    errorFields.set(this, {
      message: init.message === undefined ? '' : String(init.message),
      filename: init.filename === undefined ? '' : String(init.filename),
      lineno: Number(init.lineno ?? 0) >>> 0,
      colno: Number(init.colno ?? 0) >>> 0,
      error: init.error,
    });
  }
  get message(): string {
    return errorFieldsOf(this, 'message').message;
  }
  get filename(): string {
    return errorFieldsOf(this, 'filename').filename;
  }
  get lineno(): number {
    return errorFieldsOf(this, 'lineno').lineno;
  }
  get colno(): number {
    return errorFieldsOf(this, 'colno').colno;
  }
  get error(): unknown {
    return errorFieldsOf(this, 'error').error;
  }
  get [Symbol.toStringTag](): string {
    return 'ErrorEvent';
  }
}

/** The global scope's event target (`addEventListener('error', ...)` on `self`). */
let globalTarget: EventTarget | null = null;
/** Where an exception nobody handled goes: the invocation's log (set by the event loop). */
export const reportHooks = { log: (_message: string): void => {} };

/**
 * HTML "report an exception": fires a cancelable `error` ErrorEvent at the global scope; if no
 * listener cancelled it, the exception is logged for the running invocation. Used for
 * exceptions thrown by timer callbacks, queueMicrotask callbacks and event listeners, which
 * have nobody to throw to.
 */
export function reportException(err: unknown): void {
  const message = err instanceof Error ? err.message : safeString(err);
  let handled = false;
  if (globalTarget && !reporting) {
    reporting = true;
    try {
      const event = new ErrorEvent('error', { cancelable: true, message, error: err });
      handled = !fireEvent(globalTarget, event);
    } finally {
      reporting = false;
    }
  }
  if (!handled) reportHooks.log(`Uncaught ${err instanceof Error ? err.stack ?? `${err.name}: ${err.message}` : safeString(err)}`);
}
let reporting = false;

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/**
 * Gives the global object EventTarget's methods (as a worker's global scope has) and `onerror`.
 * Listeners see `event.currentTarget` as an internal target, not `globalThis`, because the
 * global object cannot be an EventTarget instance.
 */
export function installGlobalEventTarget(g: typeof globalThis): { addEventListener: unknown; removeEventListener: unknown; dispatchEvent: unknown } {
  const target = new EventTarget();
  globalTarget = target;
  return {
    addEventListener: function addEventListener(...args: Parameters<EventTarget['addEventListener']>) {
      return EventTarget.prototype.addEventListener.apply(target, args);
    },
    removeEventListener: function removeEventListener(...args: Parameters<EventTarget['removeEventListener']>) {
      return EventTarget.prototype.removeEventListener.apply(target, args);
    },
    dispatchEvent: function dispatchEvent(...args: Parameters<EventTarget['dispatchEvent']>) {
      return EventTarget.prototype.dispatchEvent.apply(target, args);
    },
  };
  void g;
}

/** `reportError(e)` (HTML): reports `e` as if it were thrown and not caught. */
export function reportError(error: unknown): void {
  if (arguments.length === 0) throw new TypeError("Failed to execute 'reportError': 1 argument required, but only 0 present.");
  reportException(error);
}

let lastNow = 0;
/**
 * performance.now(): ms since the isolate started, never going backwards. An isolate has only
 * the millisecond wall clock, which is also the resolution Workers-style runtimes expose.
 */
export function performanceNow(): number {
  const now = Date.now() - timeOrigin;
  if (now > lastNow) lastNow = now;
  return lastNow;
}
export { timeOrigin };
