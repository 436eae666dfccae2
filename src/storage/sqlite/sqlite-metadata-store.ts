/**
 * The metadata store on SQLite (better-sqlite3): the single-node default, one database file.
 * better-sqlite3 is synchronous; the methods are async only to fit the MetadataStore interface.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import Database from './driver.js';
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
import { aggregateSql, decodeBucket, decodeFunctionStats, decodeStats, sqlitePercentileSql, windowFilter, withSqlitePercentiles, type StatsGroup } from '../sql-stats.js';

export interface SqliteMetadataStoreOptions {
  /** Database file (its directory is created if missing), or ':memory:'. */
  path: string;
}

type Row = Record<string, unknown>;

const D = 'sqlite';
const SQL = {
  insertFunction: insertSql(FUNCTIONS, D),
  updateFunction: updateSql(FUNCTIONS, D),
  getFunction: `SELECT ${selectList(FUNCTIONS)} FROM functions WHERE id = ?`,
  getFunctionByName: `SELECT ${selectList(FUNCTIONS)} FROM functions WHERE name = ?`,
  listFunctions: `SELECT ${selectList(FUNCTIONS)} FROM functions ORDER BY name`,
  deleteFunction: 'DELETE FROM functions WHERE id = ?',
  deleteVersions: 'DELETE FROM versions WHERE function_id = ?',
  putVersion: insertSql(VERSIONS, D, 1, true),
  getVersion: `SELECT ${selectList(VERSIONS)} FROM versions WHERE function_id = ? AND id = ?`,
  listVersions: `SELECT ${selectList(VERSIONS)} FROM versions WHERE function_id = ? ORDER BY created_at DESC, rowid DESC`,
  insertExecution: insertSql(EXECUTIONS, D),
  updateExecution: updateSql(EXECUTIONS, D),
  getExecution: `SELECT ${selectList(EXECUTIONS)} FROM executions WHERE id = ?`,
  addDeadLetter: insertSql(DEAD_LETTERS, D),
  getDeadLetter: `SELECT ${selectList(DEAD_LETTERS)} FROM dead_letters WHERE id = ?`,
  listDeadLetters:
    `SELECT ${selectList(DEAD_LETTERS)} FROM dead_letters ORDER BY created_at DESC, rowid DESC LIMIT ?`,
  markDeadLetterReplayed:
    'UPDATE dead_letters SET replay_execution_id = ?, replayed_at = ? WHERE id = ? AND replayed_at IS NULL',
  kvGet:
    `SELECT ${selectList(KV_ENTRIES)} FROM kv_entries WHERE function_id = ? AND entry_key = ? ` +
    'AND (expires_at IS NULL OR expires_at > ?)',
  kvPut: upsertSql(KV_ENTRIES, D),
  kvDelete: 'DELETE FROM kv_entries WHERE function_id = ? AND entry_key = ?',
  kvPurgeExpired:
    'DELETE FROM kv_entries WHERE rowid IN (SELECT rowid FROM kv_entries WHERE expires_at <= ? LIMIT ?)',
  // Drops the event when its function is gone instead of failing the batch on the foreign key.
  insertAnalyticsEvent:
    `INSERT INTO analytics_events (${selectList(ANALYTICS_EVENTS)}) ` +
    'SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM functions WHERE id = ?)',
  insertScalingEvent: insertSql(SCALING_EVENTS, D),
} as const;

/** Columns of a key listing, in the order kvList reads them. */
const KV_KEY_COLUMNS = 'entry_key, value_type, length(value) AS size, metadata, expires_at, updated_at';

export class SqliteMetadataStore implements MetadataStore {
  private readonly db: BetterSqlite3.Database;
  /** Prepared statements by SQL text; preparing is lazy because the tables exist only after migrate(). */
  private readonly statements = new Map<string, BetterSqlite3.Statement>();

  constructor(options: SqliteMetadataStoreOptions) {
    if (options.path !== ':memory:' && options.path !== '') mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path);
    this.db.pragma('journal_mode = WAL');
    // In WAL mode NORMAL skips the fsync at commit, so a power cut can lose writes we already
    // acknowledged; FULL syncs the WAL on every commit.
    this.db.pragma('synchronous = FULL');
    // Binding data references its function (ON DELETE CASCADE); SQLite enforces that only when asked.
    this.db.pragma('foreign_keys = ON');
  }

  async migrate(): Promise<void> {
    const steps = migrations('sqlite');
    // IMMEDIATE takes the write lock up front: two processes starting on one file then queue on
    // busy_timeout instead of failing to upgrade a read lock.
    this.db
      .transaction(() => {
        const current = this.db.pragma('user_version', { simple: true }) as number;
        for (let v = current; v < steps.length; v++) {
          for (const statement of steps[v]!) this.db.exec(statement);
        }
        if (current < steps.length) this.db.pragma(`user_version = ${steps.length}`);
      })
      .immediate();
  }

  async createFunction(fn: FunctionRecord): Promise<'created' | 'name_taken'> {
    try {
      this.stmt(SQL.insertFunction).run(insertParams(FUNCTIONS, [fn], D));
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
      const { changes } = this.stmt(SQL.updateFunction).run(updateParams(FUNCTIONS, fn, D));
      return changes > 0 ? 'updated' : 'not_found';
    } catch (err) {
      if (isNameClash(err)) return 'name_taken';
      throw err;
    }
  }

  async deleteFunction(id: string): Promise<boolean> {
    return this.db.transaction(() => {
      this.stmt(SQL.deleteVersions).run(id);
      return this.stmt(SQL.deleteFunction).run(id).changes > 0;
    })();
  }

  async putVersion(version: VersionRecord): Promise<void> {
    this.stmt(SQL.putVersion).run(insertParams(VERSIONS, [version], D));
  }

  async getVersion(functionId: string, id: string): Promise<VersionRecord | null> {
    return this.one(VERSIONS, SQL.getVersion, [functionId, id]);
  }

  async listVersions(functionId: string): Promise<VersionRecord[]> {
    return this.all(VERSIONS, SQL.listVersions, [functionId]);
  }

  async createExecution(execution: ExecutionRecord): Promise<void> {
    this.stmt(SQL.insertExecution).run(insertParams(EXECUTIONS, [execution], D));
  }

  async insertExecutions(executions: ExecutionRecord[]): Promise<void> {
    const insert = this.stmt(SQL.insertExecution);
    this.db.transaction(() => {
      for (const execution of executions) insert.run(insertParams(EXECUTIONS, [execution], D));
    })();
  }

  async getExecution(id: string): Promise<ExecutionRecord | null> {
    return this.one(EXECUTIONS, SQL.getExecution, [id]);
  }

  async updateExecution(execution: ExecutionRecord): Promise<boolean> {
    return this.stmt(SQL.updateExecution).run(updateParams(EXECUTIONS, execution, D)).changes > 0;
  }

  async listExecutions(query: ExecutionQuery): Promise<ExecutionRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.functionId !== undefined) {
      where.push('function_id = ?');
      params.push(query.functionId);
    }
    if (query.status !== undefined) {
      where.push('status = ?');
      params.push(query.status);
    }
    if (query.trigger !== undefined) {
      where.push('trigger = ?');
      params.push(query.trigger);
    }
    params.push(listLimit(query.limit));
    const filter = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
    const sql =
      `SELECT ${selectList(EXECUTIONS)} FROM executions${filter} ` + 'ORDER BY created_at DESC, rowid DESC LIMIT ?';
    return this.all(EXECUTIONS, sql, params);
  }

  async addDeadLetter(entry: DeadLetterRecord): Promise<void> {
    this.stmt(SQL.addDeadLetter).run(insertParams(DEAD_LETTERS, [entry], D));
  }

  async getDeadLetter(id: string): Promise<DeadLetterRecord | null> {
    return this.one(DEAD_LETTERS, SQL.getDeadLetter, [id]);
  }

  async listDeadLetters(limit?: number): Promise<DeadLetterRecord[]> {
    return this.all(DEAD_LETTERS, SQL.listDeadLetters, [listLimit(limit)]);
  }

  async markDeadLetterReplayed(id: string, replayExecutionId: string, at: string): Promise<boolean> {
    return this.stmt(SQL.markDeadLetterReplayed).run(replayExecutionId, at, id).changes > 0;
  }

  async kvGet(functionId: string, key: string, nowMs: number): Promise<KvEntry | null> {
    return this.one(KV_ENTRIES, SQL.kvGet, [functionId, key, nowMs]);
  }

  async kvPut(entry: KvEntry): Promise<'stored' | 'function_not_found'> {
    try {
      this.stmt(SQL.kvPut).run(insertParams(KV_ENTRIES, [entry], D));
      return 'stored';
    } catch (err) {
      if (err instanceof Database.SqliteError && err.code === 'SQLITE_CONSTRAINT_FOREIGNKEY') return 'function_not_found';
      throw err;
    }
  }

  async kvDelete(functionId: string, key: string): Promise<boolean> {
    return this.stmt(SQL.kvDelete).run(functionId, key).changes > 0;
  }

  async kvList(query: KvListQuery): Promise<KvListing> {
    const where = ['function_id = ?', '(expires_at IS NULL OR expires_at > ?)'];
    const params: unknown[] = [query.functionId, query.nowMs];
    if (query.prefix) {
      where.push('entry_key >= ?');
      params.push(query.prefix);
      const bound = prefixUpperBound(query.prefix);
      if (bound !== null) {
        where.push('entry_key < ?');
        params.push(bound);
      }
    }
    if (query.startAfter !== undefined) {
      where.push('entry_key > ?');
      params.push(query.startAfter);
    }
    const limit = Math.max(1, Math.trunc(query.limit));
    params.push(limit + 1);
    const sql = `SELECT ${KV_KEY_COLUMNS} FROM kv_entries WHERE ${where.join(' AND ')} ORDER BY entry_key LIMIT ?`;
    const rows = this.stmt(sql).all(params) as Row[];
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
    return this.stmt(SQL.kvPurgeExpired).run(nowMs, Math.max(0, Math.trunc(limit))).changes;
  }

  async insertAnalyticsEvents(events: AnalyticsEventRecord[]): Promise<number> {
    const insert = this.stmt(SQL.insertAnalyticsEvent);
    return this.db.transaction(() => {
      let stored = 0;
      for (const event of events) {
        stored += insert.run([...insertParams(ANALYTICS_EVENTS, [event], D), event.functionId]).changes;
      }
      return stored;
    })();
  }

  async listAnalyticsEvents(query: AnalyticsQuery): Promise<AnalyticsEventRecord[]> {
    const where = ['function_id = ?'];
    const params: unknown[] = [query.functionId];
    if (query.name !== undefined) {
      where.push('name = ?');
      params.push(query.name);
    }
    if (query.since !== undefined) {
      where.push('created_at >= ?');
      params.push(query.since);
    }
    params.push(listLimit(query.limit));
    const sql =
      `SELECT ${selectList(ANALYTICS_EVENTS)} FROM analytics_events WHERE ${where.join(' AND ')} ` +
      'ORDER BY created_at DESC, rowid DESC LIMIT ?';
    return this.all(ANALYTICS_EVENTS, sql, params);
  }

  async insertScalingEvent(event: ScalingEventRecord): Promise<void> {
    this.stmt(SQL.insertScalingEvent).run(insertParams(SCALING_EVENTS, [event], D));
  }

  async listScalingEvents(query: ScalingEventQuery): Promise<ScalingEventRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    for (const [column, value] of [['action', query.action], ['tier', query.tier]] as const) {
      if (value === undefined) continue;
      where.push(`${column} = ?`);
      params.push(value);
    }
    if (query.since !== undefined) {
      where.push('created_at >= ?');
      params.push(query.since);
    }
    params.push(listLimit(query.limit));
    const filter = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
    return this.all(SCALING_EVENTS, `SELECT ${selectList(SCALING_EVENTS)} FROM scaling_events${filter} ORDER BY created_at DESC, rowid DESC LIMIT ?`, params);
  }

  async executionStats(window: StatsWindow): Promise<ExecutionStats> {
    return decodeStats(this.grouped('all', window)[0]);
  }

  async executionStatsByFunction(window: StatsWindow): Promise<FunctionExecutionStats[]> {
    return this.grouped('function', window).map(decodeFunctionStats);
  }

  async executionBuckets(query: ExecutionBucketQuery): Promise<ExecutionBucket[]> {
    return this.grouped(query.unit, query).map(decodeBucket);
  }

  async close(): Promise<void> {
    this.statements.clear();
    if (this.db.open) this.db.close();
  }

  /** Aggregate rows per group, with the percentiles ranked by a second query (see sql-stats.ts). */
  private grouped(group: StatsGroup, window: StatsWindow): Row[] {
    const { params } = windowFilter('sqlite', window);
    const rows = this.stmt(aggregateSql('sqlite', group, window)).all(params) as Row[];
    if (window.percentiles === false) return rows;
    const percentiles = this.stmt(sqlitePercentileSql(group, window)).all(params) as Row[];
    return withSqlitePercentiles(rows, percentiles);
  }

  private stmt(sql: string): BetterSqlite3.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private one<T>(table: Table<T>, sql: string, params: unknown[]): T | null {
    const row = this.stmt(sql).get(params) as Row | undefined;
    return row ? decodeRow(table, row) : null;
  }

  private all<T>(table: Table<T>, sql: string, params: unknown[]): T[] {
    return (this.stmt(sql).all(params) as Row[]).map((row) => decodeRow(table, row));
  }
}

/** The unique index on functions.name, as opposed to any other constraint (an id clash is a bug). */
function isNameClash(err: unknown): boolean {
  return (
    err instanceof Database.SqliteError &&
    err.code === 'SQLITE_CONSTRAINT_UNIQUE' &&
    err.message.includes('functions.name')
  );
}
