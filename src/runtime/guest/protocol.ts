/**
 * The wire protocol between the isolate host (../isolate-host.ts) and the guest event loop
 * (./index.ts): events the host sends into a batch, operations the guest hands back, and the
 * shapes of both sides' payloads. Types only, so host code (Node) and guest code (the isolate,
 * ES2022 without Node types) import the same definitions; nothing here is bundled.
 */

/** An incoming HTTP request as the guest receives it. */
export interface HttpRequestPayload {
  method: string;
  url: string;
  headers: Array<[string, string]>;
  body: Uint8Array | string | null;
}

/** One event of a batch, host → guest. */
export type Item =
  | ['start', string, 'http', HttpRequestPayload]
  | ['start', string, 'call', { input: unknown }]
  | ['timer', number]
  | ['pull', string]
  | ['reply', string, number, boolean, unknown]
  | ['cancel', string]
  /** The isolate is idle: collect garbage and give freed pages back (IsolateHost.compact). */
  | ['gc'];

/** A failure the guest reports for an invocation. */
export interface GuestError {
  code: 'FUNCTION_ERROR' | 'BAD_RESPONSE';
  name: string;
  message: string;
  stack?: string;
}

/** One operation, guest → host, produced by a batch and read by `drain`. */
export type Op =
  | ['timer', string, number, number]
  | ['clearTimer', string, number]
  | ['respond', string, { status: number; headers: Array<[string, string]>; body: string | Uint8Array | null; stream: boolean }]
  | ['chunk', string, Uint8Array]
  | ['end', string]
  | ['result', string, string | undefined]
  | ['error', string, GuestError]
  | ['log', string, string, string]
  | ['call', string, number, string, unknown]
  | ['done', string];

/** What a batch reports: guest-clock milliseconds per invocation, how many events it ran, and the operations it produced. */
export interface BatchResult {
  cpu: Array<[string, number]>;
  consumed: number;
  ops: Op[];
  /** Guest clock (ms) when the batch's operations were taken, after its microtasks. */
  endMs: number;
}

/** The response head the host answers an outbound `fetch.start`/`fetch.head` with. */
export interface FetchHead {
  status: number;
  statusText: string;
  headers: Array<[string, string]>;
  url: string;
  redirected: boolean;
}
