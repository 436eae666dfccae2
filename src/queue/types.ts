/**
 * The execution queue: at-least-once delivery of execution jobs, with delayed delivery (retry
 * backoff) and leases (a job whose consumer dies is delivered again once its lease lapses).
 *
 * Guarantees every adapter keeps (checked by test/contract/job-queue.contract.ts):
 * - an enqueued job survives a crash of the process that enqueued it, once `enqueue` resolved;
 * - a received job is invisible to other receivers until acked, or until its lease lapses, after
 *   which it is delivered again with `deliveries` incremented;
 * - a job enqueued with `delayMs` is not delivered before that much of the queue's Clock passed;
 * - `receive` waits up to `waitMs` for a job and returns early when one arrives;
 * - `close()` releases every connection and ends any `receive` in progress with an empty result.
 */

export interface JobMessage {
  executionId: string;
  /** Which attempt this job is for (0 for the first); lets the consumer drop stale duplicates. */
  attempt: number;
}

export interface Delivery {
  /** Adapter-specific handle for ack/extend. */
  id: string;
  message: JobMessage;
  /** 1 on first delivery, more after lease lapses. */
  deliveries: number;
}

export interface ReceiveOptions {
  max: number;
  /** How long received jobs stay invisible without an ack or extend. */
  leaseMs: number;
  /** How long to wait for at least one job. */
  waitMs: number;
}

export interface QueueDepth {
  /** Deliverable now. */
  ready: number;
  /** Waiting for their delay. */
  delayed: number;
  /** Received and not yet acked. */
  inFlight: number;
}

export interface JobQueue {
  enqueue(message: JobMessage, options?: { delayMs?: number }): Promise<void>;
  receive(options: ReceiveOptions): Promise<Delivery[]>;
  ack(delivery: Delivery): Promise<void>;
  /** Pushes the lease of a job still being worked on `leaseMs` into the future. */
  extend(delivery: Delivery, leaseMs: number): Promise<void>;
  depth(): Promise<QueueDepth>;
  /**
   * Jobs waiting to be delivered: ready or delayed, not held by a receiver (`depth().ready +
   * depth().delayed`). Cheap on a deep queue (no scan of every job), for load shedding, which asks
   * about once a second.
   */
  pending(): Promise<number>;
  close(): Promise<void>;
}
