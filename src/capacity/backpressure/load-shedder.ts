/**
 * Load shedding by priority (seed 003 "Load Shedding"): when the execution queue is deep, refuse
 * new `low` submissions (above `shedLowAbove`), then `normal` ones too (above `shedNormalAbove`);
 * `high` is never shed. Hysteresis: once shedding started at some level it stays at least at that
 * level until the queue is back below `resumeBelow`, so admission does not flap around a threshold.
 *
 * The depth is read through a function (the queue's pending jobs) and cached for `cacheMs` of the
 * Clock, so a burst of submissions costs one count per second, not one per request. A failed read
 * admits (fail open): the submission itself then meets the queue's error.
 */
import type { Clock } from '../../core/clock.js';
import type { BackpressurePolicy } from '../policy.js';

export type LoadSheddingPolicy = BackpressurePolicy['loadShedding'];
export type Priority = 'low' | 'normal' | 'high';
export const PRIORITIES: readonly Priority[] = ['low', 'normal', 'high'];
/** What is being refused: nothing, `low`, or `low` and `normal`. */
export type SheddingLevel = 'none' | 'low' | 'normal';

export interface LoadShedderOptions {
  policy: LoadSheddingPolicy;
  clock: Clock;
  /** Executions waiting in the queue now. */
  depth: () => Promise<number>;
  /** How long one depth reading is reused. */
  cacheMs?: number;
  /** Retry-After for a shed request (how long the queue takes to drain is not known). */
  retryAfterMs?: number;
  onError?: (err: unknown) => void;
}

export type ShedDecision = { ok: true; depth: number } | { ok: false; depth: number; level: SheddingLevel; retryAfterMs: number };

const RANK: Record<SheddingLevel, number> = { none: 0, low: 1, normal: 2 };

export const LOAD_SHED_RETRY_AFTER_MS = 10_000;

export class LoadShedder {
  private level: SheddingLevel = 'none';
  private cached: { at: number; depth: number } | null = null;
  private reading: Promise<number> | null = null;

  constructor(private readonly o: LoadShedderOptions) {}

  get sheddingLevel(): SheddingLevel {
    return this.level;
  }

  /** Admits or sheds a submission of `priority`, on the (cached) queue depth. */
  async check(priority: Priority): Promise<ShedDecision> {
    const depth = await this.depth();
    this.observe(depth);
    const shed = priority === 'low' ? RANK[this.level] >= 1 : priority === 'normal' ? RANK[this.level] >= 2 : false;
    if (!shed) return { ok: true, depth };
    return { ok: false, depth, level: this.level, retryAfterMs: this.o.retryAfterMs ?? LOAD_SHED_RETRY_AFTER_MS };
  }

  /** The queue depth, read at most once per `cacheMs` (concurrent callers share one read). */
  async depth(): Promise<number> {
    const now = this.o.clock.now();
    if (this.cached && now - this.cached.at < (this.o.cacheMs ?? 1000)) return this.cached.depth;
    this.reading ??= this.o
      .depth()
      .then(
        (depth) => {
          this.cached = { at: this.o.clock.now(), depth };
          return depth;
        },
        (err: unknown) => {
          this.o.onError?.(err);
          return this.cached?.depth ?? 0;
        },
      )
      .finally(() => (this.reading = null));
    return this.reading;
  }

  /** Moves the shedding level for a depth reading (exported for the state machine's tests). */
  observe(depth: number): SheddingLevel {
    const { shedLowAbove, shedNormalAbove, resumeBelow } = this.o.policy;
    if (depth < resumeBelow) {
      this.level = 'none';
    } else {
      const wanted: SheddingLevel = depth > shedNormalAbove ? 'normal' : depth > shedLowAbove ? 'low' : 'none';
      if (RANK[wanted] > RANK[this.level]) this.level = wanted;
    }
    return this.level;
  }
}
