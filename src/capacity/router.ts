/**
 * Chooses where each HTTP invocation runs. A path can pin a tier (seed 004's `/lambda/*` and
 * `/fargate/*`); otherwise the controller's weights split traffic (seed 000 §5.2: 100/0 normally,
 * 70/30 in spillover), deterministically: of every 100 unpinned calls, exactly `burst` go to the
 * burst tier. Within the baseline the least-loaded worker with room takes the call. When the
 * whole baseline is full or saturated (./pressure.ts) the call overflows to the burst tier at once
 * ("existing resources first", then the pressure valve), and when that cannot take it either, it
 * waits (bounded) for a baseline slot, then fails with NO_CAPACITY.
 */
import type { Clock } from '../core/clock.js';
import { SpillwayError } from '../core/errors.js';
import type { HttpRequestPayload, InvocationHandle, InvocationLimits } from '../runtime/types.js';
import type { BaselineTier } from './baseline-tier.js';
import type { BurstPolicy } from './policy.js';
import type { BurstTier, Executor, InvocationTarget, TierName } from './types.js';

export interface Routed {
  handle: InvocationHandle;
  tier: TierName;
  /** The executor that ran it (`baseline-0`, `burst-2`, a Lambda function name...). */
  instanceId: string;
}

export interface RouterStats {
  byTier: Record<TierName, number>;
  /** Unpinned calls sent to the burst tier because the baseline was full. */
  overflowed: number;
  /** Calls that waited for a baseline slot, and those refused with NO_CAPACITY. */
  queued: number;
  refused: number;
  waiting: number;
}

interface Waiter {
  resolve: (executor: Executor | null) => void;
  cancelTimer: () => void;
}

export class Router {
  private credit = 0;
  private readonly waiters: Waiter[] = [];
  private readonly counts: RouterStats = { byTier: { baseline: 0, burst: 0 }, overflowed: 0, queued: 0, refused: 0, waiting: 0 };

  constructor(
    private readonly o: {
      baseline: BaselineTier;
      burst: BurstTier | null;
      /** The controller's current weights (percent). */
      weights: () => { baseline: number; burst: number };
      policy: BurstPolicy;
      clock: Clock;
      /** Whether the burst tier may be tried now (its circuit breaker); true when absent. */
      burstAllowed?: () => boolean;
      /** Reports each burst call's result to that breaker. */
      burstResult?: (ok: boolean) => void;
    },
  ) {}

  stats(): RouterStats {
    return { ...this.counts, byTier: { ...this.counts.byTier }, waiting: this.waiters.length };
  }

  async dispatch(target: InvocationTarget, payload: HttpRequestPayload, limits: InvocationLimits, pin?: TierName): Promise<Routed> {
    if (pin === 'burst') return this.toBurst(target, payload, limits, false);
    if (pin === 'baseline') return this.toBaseline(target, payload, limits);
    // Spilled calls go only to burst capacity that is up: one that would wait for a worker's cold
    // start stays on the baseline (which queues it) while the burst tier warms up.
    const burst = this.o.burst !== null && this.burstAllowed() && (this.o.burst.ready?.() ?? true);
    if (this.takeBurstTurn() && burst) return this.toBurst(target, payload, limits, true);
    // With a burst tier to spill to, a saturated baseline worker has no room; without one, it queues the call.
    const executor = this.o.baseline.pick(burst);
    if (executor) return this.run(executor, target, payload, limits);
    if (burst) {
      this.counts.overflowed++;
      return this.toBurst(target, payload, limits, true);
    }
    return this.toBaseline(target, payload, limits);
  }

  /** Smooth weighting: each call earns `burst` credit; at 100 the call goes to the burst tier. */
  private takeBurstTurn(): boolean {
    if (!this.o.burst) return false;
    const w = this.o.weights().burst;
    if (w <= 0) return false;
    this.credit += w;
    if (this.credit < 100) return false;
    this.credit -= 100;
    return true;
  }

  private burstAllowed(): boolean {
    return this.o.burstAllowed ? this.o.burstAllowed() : true;
  }

  private async toBurst(target: InvocationTarget, payload: HttpRequestPayload, limits: InvocationLimits, mayFallBack: boolean): Promise<Routed> {
    if (!this.o.burst) {
      if (mayFallBack) return this.toBaseline(target, payload, limits);
      const error = new SpillwayError('BURST_UNAVAILABLE', 'This server has no burst tier (SPILLWAY_BURST_TIER=off); call /fn/ or /baseline/fn/ instead.', { retryAfterMs: 1000 });
      return { handle: failed(error), tier: 'burst', instanceId: 'none' };
    }
    const handle = await this.o.burst.invoke(target, 'http', payload, limits);
    const outcome = await handle.outcome;
    const unavailable = outcome.type === 'error' && outcome.error.code === 'BURST_UNAVAILABLE';
    this.o.burstResult?.(!unavailable);
    // A spilled call the burst tier cannot take is still served, by the baseline, if it has room or a slot frees in time.
    if (unavailable && mayFallBack) return this.toBaseline(target, payload, limits);
    this.counts.byTier.burst++;
    return { handle, tier: 'burst', instanceId: handle.instanceId };
  }

  private async toBaseline(target: InvocationTarget, payload: HttpRequestPayload, limits: InvocationLimits): Promise<Routed> {
    const executor = this.o.baseline.pick() ?? (await this.waitForSlot());
    if (!executor) {
      this.counts.refused++;
      const error = new SpillwayError(
        'NO_CAPACITY',
        `Every baseline worker has its maximum of ${this.o.baseline.maxInFlightPerWorker} calls in flight, the burst tier cannot take more, and no slot freed within ${this.o.policy.maxQueueWaitMs} ms (or ${this.o.policy.maxQueued} calls were already waiting).`,
        { retryAfterMs: 1000 },
      );
      return { handle: failed(error), tier: 'baseline', instanceId: 'none' };
    }
    return this.run(executor, target, payload, limits);
  }

  private async run(executor: Executor, target: InvocationTarget, payload: HttpRequestPayload, limits: InvocationLimits): Promise<Routed> {
    this.counts.byTier[executor.tier]++;
    const handle = await executor.invoke(target, 'http', payload, limits);
    if (executor.tier === 'baseline') void handle.metering.then(() => this.wakeOne());
    return { handle, tier: executor.tier, instanceId: executor.id };
  }

  private waitForSlot(): Promise<Executor | null> {
    if (this.waiters.length >= this.o.policy.maxQueued || this.o.policy.maxQueueWaitMs === 0) return Promise.resolve(null);
    this.counts.queued++;
    return new Promise((resolve) => {
      const waiter: Waiter = {
        resolve,
        cancelTimer: this.o.clock.setTimer(() => {
          const at = this.waiters.indexOf(waiter);
          if (at >= 0) this.waiters.splice(at, 1);
          resolve(null);
        }, this.o.policy.maxQueueWaitMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** A baseline call ended: the oldest waiter takes the slot, if there is one now. */
  private wakeOne(): void {
    while (this.waiters.length > 0) {
      const executor = this.o.baseline.pick();
      if (!executor) return;
      const waiter = this.waiters.shift()!;
      waiter.cancelTimer();
      waiter.resolve(executor);
      return;
    }
  }
}

function failed(error: SpillwayError): InvocationHandle {
  return {
    id: 'none',
    outcome: Promise.resolve({ type: 'error', error }),
    metering: Promise.resolve({ invocationId: 'none', cpuUs: 0, wallUs: 0, coldStart: false, coldStartUs: 0, logs: [], logsTruncated: false, error }),
  };
}
