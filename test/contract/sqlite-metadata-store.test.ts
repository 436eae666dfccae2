/**
 * Runs the MetadataStore contract against SQLite, plus what only a file-backed store can show:
 * acknowledged writes are on disk.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type BetterSqlite3 from 'better-sqlite3';
import Database from '../../src/storage/sqlite/driver.js';
import { EXECUTIONS, FUNCTIONS, insertParams, insertSql, migrations } from '../../src/storage/sql-migrations.js';
import { SqliteMetadataStore } from '../../src/storage/sqlite/sqlite-metadata-store.js';
import type { ExecutionRecord, FunctionRecord } from '../../src/storage/types.js';
import { metadataStoreContract } from './metadata-store.contract.js';

const makeTempDir = () => mkdtemp(join(tmpdir(), 'spillway-sqlite-'));

metadataStoreContract('SqliteMetadataStore', async () => {
  const dir = await makeTempDir();
  const store = new SqliteMetadataStore({ path: join(dir, 'metadata.db') });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

const fn: FunctionRecord = {
  id: 'fn_durable',
  name: 'durable',
  description: '',
  status: 'active',
  config: { timeout: 1_000, retryCount: 0, memoryLimitMb: 64, cpuLimitMs: 100 },
  currentVersion: 'e'.repeat(64),
  tier: 'basic',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};

const execution: ExecutionRecord = {
  id: 'ex_durable',
  functionId: fn.id,
  versionId: fn.currentVersion,
  trigger: 'http',
  input: { n: 1 },
  output: { n: 2 },
  status: 'completed',
  error: null,
  retryCount: 0,
  maxRetries: 0,
  createdAt: '2026-01-01T00:00:01.000Z',
  startTime: '2026-01-01T00:00:01.000Z',
  endTime: '2026-01-01T00:00:01.005Z',
  duration: 5,
  cpuUs: 120,
  wallUs: 5_000,
  coldStart: false,
  instanceId: 'isolate-1',
  logs: [],
  cost: null,
  nextAttemptAt: null,
  inputBytes: 7,
  outputBytes: 7,
  replayOf: null,
};

describe('SqliteMetadataStore on disk', () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir();
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps acknowledged writes across close and reopen', async () => {
    const path = join(dir, 'reopen.db');
    const first = new SqliteMetadataStore({ path });
    await first.migrate();
    assert.equal(await first.createFunction(fn), 'created');
    await first.insertExecutions([execution]);
    await first.close();

    const second = new SqliteMetadataStore({ path });
    try {
      await second.migrate();
      assert.deepEqual(await second.getFunction(fn.id), fn);
      assert.deepEqual(await second.getExecution(execution.id), execution);
    } finally {
      await second.close();
    }
  });

  it('keeps acknowledged writes when the writing process is killed without closing', async () => {
    const path = join(dir, 'killed.db');
    const moduleUrl = new URL('../../src/storage/sqlite/sqlite-metadata-store.ts', import.meta.url).href;
    // The child exits by SIGKILL straight after the promises resolve: no close(), no WAL checkpoint.
    const script = `
      import { SqliteMetadataStore } from ${JSON.stringify(moduleUrl)};
      const store = new SqliteMetadataStore({ path: ${JSON.stringify(path)} });
      await store.migrate();
      await store.createFunction(${JSON.stringify(fn)});
      await store.createExecution(${JSON.stringify(execution)});
      process.kill(process.pid, 'SIGKILL');
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      encoding: 'utf8',
    });
    assert.equal(child.signal, 'SIGKILL', `child did not reach the kill: ${child.stderr}`);

    const reopened = new SqliteMetadataStore({ path });
    try {
      assert.deepEqual(await reopened.getFunction(fn.id), fn);
      assert.deepEqual(await reopened.getExecution(execution.id), execution);
    } finally {
      await reopened.close();
    }
  });

  it('upgrades a database made before the bindings tables, keeping its functions', async () => {
    const path = join(dir, 'v1.db');
    const raw = new Database(path);
    for (const statement of migrations('sqlite')[0]!) raw.exec(statement);
    raw.pragma('user_version = 1');
    raw.prepare(insertSql(FUNCTIONS, 'sqlite')).run(insertParams(FUNCTIONS, [fn], 'sqlite'));
    raw.close();
    const v1 = new SqliteMetadataStore({ path });
    await v1.migrate();
    try {
      assert.deepEqual(await v1.getFunction(fn.id), fn);
      const entry = { functionId: fn.id, key: 'k', value: new Uint8Array([1]), type: 'bytes' as const, metadata: null, expiresAt: null, updatedAt: fn.createdAt };
      assert.equal(await v1.kvPut(entry), 'stored');
      assert.deepEqual(await v1.kvGet(fn.id, 'k', 0), entry);
      assert.equal(await v1.deleteFunction(fn.id), true);
      assert.equal(await v1.kvGet(fn.id, 'k', 0), null);
    } finally {
      await v1.close();
    }
  });

  it('upgrades a database made before the rollup: migration 4 builds it from the executions there', async () => {
    const path = join(dir, 'v3.db');
    const raw = new Database(path);
    for (const step of migrations('sqlite').slice(0, 3)) for (const statement of step) raw.exec(statement);
    raw.pragma('user_version = 3');
    const rows: ExecutionRecord[] = [
      execution,
      { ...execution, id: 'ex_v3_2', status: 'failed', wallUs: 9_000, cpuUs: 300, coldStart: true, createdAt: '2026-01-01T01:10:00.000Z' },
      { ...execution, id: 'ex_v3_3', status: 'pending', wallUs: null, cpuUs: null, createdAt: '2026-01-01T01:20:00.000Z' },
    ];
    for (const r of rows) raw.prepare(insertSql(EXECUTIONS, 'sqlite')).run(insertParams(EXECUTIONS, [r], 'sqlite'));
    raw.close();
    const v3 = new SqliteMetadataStore({ path });
    await v3.migrate();
    try {
      // Whole hours only, so every final row comes from the rollup.
      const stats = await v3.executionStats({ since: '2026-01-01T00:00:00.000Z', until: '2026-01-01T02:00:00.000Z', exactPercentileLimit: 0 });
      assert.deepEqual([stats.total, stats.completed, stats.failed, stats.pending, stats.coldStarts, stats.cpuUsTotal], [3, 1, 1, 1, 1, 420]);
      const check = new Database(path, { readonly: true });
      try {
        assert.equal(check.pragma('user_version', { simple: true }), migrations('sqlite').length);
        assert.deepEqual(check.prepare('SELECT hour, executions FROM execution_rollups ORDER BY hour').all(), [
          { hour: '2026-01-01T00', executions: 1 },
          { hour: '2026-01-01T01', executions: 1 },
        ]);
      } finally {
        check.close();
      }
    } finally {
      await v3.close();
    }
  });

  it('creates a missing parent directory and leaves the file in WAL mode', async () => {
    const path = join(dir, 'nested', 'deeper', 'wal.db');
    const store = new SqliteMetadataStore({ path });
    await store.migrate();
    await store.close();
    const raw = new Database(path, { readonly: true });
    try {
      assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      raw.close();
    }
  });
});
