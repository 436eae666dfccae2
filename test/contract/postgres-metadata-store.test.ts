/**
 * Runs the MetadataStore contract against a real PostgreSQL, each suite in a schema of its own,
 * plus what only a shared server can show: schemas isolate, connections are released, several
 * nodes can start against one database at once.
 *
 * The server comes from SPILLWAY_TEST_POSTGRES_URL (default below). An unreachable server fails
 * these tests rather than skipping them: CI starts PostgreSQL, so a skip would hide a broken job.
 */
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { migrations } from '../../src/storage/sql-migrations.js';
import { PostgresMetadataStore } from '../../src/storage/postgres/postgres-metadata-store.js';
import type { FunctionRecord } from '../../src/storage/types.js';
import { metadataStoreContract } from './metadata-store.contract.js';

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/test';
const url = process.env.SPILLWAY_TEST_POSTGRES_URL || DEFAULT_URL;

function redacted(connectionString: string): string {
  try {
    const parsed = new URL(connectionString);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable connection string)';
  }
}

/** Runs `work` on a one-off connection; an unreachable server becomes an error saying what to do. */
async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw new Error(
      `PostgreSQL is not reachable at ${redacted(url)}: ${(err as Error).message}. ` +
        'These tests need a running server: start one (CI does), or set SPILLWAY_TEST_POSTGRES_URL.',
    );
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const newSchema = () => `spw_test_${randomBytes(6).toString('hex')}`;

async function dropSchema(schema: string): Promise<void> {
  await admin((client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
}

describe('PostgreSQL test server', () => {
  it(`is reachable at ${redacted(url)}`, async () => {
    const version = await admin(async (client) => {
      const { rows } = await client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
      return rows[0]?.v;
    });
    assert.match(version ?? '', /^\d+/);
  });
});

metadataStoreContract('PostgresMetadataStore', async () => {
  const schema = newSchema();
  // Probe first so an unreachable server fails with admin()'s message, not a pool timeout.
  await admin(async () => {});
  const store = new PostgresMetadataStore({ connectionString: url, schema });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await dropSchema(schema);
    },
  };
});

const fn: FunctionRecord = {
  id: 'fn_shared',
  name: 'shared',
  description: '',
  status: 'active',
  config: { timeout: 1_000, retryCount: 0, memoryLimitMb: 64, cpuLimitMs: 100 },
  currentVersion: 'f'.repeat(64),
  tier: 'basic',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};

describe('PostgresMetadataStore on a shared server', () => {
  const schemas: string[] = [];
  const stores: PostgresMetadataStore[] = [];
  const open = (schema: string, connectionString = url) => {
    const store = new PostgresMetadataStore({ connectionString, schema });
    stores.push(store);
    return store;
  };
  const schemaFor = () => {
    const schema = newSchema();
    schemas.push(schema);
    return schema;
  };

  after(async () => {
    await Promise.allSettled(stores.map((s) => s.close()));
    for (const schema of schemas) await dropSchema(schema);
  });

  it('upgrades a database made before the rollup: migration 4 builds it from the executions there', async () => {
    const mine = schemaFor();
    const first = open(mine);
    await first.migrate();
    const base = { functionId: fn.id, versionId: fn.currentVersion, trigger: 'http' as const, input: null, output: null, error: null, retryCount: 0, maxRetries: 0, startTime: null, endTime: null, duration: 5, coldStart: false, instanceId: null, logs: [], cost: null, nextAttemptAt: null, inputBytes: 0, outputBytes: 0, replayOf: null };
    await first.insertExecutions([
      { ...base, id: 'ex_pg_1', status: 'completed', createdAt: '2026-01-01T00:00:01.000Z', cpuUs: 120, wallUs: 5_000 },
      { ...base, id: 'ex_pg_2', status: 'failed', createdAt: '2026-01-01T01:10:00.000Z', cpuUs: 300, wallUs: 9_000, coldStart: true },
      { ...base, id: 'ex_pg_3', status: 'pending', createdAt: '2026-01-01T01:20:00.000Z', cpuUs: null, wallUs: null },
    ]);
    await first.close();
    // Back to version 3: no rollup table, no record of migration 4.
    await admin(async (client) => {
      await client.query(`DROP TABLE "${mine}".execution_rollups, "${mine}".execution_rollups_daily`);
      await client.query(`DELETE FROM "${mine}".schema_migrations WHERE version >= 4`);
    });
    const upgraded = open(mine);
    await upgraded.migrate();
    const stats = await upgraded.executionStats({ since: '2026-01-01T00:00:00.000Z', until: '2026-01-01T02:00:00.000Z', exactPercentileLimit: 0 });
    assert.deepEqual([stats.total, stats.completed, stats.failed, stats.pending, stats.coldStarts, stats.cpuUsTotal], [3, 1, 1, 1, 1, 420]);
    const hours = await admin(async (client) => (await client.query(`SELECT hour, executions::int AS n FROM "${mine}".execution_rollups ORDER BY hour`)).rows);
    assert.deepEqual(hours, [{ hour: '2026-01-01T00', n: 1 }, { hour: '2026-01-01T01', n: 1 }]);
  });

  it('creates its tables in its own schema, invisible from another schema', async () => {
    const mine = schemaFor();
    const theirs = schemaFor();
    const a = open(mine);
    const b = open(theirs);
    await a.migrate();
    await b.migrate();
    assert.equal(await a.createFunction(fn), 'created');
    assert.equal(await b.getFunction(fn.id), null);
    assert.equal(await b.createFunction(fn), 'created');

    const tables = await admin(async (client) => {
      const { rows } = await client.query<{ table_name: string }>(
        'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
        [mine],
      );
      return rows.map((r) => r.table_name);
    });
    assert.deepEqual(tables, ['analytics_events', 'dead_letters', 'execution_rollups', 'execution_rollups_daily', 'executions', 'functions', 'kv_entries', 'scaling_events', 'schema_migrations', 'versions']);
  });

  it('lets several stores migrate one new schema at once, and each sees what another acknowledged', async () => {
    const schema = schemaFor();
    const nodes = [open(schema), open(schema), open(schema)];
    await Promise.all(nodes.map((n) => n.migrate()));
    assert.equal(await nodes[0]!.createFunction(fn), 'created');
    assert.deepEqual(await nodes[1]!.getFunction(fn.id), fn);
    assert.equal(await nodes[2]!.createFunction({ ...fn, id: 'fn_other' }), 'name_taken');
    const applied = await admin(async (client) => {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${schema}".schema_migrations`,
      );
      return rows[0]?.n;
    });
    assert.equal(applied, migrations('postgres').length);
  });

  it('releases every pooled connection on close()', async () => {
    const schema = schemaFor();
    const appName = `spw_leak_${randomBytes(4).toString('hex')}`;
    const tagged = new URL(url);
    tagged.searchParams.set('application_name', appName);
    const store = open(schema, tagged.toString());
    await store.migrate();
    const connections = () =>
      admin(async (client) => {
        const { rows } = await client.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
          [appName],
        );
        return rows[0]?.n ?? 0;
      });

    // Concurrent queries make the pool open several connections.
    await Promise.all(Array.from({ length: 5 }, () => store.listExecutions({ functionId: 'fn_x' })));
    assert.ok((await connections()) > 1, 'the pool should have opened several connections');

    await store.close();
    // A backend leaves pg_stat_activity a moment after its client disconnects.
    let left = await connections();
    for (let i = 0; i < 40 && left > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      left = await connections();
    }
    assert.equal(left, 0);
  });
});
