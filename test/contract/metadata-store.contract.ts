/**
 * The MetadataStore contract: every adapter runs this suite (see the *-metadata-store.test.ts
 * files next to it), so the guarantees documented in src/storage/types.ts hold for each of them.
 */
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type {
  DeadLetterRecord,
  ExecutionRecord,
  FunctionRecord,
  MetadataStore,
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
