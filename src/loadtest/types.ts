/**
 * Shapes of the load tester (docs/load-tester.md): what a test reports while it runs and when it
 * ends, and the messages between the server and the load-generator child process
 * (src/loadtest/runner.mjs, plain JavaScript, so these types are its contract written down).
 */
import type { LoadTestOptions } from '../protocol/schemas.js';

export type { LoadTestOptions };

export type LoadTestStatus = 'running' | 'completed' | 'failed' | 'cancelled';

/** Latency percentiles, ms, from a log-bucketed histogram (within 1% of the exact value). */
export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Sent about once a second while a test runs (and as `load_test_progress` on /api/events). */
export interface LoadTestProgress {
  /** Seconds since the load generator started. */
  elapsedS: number;
  /** Requests that finished so far: `ok + non2xx + errors`. */
  requests: number;
  ok: number;
  non2xx: number;
  /** Requests that got no HTTP response (connection errors, client timeouts). */
  errors: number;
  /** Requests finished in the last second. */
  reqPerSec: number;
  /** Latency so far, ms (null before the first response). */
  p50Ms: number | null;
  p99Ms: number | null;
}

/** What the load generator measured (the child's final report, without the execution ids). */
export interface LoadGeneratorSummary {
  /** Seconds the load generator ran. */
  durationS: number;
  /** Connections autocannon held open (fewer than asked when `rate` or `requests` is smaller). */
  connections: number;
  /** Every request that finished: `ok + non2xx + errors`. */
  total: number;
  /** 2xx responses. */
  ok: number;
  /** Responses with any other status (1xx, 3xx, 4xx, 5xx). */
  non2xx: number;
  /** Requests without a response: connection errors and client timeouts. */
  errors: number;
  timeouts: number;
  /** Requests sent (some may still have been in flight when the test stopped). */
  sent: number;
  /** `total / durationS`. */
  requestsPerSec: number;
  latencyMs: LatencySummary;
  /** Responses by HTTP status. */
  statusCounts: Record<string, number>;
  /**
   * Failed requests by cause: the Spillway error code of a platform error response (its JSON
   * `error.code`, e.g. FUNCTION_ERROR, RATE_LIMITED), `HTTP_<status>` for a non-2xx the function
   * itself returned, `CLIENT_TIMEOUT` or the socket error code (ECONNRESET…) for no response.
   */
  errorsByCode: Record<string, number>;
  /** Responses by `x-spillway-tier` (`none` when the response has no such header). */
  tiers: Record<string, number>;
  /** True when the test was stopped early: cancelled, or a counted test reached the time cap. */
  stoppedEarly: boolean;
}

/** Totals over the execution records the test's calls produced. */
export interface ExecutionTotals {
  /**
   * How these were found: the ids in the responses' `x-spillway-execution-id` headers, each
   * record read by id (exact: other clients' calls to the same function are not counted).
   */
  source: 'x-spillway-execution-id';
  /** Records found. */
  records: number;
  /** Ids seen in responses whose record was not stored yet when the totals were made. */
  missing: number;
  coldStarts: number;
  cpuMs: number;
  wallMs: number;
  /** cpuMs / wallMs: what CPU-time billing charges, as a share of what wall-clock billing would. */
  cpuToWall: number | null;
  /** Sum of the records' `cost.totalCost` (USD, CPU-time billing). */
  costUsd: number;
  /** Sum of the records' `cost.wallClockCost`: the same calls billed by wall-clock time. */
  wallClockCostUsd: number;
  /** Records by status (completed, failed). */
  byStatus: Record<string, number>;
}

export interface LoadTestResult extends LoadGeneratorSummary {
  executions: ExecutionTotals;
}

/** A load test as the API shows it. */
export interface LoadTestView {
  id: string;
  status: LoadTestStatus;
  functionId: string;
  functionName: string;
  options: LoadTestOptions;
  /** The URL the load generator called. */
  url: string;
  startedAt: string;
  finishedAt: string | null;
  progress: LoadTestProgress | null;
  result: LoadTestResult | null;
  /** Why a test failed. */
  error: string | null;
}

/** The load generator's arguments (JSON in argv[2]). */
export interface RunnerOptions {
  url: string;
  connections: number;
  /** A timed test. */
  durationS?: number;
  /** A counted test (stopped at `maxDurationS` if it has not finished). */
  amount?: number;
  maxDurationS: number;
  rate?: number;
  method: string;
  body?: string;
  headers: Record<string, string>;
  /** Seconds before a request without a response counts as a client timeout. */
  timeoutS: number;
}

/** Server → load generator. */
export type RunnerCommand = { type: 'stop' };

/** Load generator → server. */
export type RunnerMessage =
  | ({ type: 'progress' } & LoadTestProgress)
  | ({ type: 'result' } & LoadGeneratorSummary & { executionIds: string[] })
  | { type: 'failed'; message: string };
