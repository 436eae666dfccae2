/**
 * Platform bindings inside the isolate: the function's own key-value store and analytics sink.
 *
 * Two faces over the same host methods (`kv.*`, `analytics.track`, see
 * src/runtime/capabilities/):
 * - seed 000's global `Platform`: `Platform.db.get/put/delete/list` (values come back in the form
 *   they were written: text, JSON or bytes) and `Platform.analytics.track(name, properties)`;
 * - Workers-style `env` bindings built from the description the host passes to `load`:
 *   `env.KV` with Cloudflare's KVNamespace API (get/getWithMetadata/put/delete/list), and
 *   `env.ANALYTICS` with `track` and Workers Analytics Engine's `writeDataPoint`.
 *
 * Nothing here is a security boundary: the host scopes every call to this isolate's function
 * and checks every argument again. The checks here give early, clear errors, keep values that
 * cannot be cloned from ever reaching the bridge, and avoid copying oversized values out.
 *
 * This file runs inside the isolate: no Node types, no host objects.
 */
import { hostCall, HostError } from './host.js';

interface KvLimits {
  maxKeyBytes: number;
  maxValueBytes: number;
  maxMetadataBytes: number;
  maxListLimit: number;
}

interface AnalyticsLimits {
  maxNameBytes: number;
  maxPropertiesBytes: number;
}

/** One entry of the `env` description, as the host writes it (src/platform.ts, `bindingsFor`). */
type BindingDescription =
  | { type: 'kv'; limits?: Partial<KvLimits> }
  | { type: 'analytics'; limits?: Partial<AnalyticsLimits> }
  | { type: 'var'; value: unknown };

/** Defaults match the host's; the description from the host overrides them at load. */
const kvLimits: KvLimits = { maxKeyBytes: 512, maxValueBytes: 1024 * 1024, maxMetadataBytes: 1024, maxListLimit: 1000 };
const analyticsLimits: AnalyticsLimits = { maxNameBytes: 128, maxPropertiesBytes: 16 * 1024 };

/* ------------------------------------------------------------------ Web globals, looked up when used */

interface Encoder {
  encode(text: string): Uint8Array;
}
interface Decoder {
  decode(bytes: Uint8Array): string;
}
interface StreamReader {
  read(): Promise<{ done: boolean; value?: unknown }>;
  cancel(reason?: unknown): Promise<void>;
  releaseLock(): void;
}
interface WebGlobals {
  TextEncoder: new () => Encoder;
  TextDecoder: new (label?: string, options?: { fatal?: boolean }) => Decoder;
  ReadableStream: new (source: { start(controller: { enqueue(chunk: Uint8Array): void; close(): void }): void }) => unknown;
}

/** The isolate's Web API globals, installed by ./web before any binding is used. */
function web(): WebGlobals {
  return globalThis as unknown as WebGlobals;
}

function utf8(text: string): Uint8Array {
  return new (web().TextEncoder)().encode(text);
}

function fromUtf8(bytes: Uint8Array): string {
  return new (web().TextDecoder)().decode(bytes);
}

/** UTF-8 length of a string without encoding it (lone surrogates count as U+FFFD, 3 bytes). */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/* ------------------------------------------------------------------ calling the host */

/** Re-raises a host error as the matching built-in error, prefixed with the method the user called. */
async function call<T>(label: string, method: string, args: unknown): Promise<T> {
  try {
    return await hostCall<T>(method, args);
  } catch (err) {
    if (!(err instanceof HostError)) throw err;
    const Ctor = err.name === 'TypeError' ? TypeError : err.name === 'RangeError' ? RangeError : Error;
    throw new Ctor(`${label}: ${err.message}`);
  }
}

function checkKey(label: string, key: unknown): string {
  if (typeof key !== 'string') throw new TypeError(`${label}: key must be a string, got ${key === null ? 'null' : typeof key}`);
  if (key.length === 0) throw new TypeError(`${label}: key must not be empty`);
  const bytes = utf8Length(key);
  if (bytes > kvLimits.maxKeyBytes) throw new TypeError(`${label}: key: got ${bytes} bytes, must be at most ${kvLimits.maxKeyBytes} bytes (UTF-8)`);
  return key;
}

/** JSON text of a value, or a TypeError naming what could not be serialised. */
function toJson(label: string, what: string, value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new TypeError(`${label}: ${what} must be JSON-serialisable (${(err as Error).message})`);
  }
  if (text === undefined) throw new TypeError(`${label}: ${what} must be a JSON value, got ${typeof value}`);
  return text;
}

/* ------------------------------------------------------------------ key-value */

type StoredType = 'text' | 'json' | 'bytes';
type ReadType = 'text' | 'json' | 'arrayBuffer' | 'stream' | 'bytes';

interface HostValue {
  value: string | Uint8Array;
  type: StoredType;
  metadata: unknown;
}

interface HostListing {
  keys: Array<{ name: string; expiration: number | null; metadata: unknown }>;
  complete: boolean;
  cursor: string | null;
}

export interface KvPutOptions {
  /** Seconds since the epoch. */
  expiration?: number;
  /** Seconds from now (at least 60). */
  expirationTtl?: number;
  /** Any JSON value, at most 1024 bytes serialised. */
  metadata?: unknown;
}

export interface KvListOptions {
  prefix?: string;
  limit?: number;
  cursor?: string;
}

export interface KvListResult {
  keys: Array<{ name: string; expiration?: number; metadata?: unknown }>;
  list_complete: boolean;
  cursor?: string;
  cacheStatus: null;
}

const READ_TYPES: ReadonlySet<string> = new Set(['text', 'json', 'arrayBuffer', 'stream', 'bytes']);

function readType(label: string, options: unknown, fallback: ReadType | 'stored'): ReadType | 'stored' {
  const type = typeof options === 'string' ? options : options && typeof options === 'object' ? (options as { type?: unknown }).type : undefined;
  if (type === undefined || type === null) return fallback;
  if (typeof type !== 'string' || !READ_TYPES.has(type)) {
    throw new TypeError(`${label}: type must be "text", "json", "arrayBuffer", "stream" or "bytes", got ${JSON.stringify(type) ?? String(type)}`);
  }
  return type as ReadType;
}

function decodeValue(label: string, got: HostValue, type: ReadType | 'stored'): unknown {
  const wanted = type === 'stored' ? (got.type === 'bytes' ? 'bytes' : got.type) : type;
  const text = () => (typeof got.value === 'string' ? got.value : fromUtf8(got.value));
  const bytes = () => (typeof got.value === 'string' ? utf8(got.value) : got.value);
  switch (wanted) {
    case 'text':
      return text();
    case 'json':
      try {
        return JSON.parse(text());
      } catch (err) {
        throw new SyntaxError(`${label}: the value is not JSON (${(err as Error).message})`);
      }
    case 'bytes':
      return bytes();
    case 'arrayBuffer': {
      const b = bytes();
      return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b.buffer : b.slice().buffer;
    }
    case 'stream': {
      const b = bytes();
      return new (web().ReadableStream)({
        start(controller) {
          if (b.byteLength > 0) controller.enqueue(b);
          controller.close();
        },
      });
    }
  }
}

/** Reads a ReadableStream put as a value, refusing it as soon as it passes the value limit. */
async function readAll(label: string, stream: { getReader(): StreamReader }): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const chunk = typeof value === 'string' ? utf8(value) : value instanceof Uint8Array ? value : ArrayBuffer.isView(value) ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength) : value instanceof ArrayBuffer ? new Uint8Array(value) : null;
      if (!chunk) throw new TypeError(`${label}: the stream gave a chunk that is not bytes`);
      total += chunk.byteLength;
      if (total > kvLimits.maxValueBytes) {
        await reader.cancel('value too large').catch(() => {});
        throw new RangeError(`${label}: value: more than ${kvLimits.maxValueBytes} bytes, must be at most ${kvLimits.maxValueBytes} bytes (1 MiB)`);
      }
      chunks.push(chunk);
    }
  } finally {
    try {
      reader.releaseLock();
    } catch {
      /* cancelled */
    }
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

function isStream(value: unknown): value is { getReader(): StreamReader } {
  return typeof value === 'object' && value !== null && typeof (value as { getReader?: unknown }).getReader === 'function';
}

/**
 * A value to store: strings as text, binary as bytes; with `anyJson`, every other JSON value as
 * JSON (seed 000's `Platform.db.put`); without it, anything else is refused, as in Cloudflare KV.
 */
async function encodeValue(label: string, value: unknown, anyJson: boolean): Promise<{ value: string | Uint8Array; type: StoredType }> {
  let out: { value: string | Uint8Array; type: StoredType };
  if (typeof value === 'string') out = { value, type: 'text' };
  else if (value instanceof ArrayBuffer) out = { value: new Uint8Array(value.slice(0)), type: 'bytes' };
  else if (ArrayBuffer.isView(value)) out = { value: new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice(), type: 'bytes' };
  else if (isStream(value)) out = { value: await readAll(label, value), type: 'bytes' };
  else if (anyJson && value !== undefined) out = { value: toJson(label, 'value', value), type: 'json' };
  else {
    throw new TypeError(
      anyJson
        ? `${label}: value must be given (a string, bytes, a ReadableStream or a JSON value)`
        : `${label}: value must be a string, an ArrayBuffer, an ArrayBufferView or a ReadableStream, got ${value === null ? 'null' : typeof value} (store objects with JSON.stringify, or use Platform.db)`,
    );
  }
  const size = typeof out.value === 'string' ? (out.value.length > kvLimits.maxValueBytes ? out.value.length : utf8Length(out.value)) : out.value.byteLength;
  if (size > kvLimits.maxValueBytes) throw new RangeError(`${label}: value: got ${size}${typeof out.value === 'string' && out.value.length === size ? '+' : ''} bytes, must be at most ${kvLimits.maxValueBytes} bytes (1 MiB)`);
  return out;
}

function putOptions(label: string, options: unknown): { expiration?: number; expirationTtl?: number; metadata?: unknown } {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object') throw new TypeError(`${label}: options must be an object like { expirationTtl: 3600 }`);
  const { expiration, expirationTtl, metadata } = options as KvPutOptions;
  const out: { expiration?: number; expirationTtl?: number; metadata?: unknown } = {};
  if (expiration !== undefined) out.expiration = expiration;
  if (expirationTtl !== undefined) out.expirationTtl = expirationTtl;
  if (metadata !== undefined && metadata !== null) {
    const text = toJson(label, 'metadata', metadata);
    const bytes = utf8Length(text);
    if (bytes > kvLimits.maxMetadataBytes) throw new RangeError(`${label}: metadata: got ${bytes} bytes of JSON, must be at most ${kvLimits.maxMetadataBytes} bytes`);
    // Plain data only crosses the bridge: the JSON round trip drops what JSON would drop.
    out.metadata = JSON.parse(text);
  }
  return out;
}

function listOptions(label: string, options: unknown): { prefix?: string; limit?: number; cursor?: string } {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object') throw new TypeError(`${label}: options must be an object like { prefix: "user:" }`);
  const { prefix, limit, cursor } = options as KvListOptions;
  const out: { prefix?: string; limit?: number; cursor?: string } = {};
  if (prefix !== undefined && prefix !== null) {
    if (typeof prefix !== 'string') throw new TypeError(`${label}: prefix must be a string`);
    out.prefix = prefix;
  }
  if (limit !== undefined && limit !== null) {
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > kvLimits.maxListLimit) {
      throw new TypeError(`${label}: limit: got ${String(limit)}, must be a whole number between 1 and ${kvLimits.maxListLimit}`);
    }
    out.limit = limit;
  }
  if (cursor !== undefined && cursor !== null) {
    if (typeof cursor !== 'string') throw new TypeError(`${label}: cursor must be the string a previous list() returned`);
    out.cursor = cursor;
  }
  return out;
}

function listResult(got: HostListing): KvListResult {
  const result: KvListResult = {
    keys: got.keys.map((k) => {
      const key: { name: string; expiration?: number; metadata?: unknown } = { name: k.name };
      if (k.expiration !== null) key.expiration = k.expiration;
      if (k.metadata !== null && k.metadata !== undefined) key.metadata = k.metadata;
      return key;
    }),
    list_complete: got.complete,
    cacheStatus: null,
  };
  if (!got.complete && got.cursor) result.cursor = got.cursor;
  return result;
}

/** Cloudflare KV's namespace API over the function's own store (`env.KV`). */
export class KVNamespace {
  readonly #name: string;

  constructor(name: string) {
    this.#name = name;
  }

  /** `get(key)` is text; `get(key, "json" | "arrayBuffer" | "stream" | "text")` or `{ type }` picks the form. Missing: null. */
  async get(key: string, options?: ReadType | { type?: ReadType; cacheTtl?: number }): Promise<unknown> {
    const label = `${this.#name}.get`;
    const type = readType(label, options, 'text');
    const got = await call<HostValue | null>(label, 'kv.get', { key: checkKey(label, key) });
    return got === null ? null : decodeValue(label, got, type);
  }

  async getWithMetadata(key: string, options?: ReadType | { type?: ReadType; cacheTtl?: number }): Promise<{ value: unknown; metadata: unknown; cacheStatus: null }> {
    const label = `${this.#name}.getWithMetadata`;
    const type = readType(label, options, 'text');
    const got = await call<HostValue | null>(label, 'kv.get', { key: checkKey(label, key) });
    if (got === null) return { value: null, metadata: null, cacheStatus: null };
    return { value: decodeValue(label, got, type), metadata: got.metadata ?? null, cacheStatus: null };
  }

  async put(key: string, value: unknown, options?: KvPutOptions): Promise<void> {
    const label = `${this.#name}.put`;
    checkKey(label, key);
    const opts = putOptions(label, options);
    const encoded = await encodeValue(label, value, false);
    await call(label, 'kv.put', { key, ...encoded, ...opts });
  }

  async delete(key: string): Promise<void> {
    const label = `${this.#name}.delete`;
    await call(label, 'kv.delete', { key: checkKey(label, key) });
  }

  async list(options?: KvListOptions): Promise<KvListResult> {
    const label = `${this.#name}.list`;
    return listResult(await call<HostListing>(label, 'kv.list', listOptions(label, options)));
  }
}

/** seed 000's `Platform.db`: like KVNamespace, but values come back in the form they were put, and any JSON value can be put. */
const db = Object.freeze({
  /** The value as it was put (string, JSON value, or Uint8Array), or null; `type` forces a form as in KVNamespace.get. */
  async get(key: string, options?: ReadType | { type?: ReadType }): Promise<unknown> {
    const label = 'Platform.db.get';
    const type = readType(label, options, 'stored');
    const got = await call<HostValue | null>(label, 'kv.get', { key: checkKey(label, key) });
    return got === null ? null : decodeValue(label, got, type);
  },
  async put(key: string, value: unknown, options?: KvPutOptions): Promise<void> {
    const label = 'Platform.db.put';
    checkKey(label, key);
    const opts = putOptions(label, options);
    const encoded = await encodeValue(label, value, true);
    await call(label, 'kv.put', { key, ...encoded, ...opts });
  },
  /** True when the key existed. */
  async delete(key: string): Promise<boolean> {
    const label = 'Platform.db.delete';
    return call<boolean>(label, 'kv.delete', { key: checkKey(label, key) });
  },
  async list(options?: KvListOptions): Promise<KvListResult> {
    const label = 'Platform.db.list';
    return listResult(await call<HostListing>(label, 'kv.list', listOptions(label, options)));
  },
});

/* ------------------------------------------------------------------ analytics */

function trackArgs(label: string, name: unknown, properties: unknown): { name: string; properties?: string } {
  if (typeof name !== 'string' || name.length === 0) throw new TypeError(`${label}: name must be a non-empty string`);
  const nameBytes = utf8Length(name);
  if (nameBytes > analyticsLimits.maxNameBytes) throw new RangeError(`${label}: name: got ${nameBytes} bytes, must be at most ${analyticsLimits.maxNameBytes} bytes (UTF-8)`);
  if (properties === undefined || properties === null) return { name };
  if (typeof properties !== 'object' || Array.isArray(properties)) throw new TypeError(`${label}: properties must be a plain object, like { userId: 7 }`);
  const text = toJson(label, 'properties', properties);
  const bytes = utf8Length(text);
  if (bytes > analyticsLimits.maxPropertiesBytes) throw new RangeError(`${label}: properties: got ${bytes} bytes of JSON, must be at most ${analyticsLimits.maxPropertiesBytes} bytes`);
  return { name, properties: text };
}

function track(label: string, name: unknown, properties: unknown): Promise<void> {
  let args: { name: string; properties?: string };
  try {
    args = trackArgs(label, name, properties);
  } catch (err) {
    return Promise.reject(err);
  }
  return call<null>(label, 'analytics.track', args).then(() => undefined);
}

export interface DataPoint {
  indexes?: Array<string | null>;
  blobs?: Array<string | null>;
  doubles?: number[];
}

/** The analytics sink as an `env` binding: `track`, and Workers Analytics Engine's `writeDataPoint`. */
export class AnalyticsBinding {
  readonly #name: string;

  constructor(name: string) {
    this.#name = name;
  }

  /** Records an event; resolves once the platform accepted it (it is stored within a moment). */
  track(name: string, properties?: Record<string, unknown>): Promise<void> {
    return track(`${this.#name}.track`, name, properties);
  }

  /**
   * Workers Analytics Engine's call: fire-and-forget, stored as an event named "datapoint" with
   * properties `{ indexes, blobs, doubles }`. Bad arguments throw at once; a refusal by the
   * platform (too many events in this invocation) is logged to the invocation's console.
   */
  writeDataPoint(point?: DataPoint): void {
    const label = `${this.#name}.writeDataPoint`;
    const p = point ?? {};
    if (typeof p !== 'object') throw new TypeError(`${label}: the data point must be an object like { blobs: ["a"], doubles: [1], indexes: ["key"] }`);
    const list = (field: 'indexes' | 'blobs' | 'doubles', ok: (v: unknown) => boolean, what: string) => {
      const v = p[field];
      if (v === undefined) return [];
      if (!Array.isArray(v) || !v.every(ok)) throw new TypeError(`${label}: ${field} must be an array of ${what}`);
      return v;
    };
    const indexes = list('indexes', (v) => v === null || typeof v === 'string', 'strings');
    const blobs = list('blobs', (v) => v === null || typeof v === 'string', 'strings');
    const doubles = list('doubles', (v) => typeof v === 'number', 'numbers');
    if (indexes.length > 1) throw new RangeError(`${label}: at most one index, got ${indexes.length}`);
    const args = trackArgs(label, 'datapoint', { indexes, blobs, doubles });
    hostCall('analytics.track', args).catch((err: unknown) => {
      console.error(`${label}: the data point was not recorded: ${(err as Error).message}`);
    });
  }
}

const analytics = Object.freeze({
  /** Records an event; resolves once the platform accepted it (pass it to ctx.waitUntil to run after the response). */
  track(name: string, properties?: Record<string, unknown>): Promise<void> {
    return track('Platform.analytics.track', name, properties);
  },
});

/* ------------------------------------------------------------------ installation */

declare const console: { error(...args: unknown[]): void };

/** Installs seed 000's `Platform` global. Runs before the user's bundle, so module code can take `Platform.db`. */
export function installPlatformGlobal(g: typeof globalThis): void {
  Object.defineProperty(g, 'Platform', {
    value: Object.freeze({ db, analytics }),
    writable: true,
    configurable: true,
    enumerable: false,
  });
}

/** Builds `env` from the host's description (`{ KV: { type: "kv" }, ANALYTICS: { type: "analytics" }, … }`). */
export function buildEnv(description: Record<string, unknown>): Record<string, unknown> {
  const env: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(description ?? {})) {
    const d = raw as BindingDescription | null;
    if (d && typeof d === 'object' && d.type === 'kv') {
      Object.assign(kvLimits, d.limits ?? {});
      env[name] = new KVNamespace(`env.${name}`);
    } else if (d && typeof d === 'object' && d.type === 'analytics') {
      Object.assign(analyticsLimits, d.limits ?? {});
      env[name] = new AnalyticsBinding(`env.${name}`);
    } else if (d && typeof d === 'object' && d.type === 'var') {
      env[name] = d.value;
    } else {
      env[name] = raw;
    }
  }
  return env;
}
