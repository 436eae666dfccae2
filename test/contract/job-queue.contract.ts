/**
 * The JobQueue contract: the guarantees src/queue/types.ts documents, checked against any adapter.
 * Each backend's test file calls `jobQueueContract` with a factory that opens a queue on fresh
 * storage, can open another instance on the same storage, and deletes it all afterwards.
 *
 * Time: delays are checked with a ManualClock, which every adapter honours (the Redis one scores
 * delayed jobs with the queue's Clock), using `waitMs: 0` so no real time has to pass. Leases use
 * the system clock with short real leases (150–300 ms), because the Redis adapter's leases are
 * Redis's own idle times, which no injected Clock can move; one more test lets a short real
 * delay elapse while a receive waits, which is the path a worker takes in production.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ManualClock, type Clock } from '../../src/core/clock.js';
import type { Delivery, JobQueue } from '../../src/queue/types.js';

export interface QueueHarness {
  queue: JobQueue;
  /** Another instance on the same storage, as a restarted process would open. */
  reopen: () => Promise<JobQueue>;
  /** Closes every instance opened and deletes the storage. */
  cleanup: () => Promise<void>;
}

export type QueueFactory = (opts: { clock?: Clock }) => Promise<QueueHarness>;

/** Long enough that no test outlives it: the job must stay with its first receiver. */
const LONG_LEASE_MS = 60_000;

export function jobQueueContract(name: string, factory: QueueFactory): void {
  async function withQueue(opts: { clock?: Clock }, body: (h: QueueHarness) => Promise<void>): Promise<void> {
    const harness = await factory(opts);
    try {
      await body(harness);
    } finally {
      await harness.cleanup();
    }
  }

  const ids = (deliveries: Delivery[]): string[] => deliveries.map((d) => d.message.executionId);

  describe(name, () => {
    test('delivers enqueued jobs oldest first, at most `max` per receive', async () => {
      await withQueue({}, async ({ queue }) => {
        await queue.enqueue({ executionId: 'ex_1', attempt: 0 });
        await queue.enqueue({ executionId: 'ex_2', attempt: 3 });
        await queue.enqueue({ executionId: 'ex_3', attempt: 0 });

        const first = await queue.receive({ max: 2, leaseMs: LONG_LEASE_MS, waitMs: 0 });
        assert.deepEqual(ids(first), ['ex_1', 'ex_2']);
        assert.deepEqual(first.map((d) => d.message.attempt), [0, 3]);
        assert.deepEqual(first.map((d) => d.deliveries), [1, 1]);
        assert.notEqual(first[0]!.id, first[1]!.id);

        const second = await queue.receive({ max: 2, leaseMs: LONG_LEASE_MS, waitMs: 0 });
        assert.deepEqual(ids(second), ['ex_3']);
        assert.deepEqual(await queue.receive({ max: 2, leaseMs: LONG_LEASE_MS, waitMs: 0 }), []);
      });
    });

    test('a received job is invisible until its lease lapses, then delivered again with deliveries 2', async () => {
      await withQueue({}, async ({ queue }) => {
        const leaseMs = 300;
        await queue.enqueue({ executionId: 'ex_lease', attempt: 0 });
        const before = Date.now();
        const [first] = await queue.receive({ max: 1, leaseMs, waitMs: 0 });
        assert.equal(first?.deliveries, 1);

        assert.deepEqual(await queue.receive({ max: 1, leaseMs, waitMs: 0 }), [], 'delivered twice within its lease');

        // This receive waits for the lease to lapse: the lease is real time here, so real time passes.
        const again = await queue.receive({ max: 1, leaseMs, waitMs: 5000 });
        assert.deepEqual(ids(again), ['ex_lease']);
        assert.equal(again[0]!.deliveries, 2);
        assert.ok(Date.now() - before >= leaseMs - 20, `redelivered after ${Date.now() - before} ms`);
      });
    });

    test('ack removes a job for good', async () => {
      await withQueue({}, async ({ queue }) => {
        const leaseMs = 150;
        await queue.enqueue({ executionId: 'ex_ack', attempt: 0 });
        const [delivery] = await queue.receive({ max: 1, leaseMs, waitMs: 0 });
        assert.ok(delivery);
        await queue.ack(delivery);

        // Waiting past the lease: an unacked job would come back within this receive.
        assert.deepEqual(await queue.receive({ max: 1, leaseMs, waitMs: leaseMs * 3 }), []);
        assert.deepEqual(await queue.depth(), { ready: 0, delayed: 0, inFlight: 0 });
      });
    });

    test('extend keeps a job invisible past its original lease', async () => {
      await withQueue({}, async ({ queue }) => {
        const leaseMs = 300;
        await queue.enqueue({ executionId: 'ex_extend', attempt: 0 });
        const [delivery] = await queue.receive({ max: 1, leaseMs, waitMs: 0 });
        assert.ok(delivery);
        // Taken after the receive resolved, so the original lease ends before t0 + leaseMs.
        const t0 = Date.now();

        // Real delays: the lease is real time, and the point is to be partway into it, then past it.
        await sleep(150);
        await queue.extend(delivery, leaseMs);
        await sleep(Math.max(0, t0 + leaseMs + 50 - Date.now()));
        assert.deepEqual(
          await queue.receive({ max: 1, leaseMs, waitMs: 0 }),
          [],
          `delivered again ${Date.now() - t0} ms after the first delivery despite the extend`,
        );

        const again = await queue.receive({ max: 1, leaseMs, waitMs: 5000 });
        assert.deepEqual(ids(again), ['ex_extend']);
        assert.equal(again[0]!.deliveries, 2);
        assert.ok(Date.now() - t0 >= 150 + leaseMs - 20, `redelivered ${Date.now() - t0} ms after the first delivery`);
      });
    });

    test('a delayed job is not delivered before its delay of the queue clock, and is after', async () => {
      const clock = new ManualClock();
      await withQueue({ clock }, async ({ queue }) => {
        await queue.enqueue({ executionId: 'ex_delayed', attempt: 1 }, { delayMs: 60_000 });
        assert.deepEqual(await queue.receive({ max: 1, leaseMs: LONG_LEASE_MS, waitMs: 0 }), []);

        clock.advance(59_999);
        assert.deepEqual(await queue.receive({ max: 1, leaseMs: LONG_LEASE_MS, waitMs: 0 }), []);

        clock.advance(1);
        const due = await queue.receive({ max: 1, leaseMs: LONG_LEASE_MS, waitMs: 0 });
        assert.deepEqual(ids(due), ['ex_delayed']);
        assert.equal(due[0]!.message.attempt, 1);
        assert.equal(due[0]!.deliveries, 1);
      });
    });

    test('a waiting receive returns a delayed job once its delay elapses', async () => {
      await withQueue({}, async ({ queue }) => {
        const delayMs = 300;
        const before = Date.now();
        await queue.enqueue({ executionId: 'ex_backoff', attempt: 1 }, { delayMs });
        const got = await queue.receive({ max: 1, leaseMs: LONG_LEASE_MS, waitMs: 5000 });
        const elapsed = Date.now() - before;
        assert.deepEqual(ids(got), ['ex_backoff']);
        assert.ok(elapsed >= delayMs - 20, `delivered after ${elapsed} ms, delay was ${delayMs} ms`);
        assert.ok(elapsed < 2000, `delivered after ${elapsed} ms: the receive did not wake when the job was due`);
      });
    });

    test('receive returns early when a job is enqueued while it waits', async () => {
      await withQueue({}, async ({ queue }) => {
        const before = Date.now();
        const receiving = queue.receive({ max: 1, leaseMs: LONG_LEASE_MS, waitMs: 5000 });
        // Lets the receive get to its wait; the result does not depend on it, only what is tested.
        await sleep(100);
        await queue.enqueue({ executionId: 'ex_wake', attempt: 0 });
        const got = await receiving;
        const elapsed = Date.now() - before;
        assert.deepEqual(ids(got), ['ex_wake']);
        assert.ok(elapsed < 2000, `returned after ${elapsed} ms of a 5000 ms wait`);
      });
    });

    test('depth() counts ready, delayed and in-flight jobs', async () => {
      const clock = new ManualClock();
      await withQueue({ clock }, async ({ queue }) => {
        assert.deepEqual(await queue.depth(), { ready: 0, delayed: 0, inFlight: 0 });
        await queue.enqueue({ executionId: 'ex_a', attempt: 0 });
        await queue.enqueue({ executionId: 'ex_b', attempt: 0 });
        await queue.enqueue({ executionId: 'ex_c', attempt: 0 }, { delayMs: 10_000 });
        assert.deepEqual(await queue.depth(), { ready: 2, delayed: 1, inFlight: 0 });

        const [delivery] = await queue.receive({ max: 1, leaseMs: LONG_LEASE_MS, waitMs: 0 });
        assert.ok(delivery);
        assert.deepEqual(await queue.depth(), { ready: 1, delayed: 1, inFlight: 1 });

        await queue.ack(delivery);
        assert.deepEqual(await queue.depth(), { ready: 1, delayed: 1, inFlight: 0 });

        clock.advance(10_000);
        assert.deepEqual(await queue.depth(), { ready: 2, delayed: 0, inFlight: 0 });
      });
    });

    test('pending() counts ready and delayed jobs, not received ones, as depth() does, from any instance', async () => {
      const clock = new ManualClock();
      await withQueue({ clock }, async ({ queue, reopen }) => {
        assert.equal(await queue.pending(), 0);
        await queue.enqueue({ executionId: 'ex_a', attempt: 0 });
        await queue.enqueue({ executionId: 'ex_b', attempt: 0 });
        await queue.enqueue({ executionId: 'ex_c', attempt: 0 }, { delayMs: 10_000 });
        assert.equal(await queue.pending(), 3);

        const [delivery] = await queue.receive({ max: 1, leaseMs: LONG_LEASE_MS, waitMs: 0 });
        assert.ok(delivery);
        assert.equal(await queue.pending(), 2, 'a received job is not pending');
        const depth = await queue.depth();
        assert.equal(await queue.pending(), depth.ready + depth.delayed);
        const other = await reopen();
        assert.equal(await other.pending(), 2, 'another instance counts the same jobs');

        await queue.ack(delivery);
        clock.advance(10_000);
        assert.equal(await queue.pending(), 2, 'the delayed job, now due, is still pending');
        const rest = await queue.receive({ max: 5, leaseMs: LONG_LEASE_MS, waitMs: 0 });
        assert.equal(rest.length, 2);
        assert.equal(await queue.pending(), 0);
      });
    });

    test('enqueued jobs survive: another instance on the same storage delivers them', async () => {
      const clock = new ManualClock();
      await withQueue({ clock }, async ({ queue, reopen }) => {
        await queue.enqueue({ executionId: 'ex_durable', attempt: 0 });
        await queue.enqueue({ executionId: 'ex_durable_delayed', attempt: 2 }, { delayMs: 5000 });
        // The first instance is left open and unused, as a crashed process leaves it.
        const reopened = await reopen();
        const now = await reopened.receive({ max: 10, leaseMs: LONG_LEASE_MS, waitMs: 0 });
        assert.deepEqual(ids(now), ['ex_durable']);

        clock.advance(5000);
        const later = await reopened.receive({ max: 10, leaseMs: LONG_LEASE_MS, waitMs: 0 });
        assert.deepEqual(ids(later), ['ex_durable_delayed']);
        assert.equal(later[0]!.message.attempt, 2);
      });
    });

    test('close() ends a pending receive with an empty result', async () => {
      await withQueue({}, async ({ queue }) => {
        const before = Date.now();
        const receiving = queue.receive({ max: 1, leaseMs: LONG_LEASE_MS, waitMs: 10_000 });
        // Lets the receive get to its wait (a blocked read for Redis); closing earlier must work too.
        await sleep(100);
        await queue.close();
        assert.deepEqual(await receiving, []);
        const elapsed = Date.now() - before;
        assert.ok(elapsed < 2000, `receive ended ${elapsed} ms after it started, of a 10000 ms wait`);
        assert.deepEqual(await queue.receive({ max: 1, leaseMs: LONG_LEASE_MS, waitMs: 10_000 }), []);
      });
    });

    test('close() right after receive starts still ends it with an empty result', async () => {
      await withQueue({}, async ({ queue }) => {
        const before = Date.now();
        const receiving = queue.receive({ max: 1, leaseMs: LONG_LEASE_MS, waitMs: 10_000 });
        await queue.close();
        assert.deepEqual(await receiving, []);
        assert.ok(Date.now() - before < 2000, `receive ended ${Date.now() - before} ms after it started`);
      });
    });
  });
}
