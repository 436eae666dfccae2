/**
 * Circuit breakers (seed 003 "Circuit Breaker"): after `consecutiveFailures` failures in a row the
 * circuit opens and refuses calls; `halfOpenAfterMs` later it half-opens and admits
 * `halfOpenRequests` trial calls; a trial's success closes it, a trial's failure opens it again
 * for another `halfOpenAfterMs`.
 *
 * Written by hand rather than with cockatiel's CircuitBreakerPolicy, which reads `Date.now()`
 * directly (so it cannot run on Spillway's injectable Clock without fake timers) and only offers
 * `execute(fn)`: the HTTP path needs a pre-check before the invocation and a report after its
 * outcome, and refused calls need the time left until half-open for `Retry-After`. Open →
 * half-open is computed from the Clock when asked, so no timer is involved.
 *
 * Results that arrive while the circuit is open (calls admitted before it opened) are ignored;
 * while it is half-open, only a result arriving while a trial is in flight counts as the trial's.
 */
import type { Clock } from '../../core/clock.js';
import type { BackpressurePolicy } from '../policy.js';

export type CircuitBreakerPolicy = BackpressurePolicy['circuitBreaker'];
export type CircuitState = 'closed' | 'open' | 'half_open';

/** Retry-After while half-open with every trial slot taken: the trial's outcome is not known yet. */
export const HALF_OPEN_BUSY_RETRY_MS = 1000;

export class BrokenCircuitError extends Error {
  constructor(
    readonly key: string,
    readonly retryAfterMs: number,
  ) {
    super(`The circuit breaker "${key}" is open; try again in ${Math.max(1, Math.ceil(retryAfterMs / 1000))} s.`);
    this.name = 'BrokenCircuitError';
  }
}

export class CircuitBreaker {
  private failures = 0;
  /** When the circuit last opened; null while closed. */
  private openedAt: number | null = null;
  /** Trial calls admitted while half-open and not yet reported. */
  private trials = 0;

  constructor(
    readonly key: string,
    private readonly policy: CircuitBreakerPolicy,
    private readonly clock: Clock,
  ) {}

  get state(): CircuitState {
    if (this.openedAt === null) return 'closed';
    return this.clock.now() < this.openedAt + this.policy.halfOpenAfterMs ? 'open' : 'half_open';
  }

  /** 0 when a call would be admitted now; otherwise how long until one may be. */
  get retryAfterMs(): number {
    switch (this.state) {
      case 'closed':
        return 0;
      case 'open':
        return this.openedAt! + this.policy.halfOpenAfterMs - this.clock.now();
      case 'half_open':
        return this.trials < this.policy.halfOpenRequests ? 0 : HALF_OPEN_BUSY_RETRY_MS;
    }
  }

  /** Consecutive failures counted while closed. */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /**
   * Whether a call may go ahead now. While half-open this takes a trial slot: the caller must then
   * report `success()`, `failure()` or, when the call ended without telling either, `release()`.
   */
  allow(): boolean {
    switch (this.state) {
      case 'closed':
        return true;
      case 'open':
        return false;
      case 'half_open':
        if (this.trials >= this.policy.halfOpenRequests) return false;
        this.trials++;
        return true;
    }
  }

  success(): void {
    const state = this.state;
    if (state === 'closed') this.failures = 0;
    else if (state === 'half_open' && this.trials > 0) this.reset();
  }

  failure(): void {
    const state = this.state;
    if (state === 'closed') {
      if (++this.failures >= this.policy.consecutiveFailures) this.open();
    } else if (state === 'half_open' && this.trials > 0) {
      this.open();
    }
  }

  /** Gives back a trial slot whose call ended neither in success nor in failure. */
  release(): void {
    if (this.state === 'half_open' && this.trials > 0) this.trials--;
  }

  /** Closes the circuit and forgets the failures (a new version of the function was deployed). */
  reset(): void {
    this.failures = 0;
    this.openedAt = null;
    this.trials = 0;
  }

  /**
   * Runs `fn` through the breaker: rejects with BrokenCircuitError without calling it when the
   * circuit refuses, and counts its outcome (a rejection is a failure unless `isFailure` says not).
   */
  async execute<T>(fn: () => Promise<T>, isFailure: (err: unknown) => boolean = () => true): Promise<T> {
    if (!this.allow()) throw new BrokenCircuitError(this.key, this.retryAfterMs);
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      if (isFailure(err)) this.failure();
      else this.release();
      throw err;
    }
    this.success();
    return result;
  }

  private open(): void {
    this.openedAt = this.clock.now();
    this.failures = 0;
    this.trials = 0;
  }
}

/**
 * Breakers by key: `fn:<functionId>` per function, `downstream:<scheme://host:port>` per outbound
 * origin, `burst:<kind>` for the burst tier. Bounded: past `maxKeys`, the least recently used
 * closed breakers are forgotten first (a closed breaker with no failures is a fresh one anyway).
 */
export class BreakerRegistry {
  private readonly breakers = new Map<string, CircuitBreaker>();

  constructor(
    private readonly policy: CircuitBreakerPolicy,
    private readonly clock: Clock,
    private readonly maxKeys = 10_000,
  ) {}

  /** The breaker for `key`, created closed on first use. */
  get(key: string): CircuitBreaker {
    let breaker = this.breakers.get(key);
    if (breaker) {
      this.breakers.delete(key);
    } else {
      breaker = new CircuitBreaker(key, this.policy, this.clock);
      if (this.breakers.size >= this.maxKeys) this.evict();
    }
    this.breakers.set(key, breaker);
    return breaker;
  }

  /** The breaker for `key` if one exists, without creating or touching it. */
  peek(key: string): CircuitBreaker | undefined {
    return this.breakers.get(key);
  }

  delete(key: string): void {
    this.breakers.delete(key);
  }

  get size(): number {
    return this.breakers.size;
  }

  /** Every breaker that is not closed, for health output. */
  notClosed(): Array<{ key: string; state: CircuitState; retryAfterMs: number }> {
    const out: Array<{ key: string; state: CircuitState; retryAfterMs: number }> = [];
    for (const b of this.breakers.values()) if (b.state !== 'closed') out.push({ key: b.key, state: b.state, retryAfterMs: b.retryAfterMs });
    return out;
  }

  private evict(): void {
    for (const [key, breaker] of this.breakers) {
      if (breaker.state === 'closed' && breaker.consecutiveFailures === 0) {
        this.breakers.delete(key);
        return;
      }
    }
    const oldest = this.breakers.keys().next().value;
    if (oldest !== undefined) this.breakers.delete(oldest);
  }
}
