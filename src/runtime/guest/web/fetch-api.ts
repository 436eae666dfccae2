/**
 * The minimal Fetch API surface a handler needs on day one: Headers, Request, Response, and UTF-8
 * TextEncoder/TextDecoder. Streams come from web-streams-polyfill (the WHATWG reference-derived
 * implementation). This file runs inside the isolate: no Node types, no host objects.
 *
 * The web-platform issue replaces these with standards-tested implementations; the shapes here
 * follow the Fetch standard so handler code does not change when that happens.
 */
import { ReadableStream } from 'web-streams-polyfill';

export function utf8Encode(text: string): Uint8Array {
  const binary = unescape(encodeURIComponent(text));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

export function utf8Decode(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, Array.from(bytes.subarray(i, i + 0x8000)));
  }
  try {
    return decodeURIComponent(escape(binary));
  } catch {
    // Invalid UTF-8: decode byte by byte with U+FFFD for bad sequences, as TextDecoder does.
    return binary.replace(/[\x80-\xff]/g, '\ufffd');
  }
}

export class TextEncoder {
  readonly encoding = 'utf-8';
  encode(input = ''): Uint8Array {
    return utf8Encode(String(input));
  }
}

export class TextDecoder {
  readonly encoding = 'utf-8';
  decode(input?: ArrayBuffer | ArrayBufferView): string {
    if (input === undefined) return '';
    const bytes = input instanceof ArrayBuffer ? new Uint8Array(input) : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    return utf8Decode(bytes);
  }
}

export type HeadersInit = Headers | Array<[string, string]> | Record<string, string>;

export class Headers {
  private readonly map = new Map<string, string>();

  constructor(init?: HeadersInit) {
    if (!init) return;
    if (init instanceof Headers) init.forEach((v, k) => this.append(k, v));
    else if (Array.isArray(init)) for (const [k, v] of init) this.append(k, v);
    else for (const k of Object.keys(init)) this.append(k, init[k]);
  }
  append(name: string, value: string): void {
    const key = String(name).toLowerCase();
    const prev = this.map.get(key);
    this.map.set(key, prev === undefined ? String(value) : `${prev}, ${value}`);
  }
  set(name: string, value: string): void {
    this.map.set(String(name).toLowerCase(), String(value));
  }
  get(name: string): string | null {
    return this.map.get(String(name).toLowerCase()) ?? null;
  }
  has(name: string): boolean {
    return this.map.has(String(name).toLowerCase());
  }
  delete(name: string): void {
    this.map.delete(String(name).toLowerCase());
  }
  forEach(cb: (value: string, key: string, parent: Headers) => void): void {
    for (const [k, v] of this.entries()) cb(v, k, this);
  }
  *entries(): IterableIterator<[string, string]> {
    yield* [...this.map.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  }
  *keys(): IterableIterator<string> {
    for (const [k] of this.entries()) yield k;
  }
  *values(): IterableIterator<string> {
    for (const [, v] of this.entries()) yield v;
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

export type BodyInit = string | ArrayBuffer | ArrayBufferView | ReadableStream<Uint8Array> | null | undefined;

/** A body is held as text, bytes or a stream; text stays text so it crosses to the host uncopied. */
type BodyState = { kind: 'none' } | { kind: 'text'; text: string } | { kind: 'bytes'; bytes: Uint8Array } | { kind: 'stream'; stream: ReadableStream<Uint8Array> };

function toBodyState(body: BodyInit): BodyState {
  if (body === null || body === undefined) return { kind: 'none' };
  if (typeof body === 'string') return { kind: 'text', text: body };
  if (body instanceof ArrayBuffer) return { kind: 'bytes', bytes: new Uint8Array(body.slice(0)) };
  if (ArrayBuffer.isView(body)) return { kind: 'bytes', bytes: new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)) };
  if (body instanceof ReadableStream) return { kind: 'stream', stream: body };
  return { kind: 'text', text: String(body) };
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const chunk = typeof value === 'string' ? utf8Encode(value) : value;
    parts.push(chunk);
    length += chunk.byteLength;
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

abstract class Body {
  /** @internal */ _body: BodyState;
  private used = false;

  constructor(body: BodyInit) {
    this._body = toBodyState(body);
  }
  get bodyUsed(): boolean {
    return this.used;
  }
  get body(): ReadableStream<Uint8Array> | null {
    const state = this._body;
    if (state.kind === 'none') return null;
    if (state.kind === 'stream') return state.stream;
    const bytes = state.kind === 'text' ? utf8Encode(state.text) : state.bytes;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes);
        controller.close();
      },
    });
    this._body = { kind: 'stream', stream };
    return stream;
  }
  private consume(): BodyState {
    if (this.used) throw new TypeError('Body has already been consumed.');
    this.used = true;
    return this._body;
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = await this.bytes();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }
  async bytes(): Promise<Uint8Array> {
    const state = this.consume();
    if (state.kind === 'none') return new Uint8Array(0);
    if (state.kind === 'text') return utf8Encode(state.text);
    if (state.kind === 'bytes') return state.bytes;
    return readAll(state.stream);
  }
  async text(): Promise<string> {
    const state = this.consume();
    if (state.kind === 'none') return '';
    if (state.kind === 'text') return state.text;
    if (state.kind === 'bytes') return utf8Decode(state.bytes);
    return utf8Decode(await readAll(state.stream));
  }
  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }
}

export interface RequestInit {
  method?: string;
  headers?: HeadersInit;
  body?: BodyInit;
}

export class Request extends Body {
  readonly url: string;
  readonly method: string;
  readonly headers: Headers;

  constructor(input: string | Request, init: RequestInit = {}) {
    const source = input instanceof Request ? input : null;
    super(init.body !== undefined ? init.body : source ? cloneBodyInit(source) : null);
    this.url = source ? source.url : String(input);
    this.method = (init.method ?? source?.method ?? 'GET').toUpperCase();
    this.headers = new Headers(init.headers ?? source?.headers);
    if ((this.method === 'GET' || this.method === 'HEAD') && this._body.kind !== 'none') {
      throw new TypeError('Request with GET/HEAD method cannot have body.');
    }
  }
  clone(): Request {
    return new Request(this.url, { method: this.method, headers: this.headers, body: cloneBodyInit(this) });
  }
}

function cloneBodyInit(from: Body): BodyInit {
  const state = from._body;
  if (state.kind === 'none') return null;
  if (state.kind === 'text') return state.text;
  if (state.kind === 'bytes') return state.bytes;
  const [a, b] = state.stream.tee();
  from._body = { kind: 'stream', stream: a };
  return b;
}

export interface ResponseInit {
  status?: number;
  statusText?: string;
  headers?: HeadersInit;
}

export class Response extends Body {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;

  constructor(body?: BodyInit, init: ResponseInit = {}) {
    super(body);
    const status = init.status ?? 200;
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new RangeError(`Response status must be an integer between 200 and 599, got ${String(init.status)}.`);
    }
    this.status = status;
    this.statusText = init.statusText ?? '';
    this.headers = new Headers(init.headers);
    if (typeof body === 'string' && !this.headers.has('content-type')) this.headers.set('content-type', 'text/plain;charset=UTF-8');
  }
  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }
  clone(): Response {
    return new Response(cloneBodyInit(this), { status: this.status, statusText: this.statusText, headers: this.headers });
  }
  static json(data: unknown, init: ResponseInit = {}): Response {
    const headers = new Headers(init.headers);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return new Response(JSON.stringify(data), { ...init, headers });
  }
  static redirect(url: string, status = 302): Response {
    return new Response(null, { status, headers: { location: url } });
  }
}

export { ReadableStream };

/** Installs the Fetch API classes (Headers, Request, Response) as globals. */
export function installFetchGlobals(g: typeof globalThis): void {
  Object.assign(g, { Headers, Request, Response });
}

/**
 * What the event loop needs to send a Response back to the host: its body as bytes or text, or
 * as a stream to pull chunk by chunk. Kept next to Response so its internals stay private here.
 */
export function responseBodyForHost(response: Response): { kind: 'none' } | { kind: 'text'; text: string } | { kind: 'bytes'; bytes: Uint8Array } | { kind: 'stream'; stream: ReadableStream<Uint8Array> } {
  return response._body;
}
