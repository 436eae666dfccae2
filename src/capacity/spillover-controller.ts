/**
 * Seed 000 §5 as a state machine: the baseline's mean CPU and memory utilisation go in, one sample
 * at a time; scale_up / scale_down (the baseline's size) and spillover_on / spillover_off (the
 * router's weights) come out. Pure logic on an injected Clock: no timers, no I/O, so the server and
 * the simulator (src/capacity/simulator/) drive the same code. docs/capacity-simulation.md states
 * every rule precisely; the short version:
 *
 *   scale_up      cpu > 75 or mem > 75, +scaleUpStep, ≤ maxWorkers, ≥ scaleUpCooldownMs since the last scale_up
 *   spillover_on  cpu > 85 or mem > 85 on one sample (no window)
 *   spillover_off cpu < 70 and mem < 70 on every sample for spilloverOffAfterMs
 *   scale_down    cpu < 70 and mem < 70 on every sample for scaleDownAfterMs, -scaleDownStep, ≥ minWorkers;
 *                 the window starts again after each scale_down; with projectScaleDown (opt-in), only
 *                 if the smaller baseline would stay at or below the scale-up thresholds
 *
 * A "window" starts at the first sample of an unbroken run of samples with both metrics below
 * 70; one sample at or above 70 on either metric ends the run.
 */
import type { Clock } from '../core/clock.js';
import type { BaselinePolicy, SpilloverPolicy } from './policy.js';
import { formatDuration, formatPct, formatPctVersus, requireCount, requireMetric } from './scaling-text.js';
import type { ScalingEventInput } from './types.js';

/** The baseline's mean utilisation, in percent of its allotment (can exceed 100). */
export interface UtilisationSample {
  cpuPct: number;
  memoryPct: number;
}

export interface SpilloverState {
  mode: 'normal' | 'spillover';
  weights: { baseline: number; burst: number };
  baselineWorkers: number;
}

export interface SpilloverControllerOptions {
  spillover: SpilloverPolicy;
  baseline: BaselinePolicy;
  clock: Clock;
  /** Workers the baseline has at start; default `baseline.minWorkers`. */
  initialWorkers?: number;
  /** Called with every event, in order, as `observe` makes it. */
  onEvent?: (e: ScalingEventInput) => void;
}

type Metric = 'cpu' | 'memory';
const METRIC_NAME: Record<Metric, string> = { cpu: 'cpu_pct', memory: 'memory_pct' };
const METRIC_LABEL: Record<Metric, string> = { cpu: 'CPU', memory: 'Memory' };

export class SpilloverController {
  private readonly spillover: SpilloverPolicy;
  private readonly baseline: BaselinePolicy;
  private readonly clock: Clock;
  private readonly onEvent: ((e: ScalingEventInput) => void) | undefined;
  private mode: 'normal' | 'spillover' = 'normal';
  private workers: number;
  /** Time of the first sample of the current unbroken run of below-recovery samples, or null. */
  private quietSince: number | null = null;
  private lastScaleUpAt: number | null = null;
  private lastScaleDownAt: number | null = null;

  constructor(opts: SpilloverControllerOptions) {
    this.spillover = opts.spillover;
    this.baseline = opts.baseline;
    this.clock = opts.clock;
    this.onEvent = opts.onEvent;
    this.workers = opts.initialWorkers === undefined ? opts.baseline.minWorkers : requireCount('initialWorkers', opts.initialWorkers);
  }

  get state(): SpilloverState {
    const w = this.spillover.weights[this.mode];
    return { mode: this.mode, weights: { baseline: w.baseline, burst: w.burst }, baselineWorkers: this.workers };
  }

  /** The baseline really has `n` workers now; adopted as is (no event, windows and cooldowns kept). */
  setWorkers(n: number): void {
    this.workers = requireCount('setWorkers(n)', n);
  }

  /** One evaluation at clock.now(): returns (and passes to onEvent) every change it made, in order. */
  observe(sample: UtilisationSample): ScalingEventInput[] {
    if (sample === null || typeof sample !== 'object') throw new TypeError(`sample: got ${String(sample)}, must be { cpuPct, memoryPct }`);
    const value: Record<Metric, number> = { cpu: requireMetric('sample.cpuPct', sample.cpuPct), memory: requireMetric('sample.memoryPct', sample.memoryPct) };
    const now = this.clock.now();
    const p = this.spillover;
    const events: ScalingEventInput[] = [];

    const scaleUpOn = crossedAbove(value, p.scaleUpAbovePct);
    if (scaleUpOn && this.workers < this.baseline.maxWorkers && (this.lastScaleUpAt === null || now - this.lastScaleUpAt >= p.scaleUpCooldownMs)) {
      this.workers = Math.min(this.baseline.maxWorkers, this.workers + p.scaleUpStep);
      this.lastScaleUpAt = now;
      events.push(this.above('scale_up', 'baseline', scaleUpOn, value[scaleUpOn], p.scaleUpAbovePct[scaleUpOn]));
    }

    const spillOn = crossedAbove(value, p.spilloverAbovePct);
    if (spillOn && this.mode === 'normal') {
      this.mode = 'spillover';
      events.push(this.above('spillover_on', 'burst', spillOn, value[spillOn], p.spilloverAbovePct[spillOn]));
    }

    const quiet = value.cpu < p.recoverBelowPct.cpu && value.memory < p.recoverBelowPct.memory;
    if (!quiet) {
      this.quietSince = null;
    } else {
      this.quietSince ??= now;
      const quietFor = now - this.quietSince;
      if (this.mode === 'spillover' && quietFor >= p.spilloverOffAfterMs) {
        this.mode = 'normal';
        events.push(this.recovered('spillover_off', 'burst', value, p.spilloverOffAfterMs));
      }
      const windowStart = Math.max(this.quietSince, this.lastScaleDownAt ?? -Infinity);
      if (now - windowStart >= p.scaleDownAfterMs && this.workers > this.baseline.minWorkers && this.fitsSmaller(value)) {
        this.workers = Math.max(this.baseline.minWorkers, this.workers - p.scaleDownStep);
        this.lastScaleDownAt = now;
        events.push(this.recovered('scale_down', 'baseline', value, p.scaleDownAfterMs));
      }
    }

    for (const e of events) this.onEvent?.(e);
    return events;
  }

  /** With projectScaleDown, whether the baseline one step smaller would stay at or below the scale-up thresholds. */
  private fitsSmaller(value: Record<Metric, number>): boolean {
    if (!this.spillover.projectScaleDown) return true;
    const after = Math.max(this.baseline.minWorkers, this.workers - this.spillover.scaleDownStep);
    const factor = this.workers / after;
    return value.cpu * factor <= this.spillover.scaleUpAbovePct.cpu && value.memory * factor <= this.spillover.scaleUpAbovePct.memory;
  }

  private above(action: ScalingEventInput['action'], tier: string, metric: Metric, v: number, threshold: number): ScalingEventInput {
    return {
      functionId: null,
      action,
      instanceCount: this.workers,
      reason: `${METRIC_LABEL[metric]} ${formatPctVersus(v, threshold)} > ${formatPct(threshold)} for 1 sample`,
      tier,
      metric: METRIC_NAME[metric],
      value: v,
      threshold,
    };
  }

  private recovered(action: ScalingEventInput['action'], tier: string, value: Record<Metric, number>, windowMs: number): ScalingEventInput {
    const metric: Metric = value.memory > value.cpu ? 'memory' : 'cpu';
    const t = this.spillover.recoverBelowPct;
    const below = t.cpu === t.memory ? `below ${formatPct(t.cpu)}` : `below ${formatPct(t.cpu)} and ${formatPct(t.memory)}`;
    return {
      functionId: null,
      action,
      instanceCount: this.workers,
      reason: `CPU and memory ${below} for ${formatDuration(windowMs)}`,
      tier,
      metric: METRIC_NAME[metric],
      value: value[metric],
      threshold: t[metric],
    };
  }
}

/** The metric that is above its threshold (the one further above when both are; CPU on a tie), or null. */
function crossedAbove(value: Record<Metric, number>, threshold: { cpu: number; memory: number }): Metric | null {
  const cpu = value.cpu - threshold.cpu;
  const memory = value.memory - threshold.memory;
  if (cpu <= 0 && memory <= 0) return null;
  return memory > cpu ? 'memory' : 'cpu';
}
