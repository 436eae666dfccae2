/**
 * The JobQueue contract against the Redis Streams queue, plus what only a consumer group shows:
 * a dead consumer's jobs go to another consumer once their lease lapses (XAUTOCLAIM), and a
 * restarted consumer with the same name gets its own pending jobs back at once.
 *
 * Needs a real Redis (6.2+, for XAUTOCLAIM) at SPILLWAY_TEST_REDIS_URL, default
 * redis://127.0.0.1:6379. Without one these tests fail, never skip: a skipped suite reads as green.
 * Every queue gets its own key prefix under a random one per run; cleanup deletes the keys.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { Clock } from '../../src/core/clock.js';
import { RedisStreamsJobQueue } from '../../src/queue/redis-streams/redis-streams-job-queue.js';
import { jobQueueContract } from './job-queue.contract.js';

const REDIS_URL = process.env.SPILLWAY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const RUN_PREFIX = `spillway-test:${randomUUID()}`;

let redisChecked: Promise<Redis> | undefined;

/** The admin connection, once Redis answered; rejects with what to do when it does not. */
function requireRedis(): Promise<Redis> {
  redisChecked ??= connectAdmin();
  return redisChecked;
}

async function connectAdmin(): Promise<Redis> {
  const admin = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // Kept for the message below (the rejection only says the connection closed), and so ioredis
  // does not log it as unhandled.
  let socketError: Error | undefined;
  admin.on('error', (err: Error) => (socketError ??= err));
  let info: string;
  try {
    await admin.connect();
    info = await admin.info('server');
  } catch (err) {
    admin.disconnect();
    const reason = socketError?.message ?? (err instanceof Error ? err.message : String(err));
    throw new Error(
      `Redis is not reachable at ${REDIS_URL} (${reason}). These tests need a real Redis: set ` +
        'SPILLWAY_TEST_REDIS_URL, or start one with `redis-server --daemonize yes --bind 127.0.0.1 ' +
        '--port 6379 --save "" --appendonly no`.',
    );
  }
  const [, major = '0', minor = '0'] = /redis_version:(\d+)\.(\d+)/.exec(info) ?? [];
  if (Number(major) * 100 + Number(minor) < 602) {
    admin.disconnect();
    throw new Error(`Redis at ${REDIS_URL} is ${major}.${minor}; the queue needs 6.2+ for XAUTOCLAIM.`);
  }
  return admin;
}

async function deleteKeys(pattern: string): Promise<void> {
  const admin = await requireRedis();
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length > 0) await admin.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

after(async () => {
  if (!redisChecked) return;
  const admin = await redisChecked.catch(() => null);
  if (!admin) return;
  await deleteKeys(`${RUN_PREFIX}:*`);
  await admin.quit();
});

let queuesMade = 0;

/** A fresh key prefix, and queues on it with the given (or a fresh) consumer name. */
async function redisStorage(clock?: Clock) {
  await requireRedis();
  const prefix = `${RUN_PREFIX}:${++queuesMade}`;
  const opened: RedisStreamsJobQueue[] = [];
  let consumers = 0;
  const open = (consumer = `worker-${++consumers}`): RedisStreamsJobQueue => {
    const queue = new RedisStreamsJobQueue({ url: REDIS_URL, prefix, consumer, clock });
    opened.push(queue);
    return queue;
  };
  const cleanup = async (): Promise<void> => {
    for (const queue of opened) await queue.close();
    await deleteKeys(`${prefix}:*`);
  };
  return { prefix, open, cleanup };
}

test('Redis is reachable for the queue tests', async () => {
  await requireRedis();
});

jobQueueContract('RedisStreamsJobQueue', async ({ clock }) => {
  const storage = await redisStorage(clock);
  // Each reopen is a new process on another host: a new consumer name.
  return { queue: storage.open(), reopen: async () => storage.open(), cleanup: storage.cleanup };
});

describe('RedisStreamsJobQueue consumers', () => {
  test('a dead consumer’s job goes to another consumer once its lease lapses (XAUTOCLAIM)', async () => {
    const storage = await redisStorage();
    try {
      const leaseMs = 200;
      const dying = storage.open('dying');
      await dying.enqueue({ executionId: 'ex_orphan', attempt: 0 });
      const before = Date.now();
      const [held] = await dying.receive({ max: 1, leaseMs, waitMs: 0 });
      assert.equal(held?.deliveries, 1);
      // Dies holding the job: its connections go, the entry stays pending under its name.
      await dying.close();

      const survivor = storage.open('survivor');
      assert.deepEqual(await survivor.receive({ max: 1, leaseMs, waitMs: 0 }), [], 'taken within the lease');
      const [taken] = await survivor.receive({ max: 1, leaseMs, waitMs: 5000 });
      assert.equal(taken?.message.executionId, 'ex_orphan');
      assert.equal(taken.id, held!.id);
      assert.equal(taken.deliveries, 2);
      assert.ok(Date.now() - before >= leaseMs - 20, `reclaimed ${Date.now() - before} ms after delivery`);

      const admin = await requireRedis();
      const pending = (await admin.xpending(`${storage.prefix}:jobs`, `${storage.prefix}:workers`, '-', '+', 10)) as Array<[string, string, number, number]>;
      assert.deepEqual(pending.map(([id, consumer]) => [id, consumer]), [[held!.id, 'survivor']]);

      await survivor.ack(taken);
      assert.deepEqual(await survivor.depth(), { ready: 0, delayed: 0, inFlight: 0 });
    } finally {
      await storage.cleanup();
    }
  });

  test('a restarted consumer with the same name gets its own pending job back at once', async () => {
    const storage = await redisStorage();
    try {
      const leaseMs = 60_000;
      const before = storage.open('worker-x');
      await before.enqueue({ executionId: 'ex_resume', attempt: 4 });
      const [held] = await before.receive({ max: 1, leaseMs, waitMs: 0 });
      assert.ok(held);
      await before.close();

      // Anyone else waits out the lease…
      const other = storage.open('worker-y');
      assert.deepEqual(await other.receive({ max: 1, leaseMs, waitMs: 0 }), []);

      // …but the same name resumes it on its first receive.
      const restarted = storage.open('worker-x');
      const [resumed] = await restarted.receive({ max: 1, leaseMs, waitMs: 0 });
      assert.equal(resumed?.id, held.id);
      assert.deepEqual(resumed.message, { executionId: 'ex_resume', attempt: 4 });
      assert.equal(resumed.deliveries, 2);

      // Only the first receive looks back: the job is not handed out again while it is held.
      assert.deepEqual(await restarted.receive({ max: 1, leaseMs, waitMs: 0 }), []);
      await restarted.ack(resumed);
      assert.deepEqual(await restarted.depth(), { ready: 0, delayed: 0, inFlight: 0 });
    } finally {
      await storage.cleanup();
    }
  });

  test('close() releases every connection, the blocking ones included', async () => {
    const storage = await redisStorage();
    const consumer = `closer-${randomUUID()}`;
    const admin = await requireRedis();
    const connections = async (): Promise<number> =>
      String(await admin.call('CLIENT', 'LIST'))
        .split('\n')
        .filter((line) => line.includes(` name=spillway-queue:${consumer} `)).length;
    try {
      const queue = storage.open(consumer);
      const receiving = queue.receive({ max: 1, leaseMs: 1000, waitMs: 10_000 });
      // Until both connections show: the main one and the one blocked in XREADGROUP.
      const shown = Date.now() + 2000;
      while ((await connections()) < 2 && Date.now() < shown) await sleep(10);
      assert.equal(await connections(), 2);
      await queue.close();
      assert.deepEqual(await receiving, []);
      // The server drops a client a moment after its socket closes; wait for that, bounded.
      const deadline = Date.now() + 2000;
      while ((await connections()) > 0 && Date.now() < deadline) await sleep(10);
      assert.equal(await connections(), 0);
    } finally {
      await storage.cleanup();
    }
  });
});
