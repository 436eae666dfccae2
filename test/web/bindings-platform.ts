/**
 * For the platform-bindings tests: a real Spillway (HTTP server, metadata store, isolates) on a
 * data folder the test owns, so it can be stopped and started again on the same data, optionally
 * with a ManualClock (key expiry) or on PostgreSQL.
 */
import { buildServer } from '../../src/api/server.js';
import { loadConfig, type Config } from '../../src/config/config.js';
import type { Clock } from '../../src/core/clock.js';
import { createPlatform, type Platform } from '../../src/platform.js';
import type { ExecutionRecord } from '../../src/storage/types.js';

export const POSTGRES_URL = process.env.SPILLWAY_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';

export interface RunningPlatform {
  base: string;
  platform: Platform;
  errors: unknown[];
  /** Stops the server and the platform; the data folder stays. */
  stop(): Promise<void>;
}

export async function startOn(dataDir: string, overrides: Partial<Record<keyof Config, unknown>> = {}, clock?: Clock): Promise<RunningPlatform> {
  const config = loadConfig({}, { PORT: 0, SPILLWAY_DATA_DIR: dataDir, SPILLWAY_LOG_LEVEL: 'silent', ...overrides });
  const errors: unknown[] = [];
  const platform = await createPlatform(config, { clock, onError: (err) => errors.push(err) });
  const app = await buildServer(platform, { logger: false });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    base,
    platform,
    errors,
    async stop() {
      await app.close();
      await platform.close();
    },
  };
}

/**
 * Resolves with the record of the next HTTP invocation of `functionId`, handed to the platform's
 * InvocationRecorder once everything the call started (its `ctx.waitUntil` work included) ended.
 */
export function nextInvocationRecord(platform: Platform, functionId: string): Promise<ExecutionRecord> {
  const recorder = platform.recorder;
  const original = recorder.record;
  return new Promise((resolve) => {
    recorder.record = function (this: typeof recorder, execution: ExecutionRecord) {
      original.call(this, execution);
      if (execution.functionId === functionId) {
        recorder.record = original;
        resolve(execution);
      }
    };
  });
}

/** Calls a deployed function over HTTP and parses its JSON answer; fails on anything but 200. */
export async function callJson<T = any>(base: string, name: string, path = '/', init?: RequestInit): Promise<T> {
  const res = await fetch(`${base}/fn/${name}${path}`, init);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`/fn/${name}${path.slice(0, 200)} answered ${res.status}: ${text.slice(0, 2000)}`);
  return JSON.parse(text) as T;
}
