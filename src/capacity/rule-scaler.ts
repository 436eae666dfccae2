/**
 * A rule-based replica scaler: seed 001's queue-driven execution scaling (up when more than 10
 * pending, down below 3, every 30 s, 1..10 instances) and seed 003's pool rules (steps and
 * cooldowns per rule) in one piece of logic, configured by a RuleScalerPolicy. Pure logic on an
 * injected Clock; `start` evaluates on the clock's timers. docs/capacity-simulation.md documents
 * the decisions; in short:
 *
 * - A scale-up rule fires when its metric is above its threshold.
 * - A scale-down rule fires when its metric is below its threshold, with two readings of what
 *   a user of the seeds means: a threshold of 0 means "is 0" (seed 003's microVM pool scales down
 *   on an empty queue; nothing is below 0), and `worker_idle_time_ms` fires at or above its
 *   threshold (seed 003's "idle for 300 s": idleness is what permits a scale-down).
 * - Each rule has its own cooldown, counted from when it last changed the replica count; a
 *   scale-down rule also waits its cooldown after any scale-up, so it never undoes a fresh one.
 * - At most one change per evaluation. While any scale-up rule's condition holds (even one in
 *   cooldown or at the maximum), nothing scales down. Of the scale-up rules that may fire, the
 *   largest step wins (the first listed on a tie); of the scale-down rules, likewise.
 * - Replicas stay within [minReplicas, maxReplicas]; a rule that would change nothing (already at
 *   the limit) makes no event and starts no cooldown.
 * - A metric a rule needs that is absent from the input skips that rule.
 */
import type { Clock } from '../core/clock.js';
import type { RuleScalerPolicy, ScalingRule } from './policy.js';
import { formatDuration, requireCount, requireMetric } from './scaling-text.js';
import type { ScalingEventInput } from './types.js';

export type RuleMetric = ScalingRule['metric'];
export type RuleMetrics = Partial<Record<RuleMetric, number>>;

export interface RuleScalerOptions {
  /** The event tier, e.g. 'executions' or 'container'. */
  name: string;
  policy: RuleScalerPolicy;
  clock: Clock;
  /** Replicas at start; default `policy.minReplicas`. Must be within [minReplicas, maxReplicas]. */
  initialReplicas?: number;
  onEvent?: (e: ScalingEventInput) => void;
  /** A failed read() or evaluation inside start(); the loop keeps going. Default: console.error. */
  onError?: (err: unknown) => void;
}

const METRICS: readonly RuleMetric[] = ['queue_depth', 'p95_latency_ms', 'worker_idle_time_ms', 'cpu_pct', 'memory_pct'];

/** Whether a rule is in the scale-up or the scale-down list. */
export type RuleKind = 'up' | 'down';

export class RuleScaler {
  private readonly name: string;
  private readonly policy: RuleScalerPolicy;
  private readonly clock: Clock;
  private readonly onEvent: ((e: ScalingEventInput) => void) | undefined;
  private readonly onError: (err: unknown) => void;
  private count: number;
  /** When each rule last changed the replica count. */
  private readonly lastFired = new Map<ScalingRule, number>();
  private lastScaleUpAt: number | null = null;
  private running = false;

  constructor(opts: RuleScalerOptions) {
    this.name = opts.name;
    this.policy = opts.policy;
    this.clock = opts.clock;
    this.onEvent = opts.onEvent;
    this.onError = opts.onError ?? ((err) => console.error(`[spillway] ${opts.name} scaler: ${(err as Error)?.message ?? String(err)}`));
    const { minReplicas, maxReplicas } = opts.policy;
    this.count = opts.initialReplicas === undefined ? minReplicas : requireCount('initialReplicas', opts.initialReplicas);
    if (this.count < minReplicas || this.count > maxReplicas) {
      throw new TypeError(`initialReplicas: got ${this.count}, must be between minReplicas ${minReplicas} and maxReplicas ${maxReplicas}`);
    }
  }

  get replicas(): number {
    return this.count;
  }

  /** One evaluation at clock.now(); returns (and passes to onEvent) the change it made, if any. */
  evaluate(metrics: RuleMetrics): ScalingEventInput[] {
    if (metrics === null || typeof metrics !== 'object') throw new TypeError(`metrics: got ${String(metrics)}, must be an object of metric values`);
    for (const [key, value] of Object.entries(metrics)) {
      if (!(METRICS as readonly string[]).includes(key)) throw new TypeError(`metrics.${key}: unknown metric, must be one of ${METRICS.join(', ')}`);
      if (value !== undefined) requireMetric(`metrics.${key}`, value);
    }
    const now = this.clock.now();
    const { minReplicas, maxReplicas, scaleUp, scaleDown } = this.policy;

    const upHolds = scaleUp.filter((r) => holds(r, 'up', metrics[r.metric]));
    let chosen: { rule: ScalingRule; kind: RuleKind } | null = null;
    if (upHolds.length > 0) {
      const ready = this.count < maxReplicas ? upHolds.filter((r) => this.cooledDown(r, now, 'up')) : [];
      const rule = largestStep(ready);
      if (rule) chosen = { rule, kind: 'up' };
    } else if (this.count > minReplicas) {
      const rule = largestStep(scaleDown.filter((r) => holds(r, 'down', metrics[r.metric]) && this.cooledDown(r, now, 'down')));
      if (rule) chosen = { rule, kind: 'down' };
    }
    if (!chosen) return [];

    const { rule, kind } = chosen;
    this.count = kind === 'up' ? Math.min(maxReplicas, this.count + rule.step) : Math.max(minReplicas, this.count - rule.step);
    this.lastFired.set(rule, now);
    if (kind === 'up') this.lastScaleUpAt = now;
    const value = metrics[rule.metric] as number;
    const event: ScalingEventInput = {
      functionId: null,
      action: kind === 'up' ? 'scale_up' : 'scale_down',
      instanceCount: this.count,
      reason: describe(rule, kind, value),
      tier: this.name,
      metric: rule.metric,
      value,
      threshold: rule.threshold,
    };
    this.onEvent?.(event);
    return [event];
  }

  /**
   * Calls `read()` every policy.evaluateEveryMs on the clock and evaluates what it returns (a
   * synchronous read is evaluated at once, in the timer's turn). Returns stop().
   */
  start(read: () => RuleMetrics | Promise<RuleMetrics>): () => void {
    if (this.running) throw new Error(`${this.name} scaler: start() called while already started`);
    this.running = true;
    // This loop's own flag: a read still pending when stop() is called must not evaluate, nor
    // restart the loop, even if start() has been called again since.
    let active = true;
    const every = this.policy.evaluateEveryMs;
    let cancel: (() => void) | null = null;
    let dueAt = this.clock.now() + every;
    const schedule = () => {
      if (!active) return;
      cancel = this.clock.setTimer(tick, Math.max(0, dueAt - this.clock.now()));
    };
    const tick = () => {
      cancel = null;
      dueAt += every;
      let result: RuleMetrics | Promise<RuleMetrics>;
      try {
        result = read();
      } catch (err) {
        this.onError(err);
        return schedule();
      }
      if (result && typeof (result as Promise<RuleMetrics>).then === 'function') {
        (result as Promise<RuleMetrics>).then(
          (m) => {
            if (active) this.safeEvaluate(m);
            schedule();
          },
          (err) => {
            if (active) this.onError(err);
            schedule();
          },
        );
      } else {
        this.safeEvaluate(result as RuleMetrics);
        schedule();
      }
    };
    schedule();
    return () => {
      if (!active) return;
      active = false;
      this.running = false;
      cancel?.();
      cancel = null;
    };
  }

  private safeEvaluate(metrics: RuleMetrics): void {
    try {
      this.evaluate(metrics);
    } catch (err) {
      this.onError(err);
    }
  }

  private cooledDown(rule: ScalingRule, now: number, kind: RuleKind): boolean {
    const last = this.lastFired.get(rule);
    if (last !== undefined && now - last < rule.cooldownMs) return false;
    if (kind === 'down' && this.lastScaleUpAt !== null && now - this.lastScaleUpAt < rule.cooldownMs) return false;
    return true;
  }
}

/** Whether `rule` (a scale-up or scale-down rule) fires on `value`; an absent metric never does. */
export function holds(rule: ScalingRule, kind: RuleKind, value: number | undefined): boolean {
  if (value === undefined) return false;
  if (kind === 'up') return value > rule.threshold;
  if (rule.metric === 'worker_idle_time_ms') return value >= rule.threshold;
  if (rule.threshold === 0) return value === 0;
  return value < rule.threshold;
}

function largestStep(rules: ScalingRule[]): ScalingRule | undefined {
  return rules.reduce<ScalingRule | undefined>((best, r) => (best === undefined || r.step > best.step ? r : best), undefined);
}

const LABEL: Record<RuleMetric, string> = {
  queue_depth: 'Queue depth',
  p95_latency_ms: 'p95 latency',
  worker_idle_time_ms: 'Worker idle time',
  cpu_pct: 'CPU',
  memory_pct: 'Memory',
};

function show(metric: RuleMetric, v: number): string {
  if (metric === 'p95_latency_ms') return `${Number(v.toFixed(1))} ms`;
  if (metric === 'worker_idle_time_ms') return Number.isInteger(v) ? formatDuration(v) : `${Number(v.toFixed(1))} ms`;
  if (metric === 'cpu_pct' || metric === 'memory_pct') return `${Number(v.toFixed(1))}%`;
  return String(Number(v.toFixed(1)));
}

function describe(rule: ScalingRule, kind: RuleKind, value: number): string {
  const op = kind === 'up' ? '>' : rule.metric === 'worker_idle_time_ms' ? '≥' : rule.threshold === 0 ? '=' : '<';
  const step = `${kind === 'up' ? '+' : '-'}${rule.step}`;
  return `${LABEL[rule.metric]} ${show(rule.metric, value)} ${op} ${show(rule.metric, rule.threshold)} (${step})`;
}
