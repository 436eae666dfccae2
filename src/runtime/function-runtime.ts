/**
 * Keeps one warm isolate per function version and routes invocations to it. The first call of a
 * version starts the isolate (a cold start, recorded on that invocation); later calls reuse it,
 * many in flight at once. Idle isolates are disposed after a while, and the least recently used
 * idle one goes when the warm set is full. An isolate that dies (memory limit) is forgotten, so
 * the next call starts a fresh one; no other function is touched.
 */
import { SpillwayError } from '../core/errors.js';
import type { BlobStore } from '../blobs/types.js';
import { loadGuestCode } from './guest-code.js';
import type { HostApi } from './host-api.js';
import { IsolateHost } from './isolate-host.js';
import { IsolatePool } from './isolate-pool.js';
import type { HttpRequestPayload, InvocationHandle, InvocationLimits, InvocationMetering, InvocationOutcome } from './types.js';

export interface VersionRef {
  functionId: string;
  versionId: string;
  memoryLimitMb: number;
  plainParams: string[] | null;
}

export interface FunctionRuntimeOptions {
  blobs: BlobStore;
  maxWarmIsolates: number;
  idleMs: number;
  maxLogBytes: number;
  /** Host methods guest code can call (outbound fetch, KV, analytics, crypto). */
  hostApi?: HostApi;
  /** The `env` bindings description a function's isolate is loaded with. */
  bindingsFor?: (ref: VersionRef) => Record<string, unknown>;
  /**
   * A warm isolate idle this long (ms) has its heap compacted once (IsolateHost.compact), until
   * its next call; 0 turns it off. Default 1000.
   */
  compactIdleMs?: number;
  /**
   * Least time between two compactions of one isolate (ms), default 60000. A compaction costs the
   * isolate's thread 8-44 ms of CPU (measured on the shared machine) and the next call ~1 ms to
   * recompile what was flushed: a function called every couple of seconds must not pay it each time.
   */
  compactEveryMs?: number;
  /** Isolates kept ready for cold starts (0: none), and the memory limit they are made with. */
  poolSize?: number;
  poolMemoryLimitMb?: number;
}

export interface RuntimeStats {
  warmIsolates: number;
  inFlight: number;
  coldStarts: number;
  isolateDeaths: number;
  /** CPU all batches used across live and dead isolates, µs. */
  batchCpuUs: number;
  /** Cold starts served from the pool of ready isolates, and those that had to start one. */
  poolHits: number;
  poolMisses: number;
  /** Isolates ready in the pool now (it refills after each cold start has answered), and its size. */
  poolReady: number;
  poolSize: number;
}

interface Slot {
  key: string;
  host: Promise<IsolateHost>;
  settled: IsolateHost | null;
}

export class FunctionRuntime {
  private readonly slots = new Map<string, Slot>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly compactor: NodeJS.Timeout | null;
  private coldStarts = 0;
  private isolateDeaths = 0;
  private deadCpuNs = 0;
  private readonly pool: IsolatePool;

  constructor(private readonly options: FunctionRuntimeOptions) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, Math.max(1000, options.idleMs / 4)));
    this.sweeper.unref();
    const compactIdleMs = options.compactIdleMs ?? 1000;
    const compactEveryMs = options.compactEveryMs ?? 60_000;
    this.compactor = compactIdleMs > 0 ? setInterval(() => this.compactIdle(compactIdleMs, compactEveryMs), Math.max(100, compactIdleMs / 2)) : null;
    this.compactor?.unref();
    this.pool = new IsolatePool({ size: options.poolSize ?? 0, memoryLimitMb: options.poolMemoryLimitMb ?? 128, guest: loadGuestCode, hostApi: options.hostApi });
  }

  /** Fills the pool of ready isolates; resolves when it is full. */
  warmUp(): Promise<void> {
    return this.pool.fill();
  }

  /** Bundles must load before a deploy is accepted: starts a throwaway isolate and reports why it cannot serve. */
  async validate(bundle: string, plainParams: string[] | null, memoryLimitMb: number): Promise<void> {
    const guest = await loadGuestCode();
    const host = await IsolateHost.create({ bundle, plainParams, memoryLimitMb, guest, hostApi: this.options.hostApi }).catch((err: unknown) => {
      if (err instanceof SpillwayError && err.code === 'FUNCTION_ERROR') {
        throw new SpillwayError('BUILD_FAILED', `The code built, but ${err.message.replace(/^The function /, 'it ')}`);
      }
      throw err;
    });
    host.dispose();
  }

  async invoke(ref: VersionRef, mode: 'http', payload: HttpRequestPayload, limits: InvocationLimits): Promise<InvocationHandle>;
  async invoke(ref: VersionRef, mode: 'call', payload: { input: unknown }, limits: InvocationLimits): Promise<InvocationHandle>;
  async invoke(ref: VersionRef, mode: 'http' | 'call', payload: HttpRequestPayload | { input: unknown }, limits: InvocationLimits): Promise<InvocationHandle> {
    const started = process.hrtime.bigint();
    const key = `${ref.functionId}@${ref.versionId}`;
    const cold = !this.slots.get(key)?.settled?.alive;
    let host: IsolateHost;
    try {
      host = await this.hostFor(ref, key);
    } catch (err) {
      if (cold) this.refillPoolSoon();
      const error = err instanceof SpillwayError ? err : new SpillwayError('ISOLATE_CRASHED', `The function could not start: ${(err as Error).message}`);
      return failedHandle(error, Number(process.hrtime.bigint() - started) / 1000);
    }
    const handle = mode === 'http' ? host.invoke('http', payload as HttpRequestPayload, limits) : host.invoke('call', payload as { input: unknown }, limits);
    // The pool replaces the isolate a cold start took once that call has answered: preparing one
    // costs the main thread ~1 ms and both cores several, which the first call must not wait behind.
    if (cold) void handle.outcome.then(() => this.refillPoolSoon());
    return handle;
  }

  private refillPoolSoon(): void {
    setImmediate(() => void this.pool.fill().catch(() => {}));
  }

  /** Disposes the isolates of one function (after an update or delete). */
  evictFunction(functionId: string): void {
    for (const [key, slot] of this.slots) {
      if (key.startsWith(`${functionId}@`)) {
        this.slots.delete(key);
        void slot.host.then((h) => this.retire(h)).catch(() => {});
      }
    }
  }

  stats(): RuntimeStats {
    let inFlight = 0;
    let cpuNs = this.deadCpuNs;
    let warm = 0;
    for (const slot of this.slots.values()) {
      if (!slot.settled) continue;
      warm++;
      inFlight += slot.settled.inFlight;
      cpuNs += slot.settled.batchCpuNs;
    }
    return { warmIsolates: warm, inFlight, coldStarts: this.coldStarts, isolateDeaths: this.isolateDeaths, batchCpuUs: Math.round(cpuNs / 1000), poolHits: this.pool.hits, poolMisses: this.pool.misses, poolReady: this.pool.size, poolSize: this.options.poolSize ?? 0 };
  }

  /** CPU each warm isolate's batches have used so far, ns, by version key (for saturation gauges). */
  isolateCpuNs(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [key, slot] of this.slots) if (slot.settled) out.set(key, slot.settled.batchCpuNs);
    return out;
  }

  /** The live isolate of a version, if warm (for tests and metrics). */
  warmHost(ref: Pick<VersionRef, 'functionId' | 'versionId'>): IsolateHost | null {
    return this.slots.get(`${ref.functionId}@${ref.versionId}`)?.settled ?? null;
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    if (this.compactor) clearInterval(this.compactor);
    this.pool.close();
    const hosts = await Promise.allSettled([...this.slots.values()].map((s) => s.host));
    this.slots.clear();
    for (const h of hosts) if (h.status === 'fulfilled') h.value.dispose();
  }

  private hostFor(ref: VersionRef, key: string): Promise<IsolateHost> {
    const existing = this.slots.get(key);
    if (existing && (!existing.settled || existing.settled.alive)) return existing.host;
    if (existing) this.slots.delete(key);
    this.makeRoom();
    const slot: Slot = { key, host: this.start(ref, key), settled: null };
    this.slots.set(key, slot);
    slot.host.then(
      (h) => {
        slot.settled = h;
      },
      () => {
        if (this.slots.get(key) === slot) this.slots.delete(key);
      },
    );
    return slot.host;
  }

  private async start(ref: VersionRef, key: string): Promise<IsolateHost> {
    const [guest, code] = await Promise.all([loadGuestCode(), this.options.blobs.get(ref.versionId)]);
    if (!code) throw new SpillwayError('INTERNAL', `The bundle of version ${ref.versionId} is missing from the blob store.`);
    this.coldStarts++;
    const host = await IsolateHost.create({
      bundle: code.toString('utf8'),
      plainParams: ref.plainParams,
      memoryLimitMb: ref.memoryLimitMb,
      guest,
      maxLogBytes: this.options.maxLogBytes,
      filename: `${ref.functionId}.js`,
      hostApi: this.options.hostApi,
      functionId: ref.functionId,
      versionId: ref.versionId,
      bindings: this.options.bindingsFor?.(ref),
    }, this.pool.take(ref.memoryLimitMb));
    host.onDeath = () => {
      this.isolateDeaths++;
      this.deadCpuNs += host.batchCpuNs;
      const slot = this.slots.get(key);
      if (slot?.settled === host) this.slots.delete(key);
    };
    return host;
  }

  private retire(host: IsolateHost): void {
    this.deadCpuNs += host.batchCpuNs;
    host.onDeath = null;
    host.dispose();
  }

  private makeRoom(): void {
    if (this.slots.size < this.options.maxWarmIsolates) return;
    let victim: Slot | null = null;
    for (const slot of this.slots.values()) {
      if (!slot.settled || slot.settled.inFlight > 0) continue;
      if (!victim || slot.settled.lastUsedMs < (victim.settled as IsolateHost).lastUsedMs) victim = slot;
    }
    if (victim?.settled) {
      this.slots.delete(victim.key);
      this.retire(victim.settled);
    }
  }

  private compactIdle(idleMs: number, everyMs: number): void {
    const now = Date.now();
    for (const slot of this.slots.values()) {
      const host = slot.settled;
      if (host && !host.compacted && host.inFlight === 0 && host.lastUsedMs <= now - idleMs && (host.lastCompactedMs === 0 || host.lastCompactedMs <= now - everyMs)) host.compact();
    }
  }

  private sweep(): void {
    const cutoff = Date.now() - this.options.idleMs;
    for (const [key, slot] of this.slots) {
      if (slot.settled && slot.settled.inFlight === 0 && slot.settled.lastUsedMs < cutoff) {
        this.slots.delete(key);
        this.retire(slot.settled);
      }
    }
  }
}

function failedHandle(error: SpillwayError, wallUs: number): InvocationHandle {
  const outcome: InvocationOutcome = { type: 'error', error };
  const metering: InvocationMetering = { invocationId: 'none', cpuUs: 0, wallUs: Math.round(wallUs), coldStart: true, coldStartUs: Math.round(wallUs), logs: [], logsTruncated: false, error };
  return { id: 'none', outcome: Promise.resolve(outcome), metering: Promise.resolve(metering) };
}
