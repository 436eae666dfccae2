/**
 * Token buckets per client (seed 003 "Token Bucket for Submissions"): each key may spend `burst`
 * requests at once, and gets `refillPerSecond` back per second of the Clock, up to `burst`.
 *
 * Memory is bounded: at most `maxKeys` buckets are remembered, the least recently used forgotten
 * first. A forgotten bucket is full, which is what a client that has been quiet long enough to be
 * evicted would have anyway (or close to it), so eviction can only make the limiter more lenient.
 */
import type { Clock } from '../../core/clock.js';
import type { BackpressurePolicy } from '../policy.js';

export type TokenBucketPolicy = BackpressurePolicy['tokenBucket'];

export type TakeResult = { ok: true; remaining: number } | { ok: false; retryAfterMs: number };

interface Bucket {
  tokens: number;
  /** Clock time `tokens` was last brought up to date. */
  at: number;
}

export class TokenBucketLimiter {
  /** Insertion order is recency order: a bucket touched is deleted and set again. */
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly policy: Pick<TokenBucketPolicy, 'burst' | 'refillPerSecond' | 'maxKeys'>,
    private readonly clock: Clock,
  ) {}

  /** Spends one token of `key`'s bucket; when there is none, says how long until one is back. */
  take(key: string): TakeResult {
    const now = this.clock.now();
    const bucket = this.current(key, now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true, remaining: Math.floor(bucket.tokens) };
    }
    return { ok: false, retryAfterMs: Math.ceil(((1 - bucket.tokens) * 1000) / this.policy.refillPerSecond) };
  }

  /** Buckets remembered now (at most `maxKeys`). */
  get size(): number {
    return this.buckets.size;
  }

  private current(key: string, now: number): Bucket {
    const { burst, refillPerSecond, maxKeys } = this.policy;
    let bucket = this.buckets.get(key);
    if (bucket) {
      this.buckets.delete(key);
      bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, now - bucket.at) * refillPerSecond) / 1000);
      bucket.at = now;
    } else {
      bucket = { tokens: burst, at: now };
      while (this.buckets.size >= maxKeys) {
        const oldest = this.buckets.keys().next().value;
        if (oldest === undefined) break;
        this.buckets.delete(oldest);
      }
    }
    this.buckets.set(key, bucket);
    return bucket;
  }
}
