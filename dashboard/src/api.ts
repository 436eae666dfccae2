/**
 * The dashboard's only way to the server: the JSON API under /api (seed 001's envelope) and the
 * function URLs under /fn. Everything is same-origin, so there is no base URL to configure.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
  /** The route does not exist on this server (an API not built or not merged yet). */
  get notAvailable(): boolean {
    return this.status === 404 && this.code === 'ROUTE_NOT_FOUND';
  }
}

interface Envelope<T> {
  success: boolean;
  data: T;
  error?: { code: string; message: string };
}

/** Calls `/api…` and returns `data`, or throws an ApiError carrying the server's code and message. */
export async function api<T>(path: string, init: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method: init.method ?? 'GET',
      headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: init.signal,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'NETWORK', 'Cannot reach the Spillway server. Is it running?');
  }
  const text = await res.text();
  let body: Envelope<T> | undefined;
  try {
    body = text ? (JSON.parse(text) as Envelope<T>) : undefined;
  } catch {
    throw new ApiError(res.status, 'BAD_JSON', `The server answered ${res.status} with something that is not JSON.`);
  }
  if (!res.ok || !body || body.success === false) {
    throw new ApiError(res.status, body?.error?.code ?? `HTTP_${res.status}`, body?.error?.message ?? `The server answered ${res.status}.`);
  }
  return body.data;
}

// ---- Records (docs/api.md) ----

export interface FunctionConfig {
  timeout: number;
  retryCount: number;
  memoryLimitMb: number;
  cpuLimitMs: number;
}

export interface FunctionRecord {
  id: string;
  name: string;
  description: string;
  status: 'active' | 'inactive';
  config: FunctionConfig;
  currentVersion: string | null;
  tier: string;
  code?: string;
  entry?: string;
  files?: string[];
  createdAt: string;
  updatedAt: string;
}

export interface ExecutionCost {
  tier: string;
  billedDurationMs: number;
  baseCost: number;
  coldStartCost: number;
  retryCost: number;
  dataTransferCost: number;
  totalCost: number;
  wallClockCost: number;
  resourceUsage?: { memoryMB: number; cpuCores: number };
}

export interface ExecutionRecord {
  id: string;
  functionId: string;
  versionId: string | null;
  trigger: 'async' | 'http';
  input: unknown;
  output: unknown;
  status: 'pending' | 'running' | 'completed' | 'failed';
  error: { code: string; message: string; stack?: string } | null;
  retryCount: number;
  maxRetries: number;
  nextAttemptAt: string | null;
  replayOf: string | null;
  createdAt: string;
  startTime: string | null;
  endTime: string | null;
  duration: number | null;
  cpuUs: number | null;
  wallUs: number | null;
  coldStart: boolean | null;
  instanceId: string | null;
  logs: Array<{ level: string; message: string; atMs?: number }>;
  inputBytes?: number;
  outputBytes?: number;
  cost: ExecutionCost | null;
}

export interface ScalingEvent {
  id: string;
  functionId: string | null;
  action: 'scale_up' | 'scale_down' | 'spillover_on' | 'spillover_off';
  instanceCount: number;
  reason: string;
  tier: string;
  metric: string;
  value: number;
  threshold: number;
  timestamp: string;
}

export interface CapacitySnapshot {
  mode: 'normal' | 'spillover';
  weights: { baseline: number; burst: number };
  baseline: {
    workers: number;
    target: number;
    minWorkers: number;
    maxWorkers: number;
    inFlight: number;
    utilisation: Array<{ id: string; pid: number | null; inFlight: number; cpuPct: number; memoryPct: number; rssMb: number }>;
  };
  burst: { kind: 'local' | 'lambda'; workers: number; inFlight: number; served: number; refused: number; coldStarts: number } | null;
  router: { byTier: Record<string, number>; overflowed: number; queued: number; refused: number; waiting: number };
  executions: { replicas: number };
  lastSample: { cpuPct: number; memoryPct: number; at: string } | null;
}

export type MetricsWindow = '1h' | '24h' | '7d' | '30d';

export interface SystemMetrics {
  window?: MetricsWindow;
  /** Executions in the window. */
  totalExecutions: number;
  /** Executions in the last hour. */
  recentExecutions: number;
  completedExecutions: number;
  failedExecutions: number;
  pendingExecutions: number;
  successRate: number;
  activeFunctions: number;
  currentInstances: number;
  averageExecutionTime: number;
  cpu?: { totalUs: number; averageUs: number };
  wall?: { averageMs: number; p50Ms: number | null; p95Ms: number | null; p99Ms: number | null };
  coldStarts?: number;
  byTrigger?: { http: number; async: number };
  cost?: { total: number; wallClock: number; saved: number; savedPct: number };
  tiers?: { mode: string; weights: { baseline: number; burst: number }; baselineWorkers: number; burstWorkers: number };
}

export interface FunctionMetricsRow {
  functionId: string;
  /** null for a deleted function that still has executions in the window. */
  functionName: string | null;
  deleted?: boolean;
  executions: number;
  errors: number;
  errorRate: number;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  cpuUs: { avg: number | null; p95: number | null };
  wallMs: { avg: number | null };
  coldStarts: number;
  cost: { total: number; wallClock: number };
}

export interface FunctionMetricsList {
  window: MetricsWindow;
  since: string;
  until: string;
  functions: FunctionMetricsRow[];
}

export interface FunctionMetricsDetail extends FunctionMetricsRow {
  window: MetricsWindow;
  unit: 'hour' | 'day';
  series: Array<{ start: string; executions: number; errors: number; cost: number; wallClockCost: number; cpuUsAvg: number | null; wallMsAvg: number | null; wallMsP95: number | null }>;
}

export interface SystemCosts {
  period: { startDate: string; endDate: string };
  totalSystemCost: number;
  totalExecutions: number;
  averageCostPerExecution: number;
  functionCosts: Array<{ functionId: string; functionName: string | null; totalCost: number; executionCount: number; tier?: string | null; wallClockCost?: number }>;
  wallClockCost?: number;
  savings?: { amount: number; percent: number };
}

export interface TrendPoint {
  hour?: string;
  day?: string;
  date?: string;
  start?: string;
  cost: number;
  wallClockCost?: number;
  executions: number;
}

export interface CostTrends {
  hourly?: TrendPoint[];
  daily?: TrendPoint[];
}

// ---- Calling a function over HTTP ----

export interface InvokeResult {
  status: number;
  statusText: string;
  headers: Array<[string, string]>;
  body: string;
  ms: number;
}

/** Calls `/fn/<name>/<path>` like any client would, and returns what came back. */
export async function invokeHttp(name: string, method: string, path: string, body: string, contentType: string): Promise<InvokeResult> {
  const started = performance.now();
  const url = `/fn/${encodeURIComponent(name)}/${path.replace(/^\/+/, '')}`;
  const withBody = method !== 'GET' && method !== 'HEAD' && body.length > 0;
  const res = await fetch(url, { method, headers: withBody ? { 'content-type': contentType } : {}, body: withBody ? body : undefined });
  const text = await res.text();
  return { status: res.status, statusText: res.statusText, headers: [...res.headers.entries()], body: text, ms: performance.now() - started };
}
