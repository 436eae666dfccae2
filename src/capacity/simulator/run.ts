/**
 * The capacity simulator's runner: replays a load trace through the model (model.ts), one
 * sampling interval (policy spillover.sampleIntervalMs) at a time, and drives the REAL
 * SpilloverController on a ManualClock with the samples the model produces. Each interval runs
 * with the controller's current weights and the workers that have finished starting; at its end
 * the clock moves on and the controller observes that interval's utilisation, so an event at
 * time t answers the interval [t - sampleInterval, t).
 */
import { ManualClock } from '../../core/clock.js';
import { DEFAULT_CAPACITY_POLICY, type CapacityPolicy } from '../policy.js';
import { SpilloverController } from '../spillover-controller.js';
import type { ScalingEventInput } from '../types.js';
import { baselineTick, BurstModel, DEFAULT_MODEL, lambdaOnlyCostUsd, type ModelParams } from './model.js';
import { TraceError, type Trace } from './traces.js';

/** The simulation's clock starts here (so event timestamps read as times of day). */
export const SIMULATION_START_MS = Date.UTC(2026, 0, 1);

export interface SimulationOptions {
  trace: Trace;
  policy?: CapacityPolicy;
  model?: ModelParams;
}

/** One sampling interval, as the controller saw it at its end (`t`). */
export interface SimulationSample {
  /** Seconds since the start of the trace (the end of the interval). */
  t: number;
  /** Mean request rate over the interval: in all, to the baseline, to the burst tier. */
  rps: number;
  baselineRps: number;
  burstRps: number;
  /** Baseline workers the controller asked for (paid for) and those taking traffic. */
  workers: number;
  readyWorkers: number;
  /** Whether the router was in spillover mode during the interval, and the percent of traffic it sent to the burst tier. */
  spillover: boolean;
  burstWeightPct: number;
  /** Percent of requests the burst tier actually served (the weight, plus what a full baseline overflowed). */
  burstSharePct: number;
  cpuPct: number;
  memoryPct: number;
  p99Ms: number;
  /** Spend rate over the interval, USD per hour. */
  costPerHourUsd: number;
  rejected: number;
  coldStarts: number;
}

export interface SimulationEvent extends ScalingEventInput {
  /** Seconds since the start of the trace. */
  t: number;
  timestamp: string;
}

export interface SimulationSummary {
  trace: string;
  durationS: number;
  sampleIntervalMs: number;
  samples: number;
  requests: { total: number; baseline: number; burst: number; rejected: number };
  costUsd: { baseline: number; burst: number; total: number; lambdaOnly: number };
  workers: { min: number; max: number };
  spilloverS: number;
  coldStarts: number;
  p99Ms: { max: number; p99OfSamples: number };
  events: Array<Pick<SimulationEvent, 't' | 'timestamp' | 'action' | 'tier' | 'instanceCount' | 'metric' | 'value' | 'reason'>>;
  wallMs: number;
}

export interface SimulationResult {
  samples: SimulationSample[];
  events: SimulationEvent[];
  summary: SimulationSummary;
}

/** Replays `trace` and returns every interval, every event and a summary. Synchronous and quick (24 h ≈ 8,640 intervals). */
export function simulate(opts: SimulationOptions): SimulationResult {
  const started = performance.now();
  const policy = opts.policy ?? DEFAULT_CAPACITY_POLICY;
  const model = opts.model ?? DEFAULT_MODEL;
  const { trace } = opts;
  const dtMs = policy.spillover.sampleIntervalMs;
  const dtS = dtMs / 1000;
  const clock = new ManualClock(SIMULATION_START_MS);
  const events: SimulationEvent[] = [];
  const controller = new SpilloverController({
    spillover: policy.spillover,
    baseline: policy.baseline,
    clock,
    onEvent: (e) => events.push({ ...e, t: (clock.now() - SIMULATION_START_MS) / 1000, timestamp: new Date(clock.now()).toISOString() }),
  });
  const burst = new BurstModel(model);
  /** When each of the controller's workers takes traffic (the first ones are warm at the start). */
  let readyAt: number[] = Array.from({ length: controller.state.baselineWorkers }, () => SIMULATION_START_MS);
  let backlog = 0;
  const samples: SimulationSample[] = [];
  const intervals = Math.floor((trace.durationS * 1000) / dtMs);
  if (intervals < 1) throw new TraceError(`${trace.name}: lasts ${trace.durationS} s, shorter than one sampling interval (${dtS} s)`);

  for (let i = 0; i < intervals; i++) {
    const fromS = i * dtS;
    const now = clock.now();
    // Mean rate over the interval (Simpson's rule on the trace).
    const rps = (trace.rpsAt(fromS) + 4 * trace.rpsAt(fromS + dtS / 2) + trace.rpsAt(fromS + dtS)) / 6;
    const { mode, weights, baselineWorkers } = controller.state;
    const ready = readyAt.filter((at) => at <= now).length;
    // The router: the weights split the traffic; a baseline whose workers are all at
    // maxInFlightPerWorker is full, or all at saturatedAbovePct of their CPU is saturated
    // (src/capacity/pressure.ts), and what it cannot hold goes to the burst tier too.
    const admitRps = (ready * policy.baseline.maxInFlightPerWorker * 1000) / (model.ioWaitMsPerRequest + model.cpuMsPerRequest);
    const saturationRps = (ready * policy.baseline.cpuCoresPerWorker * (1000 / model.cpuMsPerRequest) * policy.baseline.saturatedAbovePct) / 100;
    const baselineRps = Math.min((rps * weights.baseline) / 100, admitRps, saturationRps);
    const burstRps = rps - baselineRps;
    const base = baselineTick(
      { rps: baselineRps, workers: ready, cpuCoresPerWorker: policy.baseline.cpuCoresPerWorker, memoryMbPerWorker: policy.baseline.memoryMbPerWorker, backlog, dtS, maxQueueWaitMs: policy.burst.maxQueueWaitMs },
      model,
    );
    backlog = base.backlog;
    const b = burst.tick(now - SIMULATION_START_MS, burstRps, dtS);
    const burstShare = rps > 0 ? burstRps / rps : 0;
    const p99Ms = burstShare >= 0.01 && burstShare <= 0.99 ? Math.max(base.p99Ms, b.p99Ms) : burstShare > 0.99 ? b.p99Ms : base.p99Ms;
    const baselineCost = baselineWorkers * model.prices.baselineWorkerPerHourUsd * (dtS / 3600);

    clock.advance(dtMs);
    controller.observe({ cpuPct: base.cpuPct, memoryPct: base.memoryPct });
    const after = controller.state.baselineWorkers;
    if (after > readyAt.length) {
      readyAt.push(...Array.from({ length: after - readyAt.length }, () => clock.now() + model.workerStartMs));
    } else if (after < readyAt.length) {
      // Stop the workers that started last (a starting one before a serving one).
      readyAt = [...readyAt].sort((x, y) => x - y).slice(0, after);
    }

    samples.push({
      t: (clock.now() - SIMULATION_START_MS) / 1000,
      rps,
      baselineRps,
      burstRps,
      workers: baselineWorkers,
      readyWorkers: ready,
      spillover: mode === 'spillover',
      burstWeightPct: weights.burst,
      burstSharePct: rps > 0 ? (burstRps / rps) * 100 : 0,
      cpuPct: base.cpuPct,
      memoryPct: base.memoryPct,
      p99Ms,
      costPerHourUsd: ((baselineCost + b.costUsd) * 3600) / dtS,
      rejected: base.rejected,
      coldStarts: b.coldStarts,
    });
  }

  return { samples, events, summary: summarise(trace, dtMs, samples, events, model, performance.now() - started) };
}

function summarise(trace: Trace, dtMs: number, samples: SimulationSample[], events: SimulationEvent[], model: ModelParams, wallMs: number): SimulationSummary {
  const dtS = dtMs / 1000;
  const sum = (f: (s: SimulationSample) => number) => samples.reduce((acc, s) => acc + f(s), 0);
  const total = sum((s) => s.rps * dtS);
  const baselineCost = sum((s) => s.workers * model.prices.baselineWorkerPerHourUsd * (dtS / 3600));
  const allCost = sum((s) => (s.costPerHourUsd * dtS) / 3600);
  const p99s = samples.map((s) => s.p99Ms).sort((a, b) => a - b);
  const round = (x: number, digits = 2) => Number(x.toFixed(digits));
  return {
    trace: trace.name,
    durationS: trace.durationS,
    sampleIntervalMs: dtMs,
    samples: samples.length,
    requests: { total: Math.round(total), baseline: Math.round(sum((s) => s.baselineRps * dtS)), burst: Math.round(sum((s) => s.burstRps * dtS)), rejected: Math.round(sum((s) => s.rejected)) },
    costUsd: { baseline: round(baselineCost, 4), burst: round(allCost - baselineCost, 4), total: round(allCost, 4), lambdaOnly: round(lambdaOnlyCostUsd(total, model), 4) },
    workers: { min: Math.min(...samples.map((s) => s.workers)), max: Math.max(...samples.map((s) => s.workers)) },
    spilloverS: samples.filter((s) => s.spillover).length * dtS,
    coldStarts: sum((s) => s.coldStarts),
    p99Ms: { max: round(p99s[p99s.length - 1] ?? 0, 1), p99OfSamples: round(p99s[Math.min(p99s.length - 1, Math.floor(p99s.length * 0.99))] ?? 0, 1) },
    events: events.map((e) => ({ t: e.t, timestamp: e.timestamp, action: e.action, tier: e.tier, instanceCount: e.instanceCount, metric: e.metric, value: round(e.value, 1), reason: e.reason })),
    wallMs: round(wallMs, 1),
  };
}
