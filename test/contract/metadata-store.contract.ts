/**
 * The MetadataStore contract: every adapter runs this suite (see the *-metadata-store.test.ts
 * files next to it), so the guarantees documented in src/storage/types.ts hold for each of them.
 */
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type {
  AnalyticsEventRecord,
  DeadLetterRecord,
  ExecutionRecord,
  FunctionRecord,
  KvEntry,
  MetadataStore,
  ScalingEventRecord,
  VersionRecord,
} from '../../src/storage/types.js';

export type MetadataStoreFactory = () => Promise<{ store: MetadataStore; cleanup: () => Promise<void> }>;

function key(prefix: string): string {
  return `${prefix}_${randomUUID().replace(/-/g, '')}`;
}

/** ISO time `s` seconds after a fixed origin, as the platform writes times. */
function t(s: number): string {
  return new Date(Date.UTC(2026, 0, 1) + s * 1000).toISOString();
}

function fnRecord(over: Partial<FunctionRecord> = {}): FunctionRecord {
  const id = key('fn');
  return {
    id,
    name: `fn-${id.slice(3, 15)}`,
    description: 'adds two numbers',
    status: 'active',
    config: { timeout: 30_000, retryCount: 3, memoryLimitMb: 128, cpuLimitMs: 1_000 },
    currentVersion: 'a'.repeat(64),
    tier: 'basic',
    createdAt: t(0),
    updatedAt: t(0),
    ...over,
  };
}

function versionRecord(functionId: string, over: Partial<VersionRecord> = {}): VersionRecord {
  return {
    id: randomUUID().replace(/-/g, '').repeat(2),
    functionId,
    entry: 'index.js',
    sourceDigest: 'c'.repeat(64),
    codeLength: 1_234,
    bundleBytes: 5_678,
    plainParams: ['a', 'b'],
    createdAt: t(0),
    ...over,
  };
}

/** An execution as first written: most fields still null. */
function pending(functionId: string, over: Partial<ExecutionRecord> = {}): ExecutionRecord {
  return {
    id: key('ex'),
    functionId,
    versionId: 'b'.repeat(64),
    trigger: 'async',
    input: { a: 1, b: 2 },
    output: null,
    status: 'pending',
    error: null,
    retryCount: 0,
    maxRetries: 3,
    createdAt: t(0),
    startTime: null,
    endTime: null,
    duration: null,
    cpuUs: null,
    wallUs: null,
    coldStart: false,
    instanceId: null,
    logs: [],
    cost: null,
    nextAttemptAt: null,
    inputBytes: 13,
    outputBytes: 0,
    replayOf: null,
    ...over,
  };
}

/** An execution with every field set. */
function finished(functionId: string, over: Partial<ExecutionRecord> = {}): ExecutionRecord {
  return pending(functionId, {
    trigger: 'http',
    input: { user: { id: 7, tags: ['x', 'y'] }, flag: true },
    output: { result: { nested: [1, { deep: null }, 'three'] }, ok: false },
    status: 'failed',
    error: {
      code: 'FUNCTION_ERROR',
      message: 'boom: "quoted"\nsecond line',
      functionFault: true,
      stack: 'Error: boom\n    at handler (index.js:3:9)',
    },
    retryCount: 2,
    startTime: t(1),
    endTime: t(2),
    duration: 12.5,
    cpuUs: 830.25,
    wallUs: 12_500,
    coldStart: true,
    instanceId: 'isolate-7',
    logs: [
      { level: 'info', message: 'hello', atMs: 1.5 },
      { level: 'error', message: 'multi\nline ✓ 🚀', atMs: 3 },
    ],
    cost: {
      tier: 'basic',
      billedDurationMs: 1,
      baseCost: 0.0000002,
      coldStartCost: 0.00001,
      retryCost: 0.1 + 0.2,
      dataTransferCost: 0,
      totalCost: 1.2345678901234567e-7,
      wallClockCost: 3e-7,
      resourceUsage: { memoryMB: 128, cpuCores: 0.25 },
    },
    nextAttemptAt: t(60),
    inputBytes: 44,
    outputBytes: 61,
    replayOf: key('dl'),
    ...over,
  });
}

function deadLetter(over: Partial<DeadLetterRecord> = {}): DeadLetterRecord {
  return {
    id: key('dl'),
    executionId: key('ex'),
    functionId: key('fn'),
    error: { code: 'TIMEOUT', message: 'timed out after 30000 ms', functionFault: true },
    attempts: 4,
    createdAt: t(0),
    replayExecutionId: null,
    replayedAt: null,
    ...over,
  };
}

function kvEntry(functionId: string, key: string, over: Partial<KvEntry> = {}): KvEntry {
  return {
    functionId,
    key,
    value: new TextEncoder().encode(`value of ${key}`),
    type: 'text',
    metadata: null,
    expiresAt: null,
    updatedAt: t(0),
    ...over,
  };
}

function event(functionId: string, over: Partial<AnalyticsEventRecord> = {}): AnalyticsEventRecord {
  return { id: key('ev'), functionId, name: 'view', properties: { userId: 7 }, createdAt: t(0), ...over };
}

const ids = (records: Array<{ id: string }>): string[] => records.map((r) => r.id);

export function metadataStoreContract(name: string, factory: MetadataStoreFactory): void {
  describe(name, () => {
    const cleanups: Array<() => Promise<void>> = [];
    /** Shared by tests that only touch records they created; listings across the store use fresh(). */
    let store: MetadataStore;

    async function fresh(): Promise<MetadataStore> {
      const made = await factory();
      cleanups.push(made.cleanup);
      await made.store.migrate();
      return made.store;
    }

    before(async () => {
      store = await fresh();
    });

    after(async () => {
      const results = await Promise.allSettled(cleanups.reverse().map((cleanup) => cleanup()));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    });

    describe('migrate', () => {
      it('can run again on a migrated store and keeps its data', async () => {
        const fn = fnRecord();
        assert.equal(await store.createFunction(fn), 'created');
        await store.migrate();
        assert.deepEqual(await store.getFunction(fn.id), fn);
      });
    });

    describe('functions', () => {
      it('creates a function and reads it back by id and by name, exactly as written', async () => {
        const fn = fnRecord({ description: 'unicode ✓ 🚀 and "quotes"', status: 'inactive' });
        assert.equal(await store.createFunction(fn), 'created');
        assert.deepEqual(await store.getFunction(fn.id), fn);
        assert.deepEqual(await store.getFunctionByName(fn.name), fn);
      });

      it('returns null for an unknown id or name', async () => {
        assert.equal(await store.getFunction(key('fn')), null);
        assert.equal(await store.getFunctionByName('no-such-function'), null);
      });

      it("reports a name clash on create as 'name_taken' and keeps the first function", async () => {
        const first = fnRecord();
        const second = fnRecord({ name: first.name, description: 'the intruder' });
        assert.equal(await store.createFunction(first), 'created');
        assert.equal(await store.createFunction(second), 'name_taken');
        assert.deepEqual(await store.getFunctionByName(first.name), first);
        assert.equal(await store.getFunction(second.id), null);
      });

      it('rejects a second function with an existing id', async () => {
        const fn = fnRecord();
        assert.equal(await store.createFunction(fn), 'created');
        await assert.rejects(store.createFunction({ ...fn, name: `${fn.name}-other` }));
        assert.deepEqual(await store.getFunction(fn.id), fn);
      });

      it('lists every function, by name', async () => {
        const s = await fresh();
        const b = fnRecord({ name: 'bravo' });
        const a = fnRecord({ name: 'alpha', createdAt: t(5) });
        const c = fnRecord({ name: 'charlie' });
        for (const fn of [b, a, c]) assert.equal(await s.createFunction(fn), 'created');
        assert.deepEqual(await s.listFunctions(), [a, b, c]);
      });

      it('replaces every field on update', async () => {
        const fn = fnRecord();
        await store.createFunction(fn);
        const updated: FunctionRecord = {
          ...fn,
          name: `${fn.name}-renamed`,
          description: 'multiplies',
          status: 'inactive',
          config: { timeout: 5_000, retryCount: 0, memoryLimitMb: 64, cpuLimitMs: 250 },
          currentVersion: 'd'.repeat(64),
          tier: 'premium',
          updatedAt: t(30),
        };
        assert.equal(await store.updateFunction(updated), 'updated');
        assert.deepEqual(await store.getFunction(fn.id), updated);
        assert.deepEqual(await store.getFunctionByName(updated.name), updated);
        assert.equal(await store.getFunctionByName(fn.name), null);
      });

      it('updates a function that keeps its own name', async () => {
        const fn = fnRecord();
        await store.createFunction(fn);
        const updated = { ...fn, description: 'same name, new text' };
        assert.equal(await store.updateFunction(updated), 'updated');
        assert.deepEqual(await store.getFunction(fn.id), updated);
      });

      it("reports renaming onto another function's name as 'name_taken' and changes nothing", async () => {
        const a = fnRecord();
        const b = fnRecord();
        await store.createFunction(a);
        await store.createFunction(b);
        assert.equal(await store.updateFunction({ ...b, name: a.name, description: 'changed' }), 'name_taken');
        assert.deepEqual(await store.getFunction(b.id), b);
        assert.deepEqual(await store.getFunctionByName(a.name), a);
      });

      it("reports an update of an unknown id as 'not_found' without creating it", async () => {
        const ghost = fnRecord();
        assert.equal(await store.updateFunction(ghost), 'not_found');
        assert.equal(await store.getFunction(ghost.id), null);
      });

      it('deletes a function once, and frees its name', async () => {
        const fn = fnRecord();
        await store.createFunction(fn);
        assert.equal(await store.deleteFunction(fn.id), true);
        assert.equal(await store.getFunction(fn.id), null);
        assert.equal(await store.getFunctionByName(fn.name), null);
        assert.equal(await store.deleteFunction(fn.id), false);
        const reborn = fnRecord({ name: fn.name });
        assert.equal(await store.createFunction(reborn), 'created');
        assert.deepEqual(await store.getFunctionByName(fn.name), reborn);
      });

      it("deletes the function's key-value entries and analytics events with it, and no one else's", async () => {
        const fn = fnRecord();
        const other = fnRecord();
        await store.createFunction(fn);
        await store.createFunction(other);
        await store.kvPut(kvEntry(fn.id, 'k'));
        await store.kvPut(kvEntry(other.id, 'k'));
        assert.equal(await store.insertAnalyticsEvents([event(fn.id), event(other.id)]), 2);

        assert.equal(await store.deleteFunction(fn.id), true);
        assert.equal(await store.kvGet(fn.id, 'k', 0), null);
        assert.deepEqual((await store.kvList({ functionId: fn.id, limit: 10, nowMs: 0 })).keys, []);
        assert.deepEqual(await store.listAnalyticsEvents({ functionId: fn.id }), []);
        assert.deepEqual(await store.kvGet(other.id, 'k', 0), kvEntry(other.id, 'k'));
        assert.equal((await store.listAnalyticsEvents({ functionId: other.id })).length, 1);

        // A function created again under the same id starts empty.
        assert.equal(await store.createFunction(fn), 'created');
        assert.equal(await store.kvGet(fn.id, 'k', 0), null);
      });

      it("deletes the function's versions but keeps its executions, and leaves other functions alone", async () => {
        const fn = fnRecord();
        const other = fnRecord();
        await store.createFunction(fn);
        await store.createFunction(other);
        const v1 = versionRecord(fn.id);
        const v2 = versionRecord(fn.id, { createdAt: t(1) });
        const otherVersion = versionRecord(other.id);
        for (const v of [v1, v2, otherVersion]) await store.putVersion(v);
        const execution = finished(fn.id);
        await store.createExecution(execution);

        assert.equal(await store.deleteFunction(fn.id), true);
        assert.deepEqual(await store.listVersions(fn.id), []);
        assert.equal(await store.getVersion(fn.id, v1.id), null);
        assert.deepEqual(await store.getExecution(execution.id), execution);
        assert.deepEqual(await store.listExecutions({ functionId: fn.id }), [execution]);
        assert.deepEqual(await store.getFunction(other.id), other);
        assert.deepEqual(await store.listVersions(other.id), [otherVersion]);
      });
    });

    describe('versions', () => {
      it('stores a version and reads it back exactly', async () => {
        const fnId = key('fn');
        const withParams = versionRecord(fnId);
        const withoutParams = versionRecord(fnId, { plainParams: null, createdAt: t(1) });
        const noArgs = versionRecord(fnId, { plainParams: [], createdAt: t(2) });
        for (const v of [withParams, withoutParams, noArgs]) await store.putVersion(v);
        assert.deepEqual(await store.getVersion(fnId, withParams.id), withParams);
        assert.deepEqual(await store.getVersion(fnId, withoutParams.id), withoutParams);
        assert.deepEqual(await store.getVersion(fnId, noArgs.id), noArgs);
      });

      it('treats storing an existing version as a no-op', async () => {
        const fnId = key('fn');
        const v = versionRecord(fnId);
        await store.putVersion(v);
        await store.putVersion(v);
        await store.putVersion({ ...v, entry: 'other.js', bundleBytes: 1, createdAt: t(9) });
        assert.deepEqual(await store.getVersion(fnId, v.id), v);
        assert.deepEqual(await store.listVersions(fnId), [v]);
      });

      it('keys versions by function: the same bundle under two functions is two versions', async () => {
        const a = key('fn');
        const b = key('fn');
        const va = versionRecord(a);
        const vb = { ...va, functionId: b, entry: 'main.js' };
        await store.putVersion(va);
        assert.equal(await store.getVersion(b, va.id), null);
        await store.putVersion(vb);
        assert.deepEqual(await store.getVersion(a, va.id), va);
        assert.deepEqual(await store.getVersion(b, va.id), vb);
      });

      it("lists a function's versions newest first, and only that function's", async () => {
        const fnId = key('fn');
        const oldest = versionRecord(fnId, { createdAt: t(1) });
        const newest = versionRecord(fnId, { createdAt: t(3) });
        const middle = versionRecord(fnId, { createdAt: t(2) });
        for (const v of [oldest, newest, middle]) await store.putVersion(v);
        await store.putVersion(versionRecord(key('fn'), { createdAt: t(4) }));
        assert.deepEqual(await store.listVersions(fnId), [newest, middle, oldest]);
        assert.deepEqual(await store.listVersions(key('fn')), []);
      });
    });

    describe('executions', () => {
      it('stores an execution with every field set and reads it back exactly', async () => {
        const execution = finished(key('fn'));
        await store.createExecution(execution);
        assert.deepEqual(await store.getExecution(execution.id), execution);
      });

      it('stores a pending execution with its null fields and reads it back exactly', async () => {
        const execution = pending(key('fn'));
        await store.createExecution(execution);
        const got = await store.getExecution(execution.id);
        assert.deepEqual(got, execution);
        assert.equal(got?.output, null);
      });

      it('returns null for an unknown execution', async () => {
        assert.equal(await store.getExecution(key('ex')), null);
      });

      it('rejects a second execution with an existing id', async () => {
        const execution = pending(key('fn'));
        await store.createExecution(execution);
        await assert.rejects(store.createExecution({ ...execution, status: 'running' }));
        assert.deepEqual(await store.getExecution(execution.id), execution);
      });

      const values: Array<[string, unknown]> = [
        ['a nested object', { a: { b: { c: [1, 2, { d: 'e' }] } }, empty: {}, list: [] }],
        ['an array', [1, 'two', null, true, { three: 3 }]],
        ['null', null],
        ['a string', 'plain text'],
        ['a string that looks like JSON', '{"a":1}'],
        ['an empty string', ''],
        ['unicode, control characters and a NUL', 'ü ✓ 🚀 \t\n\r \u0000 end'],
        ['a number', 0.1 + 0.2],
        ['a large number', 1e21],
        ['a negative fraction', -123.456],
        ['false', false],
        ['undefined', undefined],
      ];
      for (const [label, value] of values) {
        it(`round-trips ${label} as input and output`, async () => {
          const execution = pending(key('fn'), { input: value, output: value });
          await store.createExecution(execution);
          const got = await store.getExecution(execution.id);
          assert.ok(got);
          assert.deepEqual(got.input, value);
          assert.deepEqual(got.output, value);
        });
      }

      it('keeps the key order of input and output objects', async () => {
        const value = { zebra: 1, apple: { mango: 2, banana: 3 }, b: 4, aa: 5 };
        const execution = pending(key('fn'), { input: value, output: value });
        await store.createExecution(execution);
        const got = await store.getExecution(execution.id);
        assert.equal(JSON.stringify(got?.input), JSON.stringify(value));
        assert.equal(JSON.stringify(got?.output), JSON.stringify(value));
      });

      it('keeps an error without a stack free of a stack key', async () => {
        const execution = finished(key('fn'), {
          error: { code: 'PLATFORM_ERROR', message: 'isolate crashed', functionFault: false },
        });
        await store.createExecution(execution);
        const got = await store.getExecution(execution.id);
        assert.deepEqual(got?.error, execution.error);
        assert.equal(Object.hasOwn(got?.error ?? {}, 'stack'), false);
      });

      it('replaces every field on update', async () => {
        const original = pending(key('fn'));
        await store.createExecution(original);
        const done: ExecutionRecord = {
          ...finished(original.functionId),
          id: original.id,
          createdAt: original.createdAt,
        };
        assert.equal(await store.updateExecution(done), true);
        assert.deepEqual(await store.getExecution(original.id), done);
        const cleared: ExecutionRecord = { ...done, output: undefined, error: null, cost: null, logs: [] };
        assert.equal(await store.updateExecution(cleared), true);
        assert.deepEqual(await store.getExecution(original.id), cleared);
      });

      it('returns false when updating an unknown execution, without creating it', async () => {
        const ghost = pending(key('fn'));
        assert.equal(await store.updateExecution(ghost), false);
        assert.equal(await store.getExecution(ghost.id), null);
      });

      it('lists newest first, filtered by function, status and trigger, up to a limit', async () => {
        const s = await fresh();
        const fa = key('fn');
        const fb = key('fn');
        const a1 = pending(fa, { createdAt: t(1), status: 'completed', trigger: 'http' });
        const a2 = pending(fa, { createdAt: t(2), status: 'failed', trigger: 'async' });
        const a3 = pending(fa, { createdAt: t(3), status: 'completed', trigger: 'async' });
        const b1 = pending(fb, { createdAt: t(4), status: 'completed', trigger: 'http' });
        const b2 = pending(fb, { createdAt: t(5), status: 'running', trigger: 'async' });
        // Written out of time order: the order must come from createdAt.
        for (const e of [a3, b1, a1, b2, a2]) await s.createExecution(e);

        assert.deepEqual(ids(await s.listExecutions({})), ids([b2, b1, a3, a2, a1]));
        assert.deepEqual(ids(await s.listExecutions({ functionId: fa })), ids([a3, a2, a1]));
        assert.deepEqual(ids(await s.listExecutions({ status: 'completed' })), ids([b1, a3, a1]));
        assert.deepEqual(ids(await s.listExecutions({ trigger: 'http' })), ids([b1, a1]));
        assert.deepEqual(ids(await s.listExecutions({ functionId: fa, status: 'completed' })), ids([a3, a1]));
        assert.deepEqual(
          ids(await s.listExecutions({ functionId: fa, status: 'completed', trigger: 'async' })),
          ids([a3]),
        );
        assert.deepEqual(ids(await s.listExecutions({ functionId: fb, status: 'failed' })), []);
        assert.deepEqual(ids(await s.listExecutions({ limit: 2 })), ids([b2, b1]));
        assert.deepEqual(ids(await s.listExecutions({ functionId: fa, limit: 1 })), ids([a3]));
        assert.deepEqual(await s.listExecutions({ functionId: fa, status: 'failed' }), [a2]);
      });

      it('lists executions created in the same millisecond newest-written first', async () => {
        const fnId = key('fn');
        // Ten, so an order that only happens to be right (say, by random id) is unlikely to pass.
        const written = Array.from({ length: 10 }, () => pending(fnId, { createdAt: t(7) }));
        await store.createExecution(written[0]!);
        await store.createExecution(written[1]!);
        await store.insertExecutions(written.slice(2));
        assert.deepEqual(ids(await store.listExecutions({ functionId: fnId })), ids([...written].reverse()));
      });

      it('inserts a batch of 500 executions', async () => {
        const fnId = key('fn');
        const batch = Array.from({ length: 500 }, (_, i) =>
          finished(fnId, { createdAt: t(i), input: { i }, output: { square: i * i }, duration: i + 0.5 }),
        );
        await store.insertExecutions(batch);
        const listed = await store.listExecutions({ functionId: fnId, limit: 1000 });
        assert.equal(listed.length, 500);
        assert.deepEqual(listed, [...batch].reverse());
        assert.deepEqual(await store.getExecution(batch[250]!.id), batch[250]);
      });

      it('inserts an empty batch as a no-op', async () => {
        await assert.doesNotReject(store.insertExecutions([]));
      });

      it('inserts a batch all-or-nothing', async () => {
        const fnId = key('fn');
        const existing = pending(fnId);
        await store.createExecution(existing);
        // Big enough that an adapter splitting batches into several statements must still roll back.
        const batch = Array.from({ length: 1_100 }, (_, i) => pending(fnId, { createdAt: t(i + 1) }));
        batch.push({ ...existing, status: 'running' });
        await assert.rejects(store.insertExecutions(batch));
        assert.equal(await store.getExecution(batch[0]!.id), null);
        assert.equal(await store.getExecution(batch[1_050]!.id), null);
        assert.deepEqual(await store.listExecutions({ functionId: fnId }), [existing]);
      });

      it('limits listings to 50 by default and to 1000 at most', async () => {
        const s = await fresh();
        const fnId = key('fn');
        const batch = Array.from({ length: 1_100 }, (_, i) => pending(fnId, { createdAt: t(i) }));
        await s.insertExecutions(batch);
        const byDefault = await s.listExecutions({ functionId: fnId });
        assert.equal(byDefault.length, 50);
        assert.equal(byDefault[0]!.id, batch[1_099]!.id);
        assert.equal((await s.listExecutions({ limit: 5_000 })).length, 1_000);
        assert.equal((await s.listExecutions({ limit: 1_000 })).length, 1_000);
        assert.equal((await s.listExecutions({ limit: 999 })).length, 999);
      });
    });

    describe('dead letters', () => {
      it('stores an entry and reads it back exactly', async () => {
        const entry = deadLetter({
          error: { code: 'FUNCTION_ERROR', message: 'bad input: "x"', functionFault: true, stack: 'at line 1' },
        });
        await store.addDeadLetter(entry);
        assert.deepEqual(await store.getDeadLetter(entry.id), entry);
        assert.equal(await store.getDeadLetter(key('dl')), null);
      });

      it('lists entries newest first, up to a limit', async () => {
        const s = await fresh();
        const older = deadLetter({ createdAt: t(1) });
        const newest = deadLetter({ createdAt: t(3) });
        const middle = deadLetter({ createdAt: t(2) });
        for (const entry of [older, newest, middle]) await s.addDeadLetter(entry);
        assert.deepEqual(await s.listDeadLetters(), [newest, middle, older]);
        assert.deepEqual(await s.listDeadLetters(2), [newest, middle]);
      });

      it('marks an entry replayed once; a second replay or an unknown id returns false', async () => {
        const entry = deadLetter();
        await store.addDeadLetter(entry);
        const replay = key('ex');
        assert.equal(await store.markDeadLetterReplayed(entry.id, replay, t(10)), true);
        const replayed = { ...entry, replayExecutionId: replay, replayedAt: t(10) };
        assert.deepEqual(await store.getDeadLetter(entry.id), replayed);
        assert.equal(await store.markDeadLetterReplayed(entry.id, key('ex'), t(20)), false);
        assert.deepEqual(await store.getDeadLetter(entry.id), replayed);
        assert.equal(await store.markDeadLetterReplayed(key('dl'), key('ex'), t(30)), false);
      });
    });

    describe('key-value entries', () => {
      /** A function to own entries: binding data can only be written for a function that exists. */
      async function owner(s: MetadataStore = store): Promise<string> {
        const fn = fnRecord();
        assert.equal(await s.createFunction(fn), 'created');
        return fn.id;
      }

      it('stores text, JSON and bytes values with their metadata and expiry, and reads them back exactly', async () => {
        const fnId = await owner();
        const entries = [
          kvEntry(fnId, 'text', { value: new TextEncoder().encode('héllo ✓ 🚀'), metadata: { tags: ['a'], n: 1.5 } }),
          kvEntry(fnId, 'json', { type: 'json', value: new TextEncoder().encode('{"z":1,"a":[true,null]}'), expiresAt: 1_900_000_000_123 }),
          kvEntry(fnId, 'bytes', { type: 'bytes', value: new Uint8Array([0, 255, 0, 1, 128]), metadata: 'just a string' }),
          kvEntry(fnId, 'empty', { type: 'bytes', value: new Uint8Array(0) }),
          kvEntry(fnId, 'big', { type: 'bytes', value: new Uint8Array(1024 * 1024).map((_, i) => i % 251) }),
          kvEntry(fnId, 'ünïcode/key with spaces %_\\', { updatedAt: t(5) }),
        ];
        for (const entry of entries) assert.equal(await store.kvPut(entry), 'stored');
        for (const entry of entries) {
          const got = await store.kvGet(fnId, entry.key, 0);
          assert.ok(got, entry.key);
          assert.ok(got.value instanceof Uint8Array);
          assert.deepEqual(got, entry);
        }
      });

      it('replaces every field of an existing key', async () => {
        const fnId = await owner();
        await store.kvPut(kvEntry(fnId, 'k', { metadata: { v: 1 }, expiresAt: 5_000 }));
        const replaced = kvEntry(fnId, 'k', { type: 'bytes', value: new Uint8Array([9]), metadata: null, expiresAt: null, updatedAt: t(9) });
        assert.equal(await store.kvPut(replaced), 'stored');
        assert.deepEqual(await store.kvGet(fnId, 'k', 10_000), replaced);
      });

      it('keeps each function to its own keys', async () => {
        const a = await owner();
        const b = await owner();
        await store.kvPut(kvEntry(a, 'shared', { value: new Uint8Array([1]) }));
        assert.equal(await store.kvGet(b, 'shared', 0), null);
        await store.kvPut(kvEntry(b, 'shared', { value: new Uint8Array([2]) }));
        assert.deepEqual((await store.kvGet(a, 'shared', 0))?.value, new Uint8Array([1]));
        assert.equal(await store.kvDelete(b, 'shared'), true);
        assert.deepEqual((await store.kvGet(a, 'shared', 0))?.value, new Uint8Array([1]));
        assert.deepEqual((await store.kvList({ functionId: b, limit: 10, nowMs: 0 })).keys, []);
      });

      it("refuses an entry for a function that does not exist, as 'function_not_found'", async () => {
        const ghost = key('fn');
        assert.equal(await store.kvPut(kvEntry(ghost, 'k')), 'function_not_found');
        assert.equal(await store.kvGet(ghost, 'k', 0), null);
      });

      it('returns null for a missing key and deletes a key once', async () => {
        const fnId = await owner();
        assert.equal(await store.kvGet(fnId, 'nothing', 0), null);
        await store.kvPut(kvEntry(fnId, 'k'));
        assert.equal(await store.kvDelete(fnId, 'k'), true);
        assert.equal(await store.kvGet(fnId, 'k', 0), null);
        assert.equal(await store.kvDelete(fnId, 'k'), false);
      });

      it('hides an entry from its expiry time on, and purges expired entries up to a limit', async () => {
        const s = await fresh();
        const fnId = await owner(s);
        await s.kvPut(kvEntry(fnId, 'soon', { expiresAt: 1_000 }));
        await s.kvPut(kvEntry(fnId, 'later', { expiresAt: 2_000 }));
        await s.kvPut(kvEntry(fnId, 'late', { expiresAt: 2_000 }));
        await s.kvPut(kvEntry(fnId, 'never'));
        const listed = async (nowMs: number) => (await s.kvList({ functionId: fnId, limit: 10, nowMs })).keys.map((k) => k.key);

        assert.ok(await s.kvGet(fnId, 'soon', 999));
        assert.equal(await s.kvGet(fnId, 'soon', 1_000), null);
        assert.deepEqual(await listed(999), ['late', 'later', 'never', 'soon']);
        assert.deepEqual(await listed(1_000), ['late', 'later', 'never']);
        assert.deepEqual(await listed(2_000), ['never']);

        assert.equal(await s.kvPurgeExpired(1_500, 10), 1);
        assert.equal(await s.kvPurgeExpired(5_000, 1), 1);
        assert.equal(await s.kvPurgeExpired(5_000, 10), 1);
        assert.equal(await s.kvPurgeExpired(5_000, 10), 0);
        assert.ok(await s.kvGet(fnId, 'never', 1e15));
        // Purged entries are gone, not hidden: a clock moved back cannot see them again.
        assert.equal(await s.kvGet(fnId, 'later', 0), null);
        assert.deepEqual(await listed(0), ['never']);
      });

      it('lists keys in UTF-8 byte order with size, type, metadata and expiry but no value', async () => {
        const fnId = await owner();
        const keys = ['b', 'a', 'B', 'aa', 'a/b', 'é', '中', '😀', '\uffff', 'Z', '~', '_', '%'];
        for (const k of keys) await store.kvPut(kvEntry(fnId, k, { value: new TextEncoder().encode(k.repeat(3)), metadata: k === 'a' ? { first: true } : null, expiresAt: k === 'b' ? 9e12 : null }));
        const byteOrder = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
        const { keys: listed, complete } = await store.kvList({ functionId: fnId, limit: 100, nowMs: 0 });
        assert.equal(complete, true);
        assert.deepEqual(listed.map((k) => k.key), byteOrder);
        const a = listed.find((k) => k.key === 'a');
        assert.deepEqual(a, { key: 'a', type: 'text', size: 3, metadata: { first: true }, expiresAt: null, updatedAt: t(0) });
        assert.equal(listed.find((k) => k.key === 'b')?.expiresAt, 9e12);
        assert.equal(listed.find((k) => k.key === '😀')?.size, 12);
        assert.equal(Object.hasOwn(a ?? {}, 'value'), false);
      });

      it('lists by prefix, including prefixes with SQL wildcards and non-ASCII characters', async () => {
        const fnId = await owner();
        const keys = ['user:1', 'user:2', 'user:10', 'user;x', 'users', 'use', 'a%b', 'a%c', 'abc', 'a_b', 'é1', 'é2', 'ê', '\u{10FFFF}a', '\u{10FFFF}b', '\uD7FFx', '\uE000y'];
        for (const k of keys) await store.kvPut(kvEntry(fnId, k));
        const list = async (prefix: string) => (await store.kvList({ functionId: fnId, prefix, limit: 100, nowMs: 0 })).keys.map((k) => k.key);
        assert.deepEqual(await list('user:'), ['user:1', 'user:10', 'user:2']);
        assert.deepEqual(await list('user'), ['user:1', 'user:10', 'user:2', 'user;x', 'users']);
        assert.deepEqual(await list('a%'), ['a%b', 'a%c']);
        assert.deepEqual(await list('a_'), ['a_b']);
        assert.deepEqual(await list('é'), ['é1', 'é2']);
        assert.deepEqual(await list('\u{10FFFF}'), ['\u{10FFFF}a', '\u{10FFFF}b']);
        assert.deepEqual(await list('\uD7FF'), ['\uD7FFx']);
        assert.deepEqual(await list('nope'), []);
        assert.equal((await list('')).length, keys.length);
      });

      it('pages through a listing after a key, saying when it is complete', async () => {
        const fnId = await owner();
        const keys = Array.from({ length: 25 }, (_, i) => `k${String(i).padStart(2, '0')}`);
        for (const k of [...keys].reverse()) await store.kvPut(kvEntry(fnId, k));
        await store.kvPut(kvEntry(fnId, 'other'));
        const seen: string[] = [];
        let startAfter: string | undefined;
        let pages = 0;
        for (;;) {
          const page = await store.kvList({ functionId: fnId, prefix: 'k', startAfter, limit: 10, nowMs: 0 });
          pages++;
          seen.push(...page.keys.map((k) => k.key));
          if (page.complete) break;
          assert.equal(page.keys.length, 10);
          startAfter = page.keys.at(-1)?.key;
        }
        assert.equal(pages, 3);
        assert.deepEqual(seen, keys);
        // A page that ends exactly on the last key is complete.
        const exact = await store.kvList({ functionId: fnId, prefix: 'k', startAfter: 'k14', limit: 10, nowMs: 0 });
        assert.equal(exact.keys.length, 10);
        assert.equal(exact.complete, true);
      });
    });

    describe('analytics events', () => {
      async function owner(s: MetadataStore = store): Promise<string> {
        const fn = fnRecord();
        assert.equal(await s.createFunction(fn), 'created');
        return fn.id;
      }

      it('stores a batch and lists it newest first, properties exactly as written', async () => {
        const fnId = await owner();
        const props = { zebra: 1, apple: { nested: [1, 'two', null] }, text: 'ü ✓ 🚀 \u0000 "q"', big: 1e21 };
        const older = event(fnId, { createdAt: t(1), properties: props });
        const newer = event(fnId, { createdAt: t(2), name: 'click', properties: {} });
        assert.equal(await store.insertAnalyticsEvents([newer, older]), 2);
        const listed = await store.listAnalyticsEvents({ functionId: fnId });
        assert.deepEqual(listed, [newer, older]);
        assert.equal(JSON.stringify(listed[1]!.properties), JSON.stringify(props));
      });

      it('lists events of the same millisecond newest-written first, and filters by name, time and limit', async () => {
        const fnId = await owner();
        const other = await owner();
        const same = Array.from({ length: 10 }, (_, i) => event(fnId, { createdAt: t(5), name: i % 2 ? 'odd' : 'even', properties: { i } }));
        await store.insertAnalyticsEvents(same.slice(0, 4));
        await store.insertAnalyticsEvents(same.slice(4));
        const early = event(fnId, { createdAt: t(1), name: 'odd' });
        await store.insertAnalyticsEvents([early, event(other, { createdAt: t(9), name: 'odd' })]);

        assert.deepEqual(ids(await store.listAnalyticsEvents({ functionId: fnId })), ids([...same].reverse().concat(early)));
        assert.deepEqual(ids(await store.listAnalyticsEvents({ functionId: fnId, name: 'odd' })), ids([...same].reverse().filter((e) => e.name === 'odd').concat(early)));
        assert.deepEqual(ids(await store.listAnalyticsEvents({ functionId: fnId, since: t(2) })), ids([...same].reverse()));
        assert.deepEqual(ids(await store.listAnalyticsEvents({ functionId: fnId, since: t(5), name: 'even', limit: 2 })), ids([same[8]!, same[6]!]));
        assert.deepEqual(await store.listAnalyticsEvents({ functionId: fnId, since: t(6) }), []);
        assert.deepEqual(await store.listAnalyticsEvents({ functionId: fnId, name: 'none' }), []);
      });

      it('drops the events of functions that do not exist and stores the rest of the batch', async () => {
        const fnId = await owner();
        const ghost = key('fn');
        const kept = [event(fnId, { createdAt: t(1) }), event(fnId, { createdAt: t(2) })];
        assert.equal(await store.insertAnalyticsEvents([kept[0]!, event(ghost), kept[1]!]), 2);
        assert.deepEqual(await store.listAnalyticsEvents({ functionId: fnId }), [kept[1], kept[0]]);
        assert.deepEqual(await store.listAnalyticsEvents({ functionId: ghost }), []);
        assert.equal(await store.insertAnalyticsEvents([]), 0);
      });

      it('inserts a batch of 2000 events and limits listings to 50 by default and 1000 at most', async () => {
        const fnId = await owner();
        const batch = Array.from({ length: 2_000 }, (_, i) => event(fnId, { createdAt: t(i), properties: { i } }));
        assert.equal(await store.insertAnalyticsEvents(batch), 2_000);
        const byDefault = await store.listAnalyticsEvents({ functionId: fnId });
        assert.equal(byDefault.length, 50);
        assert.deepEqual(byDefault[0], batch[1_999]);
        assert.equal((await store.listAnalyticsEvents({ functionId: fnId, limit: 5_000 })).length, 1_000);
      });
    });

    describe('scaling events', () => {
      function scaling(over: Partial<ScalingEventRecord> = {}): ScalingEventRecord {
        return { id: key('se'), functionId: null, action: 'scale_up', instanceCount: 3, reason: 'CPU 91% > 75%', tier: 'baseline', metric: 'cpu_pct', value: 91.25, threshold: 75, timestamp: t(1), ...over };
      }

      it('stores events exactly and lists them newest first, same-millisecond ties newest-written first', async () => {
        const s = await fresh();
        try {
          const a = scaling({ timestamp: t(1) });
          const b = scaling({ timestamp: t(2), action: 'spillover_on', tier: 'burst', value: 85.5, threshold: 85, instanceCount: 2, functionId: key('fn') });
          const c = scaling({ timestamp: t(2), action: 'scale_down', instanceCount: 2, reason: 'CPU and memory below 70% for 15 min', metric: 'memory_pct', value: 12, threshold: 70 });
          for (const e of [a, b, c]) await s.insertScalingEvent(e);
          assert.deepEqual(await s.listScalingEvents({}), [c, b, a]);
        } finally {
          await s.close();
        }
      });

      it('filters by action, tier, time and limit', async () => {
        const s = await fresh();
        try {
          const events = Array.from({ length: 12 }, (_, i) => scaling({ timestamp: t(i), action: i % 3 === 0 ? 'spillover_on' : 'scale_up', tier: i % 2 ? 'baseline' : 'executions' }));
          for (const e of events) await s.insertScalingEvent(e);
          const newest = [...events].reverse();
          assert.deepEqual(ids(await s.listScalingEvents({ action: 'spillover_on' })), ids(newest.filter((e) => e.action === 'spillover_on')));
          assert.deepEqual(ids(await s.listScalingEvents({ tier: 'executions', since: t(6) })), ids(newest.filter((e) => e.tier === 'executions' && e.timestamp >= t(6))));
          assert.deepEqual(ids(await s.listScalingEvents({ limit: 2 })), ids(newest.slice(0, 2)));
          assert.deepEqual(await s.listScalingEvents({ action: 'spillover_off' }), []);
        } finally {
          await s.close();
        }
      });
    });

    describe('execution stats', () => {
      /** A finished attempt with the given times and a fixed cost. */
      function run(functionId: string, at: number, wallUs: number, cpuUs: number, over: Partial<ExecutionRecord> = {}): ExecutionRecord {
        const base = finished(functionId);
        return pending(functionId, {
          trigger: 'http',
          status: 'completed',
          createdAt: t(at),
          startTime: t(at),
          endTime: t(at),
          duration: wallUs / 1000,
          wallUs,
          cpuUs,
          coldStart: false,
          cost: { ...base.cost!, totalCost: 0.0001, wallClockCost: 0.0003 },
          ...over,
        });
      }
      const near = (actual: number | null, expected: number) => assert.ok(actual !== null && Math.abs(actual - expected) < 1e-9, `${actual} ≈ ${expected}`);

      async function seeded(): Promise<{ s: MetadataStore; a: string; b: string }> {
        const s = await fresh();
        const a = key('fn');
        const b = key('fn');
        await s.insertExecutions([
          run(a, 10, 1_000, 100, { coldStart: true }),
          run(a, 20, 2_000, 200, { trigger: 'async' }),
          run(a, 3_600 * 2 + 5, 3_000, 300, { trigger: 'async' }),
          run(a, 3_600 * 2 + 6, 4_000, 400),
          run(a, 3_600 * 2 + 7, 10_000, 500, { status: 'failed' }),
          pending(a, { createdAt: t(30) }),
          run(b, 86_400 + 1, 500, 50),
          run(b, 86_400 + 2, 1_500, 150, { cost: null }),
          // Outside the window [t(0), t(2 days)): before it and exactly at its end.
          run(a, -1, 99_000, 9_900),
          run(b, 2 * 86_400, 99_000, 9_900),
        ]);
        return { s, a, b };
      }
      const window = { since: t(0), until: t(2 * 86_400) };

      it('sums, counts and ranks the window (percentile_cont: linear between ranks)', async () => {
        const { s } = await seeded();
        try {
          const stats = await s.executionStats(window);
          assert.deepEqual(
            { ...stats, wallMsP95: 0, wallMsP99: 0, cpuUsP95: 0 },
            {
              total: 8, pending: 1, running: 0, completed: 6, failed: 1, http: 5, async: 3, coldStarts: 1,
              cpuUsTotal: 1_700, cpuUsAvg: 1_700 / 7, cpuUsP95: 0,
              wallMsAvg: 22_000 / 7 / 1000, wallMsP50: 2, wallMsP95: 0, wallMsP99: 0,
              totalCost: 0.0006, wallClockCost: 0.0018,
            },
          );
          // Wall times sorted: 500 1000 1500 2000 3000 4000 10000 µs; p95 sits at rank 5.7, p99 at 5.94.
          near(stats.wallMsP95, 8.2);
          near(stats.wallMsP99, 9.64);
          // CPU sorted: 50 100 150 200 300 400 500.
          near(stats.cpuUsP95, 470);
        } finally {
          await s.close();
        }
      });

      it('gives zeros and nulls for an empty window, and filters by function', async () => {
        const { s, b } = await seeded();
        try {
          const empty = await s.executionStats({ since: t(10 * 86_400), until: t(11 * 86_400) });
          assert.equal(empty.total, 0);
          assert.equal(empty.totalCost, 0);
          assert.equal(empty.wallMsP50, null);
          assert.equal(empty.cpuUsAvg, null);
          const one = await s.executionStats({ ...window, functionId: b });
          assert.equal(one.total, 2);
          near(one.wallMsP50, 1);
          assert.equal(one.totalCost, 0.0001);
        } finally {
          await s.close();
        }
      });

      it('gives the same figures per function', async () => {
        const { s, a, b } = await seeded();
        try {
          const rows = await s.executionStatsByFunction(window);
          assert.deepEqual(rows.map((r) => r.functionId).sort(), [a, b].sort());
          const ra = rows.find((r) => r.functionId === a)!;
          assert.equal(ra.total, 6);
          assert.equal(ra.failed, 1);
          assert.equal(ra.coldStarts, 1);
          assert.equal(ra.totalCost, 0.0005);
          // 1000 2000 3000 4000 10000: p50 = 3000, p95 at rank 3.8 = 4000 + 0.8 × 6000.
          near(ra.wallMsP50, 3);
          near(ra.wallMsP95, 8.8);
          assert.deepEqual(rows.find((r) => r.functionId === b), { functionId: b, ...(await s.executionStats({ ...window, functionId: b })) });
        } finally {
          await s.close();
        }
      });

      it('buckets by UTC hour and day, oldest first, leaving out empty buckets', async () => {
        const { s, a } = await seeded();
        try {
          const hours = await s.executionBuckets({ ...window, unit: 'hour' });
          assert.deepEqual(hours.map((h) => [h.start, h.executions, h.errors]), [
            [t(0), 3, 0],
            [t(7_200), 3, 1],
            [t(86_400), 2, 0],
          ]);
          assert.equal(hours[1]!.cost, 0.0003);
          assert.equal(hours[1]!.wallClockCost, 0.0009);
          near(hours[1]!.wallMsAvg, 17 / 3);
          near(hours[1]!.cpuUsAvg, 400);
          near(hours[1]!.wallMsP95, 4 + 0.9 * 6);
          const days = await s.executionBuckets({ ...window, unit: 'day', functionId: a });
          assert.deepEqual(days.map((d) => [d.start, d.executions, d.cost]), [[t(0), 6, 0.0005]]);
          const plain = await s.executionBuckets({ ...window, unit: 'hour', percentiles: false });
          assert.deepEqual(plain, hours.map((h) => ({ ...h, wallMsP95: null })));
          const noRanks = await s.executionStats({ ...window, percentiles: false });
          assert.deepEqual(noRanks, { ...(await s.executionStats(window)), wallMsP50: null, wallMsP95: null, wallMsP99: null, cpuUsP95: null });
        } finally {
          await s.close();
        }
      });
    });

    describe('close', () => {
      it('releases the store: later calls reject, closing again is harmless', async () => {
        const s = await fresh();
        const fn = fnRecord();
        await s.createFunction(fn);
        await s.close();
        await assert.rejects(s.getFunction(fn.id));
        await s.close();
      });
    });
  });
}
