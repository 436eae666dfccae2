/**
 * The burst tier on one machine: worker processes started on demand (a real cold start: a
 * process, the runtime, then the function's isolate) and stopped once idle, so an idle burst tier
 * costs nothing. Behind the BurstTier interface, like the Lambda tier.
 */
import type { Clock } from '../core/clock.js';
import type { Config } from '../config/config.js';
import { SpillwayError } from '../core/errors.js';
import type { HttpRequestPayload, InvocationHandle, InvocationLimits } from '../runtime/types.js';
import type { BurstPolicy } from './policy.js';
import type { BurstTier, BurstTierStats, InvocationTarget } from './types.js';
import { ProcessExecutor } from './workers/process-executor.js';

export class LocalBurstTier implements BurstTier {
  readonly kind = 'local' as const;
  private workers: ProcessExecutor[] = [];
  private startingWorker: Promise<ProcessExecutor> | null = null;
  private nextIndex = 1;
  private served = 0;
  private refused = 0;
  private coldStarts = 0;
  private readonly lastUsed = new Map<ProcessExecutor, number>();
  private cancelSweep: (() => void) | null = null;
  private closed = false;

  constructor(
    private readonly config: Config,
    private readonly policy: BurstPolicy,
    private readonly clock: Clock,
    private readonly onError: (err: unknown, context: string) => void,
  ) {
    this.scheduleSweep();
  }

  async invoke(target: InvocationTarget, mode: 'http', payload: HttpRequestPayload, limits: InvocationLimits): Promise<InvocationHandle & { instanceId: string }> {
    let worker: ProcessExecutor;
    try {
      worker = await this.acquire();
    } catch (err) {
      this.refused++;
      const error = err instanceof SpillwayError ? err : new SpillwayError('BURST_UNAVAILABLE', `The burst tier could not start a worker: ${(err as Error).message}`, { retryAfterMs: 5000 });
      return refusedHandle(error);
    }
    this.served++;
    this.lastUsed.set(worker, this.clock.now());
    const handle = await worker.invoke(target, mode, payload, limits);
    void handle.metering.then(() => this.lastUsed.set(worker, this.clock.now()));
    return { ...handle, instanceId: worker.id };
  }

  /** True when a started worker has room; otherwise starts one (if allowed) in the background. */
  ready(): boolean {
    if (this.closed) return false;
    for (const w of this.workers) if (w.usable && w.inFlight < this.policy.maxInFlightPerWorker) return true;
    if (!this.startingWorker && this.workers.length < this.policy.maxWorkers) {
      this.acquire().catch((err) => this.onError(err, 'warming a burst worker failed'));
    }
    return false;
  }

  /** The start of a worker in progress, if any (settles when it serves or failed). */
  get warming(): Promise<unknown> | null {
    return this.startingWorker;
  }

  /** The burst worker processes alive now. */
  get processWorkers(): readonly ProcessExecutor[] {
    return this.workers;
  }

  evictFunction(functionId: string): void {
    for (const w of this.workers) w.evictFunction(functionId);
  }

  stats(): BurstTierStats {
    return { kind: 'local', workers: this.workers.length, inFlight: this.workers.reduce((n, w) => n + w.inFlight, 0), served: this.served, refused: this.refused, coldStarts: this.coldStarts };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelSweep?.();
    const starting = this.startingWorker;
    if (starting) await starting.catch(() => {});
    await Promise.all(this.workers.map((w) => w.stop(5000)));
    this.workers = [];
  }

  /** A worker with room: the least loaded, or a new one (callers arriving during its start share it). */
  private async acquire(): Promise<ProcessExecutor> {
    if (this.closed) throw new SpillwayError('BURST_UNAVAILABLE', 'The burst tier is shutting down.', { retryAfterMs: 1000 });
    let best: ProcessExecutor | null = null;
    for (const w of this.workers) if (w.usable && w.inFlight < this.policy.maxInFlightPerWorker && (!best || w.inFlight < best.inFlight)) best = w;
    if (best) return best;
    if (this.startingWorker) return this.startingWorker;
    if (this.workers.length >= this.policy.maxWorkers) {
      throw new SpillwayError('BURST_UNAVAILABLE', `The burst tier is at its limit of ${this.policy.maxWorkers} workers, each with ${this.policy.maxInFlightPerWorker} calls in flight.`, { retryAfterMs: 1000 });
    }
    const id = `burst-${this.nextIndex++}`;
    this.startingWorker = ProcessExecutor.start(id, 'burst', this.config).then((w) => {
      this.coldStarts++;
      w.onExit = (gone) => {
        this.workers = this.workers.filter((x) => x !== gone);
        this.lastUsed.delete(gone);
        if (!gone.draining) this.onError(gone.exited, `burst worker ${gone.id} exited`);
      };
      this.workers.push(w);
      this.lastUsed.set(w, this.clock.now());
      return w;
    });
    try {
      return await this.startingWorker;
    } finally {
      this.startingWorker = null;
    }
  }

  /** Stops workers idle for idleStopMs; checks four times per idle period. */
  private scheduleSweep(): void {
    const every = Math.max(250, Math.floor(this.policy.idleStopMs / 4));
    this.cancelSweep = this.clock.setTimer(() => {
      this.sweep();
      if (!this.closed) this.scheduleSweep();
    }, every);
  }

  /** Stops every worker with nothing in flight that has been idle for at least idleStopMs. */
  sweep(): void {
    const cutoff = this.clock.now() - this.policy.idleStopMs;
    for (const w of [...this.workers]) {
      if (w.inFlight === 0 && (this.lastUsed.get(w) ?? 0) <= cutoff) {
        this.workers = this.workers.filter((x) => x !== w);
        this.lastUsed.delete(w);
        w.draining = true;
        void w.stop(1000);
      }
    }
  }
}

function refusedHandle(error: SpillwayError): InvocationHandle & { instanceId: string } {
  return {
    id: 'none',
    instanceId: 'burst',
    outcome: Promise.resolve({ type: 'error', error }),
    metering: Promise.resolve({ invocationId: 'none', cpuUs: 0, wallUs: 0, coldStart: false, coldStartUs: 0, logs: [], logsTruncated: false, error }),
  };
}
