/**
 * The error catalogue: every error a Spillway user can see, with a stable code, an HTTP status and
 * a message that says what to do. `docs/errors.md` is checked against this table by a test, both
 * ways. A retired code is never reused.
 */

export interface ErrorSpec {
  status: number;
  /** What the error means, for the docs table. */
  meaning: string;
  /** How the user fixes it, for the docs table. */
  fix: string;
}

export const ERROR_CATALOGUE = {
  VALIDATION_FAILED: {
    status: 400,
    meaning: 'The request body, query or parameters do not match the documented shape.',
    fix: 'Read the message: it names the field, the value received and what is allowed.',
  },
  MALFORMED_JSON: {
    status: 400,
    meaning: 'The request body is not valid JSON.',
    fix: 'Send a JSON body with `content-type: application/json`.',
  },
  BUILD_FAILED: {
    status: 400,
    meaning: 'The function code did not bundle: a syntax error, a TypeScript error esbuild cannot strip, or a missing import.',
    fix: 'Fix the code at the file, line and column the message gives, then deploy again.',
  },
  DEPENDENCY_INSTALL_FAILED: {
    status: 400,
    meaning: "npm refused the function's `package.json` dependencies (an unknown package or version, a version conflict), or they install to more than SPILLWAY_NPM_MAX_INSTALL_BYTES. The message carries npm's reason.",
    fix: 'Fix the package name or version npm names, depend on fewer or smaller packages, or raise SPILLWAY_NPM_MAX_INSTALL_BYTES.',
  },
  NO_HANDLER: {
    status: 400,
    meaning: 'The code bundles, but exports nothing Spillway can call.',
    fix: 'Export a default `{ fetch }` object, a default function, or declare one top-level function (see docs/handler-contract.md).',
  },
  FUNCTION_NOT_FOUND: {
    status: 404,
    meaning: 'No function has this id or name.',
    fix: 'List functions with `GET /api/functions` and use an existing id or name.',
  },
  EXECUTION_NOT_FOUND: {
    status: 404,
    meaning: 'No execution has this id.',
    fix: 'Use the `executionId` returned by `POST /api/functions/:id/execute`.',
  },
  DEAD_LETTER_NOT_FOUND: {
    status: 404,
    meaning: 'No dead-letter entry has this id.',
    fix: 'List entries with `GET /api/dead-letters`.',
  },
  KV_KEY_NOT_FOUND: {
    status: 404,
    meaning: "The function's key-value store has no live entry under this key (never written, deleted, or expired).",
    fix: 'List the keys with `GET /api/functions/:id/kv?prefix=`; keys are case-sensitive and URL-encoded in the path.',
  },
  LOAD_TEST_NOT_FOUND: {
    status: 404,
    meaning: 'No load test has this id: it never existed, it is older than the last 20 kept, or the server restarted (tests are kept in memory).',
    fix: 'List the recent tests with `GET /api/load-tests` and use an id from there.',
  },
  ROUTE_NOT_FOUND: {
    status: 404,
    meaning: 'No API route matches this method and path.',
    fix: 'See docs/api.md for the routes.',
  },
  FUNCTION_NAME_TAKEN: {
    status: 409,
    meaning: 'Another function already has this name.',
    fix: 'Choose another name, or update the existing function with `PUT /api/functions/:id`.',
  },
  DEAD_LETTER_REPLAYED: {
    status: 409,
    meaning: 'This dead-letter entry was already replayed.',
    fix: 'Follow its `replayExecutionId` to the execution that replayed it.',
  },
  FUNCTION_INACTIVE: {
    status: 409,
    meaning: 'The function is inactive and does not accept invocations.',
    fix: 'Set `status: "active"` with `PUT /api/functions/:id`.',
  },
  LOAD_TEST_RUNNING: {
    status: 409,
    meaning: 'A load test is already running; one runs at a time, because each one shares the server\'s machine. The message names the running test.',
    fix: 'Wait for the running test to finish (watch `GET /api/load-tests/:id` or the `load_test_completed` event), or cancel it with `DELETE /api/load-tests/:id`.',
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    meaning: 'The request body is larger than the configured limit.',
    fix: 'Send a smaller body, or raise SPILLWAY_MAX_BODY_BYTES.',
  },
  KV_VALUE_TOO_LARGE: {
    status: 413,
    meaning: 'A key-value value is over 1 MiB, or its metadata over 1024 bytes of JSON.',
    fix: 'Store less per key: split the value over several keys, or keep large data elsewhere and store a reference.',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    meaning: 'The API only accepts JSON bodies.',
    fix: 'Send `content-type: application/json`.',
  },
  FUNCTION_ERROR: {
    status: 500,
    meaning: "The function threw or rejected: the function's own error, not the platform's (the response carries `x-spillway-error-source: function`).",
    fix: 'Read the error message and stack in the execution record and fix the function.',
  },
  BAD_RESPONSE: {
    status: 502,
    meaning: 'The function returned something that is not a Response (HTTP) or not JSON-serialisable (execution).',
    fix: 'Return a `Response` from HTTP handlers, and plain JSON values from functions run as executions.',
  },
  OUT_OF_MEMORY: {
    status: 502,
    meaning: "The function's isolate ran past its memory limit and was disposed; calls in flight in that isolate failed with it.",
    fix: 'Use less memory, or raise `config.memoryLimitMb` (at most 1024).',
  },
  CPU_LIMIT: {
    status: 502,
    meaning: 'One entry into the function used more CPU than `config.cpuLimitMs` without yielding (an infinite loop, for example).',
    fix: 'Yield to I/O sooner, make the work smaller, or raise `config.cpuLimitMs`.',
  },
  ISOLATE_CRASHED: {
    status: 502,
    meaning: 'The isolate running the function failed for a reason other than memory (for example it was disposed while the call was in flight).',
    fix: 'Retry the call; if it keeps happening, report it with the execution id.',
  },
  DEPENDENCY_REGISTRY_UNREACHABLE: {
    status: 502,
    meaning: "npm could not reach the package registry while installing the function's `package.json` dependencies; nothing was cached.",
    fix: 'Deploy again; if it persists, check the server can reach the registry (SPILLWAY_NPM_REGISTRY, or npm\'s own configuration).',
  },
  INTERNAL: {
    status: 500,
    meaning: 'A platform fault, not caused by the request.',
    fix: 'Retry; if it persists, report it with the request id from the logs.',
  },
  DEPENDENCY_INSTALL_TIMEOUT: {
    status: 504,
    meaning: "npm did not finish installing the function's `package.json` dependencies within SPILLWAY_NPM_INSTALL_TIMEOUT_MS and was stopped; nothing was cached.",
    fix: 'Deploy again (a slow registry), depend on fewer packages, or raise SPILLWAY_NPM_INSTALL_TIMEOUT_MS.',
  },
  RATE_LIMITED: {
    status: 429,
    meaning: "This API key (or, without one, this client IP) has spent its token bucket (policy `backpressure.tokenBucket`: 10 requests at once, refilled at 2 per second by default).",
    fix: 'Wait the seconds in the `Retry-After` header before sending again, or spread requests out; an operator can raise the bucket in the capacity policy.',
  },
  CIRCUIT_OPEN: {
    status: 503,
    meaning: "The circuit breaker for this function (or for a downstream it needs) is open after consecutive failures; calls are refused without running until it half-opens (policy `backpressure.circuitBreaker`).",
    fix: "Fix what made the last calls fail (see the function's recent executions), then retry after the `Retry-After` header's seconds.",
  },
  LOAD_SHED: {
    status: 503,
    meaning: 'The execution queue is over its load-shedding threshold, and requests of this priority are refused until it drains (policy `backpressure.loadShedding`; high priority is never shed).',
    fix: 'Retry after the `Retry-After` header, or submit with `priority: "high"` for work that must not be shed.',
  },
  BURST_UNAVAILABLE: {
    status: 503,
    meaning: 'The request was routed to the burst tier (by spillover or by a `/burst/` path), and the burst tier could not take it: it is turned off, at its worker limit, failed to start, or its provider refused or throttled the call.',
    fix: 'Retry after the `Retry-After` header; an operator can check SPILLWAY_BURST_TIER and the burst limits in the capacity policy.',
  },
  NO_CAPACITY: {
    status: 503,
    meaning: 'Every baseline worker is at its concurrency limit, the burst tier cannot take the overflow, and the wait queue for a free slot is full.',
    fix: 'Retry after the `Retry-After` header; an operator can raise the baseline size or enable the burst tier.',
  },
  TIMEOUT: {
    status: 504,
    meaning: "The call ran longer on the wall clock than the function's `config.timeout`.",
    fix: 'Make the function faster (await less), or raise `config.timeout` (at most 900000 ms).',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** Codes whose cause is the user's function rather than the platform or the request. */
export const FUNCTION_FAULT_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'FUNCTION_ERROR',
  'BAD_RESPONSE',
  'OUT_OF_MEMORY',
  'CPU_LIMIT',
  'TIMEOUT',
]);

export class SpillwayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'SpillwayError';
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
    this.details = details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }
}

export function isSpillwayError(err: unknown): err is SpillwayError {
  return err instanceof SpillwayError;
}
