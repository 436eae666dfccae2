/**
 * The composition root: reads the config, picks the adapters (embedded SQLite + local queue +
 * local blobs by default; PostgreSQL and Redis Streams by setting), and wires the services. Only
 * this file and test setup choose adapters.
 */
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { FsBlobStore } from './blobs/fs/fs-blob-store.js';
import type { BlobStore } from './blobs/types.js';
import { systemClock, type Clock } from './core/clock.js';
import { PlatformEvents } from './core/events.js';
import type { Config } from './config/config.js';
import { loadPolicy, type CapacityPolicy } from './capacity/policy.js';
import { ExecutionService, InvocationRecorder } from './executions/execution-service.js';
import { WorkerRecordSink } from './executions/worker-record-sink.js';
import { ExecutionWorker } from './executions/execution-worker.js';
import { NpmInstaller } from './deploy/npm-deps.js';
import { FunctionService } from './functions/function-service.js';
import { SqliteJobQueue } from './queue/local/sqlite-job-queue.js';
import { RedisStreamsJobQueue } from './queue/redis-streams/redis-streams-job-queue.js';
import type { JobQueue } from './queue/types.js';
import { ANALYTICS_BINDING, AnalyticsSink, analyticsHostApi } from './runtime/capabilities/analytics.js';
import { cryptoHostApi } from './runtime/capabilities/crypto.js';
import { createFetchCapability, parseAllowHosts } from './runtime/capabilities/fetch.js';
import { KV_BINDING, KvService, kvHostApi } from './runtime/capabilities/kv.js';
import { FunctionRuntime } from './runtime/function-runtime.js';
import { composeHostApi } from './runtime/host-api.js';
import { LIMITS } from './protocol/schemas.js';
import { PostgresMetadataStore } from './storage/postgres/postgres-metadata-store.js';
import { SqliteMetadataStore } from './storage/sqlite/sqlite-metadata-store.js';
import type { MetadataStore } from './storage/types.js';

export interface Platform {
  config: Config;
  /** The capacity policy (seeds' defaults merged with SPILLWAY_CAPACITY_POLICY). */
  policy: CapacityPolicy;
  clock: Clock;
  store: MetadataStore;
  queue: JobQueue;
  blobs: BlobStore;
  runtime: FunctionRuntime;
  /** Each function's key-value store (Platform.db, env.KV, /api/functions/:id/kv). */
  kv: KvService;
  /** Each function's analytics events (Platform.analytics, env.ANALYTICS, /api/functions/:id/analytics). */
  analytics: AnalyticsSink;
  functions: FunctionService;
  executions: ExecutionService;
  recorder: InvocationRecorder;
  worker: ExecutionWorker;
  events: PlatformEvents;
  instanceId: string;
  /** Set by the server once it exists, for logging. */
  server?: FastifyInstance;
  close(): Promise<void>;
}

export interface PlatformOptions {
  clock?: Clock;
  /** Log sink for background failures (worker, recorder). */
  onError?: (err: unknown, context: string) => void;
}

export async function createPlatform(config: Config, options: PlatformOptions = {}): Promise<Platform> {
  const clock = options.clock ?? systemClock;
  const onError = options.onError ?? ((err, context) => console.error(JSON.stringify({ level: 'error', msg: context, err: String((err as Error)?.stack ?? err) })));
  const loaded = loadPolicy(config.SPILLWAY_CAPACITY_POLICY);
  const policy: CapacityPolicy = config.SPILLWAY_BASELINE_WORKERS === undefined ? loaded : { ...loaded, baseline: { ...loaded.baseline, minWorkers: config.SPILLWAY_BASELINE_WORKERS, maxWorkers: Math.max(loaded.baseline.maxWorkers, config.SPILLWAY_BASELINE_WORKERS) } };
  mkdirSync(config.SPILLWAY_DATA_DIR, { recursive: true });
  const instanceId = config.SPILLWAY_INSTANCE_ID ?? `${hostname()}-${config.PORT}`;

  const sqlitePath = config.SPILLWAY_STORE === 'postgres' ? null : join(config.SPILLWAY_DATA_DIR, 'spillway.db');
  const store: MetadataStore =
    config.SPILLWAY_STORE === 'postgres'
      ? new PostgresMetadataStore({ connectionString: config.SPILLWAY_POSTGRES_URL, schema: config.SPILLWAY_POSTGRES_SCHEMA })
      : new SqliteMetadataStore({ path: sqlitePath! });
  await store.migrate();
  const queue: JobQueue =
    config.SPILLWAY_QUEUE === 'redis'
      ? new RedisStreamsJobQueue({ url: config.SPILLWAY_REDIS_URL, prefix: config.SPILLWAY_REDIS_PREFIX, consumer: instanceId, clock })
      : new SqliteJobQueue({ path: join(config.SPILLWAY_DATA_DIR, 'queue.db'), clock });
  const blobs = new FsBlobStore(join(config.SPILLWAY_DATA_DIR, 'blobs'));
  const kv = new KvService({ store, clock, onError: (err) => onError(err, 'purging expired key-value entries failed') });
  const analytics = new AnalyticsSink({ store, clock, onError: (err) => onError(err, 'storing analytics events failed') });
  const outboundFetch = createFetchCapability({
    allowHosts: parseAllowHosts(config.SPILLWAY_FETCH_ALLOW_HOSTS),
    timeoutMs: config.SPILLWAY_FETCH_TIMEOUT_MS,
    maxConcurrent: config.SPILLWAY_FETCH_MAX_CONCURRENT,
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
  const events = new PlatformEvents();
  const npm = new NpmInstaller({
    dir: join(config.SPILLWAY_DATA_DIR, 'npm'),
    timeoutMs: config.SPILLWAY_NPM_INSTALL_TIMEOUT_MS,
    maxBytes: config.SPILLWAY_NPM_MAX_INSTALL_BYTES,
    registry: config.SPILLWAY_NPM_REGISTRY,
  });
  const functions = new FunctionService(store, blobs, runtime, npm);
  const executions = new ExecutionService(store, queue, clock);
  // On SQLite, HTTP invocation records are written from a worker thread with its own connection.
  const recordSink = store instanceof SqliteMetadataStore && sqlitePath ? new WorkerRecordSink(sqlitePath) : null;
  const recorder = new InvocationRecorder(recordSink ?? store, (err) => onError(err, 'recording HTTP invocations failed'));
  const worker = new ExecutionWorker({
    store,
    queue,
    functions,
    runtime,
    events,
    clock,
    concurrency: config.SPILLWAY_EXECUTION_CONCURRENCY,
    leaseMs: config.SPILLWAY_QUEUE_LEASE_MS,
    retryBaseDelayMs: config.SPILLWAY_RETRY_BASE_DELAY_MS,
    instanceId,
    onError,
  });
  worker.start();

  let closed: Promise<void> | null = null;
  const platform: Platform = {
    config,
    policy,
    clock,
    store,
    queue,
    blobs,
    runtime,
    kv,
    analytics,
    functions,
    executions,
    recorder,
    worker,
    events,
    instanceId,
    close() {
      closed ??= (async () => {
        const stopping = worker.stop();
        await queue.close();
        await stopping;
        await recorder.close();
        await recordSink?.close();
        await runtime.close();
        await outboundFetch.close();
        await analytics.close();
        await kv.close();
        await store.close();
        await blobs.close();
      })();
      return closed;
    },
  };
  return platform;
}
