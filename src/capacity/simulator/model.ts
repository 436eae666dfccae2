/**
 * The capacity simulator's queueing and cost model: what the baseline's CPU and memory
 * utilisation, the p99 latency and the cost would be for a request rate, a number of workers and
 * the router's weights, one sampling interval at a time. It is deliberately small; every
 * assumption is listed in docs/capacity-simulation.md ("The model"). The figures come from the
 * seeds where they give one (cited inline) and are marked as assumptions where they do not.
 */

export interface ModelParams {
  /** CPU one request uses on a baseline worker, ms (seed 000 §8.2: "only 10ms actual CPU time"). */
  cpuMsPerRequest: number;
  /** Time a request waits on I/O, ms: holds memory, not CPU (seed 000 §8.2: 200 ms in all, 10 ms of it CPU). */
  ioWaitMsPerRequest: number;
  /** Memory of an idle worker (Node, the runtime, warm isolates), MB. Assumption. */
  baseMemoryMbPerWorker: number;
  /** Memory one in-flight request holds (its isolate context and buffers), MB. Assumption (docs/performance.md measures ~4 MB per warm function). */
  memoryMbPerInFlight: number;
  /** From a scale_up to the new worker taking traffic, ms (a worker process and its isolates). Assumption. */
  workerStartMs: number;
  burst: {
    /** Lambda memory size, MB (seed 000 §4.1: 2048 MB, ARM64). */
    memoryMb: number;
    /** Added to a request that needs a new Lambda environment, ms (seed 000 §4.1: "~100-200ms"). */
    coldStartMs: number;
    /** How long an idle Lambda environment stays warm, ms (seed 004: "warm instances reused for ~15 minutes"). */
    keepWarmMs: number;
  };
  prices: {
    /** One baseline worker per hour, USD: seed 000 §8.1 prices 2 tasks (2 vCPU / 4 GB ARM) at $0.158/h, so $0.079 per task; a task holds two 1-core workers (docs/capacity.md). */
    baselineWorkerPerHourUsd: number;
    /** Lambda ARM price per GB-second, USD: the figure behind seed 000 §8.1's "$0.00000287" (1 GB × 0.2 s × $0.0000133334 + $0.0000002). */
    lambdaGbSecondUsd: number;
    /** Lambda price per request, USD (seed 004: "Request: $0.0000002"). */
    lambdaRequestUsd: number;
  };
}

export const DEFAULT_MODEL: ModelParams = Object.freeze({
  cpuMsPerRequest: 10,
  ioWaitMsPerRequest: 190,
  baseMemoryMbPerWorker: 300,
  memoryMbPerInFlight: 2,
  workerStartMs: 5_000,
  burst: Object.freeze({ memoryMb: 2048, coldStartMs: 200, keepWarmMs: 15 * 60_000 }),
  prices: Object.freeze({ baselineWorkerPerHourUsd: 0.079 / 2, lambdaGbSecondUsd: 0.0000133334, lambdaRequestUsd: 0.0000002 }),
}) as ModelParams;

/** Erlang C: the probability an arrival waits in an M/M/c queue with `c` servers and offered load `a` Erlangs (a < c). */
export function erlangC(c: number, a: number): number {
  if (a <= 0) return 0;
  if (a >= c) return 1;
  let b = 1; // Erlang B, built up server by server (numerically stable).
  for (let k = 1; k <= c; k++) b = (a * b) / (k + a * b);
  return (c * b) / (c - a * (1 - b));
}

export interface BaselineTickInput {
  /** Requests per second routed to the baseline during the interval. */
  rps: number;
  /** Workers taking traffic. */
  workers: number;
  cpuCoresPerWorker: number;
  memoryMbPerWorker: number;
  /** Requests still waiting for CPU from the interval before. */
  backlog: number;
  dtS: number;
  /** A request that would wait longer than this is refused (NO_CAPACITY), ms (policy burst.maxQueueWaitMs). */
  maxQueueWaitMs: number;
}

export interface BaselineTick {
  /** What the controller samples: CPU (max of offered load and busy time) and memory, % of the allotment. */
  cpuPct: number;
  memoryPct: number;
  p99Ms: number;
  backlog: number;
  served: number;
  rejected: number;
}

/**
 * One interval of the baseline: CPU as c = workers × cores servers of rate 1000 / cpuMs each,
 * work beyond capacity carried as a fluid backlog (bounded by maxQueueWaitMs of work, the rest
 * refused); p99 = I/O + CPU + the larger of the M/M/c wait's 99th percentile and the backlog's
 * wait, capped at maxQueueWaitMs of waiting.
 */
export function baselineTick(input: BaselineTickInput, m: ModelParams): BaselineTick {
  const { rps, workers, dtS, backlog } = input;
  const serviceMs = m.ioWaitMsPerRequest + m.cpuMsPerRequest;
  const arrivals = rps * dtS;
  if (workers <= 0) {
    return { cpuPct: rps > 0 ? 100 : 0, memoryPct: 0, p99Ms: serviceMs + input.maxQueueWaitMs, backlog: 0, served: 0, rejected: arrivals + backlog };
  }
  const cores = workers * input.cpuCoresPerWorker;
  const perCoreRps = 1000 / m.cpuMsPerRequest;
  const capacityRps = cores * perCoreRps;
  const capacity = capacityRps * dtS;
  const served = Math.min(backlog + arrivals, capacity);
  let left = backlog + arrivals - served;
  const maxBacklog = (capacityRps * input.maxQueueWaitMs) / 1000;
  const rejected = Math.max(0, left - maxBacklog);
  left -= rejected;

  const offeredPct = (rps / capacityRps) * 100;
  const busyPct = (served / capacity) * 100;
  const cpuPct = Math.max(offeredPct, busyPct);

  // Waiting for CPU: M/M/c when the queue is stable, the fluid backlog's wait when it is not.
  const c = Math.max(1, Math.round(cores));
  const a = rps / perCoreRps;
  let p99WaitMs: number;
  let meanWaitMs: number;
  if (left > 0 || a >= c) {
    p99WaitMs = (left / capacityRps) * 1000;
    meanWaitMs = p99WaitMs;
  } else {
    const pWait = erlangC(c, a);
    const drainPerMs = (c * perCoreRps - rps) / 1000;
    p99WaitMs = pWait > 0.01 ? Math.log(pWait / 0.01) / drainPerMs : 0;
    meanWaitMs = pWait / drainPerMs;
  }
  p99WaitMs = Math.min(p99WaitMs, input.maxQueueWaitMs);
  meanWaitMs = Math.min(meanWaitMs, input.maxQueueWaitMs);
  // In flight (Little's law): requests being served or waiting on I/O, plus those waiting for CPU.
  const inFlight = left > 0 ? ((served / dtS) * serviceMs) / 1000 + left : (rps * (serviceMs + meanWaitMs)) / 1000;
  const memoryPct = ((workers * m.baseMemoryMbPerWorker + inFlight * m.memoryMbPerInFlight) / (workers * input.memoryMbPerWorker)) * 100;
  return { cpuPct, memoryPct, p99Ms: serviceMs + p99WaitMs, backlog: left, served, rejected };
}

export interface BurstTick {
  /** Lambda environments busy at once (Little's law: rps × request duration). */
  concurrency: number;
  coldStarts: number;
  p99Ms: number;
  costUsd: number;
}

/**
 * The burst tier as AWS Lambda: one request per environment, an environment stays warm for
 * keepWarmMs after it was last needed, a request beyond the warm ones waits for a cold start.
 * Cost: GB-seconds of each request's wall time (Lambda bills duration, not CPU) plus the request
 * price, and the init time of each cold start (billed since Aug 2025).
 */
export class BurstModel {
  /** Concurrency needed at each past interval within keepWarmMs (a sliding maximum). */
  private readonly recent: Array<{ atMs: number; needed: number }> = [];

  constructor(private readonly m: ModelParams) {}

  tick(nowMs: number, rps: number, dtS: number): BurstTick {
    const serviceMs = this.m.ioWaitMsPerRequest + this.m.cpuMsPerRequest;
    while (this.recent.length > 0 && this.recent[0]!.atMs <= nowMs - this.m.burst.keepWarmMs) this.recent.shift();
    const warm = this.recent.reduce((max, r) => Math.max(max, r.needed), 0);
    const requests = rps * dtS;
    const concurrency = (rps * serviceMs) / 1000;
    const needed = requests > 0 ? Math.ceil(concurrency) : 0;
    const coldStarts = Math.max(0, needed - warm);
    while (this.recent.length > 0 && this.recent[this.recent.length - 1]!.needed <= needed) this.recent.pop();
    this.recent.push({ atMs: nowMs, needed });
    const coldShare = requests > 0 ? Math.min(1, coldStarts / requests) : 0;
    const p99Ms = serviceMs + (coldShare > 0.01 ? this.m.burst.coldStartMs : 0);
    const gb = this.m.burst.memoryMb / 1024;
    const p = this.m.prices;
    const costUsd = requests * (gb * (Math.ceil(serviceMs) / 1000) * p.lambdaGbSecondUsd + p.lambdaRequestUsd) + coldStarts * gb * (this.m.burst.coldStartMs / 1000) * p.lambdaGbSecondUsd;
    return { concurrency, coldStarts, p99Ms, costUsd };
  }
}

/** What the same requests would cost on the burst Lambda configuration alone (no baseline), for comparison. */
export function lambdaOnlyCostUsd(requests: number, m: ModelParams): number {
  const serviceMs = m.ioWaitMsPerRequest + m.cpuMsPerRequest;
  return requests * ((m.burst.memoryMb / 1024) * (Math.ceil(serviceMs) / 1000) * m.prices.lambdaGbSecondUsd + m.prices.lambdaRequestUsd);
}
