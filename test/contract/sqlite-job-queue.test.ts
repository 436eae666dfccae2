/**
 * The JobQueue contract against the SQLite queue, plus what only this adapter can show: leases
 * and waits measured on the injected Clock, and an enqueue surviving `kill -9` of its process.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { ManualClock } from '../../src/core/clock.js';
import { SqliteJobQueue } from '../../src/queue/local/sqlite-job-queue.js';
import { jobQueueContract } from './job-queue.contract.js';

async function tempQueuePath(): Promise<{ path: string; removeDir: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'spillway-queue-'));
  return { path: join(dir, 'queue.db'), removeDir: () => rm(dir, { recursive: true, force: true }) };
}

jobQueueContract('SqliteJobQueue', async ({ clock }) => {
  const { path, removeDir } = await tempQueuePath();
  const opened: SqliteJobQueue[] = [];
  const open = (): SqliteJobQueue => {
    const queue = new SqliteJobQueue({ path, clock });
    opened.push(queue);
    return queue;
  };
  return {
    queue: open(),
    reopen: async () => open(),
    cleanup: async () => {
      for (const queue of opened) await queue.close();
      await removeDir();
    },
  };
});

describe('SqliteJobQueue on the queue clock', () => {
  async function withClockQueue(body: (queue: SqliteJobQueue, clock: ManualClock) => Promise<void>): Promise<void> {
    const { path, removeDir } = await tempQueuePath();
    const clock = new ManualClock();
    const queue = new SqliteJobQueue({ path, clock });
    try {
      await body(queue, clock);
    } finally {
      await queue.close();
      await removeDir();
    }
  }

  /** Whether `promise` settled by the next turn of the event loop. */
  async function settledSoon(promise: Promise<unknown>): Promise<boolean> {
    let settled = false;
    void promise.then(() => (settled = true), () => (settled = true));
    await turn();
    return settled;
  }

  test('leases lapse by the clock, and a stale extend does not stretch a newer lease', async () => {
    await withClockQueue(async (queue, clock) => {
      await queue.enqueue({ executionId: 'ex_lease', attempt: 0 });
      const [first] = await queue.receive({ max: 1, leaseMs: 1000, waitMs: 0 });
      assert.equal(first?.deliveries, 1);

      clock.advance(999);
      assert.deepEqual(await queue.receive({ max: 1, leaseMs: 1000, waitMs: 0 }), []);
      clock.advance(1);
      const [second] = await queue.receive({ max: 1, leaseMs: 1000, waitMs: 0 });
      assert.equal(second?.deliveries, 2);

      // The first receiver lost the job; its extend must not keep the second's lease alive.
      await queue.extend(first!, 100_000);
      clock.advance(1000);
      const [third] = await queue.receive({ max: 1, leaseMs: 1000, waitMs: 0 });
      assert.equal(third?.deliveries, 3);

      await queue.extend(third!, 5000);
      clock.advance(4999);
      assert.deepEqual(await queue.receive({ max: 1, leaseMs: 1000, waitMs: 0 }), []);
      assert.deepEqual(await queue.depth(), { ready: 0, delayed: 0, inFlight: 1 });
    });
  });

  test('a waiting receive wakes when the clock passes a delay or a lease, without real time passing', async () => {
    await withClockQueue(async (queue, clock) => {
      await queue.enqueue({ executionId: 'ex_delayed', attempt: 0 }, { delayMs: 30_000 });
      const started = Date.now();
      const waitingForDelay = queue.receive({ max: 1, leaseMs: 1000, waitMs: 600_000 });
      assert.equal(await settledSoon(waitingForDelay), false);
      clock.advance(30_000);
      const [delayed] = await waitingForDelay;
      assert.equal(delayed?.message.executionId, 'ex_delayed');

      const waitingForLease = queue.receive({ max: 1, leaseMs: 1000, waitMs: 600_000 });
      clock.advance(1000);
      const [again] = await waitingForLease;
      assert.equal(again?.deliveries, 2);
      // The fallback poll runs every 250 ms of real time: waking sooner shows the Clock timers did it.
      assert.ok(Date.now() - started < 200, `took ${Date.now() - started} ms of real time`);
    });
  });

  test('waitMs is measured on the clock', async () => {
    await withClockQueue(async (queue, clock) => {
      const waiting = queue.receive({ max: 1, leaseMs: 1000, waitMs: 5000 });
      clock.advance(4999);
      assert.equal(await settledSoon(waiting), false);
      clock.advance(1);
      assert.deepEqual(await waiting, []);
    });
  });

  test('an enqueue on the same instance wakes a waiting receive at once', async () => {
    await withClockQueue(async (queue) => {
      const started = Date.now();
      const waiting = queue.receive({ max: 1, leaseMs: 1000, waitMs: 600_000 });
      assert.equal(await settledSoon(waiting), false);
      await queue.enqueue({ executionId: 'ex_now', attempt: 0 });
      const [got] = await waiting;
      assert.equal(got?.message.executionId, 'ex_now');
      assert.ok(Date.now() - started < 200, `took ${Date.now() - started} ms: woken by the poll, not the enqueue`);
    });
  });
});

describe('SqliteJobQueue across processes', () => {
  // Run by the child: enqueue, report it resolved, then hang until killed.
  const CHILD = `
    const { SqliteJobQueue } = await import(process.env.QUEUE_MODULE);
    const queue = new SqliteJobQueue({ path: process.env.QUEUE_PATH });
    await queue.enqueue({ executionId: 'ex_crash', attempt: 0 });
    process.stdout.write('enqueued\\n');
    setInterval(() => {}, 60_000);
  `;

  test('an enqueue survives kill -9 of its process and reaches a receive waiting in another', async () => {
    const { path, removeDir } = await tempQueuePath();
    const queue = new SqliteJobQueue({ path });
    let fresh: SqliteJobQueue | undefined;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
      env: {
        ...process.env,
        QUEUE_MODULE: new URL('../../src/queue/local/sqlite-job-queue.ts', import.meta.url).href,
        QUEUE_PATH: path,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const receiving = queue.receive({ max: 1, leaseMs: 60_000, waitMs: 30_000 });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      await new Promise<void>((resolve, reject) => {
        let stdout = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          stdout += chunk;
          if (stdout.includes('enqueued\n')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`child exited (${code}) before enqueueing:\n${stderr}`)));
      });
      const enqueuedAt = Date.now();
      child.kill('SIGKILL');

      const got = await receiving;
      assert.deepEqual(got.map((d) => d.message.executionId), ['ex_crash']);
      // Nothing notifies across processes; the fallback poll (every 250 ms) must find it.
      assert.ok(Date.now() - enqueuedAt < 2000, `found ${Date.now() - enqueuedAt} ms after the enqueue`);

      // And the row is on disk: an instance opened after the kill sees it, held by our receive.
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
      fresh = new SqliteJobQueue({ path });
      assert.deepEqual(await fresh.depth(), { ready: 0, delayed: 0, inFlight: 1 });
    } finally {
      child.kill('SIGKILL');
      await fresh?.close();
      await queue.close();
      await removeDir();
    }
  });
});
