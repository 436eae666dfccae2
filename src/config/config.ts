/**
 * Every setting Spillway reads, in one schema: its env var, default, unit and meaning. Parsed
 * once at start-up (all problems reported together), then frozen. `docs/configuration.md` lists
 * the same keys; a test keeps the two in step.
 */
import { resolve } from 'node:path';
import { z } from 'zod';

/** host, host:port or [v6]:port; the fetch capability checks each entry fully at start-up. */
const ALLOW_HOST_ENTRY = /^(\[[0-9a-f:.]+\]|[a-z0-9_.-]+|[0-9a-f:]+)(:\d{1,5})?$/i;
const validAllowHosts = (value: string) => value.split(/[\s,]+/).filter(Boolean).every((e) => ALLOW_HOST_ENTRY.test(e));

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const CONFIG_SCHEMA = {
  SPILLWAY_HOST: { schema: z.string().min(1).default('127.0.0.1'), description: 'Interface the HTTP server binds to.' },
  PORT: { schema: int(0, 65535).default(5000), description: 'HTTP port (0 picks a free one).' },
  SPILLWAY_DATA_DIR: { schema: z.string().min(1).default('.spillway-data'), description: 'Folder for the embedded SQLite database, queue and blobs.' },
  SPILLWAY_STORE: { schema: z.enum(['sqlite', 'postgres']).default('sqlite'), description: 'Metadata store backend.' },
  SPILLWAY_POSTGRES_URL: { schema: z.string().default('postgres://postgres@127.0.0.1:5432/test'), description: 'PostgreSQL connection string, when SPILLWAY_STORE=postgres.' },
  SPILLWAY_POSTGRES_SCHEMA: { schema: z.string().regex(/^[a-z_][a-z0-9_]*$/).optional(), description: 'PostgreSQL schema to use (created if missing); default is the search_path.' },
  SPILLWAY_QUEUE: { schema: z.enum(['local', 'redis']).default('local'), description: 'Execution queue backend: the embedded durable queue or Redis Streams.' },
  SPILLWAY_REDIS_URL: { schema: z.string().default('redis://127.0.0.1:6379'), description: 'Redis URL, when SPILLWAY_QUEUE=redis.' },
  SPILLWAY_REDIS_PREFIX: { schema: z.string().min(1).default('spillway'), description: 'Key prefix for the Redis Streams queue.' },
  SPILLWAY_INSTANCE_ID: { schema: z.string().min(1).optional(), description: 'Name of this node (queue consumer name, execution instanceId); default host-port.' },
  SPILLWAY_MAX_BODY_BYTES: { schema: int(1024, 100 * 1024 * 1024).default(1024 * 1024), description: 'Largest request body accepted by the API and by /fn routes, bytes.' },
  SPILLWAY_EXECUTION_CONCURRENCY: { schema: int(1, 10000).default(256), description: 'Executions one execution replica runs at once; the executions scaler (capacity policy `executions`, seed 001) runs 1 to 10 replicas on queue depth.' },
  SPILLWAY_QUEUE_LEASE_MS: { schema: int(100, 3_600_000).default(15_000), description: 'How long a received execution job stays invisible before another worker may take it; renewed while it runs.' },
  SPILLWAY_RETRY_BASE_DELAY_MS: { schema: int(1, 3_600_000).default(2000), description: 'First retry delay; attempt n waits base × 2^(n-1) (seed 001: 2 s, 4 s, 8 s).' },
  SPILLWAY_MAX_WARM_ISOLATES: { schema: int(1, 100_000).default(5000), description: 'Warm isolates kept; the least recently used idle one is disposed past this.' },
  SPILLWAY_ISOLATE_POOL_SIZE: { schema: int(0, 64).default(4), description: 'Isolates kept ready with the guest runtime loaded, so the first call of a new version only loads its bundle (0 turns the pool off).' },
  SPILLWAY_ISOLATE_IDLE_MS: { schema: int(1000, 86_400_000).default(15 * 60_000), description: 'An isolate idle this long is disposed.' },
  SPILLWAY_MAX_LOG_BYTES: { schema: int(1024, 10 * 1024 * 1024).default(64 * 1024), description: 'Console output kept per invocation, bytes.' },
  SPILLWAY_NPM_INSTALL_TIMEOUT_MS: { schema: int(1000, 3_600_000).default(120_000), description: "Longest an npm install of a function's package.json dependencies may run at deploy before it is stopped, ms." },
  SPILLWAY_NPM_MAX_INSTALL_BYTES: { schema: int(1024 * 1024, 10 * 1024 * 1024 * 1024).default(256 * 1024 * 1024), description: "Largest node_modules one dependency set may install to, bytes." },
  SPILLWAY_NPM_REGISTRY: { schema: z.string().url().optional(), description: "npm registry URL for function dependencies; default: npm's own configuration." },
  SPILLWAY_FETCH_ALLOW_HOSTS: {
    schema: z.string().default('').refine(validAllowHosts, { message: 'expected host or host:port entries separated by commas or spaces (IPv6 as [::1]:8080)' }),
    description: "Hosts (host or host:port, comma-separated) that handlers' outbound fetch may reach even though they are or resolve to loopback, private, link-local or unspecified addresses, which are refused by default.",
  },
  SPILLWAY_FETCH_TIMEOUT_MS: { schema: int(100, 3_600_000).default(30_000), description: "Longest one outbound fetch from a handler may take, from start to the end of its response body, ms." },
  SPILLWAY_FETCH_MAX_CONCURRENT: { schema: int(1, 1000).default(32), description: 'Outbound fetches one invocation may have open at once (a fetch is open until its response body ends or is cancelled).' },
  SPILLWAY_CAPACITY_POLICY: { schema: z.string().min(1).optional(), description: "JSON file with capacity policy overrides (baseline, spillover, burst, executions, pools, backpressure), deep-merged over the seeds' defaults; see docs/capacity.md." },
  SPILLWAY_BASELINE_WORKERS: { schema: int(1, 64).optional(), description: 'Baseline workers to start with (the server itself is one); overrides the policy\'s baseline.minWorkers.' },
  SPILLWAY_BURST_TIER: { schema: z.enum(['local', 'lambda', 'off']).default('local'), description: 'The burst tier: extra local worker processes started on demand, AWS Lambda, or none.' },
  SPILLWAY_LAMBDA_REGION: { schema: z.string().min(1).default('eu-west-2'), description: 'AWS region of the Lambda burst tier (seed 004 runs in London).' },
  SPILLWAY_LAMBDA_ROLE_ARN: { schema: z.string().min(1).optional(), description: 'Execution role ARN for the Lambda functions Spillway creates; required when SPILLWAY_BURST_TIER=lambda.' },
  SPILLWAY_LAMBDA_ENDPOINT: { schema: z.string().url().optional(), description: "Lambda API endpoint override (default: the region's public endpoint)." },
  SPILLWAY_LAMBDA_FUNCTION_PREFIX: { schema: z.string().regex(/^[A-Za-z0-9_-]{1,20}$/).default('spillway'), description: 'Prefix of the Lambda function names Spillway creates.' },
  SPILLWAY_LAMBDA_MEMORY_MB: { schema: int(128, 10_240).default(2048), description: 'Memory of each Lambda function (seed 000: 2048 MB, ARM64).' },
  SPILLWAY_LAMBDA_ARCHITECTURE: { schema: z.enum(['arm64', 'x86_64']).default('arm64'), description: 'Lambda architecture.' },
  SPILLWAY_LAMBDA_RUNTIME: { schema: z.string().regex(/^nodejs\d+\.x$/).default('nodejs22.x'), description: 'Lambda runtime for the functions Spillway creates.' },
  SPILLWAY_LOG_LEVEL: { schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'), description: 'Server log level (JSON logs on stdout).' },
} as const;

type Schema = typeof CONFIG_SCHEMA;
export type Config = { readonly [K in keyof Schema]: z.output<Schema[K]['schema']> };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

/** Parses settings from the environment (unknown SPILLWAY_* keys are rejected) plus overrides. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Record<keyof Schema, unknown>> = {}): Config {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(env)) {
    if (key.startsWith('SPILLWAY_') && !(key in CONFIG_SCHEMA) && !key.startsWith('SPILLWAY_TEST_')) {
      problems.push(`${key}: unknown setting (see docs/configuration.md)`);
    }
  }
  for (const [key, spec] of Object.entries(CONFIG_SCHEMA)) {
    const raw = key in overrides ? overrides[key as keyof Schema] : env[key] === '' ? undefined : env[key];
    const parsed = (spec.schema as z.ZodTypeAny).safeParse(raw);
    if (parsed.success) out[key] = parsed.data;
    else problems.push(`${key}: got ${JSON.stringify(raw)}, ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  out.SPILLWAY_DATA_DIR = resolve(String(out.SPILLWAY_DATA_DIR));
  return Object.freeze(out) as Config;
}

/** The effective config for the start-up log, with credentials in URLs hidden. */
export function describeConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    out[key] = typeof value === 'string' ? value.replace(/\/\/([^:@/]+):([^@/]+)@/, '//$1:***@') : value;
  }
  return out;
}
