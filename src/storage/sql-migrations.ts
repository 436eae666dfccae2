/**
 * The SQL shape of the metadata store, shared by the SQLite and PostgreSQL adapters: the migrations
 * (written once, with a few dialect tokens) and the column mapping between snake_case rows and the
 * camelCase records of ./types.ts. Keeping both in one place means the two adapters cannot drift
 * apart on a column; the contract tests round-trip every field through each of them.
 */
import type { AnalyticsEventRecord, DeadLetterRecord, ScalingEventRecord, ExecutionRecord, FunctionRecord, KvEntry, VersionRecord } from './types.js';

export type Dialect = 'sqlite' | 'postgres';

/**
 * Migrations, oldest first; an adapter applies those past the version its database records.
 * Applied migrations are frozen: change the schema by appending one, never by editing one.
 *
 * Tokens, per dialect (see TOKENS):
 * - `{json}`: JSON users control (inputs, outputs, logs, error messages). PostgreSQL's `json` keeps
 *   the text as written; `jsonb` would reorder object keys and reject `\u0000` and lone surrogates.
 * - `{jsonb}`: JSON the platform shapes (config, cost, parameter names).
 * - `{seq}`: an insertion-order column, the tie-break for rows created in the same millisecond.
 *   SQLite has one already (rowid, which VACUUM renumbers without reordering).
 * - `{bytes}`: raw bytes (key-value entries' values).
 * - `{bytewise}`: the collation that orders text by its UTF-8 bytes (key-value keys are listed in
 *   that order, as in Cloudflare KV). SQLite's default, BINARY, already does on a UTF-8 database.
 * - `{newest}`: the trailing index columns for newest-first listings. SQLite indexes ascending:
 *   it scans an index backwards for free, and every SQLite index ends in rowid, so
 *   `created_at, rowid` backwards is exactly `ORDER BY created_at DESC, rowid DESC`; a DESC index
 *   would make it sort the ties separately.
 *
 * Times are TEXT holding the ISO-8601 strings the platform writes (`Date#toISOString`), which sort
 * chronologically as text and come back exactly as written.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE IF NOT EXISTS functions (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    config {jsonb} NOT NULL,
    current_version TEXT NOT NULL,
    tier TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT functions_name_key UNIQUE (name)
  );
  CREATE TABLE IF NOT EXISTS versions (
    {seq}
    function_id TEXT NOT NULL,
    id TEXT NOT NULL,
    entry TEXT NOT NULL,
    source_digest TEXT NOT NULL,
    code_length {bigint} NOT NULL,
    bundle_bytes {bigint} NOT NULL,
    plain_params {jsonb},
    created_at TEXT NOT NULL,
    PRIMARY KEY (function_id, id)
  );
  CREATE TABLE IF NOT EXISTS executions (
    {seq}
    id TEXT PRIMARY KEY,
    function_id TEXT NOT NULL,
    version_id TEXT NOT NULL,
    trigger TEXT NOT NULL,
    input {json},
    output {json},
    status TEXT NOT NULL,
    error {json},
    retry_count INTEGER NOT NULL,
    max_retries INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    start_time TEXT,
    end_time TEXT,
    duration {real},
    cpu_us {real},
    wall_us {real},
    cold_start {bool} NOT NULL,
    instance_id TEXT,
    logs {json} NOT NULL,
    cost {jsonb},
    next_attempt_at TEXT,
    input_bytes {bigint} NOT NULL,
    output_bytes {bigint} NOT NULL,
    replay_of TEXT
  );
  CREATE INDEX IF NOT EXISTS executions_function_created ON executions (function_id, {newest});
  CREATE INDEX IF NOT EXISTS executions_status_created ON executions (status, {newest});
  CREATE INDEX IF NOT EXISTS executions_created ON executions ({newest});
  CREATE TABLE IF NOT EXISTS dead_letters (
    {seq}
    id TEXT PRIMARY KEY,
    execution_id TEXT NOT NULL,
    function_id TEXT NOT NULL,
    error {json} NOT NULL,
    attempts INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    replay_execution_id TEXT,
    replayed_at TEXT
  );
  CREATE INDEX IF NOT EXISTS dead_letters_created ON dead_letters ({newest});
  `,
  // 2: platform bindings. Binding data references its function, so it can only be written for a
  // function that exists and goes with it in the delete's own transaction (SQLite needs
  // `PRAGMA foreign_keys = ON` on the connection for that).
  `
  CREATE TABLE IF NOT EXISTS kv_entries (
    function_id TEXT NOT NULL REFERENCES functions (id) ON DELETE CASCADE,
    entry_key TEXT {bytewise} NOT NULL,
    value {bytes} NOT NULL,
    value_type TEXT NOT NULL,
    metadata {json},
    expires_at {bigint},
    updated_at TEXT NOT NULL,
    PRIMARY KEY (function_id, entry_key)
  );
  CREATE INDEX IF NOT EXISTS kv_entries_expires ON kv_entries (expires_at) WHERE expires_at IS NOT NULL;
  CREATE TABLE IF NOT EXISTS analytics_events (
    {seq}
    id TEXT PRIMARY KEY,
    function_id TEXT NOT NULL REFERENCES functions (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    properties {json} NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS analytics_events_function_created ON analytics_events (function_id, {newest});
  CREATE INDEX IF NOT EXISTS analytics_events_function_name_created ON analytics_events (function_id, name, {newest});
  `,
  // 3: capacity decisions (seed 001's ScalingEvent plus the tier and the metric behind it).
  `
  CREATE TABLE IF NOT EXISTS scaling_events (
    {seq}
    id TEXT PRIMARY KEY,
    function_id TEXT,
    action TEXT NOT NULL,
    instance_count INTEGER NOT NULL,
    reason TEXT NOT NULL,
    tier TEXT NOT NULL,
    metric TEXT NOT NULL,
    metric_value {real} NOT NULL,
    threshold {real} NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS scaling_events_created ON scaling_events ({newest});
  CREATE INDEX IF NOT EXISTS scaling_events_action_created ON scaling_events (action, {newest});
  `,
  // 4: the execution rollups (src/storage/rollup.ts): per function and UTC hour (and UTC day) of
  // created_at, sums over the executions in a final state and sparse log-scale histograms (JSON
  // text) of their wall and CPU times. The store backfills them from the executions table when this
  // migration runs.
  `
  CREATE TABLE IF NOT EXISTS execution_rollups (
    function_id TEXT NOT NULL,
    hour TEXT NOT NULL,
    executions {bigint} NOT NULL,
    completed {bigint} NOT NULL,
    failed {bigint} NOT NULL,
    http {bigint} NOT NULL,
    async_count {bigint} NOT NULL,
    cold_starts {bigint} NOT NULL,
    finished {bigint} NOT NULL,
    cpu_us {real} NOT NULL,
    wall_us {real} NOT NULL,
    duration_ms {real} NOT NULL,
    total_cost {real} NOT NULL,
    wall_clock_cost {real} NOT NULL,
    wall_hist TEXT NOT NULL,
    cpu_hist TEXT NOT NULL,
    PRIMARY KEY (function_id, hour)
  );
  CREATE INDEX IF NOT EXISTS execution_rollups_hour ON execution_rollups (hour, function_id);
  CREATE TABLE IF NOT EXISTS execution_rollups_daily (
    function_id TEXT NOT NULL,
    day TEXT NOT NULL,
    executions {bigint} NOT NULL,
    completed {bigint} NOT NULL,
    failed {bigint} NOT NULL,
    http {bigint} NOT NULL,
    async_count {bigint} NOT NULL,
    cold_starts {bigint} NOT NULL,
    finished {bigint} NOT NULL,
    cpu_us {real} NOT NULL,
    wall_us {real} NOT NULL,
    duration_ms {real} NOT NULL,
    total_cost {real} NOT NULL,
    wall_clock_cost {real} NOT NULL,
    wall_hist TEXT NOT NULL,
    cpu_hist TEXT NOT NULL,
    PRIMARY KEY (function_id, day)
  );
  CREATE INDEX IF NOT EXISTS execution_rollups_daily_day ON execution_rollups_daily (day, function_id);
  `,
];

const TOKENS: Record<Dialect, Record<string, string>> = {
  sqlite: {
    json: 'TEXT',
    jsonb: 'TEXT',
    bool: 'INTEGER',
    bigint: 'INTEGER',
    real: 'REAL',
    bytes: 'BLOB',
    bytewise: '',
    seq: '',
    newest: 'created_at',
  },
  postgres: {
    json: 'JSON',
    jsonb: 'JSONB',
    bool: 'BOOLEAN',
    bigint: 'BIGINT',
    real: 'DOUBLE PRECISION',
    bytes: 'BYTEA',
    bytewise: 'COLLATE "C"',
    seq: 'seq BIGINT GENERATED ALWAYS AS IDENTITY,',
    newest: 'created_at DESC, seq DESC',
  },
};

/** The column that orders rows by insertion, for `ORDER BY created_at DESC, <this> DESC`. */
export function insertionOrderColumn(dialect: Dialect): string {
  return dialect === 'sqlite' ? 'rowid' : 'seq';
}

/** Statements of each migration, oldest first; migration n (1-based) is at index n - 1. */
export function migrations(dialect: Dialect): string[][] {
  return MIGRATIONS.map((sql) =>
    sql
      .replace(/\{(\w+)\}/g, (token: string, name: string) => {
        const value = TOKENS[dialect][name];
        if (value === undefined) throw new Error(`unknown migration token ${token}`);
        return value;
      })
      .split(';')
      .map((statement) => statement.trim())
      .filter((statement) => statement.length > 0),
  );
}

/**
 * How a field is stored. `?` marks SQL NULL as the record's `null`. `unknown` is JSON where SQL
 * NULL means `undefined`, so JSON `null` and an absent value both survive (execution input/output).
 */
type Kind = 'text' | 'text?' | 'int' | 'bigint' | 'bigint?' | 'real' | 'real?' | 'bool' | 'json' | 'json?' | 'jsonb?' | 'jsonb' | 'unknown' | 'bytes';

export interface Table<T> {
  name: string;
  /** Primary key fields, in key order. */
  key: ReadonlyArray<keyof T & string>;
  /** Every field of T, with its column; the mapped type makes a forgotten field a compile error. */
  columns: { readonly [K in keyof T]-?: readonly [column: string, kind: Kind] };
}

export const FUNCTIONS: Table<FunctionRecord> = {
  name: 'functions',
  key: ['id'],
  columns: {
    id: ['id', 'text'],
    name: ['name', 'text'],
    description: ['description', 'text'],
    status: ['status', 'text'],
    config: ['config', 'jsonb'],
    currentVersion: ['current_version', 'text'],
    tier: ['tier', 'text'],
    createdAt: ['created_at', 'text'],
    updatedAt: ['updated_at', 'text'],
  },
};

export const VERSIONS: Table<VersionRecord> = {
  name: 'versions',
  key: ['functionId', 'id'],
  columns: {
    id: ['id', 'text'],
    functionId: ['function_id', 'text'],
    entry: ['entry', 'text'],
    sourceDigest: ['source_digest', 'text'],
    codeLength: ['code_length', 'bigint'],
    bundleBytes: ['bundle_bytes', 'bigint'],
    plainParams: ['plain_params', 'jsonb?'],
    createdAt: ['created_at', 'text'],
  },
};

export const EXECUTIONS: Table<ExecutionRecord> = {
  name: 'executions',
  key: ['id'],
  columns: {
    id: ['id', 'text'],
    functionId: ['function_id', 'text'],
    versionId: ['version_id', 'text'],
    trigger: ['trigger', 'text'],
    input: ['input', 'unknown'],
    output: ['output', 'unknown'],
    status: ['status', 'text'],
    error: ['error', 'json?'],
    retryCount: ['retry_count', 'int'],
    maxRetries: ['max_retries', 'int'],
    createdAt: ['created_at', 'text'],
    startTime: ['start_time', 'text?'],
    endTime: ['end_time', 'text?'],
    duration: ['duration', 'real?'],
    cpuUs: ['cpu_us', 'real?'],
    wallUs: ['wall_us', 'real?'],
    coldStart: ['cold_start', 'bool'],
    instanceId: ['instance_id', 'text?'],
    logs: ['logs', 'json'],
    cost: ['cost', 'jsonb?'],
    nextAttemptAt: ['next_attempt_at', 'text?'],
    inputBytes: ['input_bytes', 'bigint'],
    outputBytes: ['output_bytes', 'bigint'],
    replayOf: ['replay_of', 'text?'],
  },
};

export const DEAD_LETTERS: Table<DeadLetterRecord> = {
  name: 'dead_letters',
  key: ['id'],
  columns: {
    id: ['id', 'text'],
    executionId: ['execution_id', 'text'],
    functionId: ['function_id', 'text'],
    error: ['error', 'json'],
    attempts: ['attempts', 'int'],
    createdAt: ['created_at', 'text'],
    replayExecutionId: ['replay_execution_id', 'text?'],
    replayedAt: ['replayed_at', 'text?'],
  },
};

export const KV_ENTRIES: Table<KvEntry> = {
  name: 'kv_entries',
  key: ['functionId', 'key'],
  columns: {
    functionId: ['function_id', 'text'],
    key: ['entry_key', 'text'],
    value: ['value', 'bytes'],
    type: ['value_type', 'text'],
    metadata: ['metadata', 'json?'],
    expiresAt: ['expires_at', 'bigint?'],
    updatedAt: ['updated_at', 'text'],
  },
};

export const ANALYTICS_EVENTS: Table<AnalyticsEventRecord> = {
  name: 'analytics_events',
  key: ['id'],
  columns: {
    id: ['id', 'text'],
    functionId: ['function_id', 'text'],
    name: ['name', 'text'],
    properties: ['properties', 'json'],
    createdAt: ['created_at', 'text'],
  },
};

export const SCALING_EVENTS: Table<ScalingEventRecord> = {
  name: 'scaling_events',
  key: ['id'],
  columns: {
    id: ['id', 'text'],
    functionId: ['function_id', 'text?'],
    action: ['action', 'text'],
    instanceCount: ['instance_count', 'int'],
    reason: ['reason', 'text'],
    tier: ['tier', 'text'],
    metric: ['metric', 'text'],
    value: ['metric_value', 'real'],
    threshold: ['threshold', 'real'],
    timestamp: ['created_at', 'text'],
  },
};

type Field<T> = keyof T & string;

function fields<T>(table: Table<T>): Array<Field<T>> {
  return Object.keys(table.columns) as Array<Field<T>>;
}

function column<T>(table: Table<T>, field: Field<T>): string {
  return table.columns[field][0];
}

/** Positional parameter `n` (1-based) as the dialect writes it. */
export function param(dialect: Dialect, n: number): string {
  return dialect === 'sqlite' ? '?' : `$${n}`;
}

/** The table's columns, in record field order: what every SELECT of whole records lists. */
export function selectList<T>(table: Table<T>): string {
  return fields(table)
    .map((f) => column(table, f))
    .join(', ');
}

/** `INSERT` of `rows` whole records; `ignoreExisting` turns a key clash into a no-op. */
export function insertSql<T>(table: Table<T>, dialect: Dialect, rows = 1, ignoreExisting = false): string {
  const width = fields(table).length;
  const tuples: string[] = [];
  for (let r = 0; r < rows; r++) {
    const slots = Array.from({ length: width }, (_, c) => param(dialect, r * width + c + 1));
    tuples.push(`(${slots.join(', ')})`);
  }
  const conflict = ignoreExisting ? ' ON CONFLICT DO NOTHING' : '';
  return `INSERT INTO ${table.name} (${selectList(table)}) VALUES ${tuples.join(', ')}${conflict}`;
}

/** Parameters for insertSql, for the same records in the same order. */
export function insertParams<T>(table: Table<T>, records: readonly T[], dialect: Dialect): unknown[] {
  const out: unknown[] = [];
  for (const record of records) for (const f of fields(table)) out.push(encode(table, record, f, dialect));
  return out;
}

/** `INSERT` of one record that replaces every non-key column of an existing record with the same key. */
export function upsertSql<T>(table: Table<T>, dialect: Dialect): string {
  const keys = new Set<string>(table.key);
  const set = fields(table)
    .filter((f) => !keys.has(f))
    .map((f) => `${column(table, f)} = excluded.${column(table, f)}`);
  const conflict = table.key.map((f) => column(table, f)).join(', ');
  return `${insertSql(table, dialect)} ON CONFLICT (${conflict}) DO UPDATE SET ${set.join(', ')}`;
}

/** `UPDATE` replacing every non-key column of the record with the same key. */
export function updateSql<T>(table: Table<T>, dialect: Dialect): string {
  const order = updateOrder(table);
  const set = order.slice(0, order.length - table.key.length);
  const assignments = set.map((f, i) => `${column(table, f)} = ${param(dialect, i + 1)}`);
  const where = table.key.map((f, i) => `${column(table, f)} = ${param(dialect, set.length + i + 1)}`);
  return `UPDATE ${table.name} SET ${assignments.join(', ')} WHERE ${where.join(' AND ')}`;
}

/** Parameters for updateSql. */
export function updateParams<T>(table: Table<T>, record: T, dialect: Dialect): unknown[] {
  return updateOrder(table).map((f) => encode(table, record, f, dialect));
}

function updateOrder<T>(table: Table<T>): Array<Field<T>> {
  const keys = new Set<string>(table.key);
  return [...fields(table).filter((f) => !keys.has(f)), ...table.key];
}

function encode<T>(table: Table<T>, record: T, field: Field<T>, dialect: Dialect): unknown {
  const kind = table.columns[field][1];
  const value: unknown = record[field];
  switch (kind) {
    case 'bool':
      return dialect === 'sqlite' ? (value ? 1 : 0) : Boolean(value);
    case 'json':
    case 'jsonb':
      return JSON.stringify(value);
    case 'bytes': {
      // Both drivers bind a Buffer as a BLOB/BYTEA; this one shares the caller's memory.
      const bytes = value as Uint8Array;
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    case 'json?':
    case 'jsonb?':
      return value === null ? null : JSON.stringify(value);
    case 'unknown':
      // JSON.stringify gives undefined for undefined (and functions): stored as SQL NULL.
      return value === undefined ? null : (JSON.stringify(value) ?? null);
    default:
      return value;
  }
}

/**
 * A row (column name → value, JSON columns as their raw text) back into its record.
 * The PostgreSQL adapter turns off pg's JSON parsing so JSON columns arrive as text here too.
 */
export function decodeRow<T>(table: Table<T>, row: Record<string, unknown>): T {
  const out: Record<string, unknown> = {};
  for (const f of fields(table)) {
    const [name, kind] = table.columns[f];
    const value = row[name];
    switch (kind) {
      case 'int':
      case 'bigint':
      case 'real':
        out[f] = Number(value);
        break;
      case 'real?':
      case 'bigint?':
        out[f] = value === null ? null : Number(value);
        break;
      case 'bytes':
        // A copy: a driver's Buffer may be a slice of a shared pool.
        out[f] = new Uint8Array(value as Uint8Array);
        break;
      case 'bool':
        out[f] = value === true || value === 1;
        break;
      case 'json':
      case 'jsonb':
        out[f] = JSON.parse(value as string);
        break;
      case 'json?':
      case 'jsonb?':
        out[f] = value === null ? null : JSON.parse(value as string);
        break;
      case 'unknown':
        out[f] = value === null ? undefined : JSON.parse(value as string);
        break;
      default:
        out[f] = value;
    }
  }
  return out as T;
}

/** The row limit of a listing: default 50, at most 1000, never negative. */
export function listLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return 50;
  return Math.min(1000, Math.max(0, Math.trunc(limit)));
}

/**
 * The smallest string greater than every string that starts with `prefix`, in code point (= UTF-8
 * byte) order, or null when there is none (the prefix is all U+10FFFF). With it a prefix listing is
 * an index range, `prefix <= key < bound`. Expects well-formed Unicode (no lone surrogates).
 */
export function prefixUpperBound(prefix: string): string | null {
  const points = Array.from(prefix, (c) => c.codePointAt(0) as number);
  while (points.length > 0) {
    const last = (points.pop() as number) + 1;
    if (last > 0x10ffff) continue;
    // The surrogate range is not text; the next code point after it is U+E000.
    points.push(last >= 0xd800 && last <= 0xdfff ? 0xe000 : last);
    return String.fromCodePoint(...points);
  }
  return null;
}
