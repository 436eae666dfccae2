/**
 * The user's real workload, measured from metered executions, for the cost comparison: calls per
 * second, mean CPU ms and mean wall ms per call, and the mean memory limit of the functions called.
 *
 * It reads a bounded sample (the newest `SAMPLE_LIMIT` executions, one indexed query) rather than
 * a new store aggregate. When the window holds fewer calls than that, the sample is every call in
 * the window and the figures are exact. When it holds more, the means are those of the newest
 * calls and the rate is the sample's own (calls ÷ seconds from its oldest call to now): the recent
 * rate, which is what a monthly projection wants, and `basis` says which one was used.
 */
import { LIMITS } from '../protocol/schemas.js';
import type { ExecutionRecord, MetadataStore } from '../storage/types.js';
import type { Workload } from './comparison.js';

export const SAMPLE_LIMIT = 1000;

export interface MeasuredWorkload extends Workload {
  window: string;
  windowSeconds: number;
  /** ISO-8601 bounds of the window. */
  from: string;
  to: string;
  /** Finished calls (with metered CPU and wall time) counted. */
  calls: number;
  /** 'window': every call of the window was read; 'newest-sample': the window held more than `sampleLimit`. */
  basis: 'window' | 'newest-sample';
  sampleLimit: number;
  /** Seconds the rate was measured over (the window, or the sample's span). */
  spanSeconds: number;
  /** Sums behind the means, so a client can check them. */
  totalCpuUs: number;
  totalWallUs: number;
}

export async function measureWorkload(store: MetadataStore, nowMs: number, window: string, windowSeconds: number): Promise<MeasuredWorkload> {
  const fromMs = nowMs - windowSeconds * 1000;
  const sample = await store.listExecutions({ limit: SAMPLE_LIMIT });
  const inWindow = sample.filter((e) => Date.parse(e.createdAt) >= fromMs);
  const finished = inWindow.filter((e): e is ExecutionRecord & { cpuUs: number; wallUs: number } => e.cpuUs !== null && e.wallUs !== null);
  const truncated = sample.length >= SAMPLE_LIMIT && inWindow.length === sample.length;
  const oldestMs = truncated ? Math.min(...inWindow.map((e) => Date.parse(e.createdAt))) : fromMs;
  const spanSeconds = Math.max(1e-3, (nowMs - oldestMs) / 1000);

  const memoryByFunction = new Map((await store.listFunctions()).map((f) => [f.id, f.config.memoryLimitMb]));
  let totalCpuUs = 0;
  let totalWallUs = 0;
  let totalMemoryMb = 0;
  for (const e of finished) {
    totalCpuUs += e.cpuUs;
    totalWallUs += e.wallUs;
    // A deleted function's calls still count; its limit is gone, so the tier's memory stands in.
    totalMemoryMb += memoryByFunction.get(e.functionId) ?? e.cost?.resourceUsage.memoryMB ?? LIMITS.memoryLimitMb.default;
  }
  const n = finished.length;
  return {
    window,
    windowSeconds,
    from: new Date(fromMs).toISOString(),
    to: new Date(nowMs).toISOString(),
    calls: n,
    basis: truncated ? 'newest-sample' : 'window',
    sampleLimit: SAMPLE_LIMIT,
    spanSeconds,
    totalCpuUs,
    totalWallUs,
    callsPerSecond: n / spanSeconds,
    cpuMsPerCall: n > 0 ? totalCpuUs / n / 1000 : 0,
    wallMsPerCall: n > 0 ? totalWallUs / n / 1000 : 0,
    memoryMb: n > 0 ? totalMemoryMb / n : LIMITS.memoryLimitMb.default,
  };
}
