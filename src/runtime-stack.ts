/**
 * The isolate runtime with everything its guests can reach (outbound fetch, KV, analytics,
 * crypto) wired to a store and a blob store. The server builds one for itself (baseline worker 0)
 * and every worker process builds its own from the same config, so a function behaves the same
 * whichever worker serves it.
 */
import { join } from 'node:path';
import type { BlobStore } from './blobs/types.js';
import type { Clock } from './core/clock.js';
import type { Config } from './config/config.js';
import { LIMITS } from './protocol/schemas.js';
import { ANALYTICS_BINDING, AnalyticsSink, analyticsHostApi } from './runtime/capabilities/analytics.js';
import { cryptoHostApi } from './runtime/capabilities/crypto.js';
import { createFetchCapability, parseAllowHosts, type DownstreamBreaker } from './runtime/capabilities/fetch.js';
import { KV_BINDING, KvService, kvHostApi } from './runtime/capabilities/kv.js';
import { FunctionRuntime } from './runtime/function-runtime.js';
import { composeHostApi } from './runtime/host-api.js';
import { PostgresMetadataStore } from './storage/postgres/postgres-metadata-store.js';
import { SqliteMetadataStore } from './storage/sqlite/sqlite-metadata-store.js';
import type { MetadataStore } from './storage/types.js';

/** The configured metadata store (not yet migrated). */
export function openStore(config: Config): MetadataStore {
  return config.SPILLWAY_STORE === 'postgres'
    ? new PostgresMetadataStore({ connectionString: config.SPILLWAY_POSTGRES_URL, schema: config.SPILLWAY_POSTGRES_SCHEMA })
    : new SqliteMetadataStore({ path: join(config.SPILLWAY_DATA_DIR, 'spillway.db') });
}

export interface RuntimeStack {
  runtime: FunctionRuntime;
  kv: KvService;
  analytics: AnalyticsSink;
  /** Stops the runtime and its capabilities (not the store or blobs, which the caller owns). */
  close(): Promise<void>;
}

export interface RuntimeStackOptions {
  config: Config;
  store: MetadataStore;
  blobs: BlobStore;
  clock: Clock;
  onError: (err: unknown, context: string) => void;
  /** The circuit breaker of an outbound origin (docs/backpressure.md); none: fetch is never short-circuited. */
  downstreamBreaker?: (origin: string) => DownstreamBreaker;
}

export function createRuntimeStack(o: RuntimeStackOptions): RuntimeStack {
  const { config, store, blobs, clock, onError } = o;
  const kv = new KvService({ store, clock, onError: (err) => onError(err, 'purging expired key-value entries failed') });
  const analytics = new AnalyticsSink({ store, clock, onError: (err) => onError(err, 'storing analytics events failed') });
  const outboundFetch = createFetchCapability({
    allowHosts: parseAllowHosts(config.SPILLWAY_FETCH_ALLOW_HOSTS),
    timeoutMs: config.SPILLWAY_FETCH_TIMEOUT_MS,
    maxConcurrent: config.SPILLWAY_FETCH_MAX_CONCURRENT,
    downstreamBreaker: o.downstreamBreaker,
  });
  const hostApi = composeHostApi(cryptoHostApi, kvHostApi(kv), analyticsHostApi(analytics), outboundFetch);
  // Every function gets both bindings, under fixed names (docs/handler-contract.md, "Platform bindings").
  const bindings = { KV: KV_BINDING, ANALYTICS: ANALYTICS_BINDING };
  const runtime = new FunctionRuntime({
    blobs,
    maxWarmIsolates: config.SPILLWAY_MAX_WARM_ISOLATES,
    idleMs: config.SPILLWAY_ISOLATE_IDLE_MS,
    poolSize: config.SPILLWAY_ISOLATE_POOL_SIZE,
    poolMemoryLimitMb: LIMITS.memoryLimitMb.default,
    maxLogBytes: config.SPILLWAY_MAX_LOG_BYTES,
    hostApi,
    bindingsFor: () => bindings,
  });
  runtime.warmUp().catch((err) => onError(err, 'preparing the pool of ready isolates failed'));
  return {
    runtime,
    kv,
    analytics,
    async close() {
      await runtime.close();
      await outboundFetch.close();
      await analytics.close();
      await kv.close();
    },
  };
}
