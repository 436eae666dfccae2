/**
 * The capacity layer, assembled: the baseline and burst tiers, the router between them, the seed
 * 000 §5 controller fed with the baseline's sampled utilisation, the seed 001 rule scaler for
 * executions, and the record of every decision (stored, and pushed to live listeners). Timing
 * runs on the injected Clock, so tests step through windows instead of waiting them out.
 */
import { systemClock, type Clock } from '../core/clock.js';
import type { Config } from '../config/config.js';
import type { PlatformEvents } from '../core/events.js';
import { newId } from '../core/ids.js';
import type { FunctionRuntime } from '../runtime/function-runtime.js';
import type { HttpRequestPayload, InvocationLimits } from '../runtime/types.js';
import type { MetadataStore } from '../storage/types.js';
import type { CircuitBreaker } from './backpressure/circuit-breaker.js';
import { BaselineTier, type WorkerUtilisation } from './baseline-tier.js';
import { LocalBurstTier } from './local-burst-tier.js';
import { createLambdaTier } from './tiers/lambda-tier.js';
import type { CapacityPolicy } from './policy.js';
import { Router, type Routed, type RouterStats } from './router.js';
import { RuleScaler } from './rule-scaler.js';
import { SpilloverController, type SpilloverState, type UtilisationSample } from './spillover-controller.js';
import type { BurstTier, BurstTierStats, InvocationTarget, ScalingEvent, ScalingEventInput, TierName } from './types.js';

export interface CapacityServiceOptions {
  config: Config;
  policy: CapacityPolicy;
  runtime: FunctionRuntime;
  store: MetadataStore;
  events: PlatformEvents;
  clock: Clock;
  onError: (err: unknown, context: string) => void;
  /** The burst tier to use; default from SPILLWAY_BURST_TIER ('local' builds one, 'off' none). */
  burst?: BurstTier | null;
  /** Where utilisation comes from; default: the baseline workers' sampled CPU and memory. */
  sampleSource?: () => Promise<UtilisationSample>;
  /** Executions waiting in the queue (seed 001's "pending"), for the executions scaler. */
  queueDepth?: () => Promise<number>;
  /** Applies the executions scaler's replica count (the execution worker's concurrency). */
  onExecutionReplicas?: (replicas: number) => void;
  /** The burst tier's circuit breaker (docs/backpressure.md): spills skip an open one, and each burst call is reported to it. */
  burstBreaker?: (kind: string) => CircuitBreaker;
}

export interface CapacitySnapshot {
  mode: SpilloverState['mode'];
  weights: SpilloverState['weights'];
  baseline: { workers: number; target: number; minWorkers: number; maxWorkers: number; inFlight: number; utilisation: WorkerUtilisation[] };
  burst: BurstTierStats | null;
  router: RouterStats;
  executions: { replicas: number };
  lastSample: (UtilisationSample & { at: string }) | null;
}

export class CapacityService {
  readonly baseline: BaselineTier;
  readonly burst: BurstTier | null;
  readonly controller: SpilloverController;
  readonly executionScaler: RuleScaler;
  private readonly router: Router;
  private cancelTick: (() => void) | null = null;
  private stopExecutionScaler: (() => void) | null = null;
  private lastUtilisation: WorkerUtilisation[] = [];
  private lastSample: (UtilisationSample & { at: string }) | null = null;
  private resizing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly o: CapacityServiceOptions) {
    const { config, policy, clock } = o;
    // The saturation gauge reads real time; under an injected clock (tests, simulations) routing follows the controller alone.
    this.baseline = new BaselineTier(o.runtime, config, policy.baseline, o.onError, clock === systemClock);
    this.burst = o.burst !== undefined ? o.burst : makeBurstTier(config, policy, clock, o.onError);
    this.controller = new SpilloverController({
      spillover: policy.spillover,
      baseline: policy.baseline,
      clock,
      initialWorkers: policy.baseline.minWorkers,
      onEvent: (e) => this.record(e),
    });
    this.executionScaler = new RuleScaler({ name: 'executions', policy: policy.executions, clock, onEvent: (e) => this.record(e) });
    const breaker = this.burst && o.burstBreaker ? o.burstBreaker(this.burst.kind) : null;
    this.router = new Router({
      baseline: this.baseline,
      burst: this.burst,
      weights: () => this.controller.state.weights,
      policy: policy.burst,
      clock,
      // While the burst tier's breaker is open, spilled calls stay on the baseline; pinned calls are still tried.
      burstAllowed: breaker ? () => breaker.state !== 'open' : undefined,
      burstResult: breaker ? (ok) => (ok ? breaker.success() : breaker.failure()) : undefined,
    });
  }

  /** Starts the always-on baseline workers and the periodic controllers. */
  async start(): Promise<void> {
    await this.baseline.resize(this.o.policy.baseline.minWorkers);
    if (this.baseline.size !== this.controller.state.baselineWorkers) this.controller.setWorkers(this.baseline.size);
    this.scheduleTick();
    const depth = this.o.queueDepth;
    if (depth) {
      this.o.onExecutionReplicas?.(this.executionScaler.replicas);
      this.stopExecutionScaler = this.executionScaler.start(async () => ({ queue_depth: await depth() }));
    }
  }

  dispatch(target: InvocationTarget, payload: HttpRequestPayload, limits: InvocationLimits, pin?: TierName): Promise<Routed> {
    return this.router.dispatch(target, payload, limits, pin);
  }

  /** A function changed or went away: every worker forgets its isolates. */
  evictFunction(functionId: string): void {
    this.o.runtime.evictFunction(functionId);
    this.baseline.evictFunction(functionId);
    this.burst?.evictFunction(functionId);
  }

  /** One controller step now: sample, observe, apply. The periodic timer calls this. */
  async tick(): Promise<ScalingEventInput[]> {
    const sample = this.o.sampleSource ? await this.o.sampleSource() : await this.sampleBaseline();
    let changes: ScalingEventInput[] = [];
    if (sample !== null) {
      this.lastSample = { ...sample, at: new Date(this.o.clock.now()).toISOString() };
      changes = this.controller.observe(sample);
    }
    // Resize after a decision, and also after a worker died: the baseline heals back to the controller's size.
    if (this.baseline.size !== this.controller.state.baselineWorkers) await this.applyBaselineSize();
    return changes;
  }

  snapshot(): CapacitySnapshot {
    const state = this.controller.state;
    return {
      mode: state.mode,
      weights: state.weights,
      baseline: {
        workers: this.baseline.size,
        target: state.baselineWorkers,
        minWorkers: this.o.policy.baseline.minWorkers,
        maxWorkers: this.o.policy.baseline.maxWorkers,
        inFlight: this.baseline.inFlight,
        utilisation: this.lastUtilisation,
      },
      burst: this.burst?.stats() ?? null,
      router: this.router.stats(),
      executions: { replicas: this.executionScaler.replicas },
      lastSample: this.lastSample,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelTick?.();
    this.stopExecutionScaler?.();
    await this.resizing.catch(() => {});
    await Promise.all([this.baseline.close(), this.burst?.close()]);
  }

  private scheduleTick(): void {
    this.cancelTick = this.o.clock.setTimer(() => {
      this.tick()
        .catch((err) => this.o.onError(err, 'the capacity controller failed a step'))
        .finally(() => {
          if (!this.closed) this.scheduleTick();
        });
    }, this.o.policy.spillover.sampleIntervalMs);
  }

  /** The baseline's mean utilisation, or null when no worker has a previous sample yet. */
  private async sampleBaseline(): Promise<UtilisationSample | null> {
    const rows = await this.baseline.sample();
    this.lastUtilisation = rows;
    if (rows.length === 0) return null;
    const mean = (pick: (r: WorkerUtilisation) => number) => (rows.length === 0 ? 0 : rows.reduce((n, r) => n + pick(r), 0) / rows.length);
    return { cpuPct: mean((r) => r.cpuPct), memoryPct: mean((r) => r.memoryPct) };
  }

  /** Brings the baseline to the controller's size; tells the controller if it could not. */
  private applyBaselineSize(): Promise<void> {
    this.resizing = this.resizing.then(async () => {
      if (this.closed) return;
      await this.baseline.resize(this.controller.state.baselineWorkers);
      if (this.baseline.size !== this.controller.state.baselineWorkers) this.controller.setWorkers(this.baseline.size);
    });
    return this.resizing;
  }

  private record(input: ScalingEventInput): void {
    const event: ScalingEvent = { ...input, id: newId('se'), timestamp: new Date(this.o.clock.now()).toISOString() };
    if (input.tier === 'executions') this.o.onExecutionReplicas?.(this.executionScaler.replicas);
    this.o.events.emit('scaling_event', event);
    this.o.store.insertScalingEvent(event).catch((err) => this.o.onError(err, 'storing a scaling event failed'));
  }
}

/** SPILLWAY_BURST_TIER: local worker processes, AWS Lambda (docs/lambda-tier.md), or none. */
function makeBurstTier(config: Config, policy: CapacityPolicy, clock: Clock, onError: (err: unknown, context: string) => void): BurstTier | null {
  switch (config.SPILLWAY_BURST_TIER) {
    case 'local':
      return new LocalBurstTier(config, policy.burst, clock, onError);
    case 'lambda':
      return createLambdaTier(config, clock);
    case 'off':
      return null;
  }
}
