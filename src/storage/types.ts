/**
 * The metadata store: functions, their immutable versions, executions, the dead-letter list, and
 * the data of each function's platform bindings (its key-value entries and analytics events).
 *
 * Guarantees every adapter keeps (checked by test/contract/metadata-store.contract.ts):
 * - function names are unique; a clash is reported as a fact (`'name_taken'`), never thrown;
 * - writes are durable when the returned promise resolves (a crash after that loses nothing);
 * - records come back exactly as written (JSON fields round-trip, timestamps are ISO-8601 strings);
 * - `close()` releases every connection; nothing else leaks a connection or transaction type;
 * - binding data belongs to a function: it can only be written for a function that exists, and
 *   deleting the function deletes it in the same transaction (a write racing the delete either
 *   lands before it and is deleted with it, or finds the function gone).
 */

export type FunctionStatus = 'active' | 'inactive';

export interface FunctionConfig {
  /** Wall-clock limit per invocation, ms. */
  timeout: number;
  /** Retries after the first failed attempt of an execution. */
  retryCount: number;
  /** Isolate heap limit, MiB. */
  memoryLimitMb: number;
  /** CPU limit per invocation, ms. */
  cpuLimitMs: number;
}

export interface FunctionRecord {
  id: string;
  name: string;
  description: string;
  status: FunctionStatus;
  config: FunctionConfig;
  /** SHA-256 of the current version's bundle. */
  currentVersion: string;
  /** Pricing tier, from seed 001's determineTier. */
  tier: string;
  createdAt: string;
  updatedAt: string;
}

export interface VersionRecord {
  /** SHA-256 (hex) of the bundle: the version's identity. */
  id: string;
  functionId: string;
  /** Name of the entry file inside `sourceDigest`'s file set. */
  entry: string;
  /** SHA-256 of the JSON file set the bundle was built from (stored in the blob store). */
  sourceDigest: string;
  /** Characters of source across all files, as seed 001's tiering counts `code.length`. */
  codeLength: number;
  bundleBytes: number;
  /** Parameter names of a plain-function handler, for mapping object input to arguments. */
  plainParams: string[] | null;
  createdAt: string;
}

export type ExecutionStatus = 'pending' | 'running' | 'completed' | 'failed';
export type ExecutionTrigger = 'async' | 'http';

export interface ExecutionError {
  code: string;
  message: string;
  /** True when the function caused it, false when the platform did. */
  functionFault: boolean;
  stack?: string;
}

export interface CostBreakdown {
  tier: string;
  /** Billed CPU, ms: what baseCost was computed from. */
  billedDurationMs: number;
  baseCost: number;
  coldStartCost: number;
  retryCost: number;
  dataTransferCost: number;
  totalCost: number;
  /** What a biller charging for wall-clock time would have charged for the same call. */
  wallClockCost: number;
  resourceUsage: { memoryMB: number; cpuCores: number };
}

export interface ExecutionRecord {
  id: string;
  functionId: string;
  versionId: string;
  trigger: ExecutionTrigger;
  input: unknown;
  output: unknown;
  status: ExecutionStatus;
  error: ExecutionError | null;
  /** Retries made so far (0 on the first attempt). */
  retryCount: number;
  maxRetries: number;
  createdAt: string;
  startTime: string | null;
  endTime: string | null;
  /** Wall time of the last attempt, ms (seed 001's `duration`). */
  duration: number | null;
  cpuUs: number | null;
  wallUs: number | null;
  coldStart: boolean;
  instanceId: string | null;
  logs: Array<{ level: string; message: string; atMs: number }>;
  cost: CostBreakdown | null;
  /** When the next retry is due, while one is scheduled. */
  nextAttemptAt: string | null;
  inputBytes: number;
  outputBytes: number;
  /** The dead-letter entry this execution replays, if any. */
  replayOf: string | null;
}

export interface DeadLetterRecord {
  id: string;
  executionId: string;
  functionId: string;
  error: ExecutionError;
  attempts: number;
  createdAt: string;
  replayExecutionId: string | null;
  replayedAt: string | null;
}

export interface ExecutionQuery {
  functionId?: string;
  status?: ExecutionStatus;
  trigger?: ExecutionTrigger;
  /** Newest first; at most this many (default 50, at most 1000). */
  limit?: number;
}

/** How a key-value entry's bytes were written, so a read can give them back in the same form. */
export type KvValueType = 'text' | 'json' | 'bytes';

export interface KvEntry {
  functionId: string;
  /** Up to the binding's key limit; compared and listed in UTF-8 byte order. */
  key: string;
  /** The stored bytes (UTF-8 for `text` and `json`). */
  value: Uint8Array;
  type: KvValueType;
  /** The user's metadata (a JSON value), or null when there is none. */
  metadata: unknown;
  /** When the entry stops existing, ms since the epoch; null for never. */
  expiresAt: number | null;
  updatedAt: string;
}

/** An entry as listed: everything but its value. */
export interface KvKeyInfo {
  key: string;
  type: KvValueType;
  /** Bytes of the value. */
  size: number;
  metadata: unknown;
  expiresAt: number | null;
  updatedAt: string;
}

export interface KvListQuery {
  functionId: string;
  /** Only keys starting with this. */
  prefix?: string;
  /** Only keys after this one (the last key of the previous page). */
  startAfter?: string;
  /** At most this many keys (at least 1). */
  limit: number;
  /** Entries expiring at or before this time (ms since the epoch) do not exist. */
  nowMs: number;
}

export interface KvListing {
  /** In UTF-8 byte order of their keys. */
  keys: KvKeyInfo[];
  /** True when no key after the last one listed matches. */
  complete: boolean;
}

export interface AnalyticsEventRecord {
  id: string;
  functionId: string;
  name: string;
  /** A JSON object, as the function wrote it (key order kept). */
  properties: Record<string, unknown>;
  createdAt: string;
}

/** A capacity decision (seed 001's ScalingEvent, plus the tier and the metric behind it). */
export interface ScalingEventRecord {
  id: string;
  /** The function concerned, or null for system-wide scaling. */
  functionId: string | null;
  action: 'scale_up' | 'scale_down' | 'spillover_on' | 'spillover_off';
  /** Instances after the change (for spillover_on/off: the baseline's size). */
  instanceCount: number;
  reason: string;
  /** Which scaler acted: 'baseline', 'burst', 'executions' or a pool name. */
  tier: string;
  metric: string;
  value: number;
  threshold: number;
  /** ISO-8601. */
  timestamp: string;
}

export interface ScalingEventQuery {
  limit?: number;
  action?: ScalingEventRecord['action'];
  tier?: string;
  /** Only events at or after this ISO-8601 time. */
  since?: string;
}

export interface AnalyticsQuery {
  functionId: string;
  name?: string;
  /** Only events created at or after this ISO-8601 time. */
  since?: string;
  /** Newest first; at most this many (default 50, at most 1000). */
  limit?: number;
}

/** A time range over executions' `createdAt`: `since <= createdAt < until` (ISO-8601). */
export interface StatsWindow {
  since: string;
  until: string;
  /** Only this function's executions. */
  functionId?: string;
  /** False: skip the percentiles (they come back null), which saves SQLite a sort of the window. Default true. */
  percentiles?: boolean;
}

/**
 * Aggregate figures over the executions of a window. Times and costs cover the rows that have them
 * (finished attempts); percentiles are linear interpolations between ranks (PostgreSQL's
 * `percentile_cont`), null when no row has a wall time.
 */
export interface ExecutionStats {
  total: number;
  pending: number;
  running: number;
  completed: number;
  failed: number;
  http: number;
  async: number;
  coldStarts: number;
  cpuUsTotal: number;
  cpuUsAvg: number | null;
  cpuUsP95: number | null;
  wallMsAvg: number | null;
  wallMsP50: number | null;
  wallMsP95: number | null;
  wallMsP99: number | null;
  /** Sum of cost.totalCost (what Spillway bills: CPU time). */
  totalCost: number;
  /** Sum of cost.wallClockCost (what a wall-clock biller would have charged). */
  wallClockCost: number;
}

export interface FunctionExecutionStats extends ExecutionStats {
  functionId: string;
}

export interface ExecutionBucketQuery extends StatsWindow {
  unit: 'hour' | 'day';
}

/** One hour or day (UTC) of executions; only buckets with executions are returned. */
export interface ExecutionBucket {
  /** Start of the bucket, ISO-8601 (e.g. 2026-01-01T05:00:00.000Z). */
  start: string;
  executions: number;
  /** Executions whose status is `failed`. */
  errors: number;
  cost: number;
  wallClockCost: number;
  cpuUsAvg: number | null;
  wallMsAvg: number | null;
  wallMsP95: number | null;
}

export interface MetadataStore {
  /** Creates tables if missing; safe to call on every start. */
  migrate(): Promise<void>;

  createFunction(fn: FunctionRecord): Promise<'created' | 'name_taken'>;
  getFunction(id: string): Promise<FunctionRecord | null>;
  getFunctionByName(name: string): Promise<FunctionRecord | null>;
  listFunctions(): Promise<FunctionRecord[]>;
  /** Replaces the record with the same id. */
  updateFunction(fn: FunctionRecord): Promise<'updated' | 'not_found' | 'name_taken'>;
  /** Deletes the function, its versions and its binding data; its executions stay for billing history. */
  deleteFunction(id: string): Promise<boolean>;

  /** Idempotent: storing a version that exists is a no-op. */
  putVersion(version: VersionRecord): Promise<void>;
  getVersion(functionId: string, id: string): Promise<VersionRecord | null>;
  listVersions(functionId: string): Promise<VersionRecord[]>;

  createExecution(execution: ExecutionRecord): Promise<void>;
  /** Inserts many at once (HTTP invocation records are written in batches). */
  insertExecutions(executions: ExecutionRecord[]): Promise<void>;
  getExecution(id: string): Promise<ExecutionRecord | null>;
  /** Replaces the record with the same id; false if it does not exist. */
  updateExecution(execution: ExecutionRecord): Promise<boolean>;
  listExecutions(query: ExecutionQuery): Promise<ExecutionRecord[]>;

  addDeadLetter(entry: DeadLetterRecord): Promise<void>;
  getDeadLetter(id: string): Promise<DeadLetterRecord | null>;
  listDeadLetters(limit?: number): Promise<DeadLetterRecord[]>;
  /** Marks an entry replayed; false if it was already replayed or does not exist. */
  markDeadLetterReplayed(id: string, replayExecutionId: string, at: string): Promise<boolean>;

  /** The entry, or null when it is missing or expired at `nowMs`. */
  kvGet(functionId: string, key: string, nowMs: number): Promise<KvEntry | null>;
  /** Creates or replaces the entry; `'function_not_found'` (nothing written) when the function does not exist. */
  kvPut(entry: KvEntry): Promise<'stored' | 'function_not_found'>;
  /** False when there was no such entry (an expired one not yet purged counts as there). */
  kvDelete(functionId: string, key: string): Promise<boolean>;
  kvList(query: KvListQuery): Promise<KvListing>;
  /** Deletes up to `limit` entries expired at `nowMs`; returns how many went. */
  kvPurgeExpired(nowMs: number, limit: number): Promise<number>;

  /**
   * Stores a batch of events all-or-nothing, except that events of functions that no longer exist
   * are dropped (they were tracked just before the function was deleted). Returns how many were stored.
   */
  insertAnalyticsEvents(events: AnalyticsEventRecord[]): Promise<number>;
  /** A function's events, newest first (ties: newest written first). */
  listAnalyticsEvents(query: AnalyticsQuery): Promise<AnalyticsEventRecord[]>;

  insertScalingEvent(event: ScalingEventRecord): Promise<void>;
  /** Newest first (ties: newest written first). */
  listScalingEvents(query: ScalingEventQuery): Promise<ScalingEventRecord[]>;

  /** Figures over the executions created in the window (one function's, with `functionId`). */
  executionStats(window: StatsWindow): Promise<ExecutionStats>;
  /** The same figures per function, for every function with executions in the window (deleted ones too). */
  executionStatsByFunction(window: StatsWindow): Promise<FunctionExecutionStats[]>;
  /** Executions per UTC hour or day of the window, oldest first; empty buckets are left out. */
  executionBuckets(query: ExecutionBucketQuery): Promise<ExecutionBucket[]>;

  close(): Promise<void>;
}
