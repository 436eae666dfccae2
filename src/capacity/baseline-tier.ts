/**
 * The warm baseline: always-on workers, filled before anything is paid for. Worker 0 is the
 * server's own runtime; the others are worker processes (./workers/process-executor.ts). The
 * controller resizes it; the router asks it for the least-loaded worker with room.
 */
import type { Config } from '../config/config.js';
import type { FunctionRuntime } from '../runtime/function-runtime.js';
import { InProcessExecutor } from './in-process-executor.js';
import type { BaselinePolicy } from './policy.js';
import type { Executor } from './types.js';
import { ProcessExecutor, type WorkerSample } from './workers/process-executor.js';

export interface WorkerUtilisation {
  id: string;
  pid: number | null;
  inFlight: number;
  cpuPct: number;
  memoryPct: number;
  rssMb: number;
}

export class BaselineTier {
  readonly local: InProcessExecutor;
  private processes: ProcessExecutor[] = [];
  /** Workers being started, counted in the size so two resizes do not both start one. */
  private starting = 0;
  private nextIndex = 1;
  private readonly last = new Map<string, { cpuUs: number; atNs: bigint }>();

  constructor(
    runtime: FunctionRuntime,
    private readonly config: Config,
    private readonly policy: BaselinePolicy,
    private readonly onError: (err: unknown, context: string) => void,
    measurePressure = true,
  ) {
    this.local = new InProcessExecutor('baseline-0', runtime, measurePressure);
  }

  /** Workers serving or starting (the server's own counts as one). */
  get size(): number {
    return 1 + this.processes.filter((p) => p.usable).length + this.starting;
  }

  get workers(): Executor[] {
    return [this.local, ...this.processes.filter((p) => p.usable)];
  }

  get maxInFlightPerWorker(): number {
    return this.policy.maxInFlightPerWorker;
  }

  /** The worker processes serving now (not the server's own worker). */
  get processWorkers(): readonly ProcessExecutor[] {
    return this.processes.filter((p) => p.usable);
  }

  get inFlight(): number {
    return this.workers.reduce((n, w) => n + w.inFlight, 0);
  }

  /** Starts or drains worker processes until `n` workers serve (clamped to the policy's min and max); resolves when done. */
  async resize(n: number): Promise<void> {
    const target = Math.max(this.policy.minWorkers, Math.min(this.policy.maxWorkers, Math.round(n)));
    const starts: Promise<void>[] = [];
    while (this.size < target) {
      this.starting++;
      const id = `baseline-${this.nextIndex++}`;
      starts.push(
        ProcessExecutor.start(id, 'baseline', this.config)
          .then((p) => {
            p.onExit = (gone) => {
              this.processes = this.processes.filter((x) => x !== gone);
              if (!gone.draining) this.onError(gone.exited, `baseline worker ${gone.id} exited`);
            };
            this.processes.push(p);
          })
          .catch((err) => this.onError(err, `starting baseline worker ${id} failed`))
          .finally(() => this.starting--),
      );
    }
    const stops: Promise<void>[] = [];
    while (this.size > target) {
      const victim = this.processes.filter((p) => p.usable).at(-1);
      if (!victim) break;
      victim.draining = true;
      stops.push(victim.stop().then(() => void (this.processes = this.processes.filter((p) => p !== victim))));
    }
    await Promise.all([...starts, ...stops]);
  }

  /**
   * The least-loaded worker with room (ties: the lowest index, so the server's own first), or null
   * when all are full. With `unsaturated`, saturated workers (gauge at or above saturatedAbovePct)
   * do not count as having room: the caller has somewhere better to send the call.
   */
  pick(unsaturated = false): Executor | null {
    let best: Executor | null = null;
    const limit = this.policy.saturatedAbovePct / 100;
    for (const w of this.workers) {
      if (w.inFlight >= this.policy.maxInFlightPerWorker) continue;
      if (unsaturated && w.pressure >= limit) continue;
      if (!best || w.inFlight < best.inFlight) best = w;
    }
    return best;
  }

  /**
   * CPU and memory of each worker since its previous sample. A worker's first sample only sets its
   * starting point (its start-up, compiling and warming, is not load) and is left out.
   */
  async sample(): Promise<WorkerUtilisation[]> {
    const nowNs = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    const own: WorkerSample = { cpuUs: cpu.user + cpu.system, rssBytes: process.memoryUsage.rss() };
    const procs = this.processes.filter((p) => p.usable);
    const samples = await Promise.all(procs.map((p) => p.sample()));
    const rows: Array<WorkerUtilisation | null> = [this.utilisation(this.local.id, null, this.local.inFlight, own, nowNs)];
    procs.forEach((p, i) => {
      const s = samples[i];
      if (s) rows.push(this.utilisation(p.id, p.pid ?? null, p.inFlight, s, nowNs));
    });
    return rows.filter((r): r is WorkerUtilisation => r !== null);
  }

  evictFunction(functionId: string): void {
    for (const p of this.processes) p.evictFunction(functionId);
  }

  async close(): Promise<void> {
    this.local.close();
    await Promise.all(this.processes.map((p) => p.stop(5000)));
    this.processes = [];
  }

  private utilisation(id: string, pid: number | null, inFlight: number, s: WorkerSample, nowNs: bigint): WorkerUtilisation | null {
    const prev = this.last.get(id);
    this.last.set(id, { cpuUs: s.cpuUs, atNs: nowNs });
    if (!prev) return null;
    const wallUs = Number(nowNs - prev.atNs) / 1000;
    const cpuUs = s.cpuUs - prev.cpuUs;
    const cpuPct = wallUs > 0 ? (cpuUs / wallUs / this.policy.cpuCoresPerWorker) * 100 : 0;
    const rssMb = s.rssBytes / (1024 * 1024);
    return { id, pid, inFlight, cpuPct: Math.max(0, cpuPct), memoryPct: (rssMb / this.policy.memoryMbPerWorker) * 100, rssMb };
  }
}
