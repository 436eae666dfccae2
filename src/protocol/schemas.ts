/**
 * Request shapes of the HTTP API, validated with zod. Messages name the field, the value received
 * and what is allowed, so a user can fix the request without reading the docs.
 */
import { z } from 'zod';
import { SpillwayError } from '../core/errors.js';

export const FUNCTION_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$/;

export const LIMITS = Object.freeze({
  timeout: { min: 1, max: 900_000, default: 30_000 },
  retryCount: { min: 0, max: 10, default: 3 },
  memoryLimitMb: { min: 8, max: 1024, default: 128 },
  cpuLimitMs: { min: 1, max: 900_000, default: 10_000 },
});

const bounded = (key: keyof typeof LIMITS, unit: string) =>
  z
    .number({ invalid_type_error: `must be a number (${unit})` })
    .int(`must be a whole number of ${unit}`)
    .min(LIMITS[key].min, `must be between ${LIMITS[key].min} and ${LIMITS[key].max} ${unit}`)
    .max(LIMITS[key].max, `must be between ${LIMITS[key].min} and ${LIMITS[key].max} ${unit}`);

export const configSchema = z
  .object({
    timeout: bounded('timeout', 'ms'),
    retryCount: bounded('retryCount', 'retries'),
    memoryLimitMb: bounded('memoryLimitMb', 'MiB'),
    cpuLimitMs: bounded('cpuLimitMs', 'ms'),
  })
  .strict();

const files = z.record(z.string().min(1), z.string(), { invalid_type_error: 'must be an object mapping file paths to source strings' });

export const createFunctionSchema = z
  .object({
    name: z.string({ required_error: 'is required' }).regex(FUNCTION_NAME, 'must be 1-63 letters, digits, "-" or "_", starting with a letter or digit'),
    description: z.string().max(2000, 'must be at most 2000 characters').default(''),
    code: z.string().min(1, 'must not be empty').max(5_000_000, 'must be at most 5,000,000 characters').optional(),
    files: files.optional(),
    entry: z.string().optional(),
    status: z.enum(['active', 'inactive']).default('active'),
    config: configSchema.partial().default({}),
  })
  .strict()
  .refine((b) => (b.code === undefined) !== (b.files === undefined), { message: 'send exactly one of `code` (one file) or `files` (several)', path: ['code'] });

export const updateFunctionSchema = z
  .object({
    name: z.string().regex(FUNCTION_NAME, 'must be 1-63 letters, digits, "-" or "_", starting with a letter or digit').optional(),
    description: z.string().max(2000, 'must be at most 2000 characters').optional(),
    code: z.string().min(1, 'must not be empty').max(5_000_000).optional(),
    files: files.optional(),
    entry: z.string().optional(),
    status: z.enum(['active', 'inactive']).optional(),
    config: configSchema.partial().optional(),
  })
  .strict()
  .refine((b) => !(b.code !== undefined && b.files !== undefined), { message: 'send at most one of `code` or `files`', path: ['code'] });

export const executeSchema = z.object({ input: z.unknown().optional() }).strict();

export const executionQuerySchema = z
  .object({
    functionId: z.string().optional(),
    status: z.enum(['pending', 'running', 'completed', 'failed']).optional(),
    trigger: z.enum(['async', 'http']).optional(),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
  })
  .strict();

export type CreateFunctionBody = z.output<typeof createFunctionSchema>;
export type UpdateFunctionBody = z.output<typeof updateFunctionSchema>;

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function valueAt(root: unknown, path: Array<string | number>): unknown {
  let v = root;
  for (const key of path) v = v && typeof v === 'object' ? (v as Record<string | number, unknown>)[key] : undefined;
  return v;
}

/** Validates `input` against `schema`, or throws VALIDATION_FAILED naming every bad field. */
export function parseOrThrow<T extends z.ZodTypeAny>(schema: T, input: unknown, what: string): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') return `${issue.path.length ? `${issue.path.join('.')}: ` : ''}unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    const path = issue.path.join('.') || what;
    return `${path}: got ${describeValue(valueAt(input, issue.path))}, ${issue.message}`;
  });
  throw new SpillwayError('VALIDATION_FAILED', problems.join('; '), { problems });
}

export const scalingHistoryQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(1000).optional(),
    action: z.enum(['scale_up', 'scale_down', 'spillover_on', 'spillover_off']).optional(),
    tier: z.string().regex(/^[a-z][a-z0-9_-]*$/, 'must be a tier or pool name such as baseline, burst, executions').optional(),
    since: z.string().datetime({ message: 'must be an ISO-8601 time such as 2026-01-01T00:00:00Z' }).optional(),
  })
  .strict();

/** The event types `/api/events` can send (src/core/events.ts has their shapes). */
export const EVENT_TYPES = ['execution_started', 'execution_completed', 'scaling_event', 'load_test_progress', 'load_test_completed'] as const;

/** Live events (WebSocket `/api/events`): which types, and optionally one function or one execution. */
export const eventsQuerySchema = z
  .object({
    types: z
      .string()
      .transform((s) => s.split(',').filter(Boolean))
      .pipe(z.array(z.enum(EVENT_TYPES)).min(1, 'name at least one event type'))
      .optional(),
    functionId: z.string().min(1).optional(),
    executionId: z.string().min(1).optional(),
  })
  .strict();

// Metrics and costs (docs/metrics.md).

const oneOf = <T extends string, U extends [T, ...T[]]>(values: U) => z.enum(values, { errorMap: () => ({ message: `must be one of ${values.join(', ')}` }) });

/** `GET /api/metrics`, `/api/metrics/functions[/:id]`: the window, ending now. */
export const metricsQuerySchema = z.object({ window: oneOf(['1h', '24h', '7d', '30d']).default('24h') }).strict();

/** `GET /api/costs/trends`: hourly buckets for 24h, daily for 7d and 30d. */
export const costTrendsQuerySchema = z.object({ period: oneOf(['24h', '7d', '30d']).default('24h') }).strict();

const utcDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD (UTC)')
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), 'must be a real calendar date as YYYY-MM-DD (UTC)');

/** `GET /api/costs/system`: whole UTC days, both ends included, at most 366 days; default today. */
export const costSystemQuerySchema = z
  .object({ startDate: utcDate.optional(), endDate: utcDate.optional() })
  .strict()
  .refine((q) => q.startDate === undefined || q.endDate === undefined || q.startDate <= q.endDate, { message: 'must not be after endDate', path: ['startDate'] })
  .refine((q) => q.startDate === undefined || q.endDate === undefined || Date.parse(q.endDate) - Date.parse(q.startDate) <= 365 * 86_400_000, { message: 'the period must be at most 366 days', path: ['endDate'] });

/**
 * Load tests (`POST /api/load-tests`, docs/load-tester.md). The bounds keep a test from taking the
 * platform down: the load generator shares the server's machine, so its connections, its length
 * and its request count are capped, and only one test runs at a time.
 */
export const LOAD_TEST_LIMITS = Object.freeze({
  concurrency: { min: 1, max: 200, default: 10 },
  durationS: { min: 1, max: 60, default: 10 },
  requests: { min: 1, max: 100_000 },
  rate: { min: 1, max: 5_000 },
  bodyChars: 1_048_576,
  headers: 32,
});

// No HEAD: autocannon's response parser does not know a HEAD response has no body, and would wait for one.
const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
/** Headers the load generator sets itself: framing, the target, and the client key the token bucket counts. */
const RESERVED_LOAD_TEST_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'x-api-key']);

const loadTestBound = (key: 'concurrency' | 'durationS' | 'requests' | 'rate', unit: string) => {
  const { min, max } = LOAD_TEST_LIMITS[key];
  const range = `must be between ${min} and ${max.toLocaleString('en-US')} ${unit}`;
  return z.number({ invalid_type_error: `must be a number (${unit})` }).int(`must be a whole number of ${unit}`).min(min, range).max(max, range);
};

export const loadTestSchema = z
  .object({
    function: z.string({ required_error: 'is required (the id or name of the function to call)' }).min(1, 'must name a function (id or name)'),
    concurrency: loadTestBound('concurrency', 'connections').default(LOAD_TEST_LIMITS.concurrency.default),
    durationS: loadTestBound('durationS', 'seconds').optional(),
    requests: loadTestBound('requests', 'requests').optional(),
    rate: loadTestBound('rate', 'requests per second').optional(),
    method: z.enum(HTTP_METHODS, { errorMap: () => ({ message: `must be one of ${HTTP_METHODS.join(', ')}` }) }).default('GET'),
    path: z
      .string()
      .max(2048, 'must be at most 2048 characters')
      .regex(/^\/[^\s#]*$/, 'must start with "/" and contain no spaces or "#" (it is appended to /fn/<name>)')
      .default('/'),
    body: z.string().max(LOAD_TEST_LIMITS.bodyChars, `must be at most ${LOAD_TEST_LIMITS.bodyChars} characters`).optional(),
    headers: z
      .record(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'header names must be HTTP tokens'), z.string().max(8192, 'must be at most 8192 characters'), {
        invalid_type_error: 'must be an object mapping header names to string values',
      })
      .refine((h) => Object.keys(h).length <= LOAD_TEST_LIMITS.headers, `must have at most ${LOAD_TEST_LIMITS.headers} headers`)
      .refine((h) => !Object.keys(h).some((k) => RESERVED_LOAD_TEST_HEADERS.has(k.toLowerCase())), {
        message: `must not set ${[...RESERVED_LOAD_TEST_HEADERS].join(', ')} (the load tester sets them; its requests carry x-api-key: loadtest)`,
      })
      .default({}),
  })
  .strict()
  .refine((b) => b.durationS === undefined || b.requests === undefined, { message: 'send durationS (a timed test) or requests (a counted one), not both', path: ['requests'] })
  // Neither: a timed test of the default length.
  .transform((b) => (b.durationS === undefined && b.requests === undefined ? { ...b, durationS: LOAD_TEST_LIMITS.durationS.default } : b));

export type LoadTestOptions = z.output<typeof loadTestSchema>;
