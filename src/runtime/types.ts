import type { Readable } from 'node:stream';
import type { SpillwayError } from '../core/errors.js';

/** One console line written by a handler. */
export interface LogLine {
  level: string;
  message: string;
  /** Milliseconds since the invocation started. */
  atMs: number;
}

/** What one invocation cost, measured by the host. */
export interface InvocationMetering {
  invocationId: string;
  /** CPU time the invocation's own code used inside the isolate, in microseconds. */
  cpuUs: number;
  /** Wall-clock time from start until the last of its work (response, stream, waitUntil) ended, in microseconds. */
  wallUs: number;
  /** True when this invocation had to start the isolate. */
  coldStart: boolean;
  /** Time spent starting the isolate (0 when warm), in microseconds. */
  coldStartUs: number;
  logs: LogLine[];
  logsTruncated: boolean;
  /** Set when the invocation failed, whatever the stage. */
  error: SpillwayError | null;
}

export type { HttpRequestPayload } from './guest/protocol.js';

export type InvocationOutcome =
  | { type: 'response'; status: number; headers: Array<[string, string]>; body: string | Uint8Array | null; stream: Readable | null }
  | { type: 'result'; json: string | undefined }
  | { type: 'error'; error: SpillwayError };

export interface InvocationHandle {
  id: string;
  /** Settles with the response or result as soon as the handler produces it (never rejects). */
  outcome: Promise<InvocationOutcome>;
  /** Settles when all of the invocation's work has ended (never rejects). */
  metering: Promise<InvocationMetering>;
}

export interface InvocationLimits {
  /** Wall-clock limit for the whole invocation, including streaming and waitUntil. */
  timeoutMs: number;
  /** CPU limit for the whole invocation, and for any single entry into the isolate. */
  cpuLimitMs: number;
}
