/**
 * The Fetch API inside the isolate: Headers, Request, Response, FormData (with the body mixin,
 * multipart and urlencoded parsing and serialisation), Blob and File, and `fetch()`.
 *
 * The object model is undici's own (`undici/lib/web/fetch/*.js`, the classes Node ships as its
 * global fetch), bundled into the guest with a few Node built-ins shimmed (./node-shims/, see
 * src/runtime/guest-build.ts); Blob and File are ./blob.ts. `fetch()` itself is Spillway's: it
 * builds an undici Request, hands it to the host (src/runtime/capabilities/fetch.ts) through
 * `hostCall`, and wraps the host's answer in an undici Response whose body pulls one chunk per
 * read from the host. Why undici, and the WPT figures: docs/web-platform.md.
 *
 * This file runs inside the isolate: no Node types, no host objects.
 */
import type { FetchHead } from '../protocol.js';
import { ReadableStream } from 'web-streams-polyfill';
import { hostCall, HostError, state } from '../host.js';
import { Blob, File } from './blob.js';
import { createFileReaderClasses } from './file-reader.js';
import { defineGlobals, defineLazyGlobals } from './lazy.js';
import { registerPlatformType } from './platform-objects.js';

declare const require: (id: string) => unknown;

/* ------------------------------------------------------------------ undici's classes */


/** The header list behind a Headers object (undici's HeadersList). */
interface HeadersList {
  append(name: string, value: string, isLowerCase: boolean): void;
}

/** undici's internal state of a body: the stream, and what it was made from. */
interface BodyState {
  stream: ReadableStream<Uint8Array>;
  source: unknown;
  length: number | null;
}

interface InnerRequest {
  method: string;
  body: BodyState | null;
  redirect: 'follow' | 'error' | 'manual';
}

interface InnerResponse {
  body: BodyState | null;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
interface Undici {
  headers: { Headers: any; HeadersList: new () => HeadersList };
  request: { Request: any; getRequestState(r: Request): InnerRequest };
  response: {
    Response: any;
    getResponseState(r: Response): InnerResponse;
    makeResponse(init: Record<string, unknown>): unknown;
    fromInnerResponse(inner: unknown, guard: string): Response;
  };
  formData: { FormData: any };
  body: { extractBody(object: unknown): [BodyState, string | null] };
  dataUrl: { dataURLProcessor(url: unknown): 'failure' | { mimeType: unknown; body: Uint8Array }; serializeAMimeType(mimeType: unknown): string };
}
/* eslint-enable @typescript-eslint/no-explicit-any */

let undici: Undici | undefined;

/**
 * Evaluates undici's modules, on first use (the first Request, Response, Headers, FormData or
 * fetch), so an isolate's start-up does not pay for them. They capture the web globals they check
 * against (URL, AbortSignal, ReadableStream) when they load, after the core globals exist. Binds
 * the exported classes below; the event loop calls this before its first use of them.
 */
export function loadFetchApi(): Undici {
  if (undici) return undici;
  // Order matters: response.js defines the BodyInit converter that request.js's RequestInit uses.
  const headers = require('undici/lib/web/fetch/headers.js') as Undici['headers'];
  const response = require('undici/lib/web/fetch/response.js') as Undici['response'];
  const request = require('undici/lib/web/fetch/request.js') as Undici['request'];
  const formData = require('undici/lib/web/fetch/formdata.js') as Undici['formData'];
  const body = require('undici/lib/web/fetch/body.js') as Undici['body'];
  const dataUrl = require('undici/lib/web/fetch/data-url.js') as Undici['dataUrl'];
  undici = { headers, request, response, formData, body, dataUrl };
  Headers = headers.Headers;
  Request = request.Request;
  Response = response.Response;
  FormData = formData.FormData;
  nameInterfaces({ Headers, Request, Response, FormData });
  // Once loaded (the event loop loads them for every Request it makes), the globals become the
  // plain data properties they would be had they been installed eagerly.
  if (installedOn) {
    const values: Record<string, unknown> = { Headers, Request, Response, FormData };
    for (const name of Object.keys(values)) if (Object.getOwnPropertyDescriptor(installedOn, name)?.get) defineGlobals(installedOn, { [name]: values[name] });
  }
  for (const iterable of [Headers, FormData]) {
    for (const key of ['entries', 'keys', 'values', 'forEach']) nameInterfaces({ [key]: (iterable.prototype as unknown as Record<string, unknown>)[key] });
  }
  return undici;
}

export type HeadersInit = Headers | Iterable<[string, string]> | Record<string, string>;
export type BodyInit = string | ArrayBuffer | ArrayBufferView | Blob | FormData | URLSearchParamsLike | ReadableStream<Uint8Array> | null;
interface URLSearchParamsLike {
  toString(): string;
}

export interface Headers extends Iterable<[string, string]> {
  append(name: string, value: string): void;
  delete(name: string): void;
  get(name: string): string | null;
  getSetCookie(): string[];
  has(name: string): boolean;
  set(name: string, value: string): void;
  forEach(cb: (value: string, key: string, parent: Headers) => void): void;
  entries(): IterableIterator<[string, string]>;
  keys(): IterableIterator<string>;
  values(): IterableIterator<string>;
}

interface Body {
  readonly body: ReadableStream<Uint8Array> | null;
  readonly bodyUsed: boolean;
  arrayBuffer(): Promise<ArrayBuffer>;
  bytes(): Promise<Uint8Array>;
  blob(): Promise<Blob>;
  formData(): Promise<FormData>;
  json(): Promise<unknown>;
  text(): Promise<string>;
}

export interface RequestInit {
  method?: string;
  headers?: HeadersInit;
  body?: BodyInit;
  redirect?: 'follow' | 'error' | 'manual';
  signal?: AbortSignalLike | null;
  duplex?: 'half';
  [key: string]: unknown;
}

export interface Request extends Body {
  readonly url: string;
  readonly method: string;
  readonly headers: Headers;
  readonly redirect: 'follow' | 'error' | 'manual';
  readonly signal: AbortSignalLike;
  clone(): Request;
}

export interface ResponseInit {
  status?: number;
  statusText?: string;
  headers?: HeadersInit;
}

export interface Response extends Body {
  readonly status: number;
  readonly statusText: string;
  readonly ok: boolean;
  readonly headers: Headers;
  readonly url: string;
  readonly redirected: boolean;
  readonly type: string;
  clone(): Response;
}

export interface FormData extends Iterable<[string, string | File]> {
  append(name: string, value: string | Blob, filename?: string): void;
  get(name: string): string | File | null;
}

interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

// Bound by loadFetchApi (live bindings: importers see the classes once loaded).
export let Headers: { new (init?: HeadersInit): Headers; prototype: Headers };
export let Request: { new (input: string | Request | { href: string }, init?: RequestInit): Request; prototype: Request };
export let Response: {
  new (body?: BodyInit, init?: ResponseInit): Response;
  prototype: Response;
  json(data: unknown, init?: ResponseInit): Response;
  error(): Response;
  redirect(url: string, status?: number): Response;
};
export let FormData: { new (): FormData; prototype: FormData };
export { Blob, File, ReadableStream };

// Headers, Request, Response and FormData are not Serializable: structuredClone refuses them.
registerPlatformType({
  is: (value) => undici !== undefined && (value instanceof Headers || value instanceof Request || value instanceof Response || value instanceof FormData),
});

/* ------------------------------------------------------------------ relative URLs */

// undici resolves relative URLs against the settings object's base URL, which it reads from this
// global symbol. Spillway has no document, so there is a base URL only when the global has a
// `location` (the WPT runner sets one); otherwise `new Request('x')` throws a TypeError, as on Workers.
const GLOBAL_ORIGIN = Symbol.for('undici.globalOrigin.1');

function installBaseUrl(g: typeof globalThis): void {
  Object.defineProperty(g, GLOBAL_ORIGIN, {
    configurable: false,
    enumerable: false,
    get() {
      const href = (g as { location?: { href?: unknown } }).location?.href;
      if (typeof href !== 'string') return undefined;
      try {
        return new (g as unknown as { URL: new (u: string) => unknown }).URL(href);
      } catch {
        return undefined;
      }
    },
  });
}

/* ------------------------------------------------------------------ outbound fetch */

/** Statuses whose responses have no body (Fetch's "null body status"). */
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

/** A host error as the matching guest error class, so `instanceof TypeError` holds. */
function guestError(err: unknown): unknown {
  if (!(err instanceof HostError)) return err;
  const Ctor = err.name === 'TypeError' ? TypeError : err.name === 'RangeError' ? RangeError : null;
  if (Ctor) return new Ctor(err.message);
  if (err.name === 'AbortError' || err.name === 'TimeoutError') return domException(err.message, err.name);
  return err;
}

function domException(message: string, name: string): unknown {
  const D = (globalThis as { DOMException?: new (m: string, n: string) => unknown }).DOMException;
  if (typeof D === 'function') return new D(message, name);
  return Object.assign(new Error(message), { name });
}

/**
 * The request body as it crosses to the host: bytes or text when undici already holds them
 * (string, BufferSource, URLSearchParams, FormData serialised by undici), else a stream the guest
 * pumps chunk by chunk.
 */
function bodyForHost(body: BodyState | null): { kind: 'none' } | { kind: 'bytes'; value: Uint8Array | string } | { kind: 'stream'; stream: ReadableStream<Uint8Array> } {
  if (!body) return { kind: 'none' };
  const source = body.source;
  // Larger bodies go as a stream, in chunks the host accepts, rather than in one host call.
  if (typeof source === 'string' && source.length <= UPLOAD_CHUNK_BYTES) return { kind: 'bytes', value: source };
  if (source instanceof Uint8Array && source.byteLength <= UPLOAD_CHUNK_BYTES) return { kind: 'bytes', value: source };
  return { kind: 'stream', stream: body.stream };
}

/** Largest request-body piece sent to the host in one call (the host's `fetch.write` limit). */
const UPLOAD_CHUNK_BYTES = 1024 * 1024;

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  throw new TypeError('fetch: a request body stream must yield Uint8Array chunks.');
}

/**
 * `fetch(input, init)`: the request is performed by the host (undici), which enforces the
 * outbound policy (no private addresses unless allowed, concurrency cap, timeout). The response
 * arrives when its head does; its body is read from the host one chunk per `read()`.
 */
export async function fetch(input: string | Request | { href: string }, init?: RequestInit): Promise<Response> {
  // Every host call of this fetch belongs to the invocation that started it, however deep in a
  // promise chain its body is read later.
  const owner = state.current;
  const u = loadFetchApi();
  const request = new Request(input, init);
  const inner = u.request.getRequestState(request);
  const signal = request.signal;
  if (signal.aborted) throw signal.reason;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(request.url)?.[1]?.toLowerCase();
  if (scheme === 'data') return fetchDataUrl(request.url);
  if (scheme !== 'http' && scheme !== 'https') {
    throw new TypeError(`fetch: only http:, https: and data: URLs can be fetched, got ${JSON.stringify(request.url)}.`);
  }
  if (owner === null) {
    throw new TypeError('fetch: I/O is only possible while a request is being handled (not at module load, and not after the invocation ended).');
  }
  const call = <T>(method: string, args: unknown) => hostCall<T>(method, args, owner);
  const body = bodyForHost(inner.body);
  const headers: Array<[string, string]> = [...request.headers];

  let id: number | null = null;
  let finished = false;
  const onAbort = () => {
    if (id !== null && !finished) void call('fetch.cancel', { id }).catch(() => {});
  };
  signal.addEventListener('abort', onAbort, { once: true });
  const aborted = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
  aborted.catch(() => {});

  let head: FetchHead;
  try {
    const started = await Promise.race([
      call<{ id: number; head: FetchHead | null }>('fetch.start', {
        url: request.url,
        method: request.method,
        headers,
        body: body.kind === 'bytes' ? body.value : null,
        streamBody: body.kind === 'stream',
        redirect: request.redirect,
      }),
      aborted,
    ]);
    id = started.id;
    if (signal.aborted) onAbort();
    if (body.kind === 'stream') {
      const uploading = pumpRequestBody(body.stream, (chunk) => call('fetch.write', { id, chunk }), () => call('fetch.write', { id, end: true }));
      uploading.catch(() => {});
      head = await Promise.race([call<FetchHead>('fetch.head', { id }), aborted, uploading.then(() => new Promise<never>(() => {}))]);
    } else {
      head = started.head!;
    }
  } catch (err) {
    // A failed upload (the body stream errored) or head: release the host side at once.
    if (id !== null && !finished) void call('fetch.cancel', { id }).catch(() => {});
    finished = true;
    if (signal.aborted) throw signal.reason;
    throw guestError(err);
  }

  const fetchId = id;
  let responseStream: ReadableStream<Uint8Array> | null = null;
  if (!NULL_BODY_STATUS.has(head.status) && request.method !== 'HEAD') {
    responseStream = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          let chunk: Uint8Array | null;
          try {
            chunk = await Promise.race([call<Uint8Array | null>('fetch.read', { id: fetchId }), aborted]);
          } catch (err) {
            finished = true;
            controller.error(signal.aborted ? signal.reason : guestError(err));
            return;
          }
          if (chunk === null) {
            finished = true;
            signal.removeEventListener('abort', onAbort);
            controller.close();
          } else controller.enqueue(chunk);
        },
        cancel(reason) {
          if (finished) return;
          finished = true;
          return call('fetch.cancel', { id: fetchId, reason: String(reason ?? '') }).then(
            () => undefined,
            () => undefined,
          );
        },
      },
      { highWaterMark: 0 },
    );
  } else {
    finished = true;
    void call('fetch.cancel', { id: fetchId }).catch(() => {});
  }

  const headersList = new u.headers.HeadersList();
  for (const [name, value] of head.headers) headersList.append(name, value, false);
  const urlList = head.redirected ? [new URL(request.url), new URL(head.url)] : [new URL(head.url)];
  const innerResponse = u.response.makeResponse({
    status: head.status,
    statusText: head.statusText,
    headersList,
    urlList,
    body: responseStream ? { stream: responseStream, source: null, length: null } : null,
  });
  return u.response.fromInnerResponse(innerResponse, 'immutable');
}

declare const URL: new (href: string) => unknown;

/** Fetch's scheme fetch for `data:` URLs, answered inside the isolate (no host involved). */
function fetchDataUrl(href: string): Response {
  const undici = loadFetchApi();
  const url = new URL(href);
  const parsed = undici.dataUrl.dataURLProcessor(url);
  if (parsed === 'failure') throw new TypeError(`fetch: ${JSON.stringify(href.slice(0, 100))} is not a valid data: URL.`);
  const headersList = new undici.headers.HeadersList();
  headersList.append('content-type', undici.dataUrl.serializeAMimeType(parsed.mimeType), true);
  const inner = undici.response.makeResponse({
    statusText: 'OK',
    headersList,
    urlList: [url],
    body: undici.body.extractBody(parsed.body)[0],
  });
  return undici.response.fromInnerResponse(inner, 'immutable');
}

/** Sends a request body stream to the host one chunk at a time; each write waits for the host to take it. */
async function pumpRequestBody(stream: ReadableStream<Uint8Array>, write: (chunk: Uint8Array) => Promise<unknown>, end: () => Promise<unknown>): Promise<void> {
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const bytes = toBytes(value);
    for (let offset = 0; offset < bytes.byteLength; offset += UPLOAD_CHUNK_BYTES) await write(bytes.slice(offset, offset + UPLOAD_CHUNK_BYTES));
  }
  await end();
}

/* ------------------------------------------------------------------ install */

/**
 * Gives interface objects their WebIDL names. The guest is minified, which renames classes and
 * functions (`Request.name` would be "A"); esbuild's keepNames would fix that for every function
 * of the bundle at a measured 1 ms per isolate start, so only the interfaces handlers see get it.
 */
export function nameInterfaces(values: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(values)) {
    if (typeof value === 'function' && value.name !== name) Object.defineProperty(value, 'name', { value: name, configurable: true });
  }
}

/** Installs the Fetch API (Headers, Request, Response, FormData, Blob, File, fetch) as globals. */
let installedOn: typeof globalThis | null = null;

export function installFetchGlobals(g: typeof globalThis): void {
  installedOn = g;
  installBaseUrl(g);
  nameInterfaces({ Blob, File, fetch });
  defineGlobals(g, { Blob, File, fetch });
  // undici's classes load on first use.
  defineLazyGlobals(g, ['Headers', 'Request', 'Response', 'FormData'], () => {
    loadFetchApi();
    return { Headers, Request, Response, FormData };
  });
  // Three small classes (FileReader extends the core EventTarget, installed before this runs).
  const readers = { ...createFileReaderClasses(g) };
  nameInterfaces(readers);
  defineGlobals(g, readers);
}

/**
 * What the event loop needs to send a Response back to the host: its body as text or bytes when
 * it was made from a string or bytes and nobody read it, or else as a stream to pull chunk by chunk.
 */
export function responseBodyForHost(response: Response): { kind: 'none' } | { kind: 'text'; text: string } | { kind: 'bytes'; bytes: Uint8Array } | { kind: 'stream'; stream: ReadableStream<Uint8Array> } {
  const body = loadFetchApi().response.getResponseState(response).body;
  if (!body) return { kind: 'none' };
  if (response.bodyUsed || body.stream.locked) {
    throw Object.assign(new TypeError('The returned Response\'s body was already read or locked; return a fresh Response.'), { spwCode: 'BAD_RESPONSE' });
  }
  if (typeof body.source === 'string') return { kind: 'text', text: body.source };
  if (body.source instanceof Uint8Array) return { kind: 'bytes', bytes: body.source };
  return { kind: 'stream', stream: body.stream };
}
