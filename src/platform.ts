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
import { jsonLogger, serializeError } from './core/log.js';
import { createRuntimeStack, openStore } from './runtime-stack.js';
import type { Config } from './config/config.js';
import { CapacityService } from './capacity/capacity-service.js';
import { loadPolicy, type CapacityPolicy } from './capacity/policy.js';
import type { UtilisationSample } from './capacity/spillover-controller.js';
import { ExecutionService, InvocationRecorder } from './executions/execution-service.js';
import { ExecutionWorker } from './executions/execution-worker.js';
import { NpmInstaller } from './deploy/npm-deps.js';
import { FunctionService } from './functions/function-service.js';
import { LoadTester } from './loadtest/load-tester.js';
import { SqliteJobQueue } from './queue/local/sqlite-job-queue.js';
import { RedisStreamsJobQueue } from './queue/redis-streams/redis-streams-job-queue.js';
import type { JobQueue } from './queue/types.js';
import type { AnalyticsSink } from './runtime/capabilities/analytics.js';
import type { KvService } from './runtime/capabilities/kv.js';
import type { FunctionRuntime } from './runtime/function-runtime.js';
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
  /** Tiers, router, controllers (docs/capacity.md). */
  capacity: CapacityService;
  /** Each function's key-value store (Platform.db, env.KV, /api/functions/:id/kv). */
  kv: KvService;
  /** Each function's analytics events (Platform.analytics, env.ANALYTICS, /api/functions/:id/analytics). */
  analytics: AnalyticsSink;
  functions: FunctionService;
  executions: ExecutionService;
  recorder: InvocationRecorder;
  worker: ExecutionWorker;
  events: PlatformEvents;
  /** Runs one bounded load test at a time against this server's /fn/ routes (docs/load-tester.md). */
  loadTests: LoadTester;
  instanceId: string;
  /** Set by the server once it exists, for logging. */
  server?: FastifyInstance;
  close(): Promise<void>;
}

export interface PlatformOptions {
  clock?: Clock;
  /** Log sink for background failures (worker, recorder). */
  onError?: (err: unknown, context: string) => void;
  /** Where the capacity controller reads the baseline's utilisation (tests, simulations); default: the workers' sampled CPU and memory. */
  utilisation?: () => Promise<UtilisationSample>;
}

export async function createPlatform(config: Config, options: PlatformOptions = {}): Promise<Platform> {
  const clock = options.clock ?? systemClock;
  const log = jsonLogger(config.SPILLWAY_LOG_LEVEL);
  // Background failures and scaling decisions: one JSON line each (src/core/log.ts, docs/metrics.md).
  const onError = options.onError ?? ((err, context) => log.error(context, { event: 'background_failure', context, err: serializeError(err) }));
  const loaded = loadPolicy(config.SPILLWAY_CAPACITY_POLICY);
  const policy: CapacityPolicy = config.SPILLWAY_BASELINE_WORKERS === undefined ? loaded : { ...loaded, baseline: { ...loaded.baseline, minWorkers: config.SPILLWAY_BASELINE_WORKERS, maxWorkers: Math.max(loaded.baseline.maxWorkers, config.SPILLWAY_BASELINE_WORKERS) } };
  mkdirSync(config.SPILLWAY_DATA_DIR, { recursive: true });
  const instanceId = config.SPILLWAY_INSTANCE_ID ?? `${hostname()}-${config.PORT}`;

  const store = openStore(config);
  await store.migrate();
  const queue: JobQueue =
    config.SPILLWAY_QUEUE === 'redis'
      ? new RedisStreamsJobQueue({ url: config.SPILLWAY_REDIS_URL, prefix: config.SPILLWAY_REDIS_PREFIX, consumer: instanceId, clock })
      : new SqliteJobQueue({ path: join(config.SPILLWAY_DATA_DIR, 'queue.db'), clock });
  const blobs = new FsBlobStore(join(config.SPILLWAY_DATA_DIR, 'blobs'));
  const { runtime, kv, analytics, close: closeRuntime } = createRuntimeStack({ config, store, blobs, clock, onError });
  const events = new PlatformEvents();
  events.on('scaling_event', (e) => log.info(`scaling: ${e.action} (${e.tier})`, { event: 'scaling', action: e.action, tier: e.tier, reason: e.reason, instanceCount: e.instanceCount, metric: e.metric, value: e.value, threshold: e.threshold, functionId: e.functionId }));
  const npm = new NpmInstaller({
    dir: join(config.SPILLWAY_DATA_DIR, 'npm'),
    timeoutMs: config.SPILLWAY_NPM_INSTALL_TIMEOUT_MS,
    maxBytes: config.SPILLWAY_NPM_MAX_INSTALL_BYTES,
    registry: config.SPILLWAY_NPM_REGISTRY,
  });
  const capacity = new CapacityService({ config, policy, runtime, store, events, clock, onError, sampleSource: options.utilisation });
  // Validation runs in this process; eviction reaches every worker of both tiers.
  const functions = new FunctionService(store, blobs, { validate: (...args) => runtime.validate(...args), evictFunction: (id) => capacity.evictFunction(id) }, npm);
  const executions = new ExecutionService(store, queue, clock);
  const recorder = new InvocationRecorder(store, (err) => onError(err, 'recording HTTP invocations failed'), events);
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
  const loadTests = new LoadTester({ functions, store, recorder, events, clock });
  try {
    await capacity.start();
  } catch (err) {
    onError(err, 'starting the baseline workers failed; serving with the ones that started');
  }

  let closed: Promise<void> | null = null;
  const platform: Platform = {
    config,
    policy,
    clock,
    store,
    queue,
    blobs,
    runtime,
    capacity,
    kv,
    analytics,
    functions,
    executions,
    recorder,
    worker,
    events,
    loadTests,
    instanceId,
    close() {
      closed ??= (async () => {
        // First: a running test still needs the recorder and the store for its result.
        await loadTests.close();
        const stopping = worker.stop();
        await queue.close();
        await stopping;
        await recorder.close();
        await capacity.close();
        await closeRuntime();
        await store.close();
        await blobs.close();
      })();
      return closed;
    },
  };
  return platform;
}
