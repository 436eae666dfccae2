/**
 * Issue 3 §10: kill the server with SIGKILL while executions are queued and running; after a
 * restart every one of them completes (or fails honestly) and none is lost. Runs on the embedded
 * backends and on PostgreSQL + Redis Streams.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pg from 'pg';
import { Redis } from 'ioredis';

const POSTGRES_URL = process.env.SPILLWAY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.SPILLWAY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

interface Server {
  child: ChildProcess;
  base: string;
  exited: Promise<void>;
}

function startServer(env: Record<string, string>): Promise<Server> {
  const child = spawn(process.execPath, ['--no-node-snapshot', '--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, PORT: '0', SPILLWAY_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      const match = out.match(/API at (http:\/\/[\d.:]+)\/api/);
      if (match) resolve({ child, base: match[1], exited });
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening:\n${out}\n${err}`)));
  });
}

async function json(base: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${base}${path}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  return { status: res.status, body: await res.json() };
}

/** Polls the other process's API until `done` holds; the state lives in another process, so there is no event to await. */
async function until<T>(fn: () => Promise<T>, done: (v: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function crashAndRecover(env: Record<string, string> & { SPILLWAY_DATA_DIR: string }): Promise<void> {
  // 20 submissions at once: more than the default token bucket (10) admits; this test is about crashes.
  const policyFile = join(env.SPILLWAY_DATA_DIR, 'capacity-policy.json');
  await writeFile(policyFile, JSON.stringify({ backpressure: { tokenBucket: { burst: 100 } } }));
  const common = { SPILLWAY_CAPACITY_POLICY: policyFile, SPILLWAY_QUEUE_LEASE_MS: '1000', SPILLWAY_EXECUTION_CONCURRENCY: '4', SPILLWAY_INSTANCE_ID: `crash-${randomBytes(3).toString('hex')}`, ...env };
  let server = await startServer(common);
  const created = await json(server.base, 'POST', '/api/functions', {
    name: 'slow-double',
    code: 'export async function double(n: number) { await new Promise((r) => setTimeout(r, 400)); return n * 2; }',
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const ids: string[] = [];
  for (let n = 0; n < 20; n++) {
    const res = await json(server.base, 'POST', '/api/functions/slow-double/execute', { input: [n] });
    assert.equal(res.status, 202);
    ids.push(res.body.data.executionId);
  }
  const before = await until(
    () => json(server.base, 'GET', '/api/executions?functionId=slow-double&limit=100').then((r) => r.body.data as any[]),
    (list) => list.some((e) => e.status === 'running'),
    10_000,
    'an execution to be running',
  );
  assert.ok(before.some((e) => e.status === 'pending'), 'some executions are still queued at the crash');
  server.child.kill('SIGKILL');
  await server.exited;

  server = await startServer(common);
  try {
    const after = await until(
      () => Promise.all(ids.map((id) => json(server.base, 'GET', `/api/executions/${id}`).then((r) => r.body.data))),
      (list) => list.every((e) => e && (e.status === 'completed' || e.status === 'failed')),
      30_000,
      'every execution to finish after the restart',
    );
    after.forEach((e, n) => {
      assert.equal(e.status, 'completed', `execution ${n} completed: ${JSON.stringify(e.error)}`);
      assert.equal(e.output, n * 2);
    });
    const resumed = after.filter((e) => e.logs.some((l: any) => /interrupted by a platform restart/.test(l.message)));
    assert.ok(resumed.length >= 1, 'at least one attempt that was running at the crash was run again');
    assert.ok(after.every((e) => e.retryCount === 0), 'an interrupted attempt does not count as a retry');
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
}

describe('kill -9 with executions queued and running', () => {
  it('loses nothing on the embedded backends (SQLite + local queue)', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'spillway-crash-'));
    try {
      await crashAndRecover({ SPILLWAY_DATA_DIR: dataDir });
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('loses nothing on PostgreSQL + Redis Streams', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'spillway-crash-'));
    const schema = `spw_crash_${randomBytes(4).toString('hex')}`;
    const prefix = `spw-crash-${randomBytes(4).toString('hex')}`;
    try {
      await crashAndRecover({ SPILLWAY_DATA_DIR: dataDir, SPILLWAY_STORE: 'postgres', SPILLWAY_POSTGRES_URL: POSTGRES_URL, SPILLWAY_POSTGRES_SCHEMA: schema, SPILLWAY_QUEUE: 'redis', SPILLWAY_REDIS_URL: REDIS_URL, SPILLWAY_REDIS_PREFIX: prefix });
    } finally {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
