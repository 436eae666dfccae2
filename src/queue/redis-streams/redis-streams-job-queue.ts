/**
 * The distributed job queue on Redis Streams, for installs with several worker hosts.
 *
 * Keys: the stream `${prefix}:jobs` read through the consumer group `${prefix}:workers`, and the
 * sorted set `${prefix}:delayed` of jobs waiting for their delay, scored by due time (ms). A Lua
 * script moves due members into the stream atomically; every `receive` runs it first. A received
 * entry stays in the group's pending list until acked: that is its lease, and XAUTOCLAIM hands it
 * to another consumer once it has been idle longer than the lease.
 *
 * Parity and limitations (against src/queue/types.ts and the SQLite queue):
 * - Only delayed jobs' due times follow the injected Clock. Leases are Redis's idle times and
 *   `waitMs` is a Redis BLOCK timeout, both real time: a ManualClock cannot move them.
 * - A lease lapses when the entry has been idle longer than the `leaseMs` of the receive that
 *   reclaims it (XAUTOCLAIM min-idle-time), not of the one that received it; use one leaseMs.
 * - `extend` resets the idle time (XCLAIM JUSTID), granting the reclaimers' leaseMs from now
 *   whatever `leaseMs` it is given: Redis clamps a delivery time in the future to now.
 * - `depth().inFlight` includes pending entries whose lease lapsed but which nobody reclaimed
 *   yet (the SQLite queue counts those as ready): Redis knows idle times, not leases. `pending()`
 *   leaves them out for the same reason.
 * - A blocked receive notices lapsed leases and delayed jobs enqueued by other processes at its
 *   next slice: blocking is cut into slices of at most a quarter of the lease and 1 s.
 * - Durability is Redis's: a resolved enqueue survives a crash of the enqueuing process, and a
 *   crash of Redis only with `appendonly yes` and `appendfsync always`.
 * - On Redis Cluster, give the prefix a hash tag (`{spillway}`) so the script's keys share a slot.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { systemClock, type Clock } from '../../core/clock.js';
import type { Delivery, JobMessage, JobQueue, QueueDepth, ReceiveOptions } from '../types.js';

export interface RedisStreamsJobQueueOptions {
  /** Default redis://127.0.0.1:6379. */
  url?: string;
  prefix: string;
  /** Consumer name in the group; a restarted process with the same name resumes its own jobs. */
  consumer?: string;
  clock?: Clock;
}

/** Longest single BLOCK, so a waiting receive still promotes delayed jobs others enqueued. */
const MAX_BLOCK_SLICE_MS = 1000;
/** Delayed jobs moved into the stream per script run; a receive loops while more are due. */
const PROMOTE_BATCH = 500;

/**
 * KEYS: delayed set, stream. ARGV: now (ms), batch size.
 * Returns {moved, next due score or '-1'}: the caller blocks no longer than the next due job.
 */
const PROMOTE_DUE_SCRIPT = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  local job = cjson.decode(member)
  redis.call('XADD', KEYS[2], '*', 'executionId', job.e, 'attempt', job.a)
  redis.call('ZREM', KEYS[1], member)
end
local nextDue = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {#due, nextDue[2] or '-1'}
`;

/**
 * KEYS: stream. ARGV: group, consumer, entry id, deliveries the caller saw.
 * Resets the idle time only while the entry is still this delivery: owned by this consumer and
 * not delivered again since, so a stale extend cannot stretch a newer receiver's lease.
 */
const EXTEND_SCRIPT = `
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 or p[1][2] ~= ARGV[2] or tonumber(p[1][4]) ~= tonumber(ARGV[4]) then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
return 1
`;

type QueueCommands = {
  spillwayPromoteDue(delayedKey: string, streamKey: string, now: number, batch: number): Promise<[number, string]>;
  spillwayExtend(streamKey: string, group: string, consumer: string, id: string, deliveries: number): Promise<number>;
};

/** A stream entry as Redis returns it; fields are null for an entry deleted while pending. */
type StreamEntry = { id: string; fields: string[] | null };

export class RedisStreamsJobQueue implements JobQueue {
  private readonly redis: Redis & QueueCommands;
  private readonly clock: Clock;
  private readonly consumer: string;
  private readonly streamKey: string;
  private readonly group: string;
  private readonly delayedKey: string;
  /** Connections for XREADGROUP BLOCK, one per concurrent receive, reused. */
  private readonly blockers = new Set<Redis>();
  private readonly idleBlockers: Redis[] = [];
  private groupReady: Promise<void> | null = null;
  /** Where to continue reading this consumer's own pending entries; null once all were read. */
  private ownPendingCursor: string | null = '0';
  /** XAUTOCLAIM cursor, so successive receives walk the whole pending list. */
  private claimCursor = '0-0';
  private closed = false;

  constructor(options: RedisStreamsJobQueueOptions) {
    this.clock = options.clock ?? systemClock;
    this.consumer = options.consumer ?? `${hostname()}-${process.pid}`;
    this.streamKey = `${options.prefix}:jobs`;
    this.group = `${options.prefix}:workers`;
    this.delayedKey = `${options.prefix}:delayed`;
    const redis = new Redis(options.url ?? 'redis://127.0.0.1:6379', {
      // Names the connections in CLIENT LIST, so an operator can tell whose they are.
      connectionName: `spillway-queue:${this.consumer}`.replace(/\s/g, '_'),
    });
    redis.defineCommand('spillwayPromoteDue', { numberOfKeys: 2, lua: PROMOTE_DUE_SCRIPT });
    redis.defineCommand('spillwayExtend', { numberOfKeys: 1, lua: EXTEND_SCRIPT });
    // defineCommand adds the methods at runtime; QueueCommands declares them for the compiler.
    this.redis = redis as Redis & QueueCommands;
  }

  async enqueue(message: JobMessage, options?: { delayMs?: number }): Promise<void> {
    this.assertOpen();
    const delayMs = Math.max(0, options?.delayMs ?? 0);
    if (delayMs > 0) {
      // The random id keeps two identical messages from collapsing into one set member.
      const member = JSON.stringify({ u: randomUUID(), e: message.executionId, a: String(message.attempt) });
      await this.redis.zadd(this.delayedKey, this.clock.now() + delayMs, member);
      return;
    }
    await this.redis.xadd(this.streamKey, '*', 'executionId', message.executionId, 'attempt', String(message.attempt));
  }

  async receive(options: ReceiveOptions): Promise<Delivery[]> {
    if (this.closed) return [];
    const max = Math.max(1, Math.floor(options.max));
    const leaseMs = Math.max(1, Math.floor(options.leaseMs));
    const deadline = performance.now() + Math.max(0, options.waitMs);
    const sliceMs = Math.min(MAX_BLOCK_SLICE_MS, Math.max(10, Math.floor(leaseMs / 4)));
    try {
      for (;;) {
        await this.ensureGroup();
        let deliveries: Delivery[];
        try {
          deliveries = await this.receiveOnce(max, leaseMs, deadline, sliceMs);
        } catch (err) {
          // The stream or group was deleted under us (e.g. FLUSHDB): recreate it and go on.
          if (!isNoGroup(err)) throw err;
          this.groupReady = null;
          continue;
        }
        if (this.closed) return [];
        if (deliveries.length > 0 || performance.now() >= deadline) return deliveries;
      }
    } catch (err) {
      // close() disconnects under a receive in progress; that ends it with no jobs, not an error.
      if (this.closed) return [];
      throw err;
    }
  }

  async ack(delivery: Delivery): Promise<void> {
    this.assertOpen();
    // XDEL too: acked entries would otherwise stay in the stream and count in XLEN forever.
    await this.redis.multi().xack(this.streamKey, this.group, delivery.id).xdel(this.streamKey, delivery.id).exec();
  }

  async extend(delivery: Delivery, _leaseMs: number): Promise<void> {
    this.assertOpen();
    await this.redis.spillwayExtend(this.streamKey, this.group, this.consumer, delivery.id, delivery.deliveries);
  }

  async depth(): Promise<QueueDepth> {
    this.assertOpen();
    await this.ensureGroup();
    const now = this.clock.now();
    const replies = await this.redis
      .multi()
      .xlen(this.streamKey)
      .call('XPENDING', this.streamKey, this.group)
      .zcount(this.delayedKey, '-inf', now)
      .zcount(this.delayedKey, `(${now}`, '+inf')
      .exec();
    const [length, pendingSummary, dueDelayed, notDue] = (replies ?? []).map(([err, value]) => {
      if (err) throw err;
      return value;
    });
    const pending = Array.isArray(pendingSummary) ? Number(pendingSummary[0]) : 0;
    return {
      // Due members not yet moved into the stream are deliverable: the next receive moves them.
      ready: Number(length) - pending + Number(dueDelayed),
      delayed: Number(notDue),
      inFlight: pending,
    };
  }

  /** XLEN − pending entries + ZCARD of the delayed set: three O(1) commands in one round trip. */
  async pending(): Promise<number> {
    this.assertOpen();
    await this.ensureGroup();
    const replies = await this.redis.multi().xlen(this.streamKey).call('XPENDING', this.streamKey, this.group).zcard(this.delayedKey).exec();
    const [length, pendingSummary, delayed] = (replies ?? []).map(([err, value]) => {
      if (err) throw err;
      return value;
    });
    const held = Array.isArray(pendingSummary) ? Number(pendingSummary[0]) : 0;
    return Number(length) - held + Number(delayed);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // disconnect() rejects a blocked XREADGROUP at once; quit() would wait for it to time out.
    for (const blocker of this.blockers) blocker.disconnect();
    this.blockers.clear();
    this.idleBlockers.length = 0;
    if (this.redis.status === 'ready') {
      await this.redis.quit().catch(() => this.redis.disconnect());
    } else {
      this.redis.disconnect();
    }
  }

  /** One pass: promote due delayed jobs, reclaim stalled ones, then read (blocking if idle). */
  private async receiveOnce(max: number, leaseMs: number, deadline: number, sliceMs: number): Promise<Delivery[]> {
    const nextDue = await this.promoteDue();
    const out = await this.reclaimStalled(max, leaseMs);
    if (out.length < max && this.ownPendingCursor !== null) out.push(...(await this.readOwnPending(max - out.length)));
    if (out.length >= max) return out;

    let blockMs = 0;
    if (out.length === 0) {
      const dueIn = nextDue === null ? Infinity : nextDue - this.clock.now();
      blockMs = Math.floor(Math.min(deadline - performance.now(), sliceMs, dueIn));
    }
    const fresh = blockMs >= 1 ? await this.readNewBlocking(max - out.length, blockMs) : await this.readNew(max - out.length);
    // A `>` read is an entry's first delivery.
    for (const entry of fresh) {
      const delivery = this.toDelivery(entry, 1);
      if (delivery) out.push(delivery);
    }
    return out;
  }

  /** Runs the promote script; returns the next delayed job's due time, or null if none. */
  private async promoteDue(): Promise<number | null> {
    for (;;) {
      const now = this.clock.now();
      const [moved, next] = await this.redis.spillwayPromoteDue(this.delayedKey, this.streamKey, now, PROMOTE_BATCH);
      const nextDue = Number(next);
      if (Number(moved) < PROMOTE_BATCH || nextDue > now || nextDue < 0) return nextDue < 0 ? null : nextDue;
    }
  }

  /** XAUTOCLAIM: takes over entries idle longer than the lease, whoever held them. */
  private async reclaimStalled(max: number, leaseMs: number): Promise<Delivery[]> {
    const reply = await this.redis.call(
      'XAUTOCLAIM', this.streamKey, this.group, this.consumer, leaseMs, this.claimCursor, 'COUNT', max,
    );
    if (!Array.isArray(reply)) return [];
    this.claimCursor = typeof reply[0] === 'string' ? reply[0] : '0-0';
    return this.withDeliveryCounts(parseEntries(reply[1]));
  }

  /**
   * Reads this consumer's own pending entries (ID 0 instead of `>`): a process restarted under the
   * same consumer name resumes the jobs its previous run held, without waiting out their leases.
   */
  private async readOwnPending(count: number): Promise<Delivery[]> {
    const cursor = this.ownPendingCursor;
    if (cursor === null) return [];
    // Cleared while reading, so a concurrent receive does not hand out the same entries.
    this.ownPendingCursor = null;
    const reply = await this.redis.call(
      'XREADGROUP', 'GROUP', this.group, this.consumer, 'COUNT', count, 'STREAMS', this.streamKey, cursor,
    );
    const entries = parseReadReply(reply);
    if (entries.length === count) this.ownPendingCursor = entries[entries.length - 1]!.id;
    return this.withDeliveryCounts(entries);
  }

  private async readNew(count: number): Promise<StreamEntry[]> {
    const reply = await this.redis.call(
      'XREADGROUP', 'GROUP', this.group, this.consumer, 'COUNT', count, 'STREAMS', this.streamKey, '>',
    );
    return parseReadReply(reply);
  }

  /** XREADGROUP BLOCK on a connection of its own: a blocked connection serves nothing else. */
  private async readNewBlocking(count: number, blockMs: number): Promise<StreamEntry[]> {
    const blocker = this.idleBlockers.pop() ?? this.newBlocker();
    try {
      const reply = await blocker.call(
        'XREADGROUP', 'GROUP', this.group, this.consumer, 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', this.streamKey, '>',
      );
      return parseReadReply(reply);
    } finally {
      if (this.closed) blocker.disconnect();
      else this.idleBlockers.push(blocker);
    }
  }

  private newBlocker(): Redis {
    const blocker = this.redis.duplicate();
    this.blockers.add(blocker);
    return blocker;
  }

  /** Entries handed out again carry their delivery count only in the pending list: look it up. */
  private async withDeliveryCounts(entries: StreamEntry[]): Promise<Delivery[]> {
    if (entries.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const entry of entries) pipeline.call('XPENDING', this.streamKey, this.group, entry.id, entry.id, 1);
    const replies = (await pipeline.exec()) ?? [];
    const out: Delivery[] = [];
    entries.forEach((entry, i) => {
      const [err, value] = replies[i] ?? [null, null];
      if (err) throw err;
      const row = Array.isArray(value) && Array.isArray(value[0]) ? value[0] : null;
      const delivery = this.toDelivery(entry, row ? Number(row[3]) : 1);
      if (delivery) out.push(delivery);
    });
    return out;
  }

  /** Null for an entry deleted while pending; it is acked so it leaves the pending list. */
  private toDelivery(entry: StreamEntry, deliveries: number): Delivery | null {
    const fields = entry.fields ? fieldMap(entry.fields) : null;
    const executionId = fields?.get('executionId');
    if (!fields || executionId === undefined) {
      void this.redis.xack(this.streamKey, this.group, entry.id).catch(() => {});
      return null;
    }
    return { id: entry.id, message: { executionId, attempt: Number(fields.get('attempt') ?? 0) }, deliveries };
  }

  private ensureGroup(): Promise<void> {
    this.groupReady ??= this.redis
      // From ID 0, so jobs enqueued before any worker started are delivered too.
      .call('XGROUP', 'CREATE', this.streamKey, this.group, '0', 'MKSTREAM')
      .then(
        () => undefined,
        (err: unknown) => {
          if (err instanceof Error && err.message.startsWith('BUSYGROUP')) return;
          this.groupReady = null;
          throw err;
        },
      );
    return this.groupReady;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('RedisStreamsJobQueue is closed');
  }
}

function isNoGroup(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOGROUP');
}

function parseEntries(raw: unknown): StreamEntry[] {
  if (!Array.isArray(raw)) return [];
  const out: StreamEntry[] = [];
  for (const item of raw) {
    if (!Array.isArray(item) || typeof item[0] !== 'string') continue;
    const fields = Array.isArray(item[1]) ? item[1].map(String) : null;
    out.push({ id: item[0], fields });
  }
  return out;
}

/** XREADGROUP replies [[stream, entries]] for our single stream, or null on timeout. */
function parseReadReply(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply) || !Array.isArray(reply[0])) return [];
  return parseEntries(reply[0][1]);
}

function fieldMap(fields: string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!);
  return map;
}
