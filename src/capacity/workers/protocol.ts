/**
 * Messages between the server and a worker process (Node's IPC channel, `serialization:
 * 'advanced'`, so byte arrays cross as they are). The server sends invocations; the worker answers
 * with the outcome, then the body's chunks for a streamed response, then the metering.
 */
import type { ErrorCode } from '../../core/errors.js';
import type { Config } from '../../config/config.js';
import type { HttpRequestPayload, InvocationLimits, InvocationMetering } from '../../runtime/types.js';
import type { TierName } from '../types.js';

export interface WireTarget {
  functionId: string;
  versionId: string;
  memoryLimitMb: number;
  plainParams: string[] | null;
}

export interface WireError {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export type WireOutcome =
  | { type: 'response'; status: number; headers: Array<[string, string]>; body: string | Uint8Array | null; streamed: boolean }
  | { type: 'result'; json: string | undefined }
  | { type: 'error'; error: WireError };

/** InvocationMetering as it crosses: the error as data, the id added by the server. */
export type WireMetering = Omit<InvocationMetering, 'invocationId' | 'error'> & { error: WireError | null };

export type ToWorker =
  | { t: 'init'; config: Config; workerId: string; tier: TierName }
  | { t: 'invoke'; id: number; target: WireTarget; mode: 'http'; payload: HttpRequestPayload; limits: InvocationLimits }
  | { t: 'invoke'; id: number; target: WireTarget; mode: 'call'; payload: { input: unknown }; limits: InvocationLimits }
  /** The caller went away: stop the streamed body (the isolate sees its stream cancelled). */
  | { t: 'cancel'; id: number }
  | { t: 'evict'; functionId: string }
  | { t: 'sample'; id: number }
  | { t: 'shutdown' };

export type FromWorker =
  | { t: 'ready'; startUs: number }
  | { t: 'outcome'; id: number; outcome: WireOutcome }
  | { t: 'chunk'; id: number; data: Uint8Array }
  | { t: 'end'; id: number }
  | { t: 'stream-error'; id: number; error: WireError }
  | { t: 'metering'; id: number; metering: WireMetering }
  /** Process CPU (user + system, µs, since start) and resident memory (bytes). */
  | { t: 'sample'; id: number; cpuUs: number; rssBytes: number }
  | { t: 'fatal'; message: string }
  /** The worker's saturation gauge, 0..1, sent when it moves by 0.05 or more. */
  | { t: 'pressure'; value: number };
