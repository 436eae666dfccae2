/**
 * The shapes the capacity layer shares: tiers and the executors in them, and scaling events.
 * docs/capacity.md describes how they fit together.
 */
import type { HttpRequestPayload, InvocationHandle, InvocationLimits } from '../runtime/types.js';
import type { ScalingEventRecord } from '../storage/types.js';

/** Where an invocation ran: the always-on warm baseline, or the on-demand burst tier. */
export type TierName = 'baseline' | 'burst';

/** A function version as the capacity layer hands it to an executor. */
export interface InvocationTarget {
  functionId: string;
  versionId: string;
  /** The function's name (a Lambda burst tier names its Lambda functions after it). */
  name: string;
  memoryLimitMb: number;
  plainParams: string[] | null;
  /** The bundle's JavaScript (read from the blob store only by executors that need it). */
  bundle: () => Promise<string>;
}

/** Anything that can run an invocation: the server's own runtime, a worker process, a Lambda. */
export interface Executor {
  /** Stable name for logs, the `x-spillway-instance` header and the execution record's `instanceId`. */
  readonly id: string;
  readonly tier: TierName;
  /** Invocations in flight here now. */
  readonly inFlight: number;
  /** How close to saturation it is, 0..1 (./pressure.ts). */
  readonly pressure: number;
  invoke(target: InvocationTarget, mode: 'http', payload: HttpRequestPayload, limits: InvocationLimits): Promise<InvocationHandle>;
  invoke(target: InvocationTarget, mode: 'call', payload: { input: unknown }, limits: InvocationLimits): Promise<InvocationHandle>;
}

/**
 * The burst tier behind one interface, whatever runs it (local worker processes, AWS Lambda).
 * `invoke` never rejects: when the tier cannot take the call, the handle's outcome is a
 * BURST_UNAVAILABLE error (with details.retryAfterMs), and the router may fall back.
 */
export interface BurstTier {
  readonly kind: 'local' | 'lambda';
  invoke(target: InvocationTarget, mode: 'http', payload: HttpRequestPayload, limits: InvocationLimits): Promise<InvocationHandle & { instanceId: string }>;
  /**
   * Whether the tier can take a call now without making it wait for a cold start of the tier's
   * own capacity (a worker process). When it cannot, it starts warming up, and the router keeps
   * spilled calls on the baseline meanwhile. Absent: always ready (Lambda starts its own).
   */
  ready?(): boolean;
  /** Forget a function's deployed code (after an update or delete). */
  evictFunction(functionId: string): void;
  stats(): BurstTierStats;
  close(): Promise<void>;
}

export interface BurstTierStats {
  kind: 'local' | 'lambda';
  /** Workers (local) or deployed function versions (Lambda) live now. */
  workers: number;
  inFlight: number;
  /** Calls served, and calls refused as BURST_UNAVAILABLE, since start. */
  served: number;
  refused: number;
  /** Cold starts since start (a worker process or Lambda environment started for a call). */
  coldStarts: number;
}

/** What a scaling decision changed (seed 001's ScalingEvent, plus the tier and the metric behind it). */
export type ScalingAction = ScalingEventRecord['action'];

/** A scaling event before it is stored: the id and timestamp are added when it is recorded. */
export type ScalingEventInput = Omit<ScalingEventRecord, 'id' | 'timestamp'>;

export type ScalingEvent = ScalingEventRecord;
