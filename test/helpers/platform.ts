/**
 * Starts a real Spillway (real HTTP server, real SQLite or PostgreSQL, real queue, real isolates)
 * on a free port with its own data folder, for end-to-end tests.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServer } from '../../src/api/server.js';
import type { CapacityPolicyOverrides } from '../../src/capacity/policy.js';
import { loadConfig, type Config } from '../../src/config/config.js';
import type { Clock } from '../../src/core/clock.js';
import { createPlatform, type Platform } from '../../src/platform.js';

export interface TestPlatform {
  base: string;
  platform: Platform;
  dataDir: string;
  close(): Promise<void>;
}

export interface StartOptions {
  /** The platform's Clock (a ManualClock moves backpressure windows, queue delays and leases). */
  clock?: Clock;
  /** Capacity policy overrides, written to a file named by SPILLWAY_CAPACITY_POLICY. */
  policy?: CapacityPolicyOverrides;
}

export async function startPlatform(overrides: Partial<Record<keyof Config, unknown>> = {}, options: StartOptions = {}): Promise<TestPlatform> {
  const dataDir = await mkdtemp(join(tmpdir(), 'spillway-test-'));
  const policyFile = options.policy ? join(dataDir, 'capacity-policy.json') : undefined;
  if (policyFile) await writeFile(policyFile, JSON.stringify(options.policy));
  const config = loadConfig({}, { PORT: 0, SPILLWAY_DATA_DIR: dataDir, SPILLWAY_LOG_LEVEL: 'silent', SPILLWAY_RETRY_BASE_DELAY_MS: 20, ...(policyFile ? { SPILLWAY_CAPACITY_POLICY: policyFile } : {}), ...overrides });
  const errors: unknown[] = [];
  const platform = await createPlatform(config, { clock: options.clock, onError: (err) => errors.push(err) });
  const app = await buildServer(platform, { logger: false });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    base: address,
    platform,
    dataDir,
    async close() {
      await app.close();
      await platform.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: { success: boolean; data: T; error: { code: string; message: string; details?: Record<string, unknown> } };
}

/** Calls the JSON API. */
export async function api<T = any>(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : (undefined as never) };
}

/** Deploys a function and returns its record; fails the test on anything but 201. */
export async function deploy(base: string, name: string, code: string | Record<string, string>, config: Record<string, number> = {}): Promise<any> {
  const res = await api(base, 'POST', '/api/functions', typeof code === 'string' ? { name, code, config } : { name, files: code, config });
  if (res.status !== 201) throw new Error(`deploy ${name} failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data;
}

/** Waits until an execution reaches a final state by listening to the platform's events. */
export async function waitForExecution(t: TestPlatform, executionId: string, timeoutMs = 20_000): Promise<any> {
  const final = (s: string) => s === 'completed' || s === 'failed';
  const current = await t.platform.store.getExecution(executionId);
  if (current && final(current.status)) return current;
  const event = t.platform.events.once('execution_completed', (e) => e.executionId === executionId && final(e.status));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`execution ${executionId} did not finish in ${timeoutMs} ms`)), timeoutMs)));
  try {
    const again = await t.platform.store.getExecution(executionId);
    if (again && final(again.status)) return again;
    await Promise.race([event, timeout]);
  } finally {
    clearTimeout(timer);
  }
  return t.platform.store.getExecution(executionId);
}
