/**
 * The server's side of one worker process (./worker-main.ts): starts it (a real cold start:
 * process, runtime, then the function's isolate on its first call), sends it invocations over
 * IPC and turns its answers back into InvocationHandles, samples its CPU and memory for the
 * controller, and stops it, draining first. If the process dies, its calls in flight fail with
 * ISOLATE_CRASHED and nothing else is touched.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../config/config.js';
import { SpillwayError } from '../../core/errors.js';
import type { HttpRequestPayload, InvocationHandle, InvocationLimits, InvocationMetering, InvocationOutcome } from '../../runtime/types.js';
import type { Executor, InvocationTarget, TierName } from '../types.js';
import type { FromWorker, ToWorker, WireError } from './protocol.js';

const WORKER_MAIN = fileURLToPath(new URL('./worker-main.ts', import.meta.url));
// Workers run the TypeScript sources as the server does (npm start runs under tsx).
const TSX = import.meta.resolve('tsx');

interface Pending {
  resolveOutcome: (o: InvocationOutcome) => void;
  resolveMetering: (m: InvocationMetering) => void;
  stream: Readable | null;
  outcomeSettled: boolean;
  startedNs: bigint;
}

export interface WorkerSample {
  /** Process CPU since it started (user + system), µs; resident memory, bytes. */
  cpuUs: number;
  rssBytes: number;
}

const fromWire = (e: WireError) => new SpillwayError(e.code, e.message, e.details);

export class ProcessExecutor implements Executor {
  readonly id: string;
  readonly tier: TierName;
  /** Set when the process has exited (or failed to start); the executor is then unusable. */
  exited: SpillwayError | null = null;
  /** Wall time from spawn to ready, µs (the worker's own cold start). */
  startUs = 0;
  /** Stopped taking calls (draining or stopped). */
  draining = false;
  lastUsedMs = Date.now();
  /** The worker's latest saturation reading, 0..1. */
  pressure = 0;
  onExit: ((executor: ProcessExecutor) => void) | null = null;
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private readonly samples = new Map<number, (s: WorkerSample | null) => void>();
  private nextId = 1;
  private readonly readyPromise: Promise<void>;
  /** Settles once the process has exited, for whatever reason. */
  readonly whenExited: Promise<void>;
  private drained: (() => void) | null = null;

  private constructor(id: string, tier: TierName, config: Config) {
    this.id = id;
    this.tier = tier;
    const spawnedNs = process.hrtime.bigint();
    this.child = fork(WORKER_MAIN, [], {
      execArgv: ['--no-node-snapshot', '--import', TSX],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: process.env,
    });
    this.readyPromise = new Promise<void>((resolve, reject) => {
      const onMessage = (m: FromWorker) => {
        if (m.t === 'ready') {
          this.startUs = Math.round(Number(process.hrtime.bigint() - spawnedNs) / 1000);
          resolve();
        } else if (m.t === 'fatal') reject(new SpillwayError('BURST_UNAVAILABLE', `Worker ${id} could not start: ${m.message}`, { retryAfterMs: 5000 }));
      };
      this.child.on('message', onMessage);
      this.child.once('exit', (code, signal) => reject(new SpillwayError('BURST_UNAVAILABLE', `Worker ${id} exited while starting (${signal ?? `code ${code}`}).`, { retryAfterMs: 5000 })));
    });
    this.readyPromise.catch(() => {});
    this.whenExited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.child.on('message', (m: FromWorker) => this.onMessage(m));
    this.child.on('exit', (code, signal) => this.onChildExit(code, signal));
    this.child.on('error', () => {}); // 'exit' follows and reports
    this.post({ t: 'init', config, workerId: id, tier });
  }

  /** Spawns a worker and resolves once it serves; rejects (BURST_UNAVAILABLE) if it cannot start. */
  static async start(id: string, tier: TierName, config: Config): Promise<ProcessExecutor> {
    const executor = new ProcessExecutor(id, tier, config);
    try {
      await executor.readyPromise;
    } catch (err) {
      executor.kill();
      throw err;
    }
    return executor;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  get usable(): boolean {
    return this.exited === null && !this.draining;
  }

  invoke(target: InvocationTarget, mode: 'http', payload: HttpRequestPayload, limits: InvocationLimits): Promise<InvocationHandle>;
  invoke(target: InvocationTarget, mode: 'call', payload: { input: unknown }, limits: InvocationLimits): Promise<InvocationHandle>;
  async invoke(target: InvocationTarget, mode: 'http' | 'call', payload: HttpRequestPayload | { input: unknown }, limits: InvocationLimits): Promise<InvocationHandle> {
    const id = this.nextId++;
    this.lastUsedMs = Date.now();
    let resolveOutcome!: (o: InvocationOutcome) => void;
    let resolveMetering!: (m: InvocationMetering) => void;
    const outcome = new Promise<InvocationOutcome>((r) => (resolveOutcome = r));
    const metering = new Promise<InvocationMetering>((r) => (resolveMetering = r));
    const entry: Pending = { resolveOutcome, resolveMetering, stream: null, outcomeSettled: false, startedNs: process.hrtime.bigint() };
    this.pending.set(id, entry);
    if (this.exited) this.failPending(id, entry, this.exited);
    else {
      const wireTarget = { functionId: target.functionId, versionId: target.versionId, memoryLimitMb: target.memoryLimitMb, plainParams: target.plainParams };
      this.post(mode === 'http' ? { t: 'invoke', id, target: wireTarget, mode, payload: payload as HttpRequestPayload, limits } : { t: 'invoke', id, target: wireTarget, mode, payload: payload as { input: unknown }, limits });
    }
    return { id: `${this.id}:${id}`, outcome, metering };
  }

  /** The process's CPU and memory now, or null if it does not answer within 2 s or has exited. */
  sample(): Promise<WorkerSample | null> {
    if (this.exited) return Promise.resolve(null);
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.samples.delete(id);
        resolve(null);
      }, 2000);
      timer.unref();
      this.samples.set(id, (s) => {
        clearTimeout(timer);
        resolve(s);
      });
      this.post({ t: 'sample', id });
    });
  }

  evictFunction(functionId: string): void {
    if (!this.exited) this.post({ t: 'evict', functionId });
  }

  /** Stops taking calls, waits for those in flight (at most `graceMs`), then stops the process. */
  async stop(graceMs = 30_000): Promise<void> {
    this.draining = true;
    if (this.exited) return;
    if (this.pending.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        timer.unref();
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.post({ t: 'shutdown' });
    const timer = setTimeout(() => this.kill(), 5000);
    timer.unref();
    await exited;
    clearTimeout(timer);
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private post(message: ToWorker): void {
    if (!this.child.connected) return;
    this.child.send(message, (err) => {
      // A send that fails means the channel closed; 'exit' fails the calls in flight.
      if (err) this.kill();
    });
  }

  private onMessage(m: FromWorker): void {
    switch (m.t) {
      case 'outcome': {
        const p = this.pending.get(m.id);
        if (!p || p.outcomeSettled) return;
        p.outcomeSettled = true;
        if (m.outcome.type === 'error') p.resolveOutcome({ type: 'error', error: fromWire(m.outcome.error) });
        else if (m.outcome.type === 'result') p.resolveOutcome(m.outcome);
        else {
          const { status, headers, body, streamed } = m.outcome;
          let stream: Readable | null = null;
          if (streamed) {
            const id = m.id;
            stream = new Readable({
              read: () => {},
              destroy: (error, callback) => {
                if (this.pending.has(id)) this.post({ t: 'cancel', id });
                callback(error);
              },
            });
            p.stream = stream;
          }
          p.resolveOutcome({ type: 'response', status, headers, body, stream });
        }
        break;
      }
      case 'chunk':
        this.pending.get(m.id)?.stream?.push(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength));
        break;
      case 'end':
        this.pending.get(m.id)?.stream?.push(null);
        break;
      case 'stream-error':
        this.pending.get(m.id)?.stream?.destroy(fromWire(m.error));
        break;
      case 'metering': {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        const { metering } = m;
        p.resolveMetering({ invocationId: `${this.id}:${m.id}`, ...metering, error: metering.error ? fromWire(metering.error) : null });
        if (this.pending.size === 0) this.drained?.();
        break;
      }
      case 'pressure':
        this.pressure = m.value;
        break;
      case 'sample':
        this.samples.get(m.id)?.({ cpuUs: m.cpuUs, rssBytes: m.rssBytes });
        this.samples.delete(m.id);
        break;
    }
  }

  private onChildExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.exited ??= new SpillwayError('ISOLATE_CRASHED', `The worker process ${this.id} exited (${signal ?? `code ${code}`}) while the call was in flight.`);
    for (const [id, p] of this.pending) this.failPending(id, p, this.exited);
    for (const resolve of this.samples.values()) resolve(null);
    this.samples.clear();
    this.drained?.();
    this.onExit?.(this);
  }

  private failPending(id: number, p: Pending, error: SpillwayError): void {
    this.pending.delete(id);
    if (p.stream && !p.stream.destroyed) p.stream.destroy(error);
    if (!p.outcomeSettled) {
      p.outcomeSettled = true;
      p.resolveOutcome({ type: 'error', error });
    }
    p.resolveMetering({ invocationId: `${this.id}:${id}`, cpuUs: 0, wallUs: Math.round(Number(process.hrtime.bigint() - p.startedNs) / 1000), coldStart: false, coldStartUs: 0, logs: [], logsTruncated: false, error });
  }
}
