/**
 * Rate-limited queue reads in the execution worker (seed 003): batches of at most 5, a 100 ms
 * pause between reads that come back full, and exponential backoff (100 ms → 30 s) when the queue
 * fails, all measured on a ManualClock. The queue is the platform's real SQLite queue, wrapped to
 * record each read and to fail the reads a test asks to fail.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { ManualClock, type Clock } from '../../src/core/clock.js';
import { ExecutionWorker } from '../../src/executions/execution-worker.js';
import type { Delivery, JobMessage, JobQueue, QueueDepth, ReceiveOptions } from '../../src/queue/types.js';
import { startPlatform, type TestPlatform } from '../helpers/platform.js';

interface Read {
  at: number;
  max: number;
  /** Jobs returned, 'error' for a failed read, null while the read is waiting. */
  got: number | 'error' | null;
}

/** The real queue, with every receive recorded and the next `failReads` receives failing. */
class RecordingQueue implements JobQueue {
  readonly reads: Read[] = [];
  failReads = 0;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly inner: JobQueue,
    private readonly clock: Clock,
  ) {}

  /** Resolves once `count` reads have started. */
  readsStarted(count: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => (this.reads.length >= count ? resolve() : this.waiters.push(check));
      check();
    });
  }

  async receive(options: ReceiveOptions): Promise<Delivery[]> {
    const read: Read = { at: this.clock.now(), max: options.max, got: null };
    this.reads.push(read);
    this.waiters.splice(0).forEach((w) => w());
    if (this.failReads > 0) {
      this.failReads--;
      read.got = 'error';
      throw new Error('queue unavailable');
    }
    const deliveries = await this.inner.receive(options);
    read.got = deliveries.length;
    return deliveries;
  }
  enqueue(message: JobMessage, options?: { delayMs?: number }): Promise<void> {
    return this.inner.enqueue(message, options);
  }
  ack(delivery: Delivery): Promise<void> {
    return this.inner.ack(delivery);
  }
  extend(delivery: Delivery, leaseMs: number): Promise<void> {
    return this.inner.extend(delivery, leaseMs);
  }
  depth(): Promise<QueueDepth> {
    return this.inner.depth();
  }
  pending(): Promise<number> {
    return this.inner.pending();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

describe('execution worker queue reads', () => {
  let t: TestPlatform;
  let clock: ManualClock;
  let queue: RecordingQueue;
  let worker: ExecutionWorker;
  const errors: string[] = [];

  before(async () => {
    clock = new ManualClock();
    t = await startPlatform({}, { clock });
    // The platform's own worker steps aside (its receive waits 1 s of the Clock).
    const stopping = t.platform.worker.stop();
    clock.advance(1000);
    await stopping;
    queue = new RecordingQueue(t.platform.queue, clock);
  });
  after(async () => {
    const stopping = worker?.stop();
    clock.advance(1000);
    await stopping;
    await t.close();
  });

  const startWorker = () => {
    const p = t.platform;
    worker = new ExecutionWorker({
      store: p.store,
      queue,
      functions: p.functions,
      runtime: p.runtime,
      events: p.events,
      clock,
      concurrency: 64,
      leaseMs: 30_000,
      retryBaseDelayMs: 20,
      queueReads: p.policy.backpressure.queueReads,
      instanceId: 'reads-test',
      onError: (_err, context) => errors.push(context),
    });
    worker.start();
  };

  /** Lets every pending callback run, so a pause the worker entered has its timer set. */
  const settle = async () => {
    for (let i = 0; i < 5; i++) await turn();
  };

  it('backs off 100, 200, 400, 800 ms on queue errors, and reads normally once the queue answers', async () => {
    queue.failReads = 4;
    const t0 = clock.now();
    startWorker();
    for (const [n, delay] of [[1, 100], [2, 200], [3, 400], [4, 800]] as const) {
      await queue.readsStarted(n);
      await settle();
      clock.advance(delay - 1);
      await settle();
      assert.equal(queue.reads.length, n, `read ${n + 1} waits the full ${delay} ms`);
      clock.advance(1);
      await queue.readsStarted(n + 1);
    }
    assert.deepEqual(queue.reads.map((r) => r.at - t0), [0, 100, 300, 700, 1500]);
    assert.deepEqual(queue.reads.slice(0, 4).map((r) => r.got), ['error', 'error', 'error', 'error']);
    assert.equal(errors.filter((e) => e === 'queue receive failed').length, 4);
  });

  it('reads at most 5 jobs at a time, pausing 100 ms between full reads', async () => {
    // The worker is waiting in a read; 12 jobs (for executions that no longer exist: acked as stale),
    // due together 50 ms from now so the waiting read sees all of them at once.
    const before = queue.reads.length;
    for (let i = 0; i < 12; i++) await queue.enqueue({ executionId: `ex_gone_${i}`, attempt: 0 }, { delayMs: 50 });
    await settle();
    clock.advance(50);
    const t0 = clock.now();
    await settle();
    assert.equal(queue.reads[before - 1]!.got, 5, 'the waiting read took 5 of the 12');
    assert.equal(queue.reads.length, before, 'and the worker paused after that full read');
    clock.advance(99);
    await settle();
    assert.equal(queue.reads.length, before);
    clock.advance(1);
    await queue.readsStarted(before + 1);
    await settle();
    clock.advance(100);
    await queue.readsStarted(before + 3);
    await settle();
    const reads = queue.reads.slice(before - 1);
    assert.deepEqual(reads.map((r) => r.got), [5, 5, 2, null], 'the waiting read took 5, then 5, then the last 2; the next one waits');
    assert.ok(queue.reads.every((r) => r.max <= 5), 'never more than 5 asked for');
    assert.deepEqual(reads.slice(1).map((r) => r.at - t0), [100, 200, 200], 'no pause after a short read');
    assert.equal((await t.platform.queue.depth()).ready, 0, 'all 12 were received');
  });
});
