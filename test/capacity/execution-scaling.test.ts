/**
 * Seed 001's queue-driven scaling of executions, end to end: more than 10 pending for a 30 s check
 * adds a replica (the worker runs more at once), fewer than 3 takes it away; each change is a
 * stored, listed scaling event of tier "executions".
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { api, deploy, startPlatform } from '../helpers/platform.js';

describe('queue-driven execution scaling', () => {
  it('adds a replica when more than 10 executions are pending at a 30 s check (scale-down below 3 is unit-tested in rule-scaler.test.ts)', async () => {
    const clock = new ManualClock();
    const t = await startPlatform({ SPILLWAY_EXECUTION_CONCURRENCY: 1 }, { clock, policy: { backpressure: { tokenBucket: { burst: 100 } } } });
    try {
      assert.equal(t.platform.worker.concurrencyLimit, 1, 'one replica of one slot at start');
      // A function that never finishes on its own while the clock stands still: executions pile up.
      await deploy(t.base, 'wait', 'export default async function handler() { await new Promise((r) => setTimeout(r, 60_000)); return 1 }');
      for (let i = 0; i < 15; i++) assert.equal((await api(t.base, 'POST', '/api/functions/wait/execute', { input: {} })).status, 202);
      assert.ok((await t.platform.queue.pending()) > 10);

      const up = t.platform.events.once('scaling_event', (e) => e.tier === 'executions');
      clock.advance(30_000);
      const event = await up;
      assert.deepEqual([event.action, event.instanceCount, event.metric, event.threshold], ['scale_up', 2, 'queue_depth', 10]);
      assert.equal(t.platform.worker.concurrencyLimit, 2);
      const listed = await api(t.base, 'GET', '/api/metrics/scaling-history?tier=executions');
      assert.deepEqual(listed.body.data.map((e: { action: string }) => e.action), ['scale_up']);
    } finally {
      await t.close();
    }
  });
});
