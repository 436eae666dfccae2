/**
 * Rate-limited queue reads (seed 003 "Rate-Limited Queue Reads"): how many jobs the execution
 * worker asks for at a time, and how long it pauses before its next read. Reads are at most
 * `batchSize` jobs; while reads come back full (the queue has more than the worker takes in one
 * read), the worker pauses `busyIntervalMs` between them so it takes work at a bounded rate; a
 * queue error backs off exponentially from `errorBackoffMinMs`, doubling to `errorBackoffMaxMs`,
 * and the first successful read resets it. Pure arithmetic; the worker sleeps on its Clock.
 */
import type { BackpressurePolicy } from '../policy.js';

export type QueueReadsPolicy = BackpressurePolicy['queueReads'];

export class QueueReadPacer {
  private nextBackoffMs: number;

  constructor(private readonly policy: QueueReadsPolicy) {
    this.nextBackoffMs = policy.errorBackoffMinMs;
  }

  /** Jobs to ask for when `free` execution slots are free. */
  batch(free: number): number {
    return Math.max(1, Math.min(free, this.policy.batchSize));
  }

  /** After a read that returned `received` of the `requested` jobs: the pause before the next read. */
  afterRead(received: number, requested: number): number {
    this.nextBackoffMs = this.policy.errorBackoffMinMs;
    return received >= requested ? this.policy.busyIntervalMs : 0;
  }

  /** After a failed read: the pause before trying again (100 ms, 200 ms, 400 ms … 30 s by default). */
  afterError(): number {
    const delay = this.nextBackoffMs;
    this.nextBackoffMs = Math.min(this.nextBackoffMs * 2, this.policy.errorBackoffMaxMs);
    return delay;
  }
}
