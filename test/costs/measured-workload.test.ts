/**
 * The measured workload against a real SQLite store: exact over the window when it holds fewer
 * calls than the sample, the newest sample's own rate when it holds more, old and unfinished
 * calls left out, and a deleted function's calls still counted.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { SAMPLE_LIMIT, measureWorkload } from '../../src/costs/measured-workload.js';
import { SqliteMetadataStore } from '../../src/storage/sqlite/sqlite-metadata-store.js';
import type { ExecutionRecord } from '../../src/storage/types.js';

const NOW = Date.parse('2026-11-23T12:00:00.000Z');
let seq = 0;

function call(atMs: number, cpuUs: number | null, wallUs: number | null, functionId = 'fn_gone'): ExecutionRecord {
  return {
    id: `ex_${String(seq++).padStart(6, '0')}`,
    functionId,
    versionId: 'b'.repeat(64),
    trigger: 'http',
    input: null,
    output: null,
    status: cpuUs === null ? 'pending' : 'completed',
    error: null,
    retryCount: 0,
    maxRetries: 0,
    createdAt: new Date(atMs).toISOString(),
    startTime: null,
    endTime: null,
    duration: null,
    cpuUs,
    wallUs,
    coldStart: false,
    instanceId: null,
    logs: [],
    cost:
      cpuUs === null
        ? null
        : { tier: 'standard', billedDurationMs: 100, baseCost: 0, coldStartCost: 0, retryCost: 0, dataTransferCost: 0, totalCost: 0, wallClockCost: 0, resourceUsage: { memoryMB: 512, cpuCores: 0.5 } },
    nextAttemptAt: null,
    inputBytes: 0,
    outputBytes: 0,
    replayOf: null,
  };
}

describe('measureWorkload', () => {
  let dir: string;
  let store: SqliteMetadataStore;
  // A fresh store per test, so each test's calls are the only ones.
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spillway-cost-'));
    store = new SqliteMetadataStore({ path: join(dir, 'metadata.db') });
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('counts every finished call of the window exactly when the window holds fewer than the sample', async () => {
    // 10 finished calls in the last hour, one still pending, two from yesterday (outside 1 h).
    await store.insertExecutions([call(NOW - 2 * 86_400_000, 1, 1), call(NOW - 86_400_000 - 1, 1, 1)]);
    await store.insertExecutions(Array.from({ length: 10 }, (_, i) => call(NOW - 60_000 * (i + 1), 2_000 * (i + 1), 20_000)));
    await store.insertExecutions([call(NOW - 1_000, null, null)]);
    const m = await measureWorkload(store, NOW, '1h', 3600);
    assert.equal(m.basis, 'window');
    assert.equal(m.calls, 10);
    assert.equal(m.callsPerSecond, 10 / 3600);
    assert.equal(m.cpuMsPerCall, 11, 'mean of 2, 4, … 20 ms');
    assert.equal(m.wallMsPerCall, 20);
    assert.equal(m.memoryMb, 512, 'a deleted function’s calls count, at their tier’s memory');
    assert.equal(m.from, new Date(NOW - 3_600_000).toISOString());

    const day = await measureWorkload(store, NOW, '24h', 86_400);
    assert.equal(day.calls, 10, 'the call 24 h and 1 ms ago is outside');
  });

  it('uses the newest sample and its own span when the window holds more calls than the sample', async () => {
    // SAMPLE_LIMIT + 200 calls, one every 100 ms, ending 100 ms before NOW, and one pending call.
    const n = SAMPLE_LIMIT + 200;
    await store.insertExecutions(Array.from({ length: n }, (_, i) => call(NOW - 100 * (n - i), 1_000, 10_000)));
    await store.insertExecutions([call(NOW - 50, null, null)]);
    const m = await measureWorkload(store, NOW, '24h', 86_400);
    assert.equal(m.basis, 'newest-sample');
    // The newest SAMPLE_LIMIT records are the pending call (read, not counted) and 999 finished
    // ones: 999 calls over the 99.9 s since the oldest of them.
    assert.equal(m.calls, SAMPLE_LIMIT - 1);
    assert.ok(Math.abs(m.spanSeconds - (SAMPLE_LIMIT - 1) / 10) < 1e-9, `span ${m.spanSeconds}`);
    assert.ok(Math.abs(m.callsPerSecond - 10) < 1e-9, `ten calls a second, as inserted (got ${m.callsPerSecond})`);
    assert.equal(m.cpuMsPerCall, 1);
    assert.equal(m.wallMsPerCall, 10);
  });
});
