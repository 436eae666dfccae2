/**
 * Prometheus metrics (`GET /metrics`, prom-client text format) on a registry of their own, never
 * the global one, so two platforms in one process (tests) do not mix.
 *
 * Histograms and counters are fed from the platform's events as invocations finish
 * (`execution_completed` for queued executions, `invocation_recorded` for HTTP calls), so a scrape
 * never queries the executions table. Gauges (queue depth, tier weights, workers, utilisation,
 * the 5-minute error rate) are read at scrape time. Labels are bounded: the `function` label is
 * the name of an existing function; at every scrape the series of functions that no longer exist
 * (deleted, or renamed) are removed. docs/metrics.md lists every metric.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Platform } from '../platform.js';

const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const CPU_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];
/** The error rate's window (seed 003's alert reads it over minutes). */
const ERROR_WINDOW_S = 300;

interface Finished {
  functionId: string;
  trigger: 'http' | 'async';
  /** 'retrying' for an async attempt that failed and will run again. */
  status: 'completed' | 'failed' | 'retrying';
  cpuUs: number | null;
  wallUs: number | null;
  coldStart: boolean;
  coldStartUs: number;
}

type Labels = Record<string, string>;

export class PrometheusMetrics {
  readonly registry = new Registry();
  private readonly names = new Map<string, string>();
  /** Per-second [total, errors] of finished executions, a ring of ERROR_WINDOW_S slots. */
  private readonly errorRing = Array.from({ length: ERROR_WINDOW_S }, () => ({ second: -1, total: 0, errors: 0 }));
  private readonly offs: Array<() => void> = [];

  private readonly executionsTotal: Counter;
  private readonly processingTime: Histogram;
  private readonly cpuSeconds: Histogram;
  private readonly wallSeconds: Histogram;
  private readonly coldStartSeconds: Histogram;
  private readonly queueDepth: Gauge;
  private readonly queueInFlight: Gauge;
  private readonly workerUtilization: Gauge;
  private readonly errorRate: Gauge;
  private readonly tierWeight: Gauge;
  private readonly baselineWorkers: Gauge;
  private readonly burstWorkers: Gauge;

  constructor(private readonly platform: Platform) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.executionsTotal = new Counter({ name: 'spillway_executions_total', help: 'Finished invocations by function, trigger (http, async) and status (completed, failed, retrying).', labelNames: ['function', 'trigger', 'status'], registers });
    this.processingTime = new Histogram({ name: 'spillway_processing_time_seconds', help: 'Wall time of invocations (seed 003 processing_time; p95 via histogram_quantile).', labelNames: ['function', 'trigger'], buckets: SECONDS_BUCKETS, registers });
    this.cpuSeconds = new Histogram({ name: 'spillway_invocation_cpu_seconds', help: 'CPU time of invocations: what Spillway bills (seed 000).', labelNames: ['function'], buckets: CPU_BUCKETS, registers });
    this.wallSeconds = new Histogram({ name: 'spillway_invocation_wall_seconds', help: 'Wall time of invocations: what a wall-clock biller would bill (seed 000).', labelNames: ['function'], buckets: SECONDS_BUCKETS, registers });
    this.coldStartSeconds = new Histogram({ name: 'spillway_cold_start_seconds', help: 'Time to start a cold isolate, for invocations that paid one (seed 003 cold_start_time).', labelNames: ['function', 'trigger'], buckets: SECONDS_BUCKETS, registers });
    this.queueDepth = new Gauge({ name: 'spillway_queue_depth', help: 'Executions waiting in the queue: ready plus delayed (seed 003 queue_depth).', registers });
    this.queueInFlight = new Gauge({ name: 'spillway_queue_in_flight', help: 'Executions received from the queue and not yet acknowledged.', registers });
    this.workerUtilization = new Gauge({ name: 'spillway_worker_utilization', help: 'Baseline worker utilisation, 0-1, by worker and resource (cpu, memory), as last sampled by the capacity controller (seed 003 worker_utilization).', labelNames: ['worker', 'resource'], registers });
    this.errorRate = new Gauge({ name: 'spillway_error_rate', help: `Failed / finished invocations over the last ${ERROR_WINDOW_S} s, 0-1 (seed 003 error_rate).`, registers });
    this.tierWeight = new Gauge({ name: 'spillway_tier_weight', help: "The router's weight per tier (baseline, burst), 0-1.", labelNames: ['tier'], registers });
    this.baselineWorkers = new Gauge({ name: 'spillway_baseline_workers', help: 'Baseline (always-on) workers running.', registers });
    this.burstWorkers = new Gauge({ name: 'spillway_burst_workers', help: 'Burst tier workers (local) or deployed versions (Lambda) live.', registers });

    const events = platform.events;
    this.offs.push(
      events.on('execution_completed', (e) => {
        // An attempt that never ran (its function was deleted) has no metering to observe.
        if (e.duration === null && e.status !== 'failed') return;
        this.observe({ functionId: e.functionId, trigger: 'async', status: e.status === 'pending' ? 'retrying' : e.status, cpuUs: e.cpuUs, wallUs: e.wallUs ?? (e.duration === null ? null : e.duration * 1000), coldStart: e.coldStart ?? false, coldStartUs: e.coldStartUs ?? 0 });
      }),
      events.on('invocation_recorded', (e) => this.observe({ functionId: e.functionId, trigger: 'http', status: e.status, cpuUs: e.cpuUs, wallUs: e.wallUs, coldStart: e.coldStart, coldStartUs: e.coldStartUs })),
    );
  }

  /** The text exposition, gauges refreshed and gone functions' series dropped first. */
  async scrape(): Promise<string> {
    await this.refreshNames();
    const [depth, snapshot] = [await this.platform.queue.depth(), this.platform.capacity.snapshot()];
    this.queueDepth.set(depth.ready + depth.delayed);
    this.queueInFlight.set(depth.inFlight);
    this.workerUtilization.reset();
    for (const w of snapshot.baseline.utilisation) {
      this.workerUtilization.set({ worker: w.id, resource: 'cpu' }, w.cpuPct / 100);
      this.workerUtilization.set({ worker: w.id, resource: 'memory' }, w.memoryPct / 100);
    }
    // The policy's weights are percentages; Prometheus ratios are 0-1.
    this.tierWeight.set({ tier: 'baseline' }, snapshot.weights.baseline / 100);
    this.tierWeight.set({ tier: 'burst' }, snapshot.weights.burst / 100);
    this.baselineWorkers.set(snapshot.baseline.workers);
    this.burstWorkers.set(snapshot.burst?.workers ?? 0);
    const now = Math.floor(this.platform.clock.now() / 1000);
    let total = 0;
    let errors = 0;
    for (const slot of this.errorRing) {
      if (slot.second > now - ERROR_WINDOW_S) {
        total += slot.total;
        errors += slot.errors;
      }
    }
    this.errorRate.set(total === 0 ? 0 : errors / total);
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  close(): void {
    for (const off of this.offs.splice(0)) off();
    this.registry.clear();
  }

  private observe(f: Finished): void {
    const name = this.names.get(f.functionId);
    if (name !== undefined) {
      this.record(name, f);
      return;
    }
    // A function created since the last scrape: learn its name once, then record.
    this.platform.store
      .getFunction(f.functionId)
      .then((fn) => {
        if (!fn) return; // deleted meanwhile: no series for it
        this.names.set(fn.id, fn.name);
        this.record(fn.name, f);
      })
      .catch(() => {});
  }

  private record(name: string, f: Finished): void {
    this.executionsTotal.inc({ function: name, trigger: f.trigger, status: f.status });
    if (f.wallUs !== null) {
      this.processingTime.observe({ function: name, trigger: f.trigger }, f.wallUs / 1e6);
      this.wallSeconds.observe({ function: name }, f.wallUs / 1e6);
    }
    if (f.cpuUs !== null) this.cpuSeconds.observe({ function: name }, f.cpuUs / 1e6);
    if (f.coldStart && f.coldStartUs > 0) this.coldStartSeconds.observe({ function: name, trigger: f.trigger }, f.coldStartUs / 1e6);
    if (f.status !== 'retrying') {
      const second = Math.floor(this.platform.clock.now() / 1000);
      const slot = this.errorRing[second % ERROR_WINDOW_S]!;
      if (slot.second !== second) Object.assign(slot, { second, total: 0, errors: 0 });
      slot.total++;
      if (f.status === 'failed') slot.errors++;
    }
  }

  /** Reloads id → name from the store and removes the series of names no function has now. */
  private async refreshNames(): Promise<void> {
    const functions = await this.platform.store.listFunctions();
    this.names.clear();
    for (const fn of functions) this.names.set(fn.id, fn.name);
    const live = new Set(functions.map((fn) => fn.name));
    // Found at scrape time from the metrics' own series, so recording an invocation keeps no index.
    for (const metric of [this.executionsTotal, this.processingTime, this.cpuSeconds, this.wallSeconds, this.coldStartSeconds] as Array<Counter | Histogram>) {
      const gone = new Map<string, Labels>();
      for (const { labels } of (await metric.get()).values) {
        const name = labels.function;
        if (typeof name !== 'string' || live.has(name)) continue;
        const own: Labels = {};
        for (const [k, v] of Object.entries(labels)) if (k !== 'le') own[k] = String(v);
        gone.set(JSON.stringify(own), own);
      }
      for (const labels of gone.values()) metric.remove(labels);
    }
  }
}
