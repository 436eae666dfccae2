/**
 * Web platform globals other than the Fetch API object model (runs inside the isolate):
 * DOMException, events, abort, streams, encoding, URL, base64, structuredClone, crypto,
 * performance, queueMicrotask/reportError and `self`. Which implementation each one uses, and
 * why, is recorded in docs/web-platform.md.
 *
 * What every request needs (DOMException, events, abort, streams) and the small interfaces
 * whose global descriptors idlharness checks (crypto) are installed eagerly; URL (whatwg-url),
 * the Encoding standard (its single-byte and CJK tables) and structuredClone are installed
 * lazily (./lazy.ts), so an isolate pays for them on first use.
 */
import { DOMException, QuotaExceededError } from './dom-exception.js';
import { AbortController, AbortSignal, abortTimerHooks } from './abort.js';
import { atob, btoa } from './base64.js';
import { Blob, blobBytes, File } from './blob.js';
import { Crypto, crypto, CryptoKey, SubtleCrypto } from './crypto.js';
import { ErrorEvent, Event, EventTarget, installGlobalEventTarget, performanceNow, reportError, reportException, reportHooks, timeOrigin } from './events.js';
import { defineGlobal, defineGlobals, defineLazyGlobals } from './lazy.js';
import { registerPlatformType } from './platform-objects.js';
import * as streams from './streams.js';

/** What the event loop (../index.ts) provides to the Web APIs. */
export interface CoreHooks {
  /** Starts a timer that does not keep its invocation open (AbortSignal.timeout). */
  setUnrefTimeout(fn: () => void, ms: number): void;
  /** Logs an exception nobody handled, for the running invocation. */
  logUncaught(message: string): void;
}

/** esbuild bundles what this names at build time (behind a lazy init); there is no loader at run time. */
declare const require: (id: string) => unknown;

let performanceConstructing = false;

/** The Performance interface (High Resolution Time): `now()`, `timeOrigin`, `toJSON()`. */
export class Performance extends EventTarget {
  constructor() {
    if (!performanceConstructing) throw new TypeError('Illegal constructor');
    super();
  }
  now(): number {
    return performanceNow();
  }
  get timeOrigin(): number {
    return timeOrigin;
  }
  toJSON(): { timeOrigin: number } {
    return { timeOrigin };
  }
  get [Symbol.toStringTag](): string {
    return 'Performance';
  }
}

function queueMicrotask(callback: () => void): void {
  if (arguments.length === 0) throw new TypeError("Failed to execute 'queueMicrotask': 1 argument required, but only 0 present.");
  if (typeof callback !== 'function') throw new TypeError("Failed to execute 'queueMicrotask': parameter 1 is not of type 'Function'.");
  void Promise.resolve().then(() => {
    try {
      callback();
    } catch (err) {
      reportException(err);
    }
  });
}

const fileName = Object.getOwnPropertyDescriptor(File.prototype, 'name')!.get!;
const fileLastModified = Object.getOwnPropertyDescriptor(File.prototype, 'lastModified')!.get!;

/** Blob and File are serializable (HTML §2.7): a clone has the same bytes, type, name and date. */
function registerSerializableFiles(): void {
  const isFile = (v: object) => {
    try {
      fileName.call(v);
      return true;
    } catch {
      return false;
    }
  };
  const isBlob = (v: object) => {
    try {
      blobBytes(v as Blob);
      return true;
    } catch {
      return false;
    }
  };
  // File first: a File (or a subclass of it) is received as a File, the closest serializable class.
  registerPlatformType({
    is: isFile,
    clone: (v) => new File([blobBytes(v as Blob)], fileName.call(v) as string, { type: (v as Blob).type, lastModified: fileLastModified.call(v) as number }),
  });
  registerPlatformType({ is: isBlob, clone: (v) => new Blob([blobBytes(v as Blob)], { type: (v as Blob).type }) });
}

/** Instances of these interfaces are platform objects: structuredClone refuses them. */
function registerNonSerializable(ctors: Array<abstract new (...args: never[]) => unknown>): void {
  for (const ctor of ctors) {
    const proto = ctor.prototype as object;
    registerPlatformType({ is: (v) => Object.prototype.isPrototypeOf.call(proto, v) });
  }
}

export function installCoreGlobals(g: typeof globalThis, hooks: CoreHooks): void {
  abortTimerHooks.setTimeout = hooks.setUnrefTimeout;
  reportHooks.log = hooks.logUncaught;

  performanceConstructing = true;
  const performance = new Performance();
  performanceConstructing = false;

  defineGlobals(g, {
    DOMException,
    QuotaExceededError,
    Event,
    EventTarget,
    ErrorEvent,
    AbortController,
    AbortSignal,
    atob,
    btoa,
    queueMicrotask,
    reportError,
    Crypto,
    CryptoKey,
    SubtleCrypto,
    crypto,
    Performance,
    performance,
    ...installGlobalEventTarget(g),
    ...streams,
  });
  defineGlobal(g, 'self', g);
  // An isolate is not a cross-origin-isolated agent cluster (structuredClone refuses SharedArrayBuffer).
  Object.defineProperty(g, 'crossOriginIsolated', { get: () => false, enumerable: true, configurable: true });

  // Lazily evaluated: see ./lazy.ts. The modules are bundled by esbuild; `require` runs their init.
  defineLazyGlobals(g, ['URL', 'URLSearchParams'], () => {
    const { URL, URLSearchParams } = require('./url.js') as typeof import('./url.js');
    if (URL && URLSearchParams) registerNonSerializable([URL, URLSearchParams]);
    return { URL, URLSearchParams };
  });
  defineLazyGlobals(g, ['structuredClone'], () => ({ structuredClone: (require('./structured-clone.js') as typeof import('./structured-clone.js')).structuredClone }));
  defineLazyGlobals(g, ['TextEncoder', 'TextDecoder', 'TextEncoderStream', 'TextDecoderStream'], () => {
    const m = require('./encoding.js') as typeof import('./encoding.js');
    if (m.TextEncoder) registerNonSerializable([m.TextEncoder, m.TextDecoder, m.TextEncoderStream, m.TextDecoderStream]);
    return { TextEncoder: m.TextEncoder, TextDecoder: m.TextDecoder, TextEncoderStream: m.TextEncoderStream, TextDecoderStream: m.TextDecoderStream };
  });

  // web-streams-polyfill's async iterator prototype is a plain object; the spec makes it inherit
  // %AsyncIteratorPrototype% (so `Symbol.asyncIterator` and future helpers come from there).
  const asyncIteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf(async function* () {}).prototype) as object;
  const streamIteratorPrototype = Object.getPrototypeOf(new streams.ReadableStream().values()) as object;
  if (Object.getPrototypeOf(streamIteratorPrototype) === Object.prototype) Object.setPrototypeOf(streamIteratorPrototype, asyncIteratorPrototype);

  registerSerializableFiles();
  registerNonSerializable([
    Event,
    EventTarget,
    AbortController,
    Crypto,
    SubtleCrypto,
    CryptoKey,
    streams.ReadableStream,
    streams.WritableStream,
    streams.TransformStream,
    streams.ReadableStreamDefaultReader,
    streams.ReadableStreamBYOBReader,
    streams.WritableStreamDefaultWriter,
    streams.ByteLengthQueuingStrategy,
    streams.CountQueuingStrategy,
  ]);
}

export { registerPlatformType };
