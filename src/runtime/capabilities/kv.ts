/**
 * The key-value binding, host side: each function's own durable key-value store, kept in the
 * metadata store (SQLite or PostgreSQL, table `kv_entries`). Guest code reaches it as
 * `Platform.db` and `env.KV` (src/runtime/guest/bindings.ts); the management API reads and
 * writes the same entries (src/api/binding-routes.ts). Both go through KvService, which checks
 * every argument against KV_LIMITS: the guest checks too, for early errors, but `hostCall` is
 * reachable from user code, so the host never trusts it.
 *
 * Isolation: the function is never an argument. Host methods take it from the call context
 * (`ctx.functionId`, set by the isolate host for the isolate's own function), so one function
 * cannot name another's keys.
 *
 * Expiry (`expiration`, `expirationTtl`, as in Cloudflare KV) is read against the injected Clock:
 * an expired entry is invisible at once and purged from the table in the background.
 */
import type { Clock } from '../../core/clock.js';
import { SpillwayError } from '../../core/errors.js';
import type { KvEntry, KvKeyInfo, KvValueType, MetadataStore } from '../../storage/types.js';
import type { HostApi, HostCallContext } from '../host-api.js';

/** The binding's limits, documented in docs/handler-contract.md ("Platform bindings"). */
export const KV_LIMITS = Object.freeze({
  /** Cloudflare KV's key limit, UTF-8 bytes. */
  maxKeyBytes: 512,
  /** Values cross the isolate boundary as copies and live in the metadata database: 1 MiB. */
  maxValueBytes: 1024 * 1024,
  /** Cloudflare KV's metadata limit, bytes of its JSON. */
  maxMetadataBytes: 1024,
  /** Most keys one list() returns (also its default), as in Cloudflare KV. */
  maxListLimit: 1000,
  /** Shortest time to live, seconds, as in Cloudflare KV. */
  minExpirationTtlS: 60,
});

/** The `env` description of the binding, handed to the guest's `load`. */
export const KV_BINDING = Object.freeze({ type: 'kv', limits: KV_LIMITS });

const VALUE_TYPES: ReadonlySet<string> = new Set<KvValueType>(['text', 'json', 'bytes']);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Entries purged per round; a full round schedules the next one at once. */
const PURGE_BATCH = 1000;
const PURGE_INTERVAL_MS = 60_000;

export interface KvPutInput {
  key: unknown;
  /** A string for `text` and `json`, bytes for `bytes`. */
  value: unknown;
  type: unknown;
  /** Absolute expiry, seconds since the epoch. */
  expiration?: unknown;
  /** Expiry relative to now, seconds. */
  expirationTtl?: unknown;
  /** Any JSON value; undefined or null for none. */
  metadata?: unknown;
}

export interface KvListInput {
  prefix?: unknown;
  limit?: unknown;
  cursor?: unknown;
}

export interface KvListResult {
  keys: KvKeyInfo[];
  complete: boolean;
  /** Pass to the next list() call; null when the listing is complete. */
  cursor: string | null;
}

export interface KvServiceOptions {
  store: MetadataStore;
  clock: Clock;
  /** Background failures (the expiry purge). */
  onError: (err: unknown) => void;
}

export class KvService {
  private readonly store: MetadataStore;
  private readonly clock: Clock;
  private readonly onError: (err: unknown) => void;
  private cancelPurge: (() => void) | null = null;
  private purging: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(options: KvServiceOptions) {
    this.store = options.store;
    this.clock = options.clock;
    this.onError = options.onError;
    this.schedulePurge(PURGE_INTERVAL_MS);
  }

  /** The live entry under `key`, or null. */
  async get(functionId: string, key: unknown): Promise<KvEntry | null> {
    return this.store.kvGet(functionId, checkKey(key), this.clock.now());
  }

  async put(functionId: string, input: KvPutInput): Promise<KvEntry> {
    const key = checkKey(input.key);
    const type = String(input.type);
    if (!VALUE_TYPES.has(type)) throw invalid(`type: got ${describe(input.type)}, must be "text", "json" or "bytes"`);
    const value = encodeValue(input.value, type as KvValueType);
    if (value.byteLength > KV_LIMITS.maxValueBytes) {
      throw new SpillwayError('KV_VALUE_TOO_LARGE', `value: got ${value.byteLength} bytes, must be at most ${KV_LIMITS.maxValueBytes} bytes (1 MiB)`, { bytes: value.byteLength, limit: KV_LIMITS.maxValueBytes });
    }
    const entry: KvEntry = {
      functionId,
      key,
      value,
      type: type as KvValueType,
      metadata: checkMetadata(input.metadata),
      expiresAt: this.expiresAt(input.expiration, input.expirationTtl),
      updatedAt: new Date(this.clock.now()).toISOString(),
    };
    if ((await this.store.kvPut(entry)) === 'function_not_found') {
      throw new SpillwayError('FUNCTION_NOT_FOUND', `Function "${functionId}" no longer exists; its key-value store went with it.`, { functionId });
    }
    return entry;
  }

  /** True when the key existed. */
  async delete(functionId: string, key: unknown): Promise<boolean> {
    return this.store.kvDelete(functionId, checkKey(key));
  }

  async list(functionId: string, input: KvListInput = {}): Promise<KvListResult> {
    const prefix = input.prefix === undefined || input.prefix === null || input.prefix === '' ? undefined : checkKey(input.prefix, 'prefix');
    let limit: number = KV_LIMITS.maxListLimit;
    if (input.limit !== undefined && input.limit !== null) {
      limit = Number(input.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > KV_LIMITS.maxListLimit) {
        throw invalid(`limit: got ${describe(input.limit)}, must be a whole number between 1 and ${KV_LIMITS.maxListLimit}`);
      }
    }
    const startAfter = input.cursor === undefined || input.cursor === null || input.cursor === '' ? undefined : decodeCursor(input.cursor);
    const listing = await this.store.kvList({ functionId, prefix, startAfter, limit, nowMs: this.clock.now() });
    const last = listing.keys.at(-1);
    return { keys: listing.keys, complete: listing.complete, cursor: listing.complete || !last ? null : encodeCursor(last.key) };
  }

  /** Deletes expired entries now (the background purge does this every minute). */
  async purgeExpired(): Promise<number> {
    let total = 0;
    for (;;) {
      const purged = await this.store.kvPurgeExpired(this.clock.now(), PURGE_BATCH);
      total += purged;
      if (purged < PURGE_BATCH) return total;
    }
  }

  /** Stops the background purge and waits for a round in progress. */
  async close(): Promise<void> {
    this.closed = true;
    this.cancelPurge?.();
    this.cancelPurge = null;
    await this.purging;
  }

  private schedulePurge(ms: number): void {
    if (this.closed) return;
    this.cancelPurge = this.clock.setTimer(() => {
      this.purging = this.purgeExpired()
        .then(() => undefined, (err: unknown) => this.onError(err))
        .finally(() => this.schedulePurge(PURGE_INTERVAL_MS));
    }, ms);
  }

  private expiresAt(expiration: unknown, ttl: unknown): number | null {
    const none = (v: unknown) => v === undefined || v === null;
    if (none(expiration) && none(ttl)) return null;
    if (!none(expiration) && !none(ttl)) throw invalid('give expiration (seconds since the epoch) or expirationTtl (seconds from now), not both');
    const now = this.clock.now();
    const min = KV_LIMITS.minExpirationTtlS;
    if (!none(ttl)) {
      const seconds = Number(ttl);
      if (typeof ttl !== 'number' || !Number.isSafeInteger(seconds) || seconds < min) {
        throw invalid(`expirationTtl: got ${describe(ttl)}, must be a whole number of seconds, at least ${min}`);
      }
      return now + seconds * 1000;
    }
    const at = Number(expiration);
    if (typeof expiration !== 'number' || !Number.isSafeInteger(at) || at * 1000 < now + min * 1000) {
      throw invalid(`expiration: got ${describe(expiration)}, must be a whole number of seconds since the epoch, at least ${min} s from now (now is ${Math.floor(now / 1000)})`);
    }
    return at * 1000;
  }
}

/** A key (or prefix): a non-empty string of well-formed Unicode without U+0000, at most maxKeyBytes in UTF-8. */
function checkKey(key: unknown, field = 'key'): string {
  if (typeof key !== 'string') throw invalid(`${field}: got ${describe(key)}, must be a string`);
  if (key.length === 0) throw invalid(`${field}: must not be empty`);
  if (key.includes('\u0000')) throw invalid(`${field}: must not contain the character U+0000`);
  if (LONE_SURROGATE.test(key)) throw invalid(`${field}: contains a lone UTF-16 surrogate, which has no UTF-8 form`);
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > KV_LIMITS.maxKeyBytes) throw invalid(`${field}: got ${bytes} bytes, must be at most ${KV_LIMITS.maxKeyBytes} bytes (UTF-8)`, { bytes, limit: KV_LIMITS.maxKeyBytes });
  return key;
}

function encodeValue(value: unknown, type: KvValueType): Uint8Array {
  if (type === 'bytes') {
    if (value instanceof Uint8Array) return value;
    if (value instanceof ArrayBuffer) return new Uint8Array(value);
    throw invalid(`value: got ${describe(value)}, must be bytes for type "bytes"`);
  }
  if (typeof value !== 'string') throw invalid(`value: got ${describe(value)}, must be a string for type "${type}"`);
  if (type === 'json') {
    try {
      JSON.parse(value);
    } catch (err) {
      throw invalid(`value: not valid JSON for type "json" (${(err as Error).message})`);
    }
  }
  const bytes = Buffer.from(value, 'utf8');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function checkMetadata(metadata: unknown): unknown {
  if (metadata === undefined || metadata === null) return null;
  let text: string | undefined;
  try {
    text = JSON.stringify(metadata);
  } catch (err) {
    throw invalid(`metadata: must be JSON-serialisable (${(err as Error).message})`);
  }
  if (text === undefined) throw invalid(`metadata: got ${describe(metadata)}, must be a JSON value`);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > KV_LIMITS.maxMetadataBytes) {
    throw new SpillwayError('KV_VALUE_TOO_LARGE', `metadata: got ${bytes} bytes of JSON, must be at most ${KV_LIMITS.maxMetadataBytes} bytes`, { bytes, limit: KV_LIMITS.maxMetadataBytes });
  }
  return JSON.parse(text) as unknown;
}

/** Cursors are opaque to users: the last key of the page, base64url-encoded. */
function encodeCursor(lastKey: string): string {
  return Buffer.from(lastKey, 'utf8').toString('base64url');
}

function decodeCursor(cursor: unknown): string {
  const bad = () => invalid(`cursor: got ${describe(cursor)}, must be a cursor returned by a previous list()`);
  if (typeof cursor !== 'string' || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad();
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (encodeCursor(key) !== cursor) throw bad();
  return key;
}

function invalid(message: string, details?: Record<string, unknown>): SpillwayError {
  return new SpillwayError('VALIDATION_FAILED', message, details);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value instanceof Uint8Array) return `${value.byteLength} bytes`;
  if (typeof value === 'string') return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return Array.isArray(value) ? 'an array' : `a${typeof value === 'object' ? 'n object' : ` ${typeof value}`}`;
}

/**
 * Errors cross into the guest as `{ name, message }`: argument errors become TypeError, size
 * limits RangeError, so user code can tell them apart as it would in Workers.
 */
export function toBindingError(err: unknown): unknown {
  if (!(err instanceof SpillwayError)) return err;
  if (err.code === 'VALIDATION_FAILED') return new TypeError(err.message);
  if (err.code === 'KV_VALUE_TOO_LARGE') return new RangeError(err.message);
  return new Error(err.message);
}

function guarded<A>(fn: (args: A, ctx: HostCallContext) => Promise<unknown>) {
  return async (args: unknown, ctx: HostCallContext) => {
    try {
      return await fn((args ?? {}) as A, ctx);
    } catch (err) {
      throw toBindingError(err);
    }
  };
}

/** The guest's view of an entry: text and JSON as a string, bytes as bytes. */
export interface GuestKvValue {
  value: string | Uint8Array;
  type: KvValueType;
  metadata: unknown;
}

export interface GuestKvListing {
  keys: Array<{ name: string; expiration: number | null; metadata: unknown }>;
  complete: boolean;
  cursor: string | null;
}

/** The host methods behind `Platform.db` and `env.KV`: `kv.get`, `kv.put`, `kv.delete`, `kv.list`. */
export function kvHostApi(kv: KvService): Partial<HostApi> {
  return {
    async: {
      'kv.get': guarded<{ key: unknown }>(async (args, ctx): Promise<GuestKvValue | null> => {
        const entry = await kv.get(ctx.functionId, args.key);
        if (!entry) return null;
        const value = entry.type === 'bytes' ? entry.value : Buffer.from(entry.value.buffer, entry.value.byteOffset, entry.value.byteLength).toString('utf8');
        return { value, type: entry.type, metadata: entry.metadata };
      }),
      'kv.put': guarded<KvPutInput>(async (args, ctx) => {
        await kv.put(ctx.functionId, args);
        return null;
      }),
      'kv.delete': guarded<{ key: unknown }>(async (args, ctx) => kv.delete(ctx.functionId, args.key)),
      'kv.list': guarded<KvListInput>(async (args, ctx): Promise<GuestKvListing> => {
        const listing = await kv.list(ctx.functionId, args);
        return {
          keys: listing.keys.map((k) => ({ name: k.key, expiration: k.expiresAt === null ? null : Math.floor(k.expiresAt / 1000), metadata: k.metadata })),
          complete: listing.complete,
          cursor: listing.cursor,
        };
      }),
    },
  };
}
