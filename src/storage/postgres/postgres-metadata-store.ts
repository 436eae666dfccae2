/**
 * The metadata store on PostgreSQL (pg Pool): for multi-node deployments, where every node shares
 * one database. Durability is PostgreSQL's: a query resolves after its commit is flushed, as long
 * as the server keeps `synchronous_commit` on (its default).
 */
import pg from 'pg';
import type {
  AnalyticsEventRecord,
  ScalingEventQuery,
  ScalingEventRecord,
  AnalyticsQuery,
  DeadLetterRecord,
  ExecutionBucket,
  ExecutionBucketQuery,
  ExecutionQuery,
  ExecutionRecord,
  ExecutionStats,
  FunctionExecutionStats,
  FunctionRecord,
  KvEntry,
  KvListing,
  KvListQuery,
  MetadataStore,
  StatsWindow,
  VersionRecord,
} from '../types.js';
import {
  ANALYTICS_EVENTS,
  SCALING_EVENTS,
  DEAD_LETTERS,
  EXECUTIONS,
  FUNCTIONS,
  KV_ENTRIES,
  VERSIONS,
  decodeRow,
  insertParams,
  insertSql,
  listLimit,
  migrations,
  prefixUpperBound,
  selectList,
  updateParams,
  updateSql,
  upsertSql,
} from '../sql-migrations.js';
import type { Table } from '../sql-migrations.js';
import { aggregateSql, decodeBucket, decodeFunctionStats, decodeStats, windowFilter, type StatsGroup } from '../sql-stats.js';

export interface PostgresMetadataStoreOptions {
  connectionString: string;
  /**
   * Schema holding the tables, created by migrate() if missing; every pooled connection searches
   * only it. Lowercase letters, digits and underscores. Default: the server's search_path.
   */
  schema?: string;
}

type Row = Record<string, unknown>;

const D = 'postgres';
const JSON_OID = 114;
const JSONB_OID = 3802;
/** 24 columns a row: 1000 rows stay well under PostgreSQL's 65535 parameters a statement. */
const INSERT_CHUNK = 1000;
/** Serialises migrate() across processes starting against the same database. */
const MIGRATE_LOCK = 0x5350_5731;

/**
 * pg would JSON.parse json/jsonb columns itself, turning both SQL NULL and JSON `null` into `null`;
 * decodeRow needs the text to tell them apart (execution input/output keep `undefined`).
 */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === JSON_OID || oid === JSONB_OID
      ? (text: string) => text
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

const SQL = {
  insertFunction: insertSql(FUNCTIONS, D),
  updateFunction: updateSql(FUNCTIONS, D),
  getFunction: `SELECT ${selectList(FUNCTIONS)} FROM functions WHERE id = $1`,
  getFunctionByName: `SELECT ${selectList(FUNCTIONS)} FROM functions WHERE name = $1`,
  listFunctions: `SELECT ${selectList(FUNCTIONS)} FROM functions ORDER BY name`,
  // One statement, so the versions and the function go together without a transaction.
  deleteFunction: 'WITH gone AS (DELETE FROM versions WHERE function_id = $1) DELETE FROM functions WHERE id = $1',
  putVersion: insertSql(VERSIONS, D, 1, true),
  getVersion: `SELECT ${selectList(VERSIONS)} FROM versions WHERE function_id = $1 AND id = $2`,
  listVersions: `SELECT ${selectList(VERSIONS)} FROM versions WHERE function_id = $1 ORDER BY created_at DESC, seq DESC`,
  insertExecution: insertSql(EXECUTIONS, D),
  updateExecution: updateSql(EXECUTIONS, D),
  getExecution: `SELECT ${selectList(EXECUTIONS)} FROM executions WHERE id = $1`,
  addDeadLetter: insertSql(DEAD_LETTERS, D),
  getDeadLetter: `SELECT ${selectList(DEAD_LETTERS)} FROM dead_letters WHERE id = $1`,
  listDeadLetters:
    `SELECT ${selectList(DEAD_LETTERS)} FROM dead_letters ORDER BY created_at DESC, seq DESC LIMIT $1`,
  markDeadLetterReplayed:
    'UPDATE dead_letters SET replay_execution_id = $1, replayed_at = $2 WHERE id = $3 AND replayed_at IS NULL',
  kvGet:
    `SELECT ${selectList(KV_ENTRIES)} FROM kv_entries WHERE function_id = $1 AND entry_key = $2 ` +
    'AND (expires_at IS NULL OR expires_at > $3)',
  kvPut: upsertSql(KV_ENTRIES, D),
  kvDelete: 'DELETE FROM kv_entries WHERE function_id = $1 AND entry_key = $2',
  kvPurgeExpired:
    'DELETE FROM kv_entries WHERE ctid IN (SELECT ctid FROM kv_entries WHERE expires_at <= $1 LIMIT $2)',
  // One statement for the whole batch (five arrays, however many events); events whose function
  // is gone are filtered out rather than failing the batch on the foreign key.
  insertAnalyticsEvents:
    `INSERT INTO analytics_events (${selectList(ANALYTICS_EVENTS)}) ` +
    'SELECT e.id, e.function_id, e.name, e.properties::json, e.created_at ' +
    'FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) ' +
    'WITH ORDINALITY AS e (id, function_id, name, properties, created_at, n) ' +
    'WHERE EXISTS (SELECT 1 FROM functions f WHERE f.id = e.function_id) ORDER BY e.n',
  insertScalingEvent: insertSql(SCALING_EVENTS, D),
} as const;

/** Columns of a key listing, in the order kvList reads them. */
const KV_KEY_COLUMNS = 'entry_key, value_type, octet_length(value) AS size, metadata, expires_at, updated_at';
/** PostgreSQL's foreign_key_violation. */
const FOREIGN_KEY_VIOLATION = '23503';

export class PostgresMetadataStore implements MetadataStore {
  private readonly pool: pg.Pool;
  private readonly schema: string | undefined;
  /** Server-side prepared statement names by SQL text (pg prepares a named query once a connection). */
  private readonly statementNames = new Map<string, string>();
  private closed = false;

  constructor(options: PostgresMetadataStoreOptions) {
    if (options.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema)) {
      throw new Error(`invalid schema name ${JSON.stringify(options.schema)}`);
    }
    this.schema = options.schema;
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      types,
      // A startup parameter, so the path is in place before any query on a new connection.
      ...(options.schema !== undefined ? { options: `-c search_path=${options.schema}` } : {}),
    });
    // An idle connection that breaks (server restart) is dropped by the pool; without a listener
    // the 'error' event would crash the process. The next query reports its own failure.
    this.pool.on('error', () => {});
  }

  async migrate(): Promise<void> {
    const steps = migrations('postgres');
    await this.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATE_LOCK]);
      if (this.schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)',
      );
      const { rows } = await client.query<{ version: number | null }>(
        'SELECT max(version) AS version FROM schema_migrations',
      );
      const current = rows[0]?.version ?? 0;
      for (let v = current; v < steps.length; v++) {
        for (const statement of steps[v]!) await client.query(statement);
        await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [
          v + 1,
          new Date().toISOString(),
        ]);
      }
    });
  }

  async createFunction(fn: FunctionRecord): Promise<'created' | 'name_taken'> {
    try {
      await this.run(SQL.insertFunction, insertParams(FUNCTIONS, [fn], D));
      return 'created';
    } catch (err) {
      if (isNameClash(err)) return 'name_taken';
      throw err;
    }
  }

  async getFunction(id: string): Promise<FunctionRecord | null> {
    return this.one(FUNCTIONS, SQL.getFunction, [id]);
  }

  async getFunctionByName(name: string): Promise<FunctionRecord | null> {
    return this.one(FUNCTIONS, SQL.getFunctionByName, [name]);
  }

  async listFunctions(): Promise<FunctionRecord[]> {
    return this.all(FUNCTIONS, SQL.listFunctions, []);
  }

  async updateFunction(fn: FunctionRecord): Promise<'updated' | 'not_found' | 'name_taken'> {
    try {
      const { rowCount } = await this.run(SQL.updateFunction, updateParams(FUNCTIONS, fn, D));
      return rowCount ? 'updated' : 'not_found';
    } catch (err) {
      if (isNameClash(err)) return 'name_taken';
      throw err;
    }
  }

  async deleteFunction(id: string): Promise<boolean> {
    const { rowCount } = await this.run(SQL.deleteFunction, [id]);
    return (rowCount ?? 0) > 0;
  }

  async putVersion(version: VersionRecord): Promise<void> {
    await this.run(SQL.putVersion, insertParams(VERSIONS, [version], D));
  }

  async getVersion(functionId: string, id: string): Promise<VersionRecord | null> {
    return this.one(VERSIONS, SQL.getVersion, [functionId, id]);
  }

  async listVersions(functionId: string): Promise<VersionRecord[]> {
    return this.all(VERSIONS, SQL.listVersions, [functionId]);
  }

  async createExecution(execution: ExecutionRecord): Promise<void> {
    await this.run(SQL.insertExecution, insertParams(EXECUTIONS, [execution], D));
  }

  async insertExecutions(executions: ExecutionRecord[]): Promise<void> {
    if (executions.length === 0) return;
    const chunks: ExecutionRecord[][] = [];
    for (let i = 0; i < executions.length; i += INSERT_CHUNK) chunks.push(executions.slice(i, i + INSERT_CHUNK));
    const insert = (client: pg.Pool | pg.PoolClient, chunk: ExecutionRecord[]) =>
      client.query(insertSql(EXECUTIONS, D, chunk.length), insertParams(EXECUTIONS, chunk, D));
    // A single statement is atomic on its own; several need a transaction to stay all-or-nothing.
    if (chunks.length === 1) {
      await insert(this.pool, chunks[0]!);
      return;
    }
    await this.transaction(async (client) => {
      for (const chunk of chunks) await insert(client, chunk);
    });
  }

  async getExecution(id: string): Promise<ExecutionRecord | null> {
    return this.one(EXECUTIONS, SQL.getExecution, [id]);
  }

  async updateExecution(execution: ExecutionRecord): Promise<boolean> {
    const { rowCount } = await this.run(SQL.updateExecution, updateParams(EXECUTIONS, execution, D));
    return (rowCount ?? 0) > 0;
  }

  async listExecutions(query: ExecutionQuery): Promise<ExecutionRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const filter = (column: string, value: string | undefined) => {
      if (value === undefined) return;
      params.push(value);
      where.push(`${column} = $${params.length}`);
    };
    filter('function_id', query.functionId);
    filter('status', query.status);
    filter('trigger', query.trigger);
    params.push(listLimit(query.limit));
    const clause = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
    const sql =
      `SELECT ${selectList(EXECUTIONS)} FROM executions${clause} ` +
      `ORDER BY created_at DESC, seq DESC LIMIT $${params.length}`;
    return this.all(EXECUTIONS, sql, params);
  }

  async addDeadLetter(entry: DeadLetterRecord): Promise<void> {
    await this.run(SQL.addDeadLetter, insertParams(DEAD_LETTERS, [entry], D));
  }

  async getDeadLetter(id: string): Promise<DeadLetterRecord | null> {
    return this.one(DEAD_LETTERS, SQL.getDeadLetter, [id]);
  }

  async listDeadLetters(limit?: number): Promise<DeadLetterRecord[]> {
    return this.all(DEAD_LETTERS, SQL.listDeadLetters, [listLimit(limit)]);
  }

  async markDeadLetterReplayed(id: string, replayExecutionId: string, at: string): Promise<boolean> {
    const { rowCount } = await this.run(SQL.markDeadLetterReplayed, [replayExecutionId, at, id]);
    return (rowCount ?? 0) > 0;
  }

  async kvGet(functionId: string, key: string, nowMs: number): Promise<KvEntry | null> {
    return this.one(KV_ENTRIES, SQL.kvGet, [functionId, key, nowMs]);
  }

  async kvPut(entry: KvEntry): Promise<'stored' | 'function_not_found'> {
    try {
      await this.run(SQL.kvPut, insertParams(KV_ENTRIES, [entry], D));
      return 'stored';
    } catch (err) {
      if ((err as { code?: unknown } | null)?.code === FOREIGN_KEY_VIOLATION) return 'function_not_found';
      throw err;
    }
  }

  async kvDelete(functionId: string, key: string): Promise<boolean> {
    const { rowCount } = await this.run(SQL.kvDelete, [functionId, key]);
    return (rowCount ?? 0) > 0;
  }

  async kvList(query: KvListQuery): Promise<KvListing> {
    const params: unknown[] = [query.functionId, query.nowMs];
    const where = ['function_id = $1', '(expires_at IS NULL OR expires_at > $2)'];
    const add = (condition: string, value: unknown) => {
      params.push(value);
      where.push(`${condition} $${params.length}`);
    };
    if (query.prefix) {
      add('entry_key >=', query.prefix);
      const bound = prefixUpperBound(query.prefix);
      if (bound !== null) add('entry_key <', bound);
    }
    if (query.startAfter !== undefined) add('entry_key >', query.startAfter);
    const limit = Math.max(1, Math.trunc(query.limit));
    params.push(limit + 1);
    const sql =
      `SELECT ${KV_KEY_COLUMNS} FROM kv_entries WHERE ${where.join(' AND ')} ` +
      `ORDER BY entry_key LIMIT $${params.length}`;
    const { rows } = await this.run(sql, params);
    return {
      keys: rows.slice(0, limit).map((row) => ({
        key: row.entry_key as string,
        type: row.value_type as KvEntry['type'],
        size: Number(row.size),
        metadata: row.metadata === null ? null : JSON.parse(row.metadata as string),
        expiresAt: row.expires_at === null ? null : Number(row.expires_at),
        updatedAt: row.updated_at as string,
      })),
      complete: rows.length <= limit,
    };
  }

  async kvPurgeExpired(nowMs: number, limit: number): Promise<number> {
    const { rowCount } = await this.run(SQL.kvPurgeExpired, [nowMs, Math.max(0, Math.trunc(limit))]);
    return rowCount ?? 0;
  }

  async insertAnalyticsEvents(events: AnalyticsEventRecord[]): Promise<number> {
    if (events.length === 0) return 0;
    const columns: string[][] = [[], [], [], [], []];
    for (const e of events) {
      columns[0]!.push(e.id);
      columns[1]!.push(e.functionId);
      columns[2]!.push(e.name);
      columns[3]!.push(JSON.stringify(e.properties));
      columns[4]!.push(e.createdAt);
    }
    try {
      return (await this.run(SQL.insertAnalyticsEvents, columns)).rowCount ?? 0;
    } catch (err) {
      // A function deleted between the EXISTS check and the foreign key's: once more, and the
      // check now sees it gone.
      if ((err as { code?: unknown } | null)?.code !== FOREIGN_KEY_VIOLATION) throw err;
      return (await this.run(SQL.insertAnalyticsEvents, columns)).rowCount ?? 0;
    }
  }

  async listAnalyticsEvents(query: AnalyticsQuery): Promise<AnalyticsEventRecord[]> {
    const params: unknown[] = [query.functionId];
    const where = ['function_id = $1'];
    if (query.name !== undefined) {
      params.push(query.name);
      where.push(`name = $${params.length}`);
    }
    if (query.since !== undefined) {
      params.push(query.since);
      where.push(`created_at >= $${params.length}`);
    }
    params.push(listLimit(query.limit));
    const sql =
      `SELECT ${selectList(ANALYTICS_EVENTS)} FROM analytics_events WHERE ${where.join(' AND ')} ` +
      `ORDER BY created_at DESC, seq DESC LIMIT $${params.length}`;
    return this.all(ANALYTICS_EVENTS, sql, params);
  }

  async insertScalingEvent(event: ScalingEventRecord): Promise<void> {
    await this.run(SQL.insertScalingEvent, insertParams(SCALING_EVENTS, [event], D));
  }

  async listScalingEvents(query: ScalingEventQuery): Promise<ScalingEventRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    for (const [column, value] of [['action', query.action], ['tier', query.tier]] as const) {
      if (value === undefined) continue;
      params.push(value);
      where.push(`${column} = $${params.length}`);
    }
    if (query.since !== undefined) {
      params.push(query.since);
      where.push(`created_at >= $${params.length}`);
    }
    params.push(listLimit(query.limit));
    const filter = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
    return this.all(SCALING_EVENTS, `SELECT ${selectList(SCALING_EVENTS)} FROM scaling_events${filter} ORDER BY created_at DESC, seq DESC LIMIT $${params.length}`, params);
  }

  async executionStats(window: StatsWindow): Promise<ExecutionStats> {
    return decodeStats((await this.grouped('all', window))[0]);
  }

  async executionStatsByFunction(window: StatsWindow): Promise<FunctionExecutionStats[]> {
    return (await this.grouped('function', window)).map(decodeFunctionStats);
  }

  async executionBuckets(query: ExecutionBucketQuery): Promise<ExecutionBucket[]> {
    return (await this.grouped(query.unit, query)).map(decodeBucket);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  /** Aggregate rows per group, percentiles included (percentile_cont; see sql-stats.ts). */
  private async grouped(group: StatsGroup, window: StatsWindow): Promise<Row[]> {
    const { params } = windowFilter('postgres', window);
    return (await this.run(aggregateSql('postgres', group, window), params)).rows;
  }

  /** Runs a fixed statement as a named (server-side prepared) query. */
  private run(text: string, values: unknown[]): Promise<pg.QueryResult<Row>> {
    let name = this.statementNames.get(text);
    if (name === undefined) {
      name = `spillway_${this.statementNames.size + 1}`;
      this.statementNames.set(text, name);
    }
    return this.pool.query<Row>({ name, text, values });
  }

  private async one<T>(table: Table<T>, sql: string, params: unknown[]): Promise<T | null> {
    const { rows } = await this.run(sql, params);
    return rows[0] ? decodeRow(table, rows[0]) : null;
  }

  private async all<T>(table: Table<T>, sql: string, params: unknown[]): Promise<T[]> {
    const { rows } = await this.run(sql, params);
    return rows.map((row) => decodeRow(table, row));
  }

  private async transaction<R>(work: (client: pg.PoolClient) => Promise<R>): Promise<R> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      // A failed ROLLBACK means the connection is unusable: the pool must destroy it rather than
      // hand it out mid-transaction. The original error is the one to report.
      await client.query('ROLLBACK').catch((rollbackErr: Error) => {
        broken = rollbackErr;
      });
      throw err;
    } finally {
      client.release(broken);
    }
  }
}

/** The unique constraint on functions.name, as opposed to any other (an id clash is a bug). */
function isNameClash(err: unknown): boolean {
  const e = err as { code?: unknown; constraint?: unknown } | null;
  return e?.code === '23505' && e.constraint === 'functions_name_key';
}
