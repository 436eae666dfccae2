/**
 * One V8 isolate running one function version, and the host half of its event loop.
 *
 * The host owns every timer, stream and I/O operation; the guest (./guest/index.ts) is entered
 * only through batches: all events that became ready since the last entry go in one `apply()`,
 * which runs on isolated-vm's thread pool, so Node's main thread never waits for guest code.
 * Batching is what makes thousands of interleaved invocations cheap (one crossing for many
 * events). The operations a batch produced come back with its result, in the same crossing.
 * By default only one batch is in the isolate at a time, so the isolate's CPU counter read before
 * and after each batch is that batch's CPU. The guest reports how long each event ran
 * (millisecond clock); the host splits the batch's CPU between invocations by those shares, so
 * per-invocation CPU sums to what the isolate used. (`maxBatchesInFlight: 2` pipelines batches;
 * see that option for what it costs in metering.)
 */
import { Readable } from 'node:stream';
import { SpillwayError } from '../core/errors.js';
import { ivm, OPS_IN_RESULT, type IsolatedVM } from './ivm.js';
import type { GuestCode } from './guest-code.js';
import { emptyHostApi, toGuestError, type HostApi, type HostCallContext } from './host-api.js';
import type { BatchResult, HttpRequestPayload, Item, Op } from './guest/protocol.js';
import type { InvocationHandle, InvocationLimits, InvocationMetering, InvocationOutcome, LogLine } from './types.js';

/** An isolate with the guest runtime loaded, not yet bound to any function. */
export interface PreparedIsolate {
  isolate: IsolatedVM.Isolate;
  context: IsolatedVM.Context;
  memoryLimitMb: number;
  hostApi: HostApi | undefined;
}

export interface IsolateHostOptions {
  /** The function's bundle, an IIFE assigning its exports to `__spw_user`. */
  bundle: string;
  /** Parameter names of a plain function, for mapping object input to arguments. */
  plainParams: string[] | null;
  memoryLimitMb: number;
  guest: GuestCode;
  /** How long one batch may keep starting new events before yielding, in ms. */
  batchBudgetMs?: number;
  /** Largest number of events in one batch. */
  maxBatch?: number;
  /**
   * Batches submitted to the isolate at once (default 1). With 2, the next batch waits in
   * isolated-vm's queue behind the running one and starts without waiting for Node's main thread;
   * operations still apply in order and CPU still sums to the isolate's counter, but the counter
   * can no longer be read between two batches, so a batch's guest-clock shares are not scaled to
   * its exact CPU: under a loaded machine a descheduled event is billed its wall time
   * (test/runtime/metering.test.ts fails with 2). It also measured no faster on the shared
   * machine (docs/perf-notes-session3.md), so it is off by default.
   */
  maxBatchesInFlight?: number;
  /** Per-invocation cap on captured console output, in bytes. */
  maxLogBytes?: number;
  filename?: string;
  /** Methods the guest may call (fetch, KV, …); none by default. */
  hostApi?: HostApi;
  /** Identity handed to host methods. */
  functionId?: string;
  versionId?: string;
  /** Bindings description passed to the guest's `load` (becomes `env`). */
  bindings?: Record<string, unknown>;
}

interface HostInvocation {
  id: string;
  startNs: bigint;
  cpuNs: number;
  limits: InvocationLimits;
  coldStartUs: number;
  logs: LogLine[];
  logBytes: number;
  logsTruncated: boolean;
  timers: Set<number>;
  stream: Readable | null;
  outcomeSettled: boolean;
  resolveOutcome: (o: InvocationOutcome) => void;
  resolveMetering: (m: InvocationMetering) => void;
  wallTimer: NodeJS.Timeout | null;
  error: SpillwayError | null;
  /** True once its start event entered the isolate. */
  started: boolean;
  /** Aborted when the invocation ends; host calls stop their I/O on it. */
  /** Created on the first host call (most calls make none); aborted when the invocation ends. */
  abort: AbortController | null;
  callContext: HostCallContext | null;
}

let invocationCounter = 0;

export class IsolateHost {
  readonly isolate: IsolatedVM.Isolate;
  private readonly context: IsolatedVM.Context;
  private readonly runRef: IsolatedVM.Reference<(items: Item[], budget: number, pipelined: boolean, opsInResult: boolean) => Promise<BatchResult>>;
  private readonly drainRef: IsolatedVM.Reference<() => { ops: Op[]; index: number }>;
  /** Takes the last batch's operations where they cannot travel with its result (isolated-vm 6: OPS_IN_RESULT). */
  private readonly takeRef: IsolatedVM.Reference<() => { ops: Op[]; endMs: number }> | null;
  private readonly invocations = new Map<string, HostInvocation>();
  private readonly hostTimers = new Map<number, NodeJS.Timeout>();
  /** Events for invocations already running (timers, stream pulls, cancels): served first, so work in flight finishes before new work is admitted. */
  private continuations: Item[] = [];
  /** New invocations waiting to start. */
  private starts: Item[] = [];
  /** Batches submitted to the isolate and not yet processed here (at most maxBatchesInFlight). */
  private batchesInFlight = 0;
  /** Processes batch results one after another, in submission order. */
  private resultChain: Promise<void> = Promise.resolve();
  /** Events batches did not run, held (in order) until no earlier batch is still in flight. */
  private deferred: Item[] = [];
  /** The isolate's CPU counter when last read, and CPU it counted that no invocation was given yet. */
  private cpuMarkNs = 0n;
  private unattributedNs = 0;
  private stopWatch: (() => void) | null = null;
  private readonly maxBatchesInFlight: number;
  private scheduled = false;
  private dead: SpillwayError | null = null;
  private readonly batchBudgetMs: number;
  private readonly maxBatch: number;
  private readonly maxLogBytes: number;
  private pendingColdStartUs: number;
  /** Rejects when the isolate is found disposed while batches run (see whileAlive). */
  private disposedWatch: { promise: Promise<never> } | null = null;
  private readonly hostApi: HostApi;
  private readonly functionId: string;
  private readonly versionId: string;
  /** Moving average of CPU per event, ns; sizes batches. */
  private avgEventNs = 0;
  /** CPU used by batches (all invocations), in ns; the isolate's own counter also includes start-up. */
  batchCpuNs = 0;
  /** Batches submitted; of them, submitted while another was in flight; of those, run nothing (put back behind an earlier batch's unrun events). */
  batches = 0;
  pipelinedBatches = 0;
  refusedBatches = 0;
  lastUsedMs = Date.now();
  /** True once compact() ran since the last invocation started; when it last ran (0: never). */
  compacted = false;
  lastCompactedMs = 0;
  readonly kind: string;
  /** Called once when the isolate dies (memory limit, crash), so its owner can forget it. */
  onDeath: ((err: SpillwayError) => void) | null = null;

  private constructor(
    isolate: IsolatedVM.Isolate,
    context: IsolatedVM.Context,
    runRef: IsolatedVM.Reference<(items: Item[], budget: number, pipelined: boolean, opsInResult: boolean) => Promise<BatchResult>>,
    drainRef: IsolatedVM.Reference<() => { ops: Op[]; index: number }>,
    takeRef: IsolatedVM.Reference<() => { ops: Op[]; endMs: number }> | null,
    kind: string,
    coldStartUs: number,
    options: IsolateHostOptions,
  ) {
    this.isolate = isolate;
    this.context = context;
    this.runRef = runRef;
    this.drainRef = drainRef;
    this.takeRef = takeRef;
    this.kind = kind;
    this.pendingColdStartUs = coldStartUs;
    this.batchBudgetMs = options.batchBudgetMs ?? 20;
    this.maxBatch = options.maxBatch ?? 1024;
    // Pipelining needs the operations in the result (a synchronous take would wait for the batch behind).
    this.maxBatchesInFlight = OPS_IN_RESULT ? Math.max(1, options.maxBatchesInFlight ?? 1) : 1;
    this.maxLogBytes = options.maxLogBytes ?? 64 * 1024;
    this.hostApi = options.hostApi ?? emptyHostApi();
    this.functionId = options.functionId ?? 'anonymous';
    this.versionId = options.versionId ?? 'anonymous';
  }

  /**
   * Creates an isolate with the guest runtime loaded and nothing of any function in it yet. The
   * isolate pool (./isolate-pool.ts) prepares these ahead of demand; `create` takes one, or
   * prepares its own.
   */
  static async prepare(memoryLimitMb: number, guest: GuestCode, hostApi: HostApi | undefined): Promise<PreparedIsolate> {
    const isolate = new ivm.Isolate({ memoryLimit: memoryLimitMb });
    try {
      const context = await isolate.createContext();
      const sync = hostApi?.sync ?? {};
      await context.global.set(
        '__spw_host_sync',
        new ivm.Callback((method: string, args: unknown) => {
          const fn = Object.prototype.hasOwnProperty.call(sync, method) ? sync[String(method)] : undefined;
          if (!fn) throw new TypeError(`${String(method)} is not available.`);
          return fn(args);
        }),
      );
      const guestScript = await isolate.compileScript(guest.source, { filename: 'spillway:guest', cachedData: guest.cachedData });
      await guestScript.run(context);
      guestScript.release();
      return { isolate, context, memoryLimitMb, hostApi };
    } catch (err) {
      if (!isolate.isDisposed) isolate.dispose();
      throw err;
    }
  }

  /**
   * Loads a function's bundle into an isolate: the cold start. Uses `prepared` (from the pool)
   * when given and still usable, else prepares a fresh isolate first. Throws NO_HANDLER or
   * FUNCTION_ERROR when the bundle cannot load.
   */
  static async create(options: IsolateHostOptions, prepared?: PreparedIsolate | null): Promise<IsolateHost> {
    const t0 = process.hrtime.bigint();
    const usable = prepared && !prepared.isolate.isDisposed && prepared.memoryLimitMb === options.memoryLimitMb && prepared.hostApi === options.hostApi ? prepared : null;
    if (prepared && !usable && !prepared.isolate.isDisposed) prepared.isolate.dispose();
    const { isolate, context } = usable ?? (await IsolateHost.prepare(options.memoryLimitMb, options.guest, options.hostApi));
    try {
      const script = await isolate.compileScript(options.bundle, { filename: options.filename ?? 'function.js' });
      try {
        await script.run(context, { timeout: 5000 });
      } catch (err) {
        throw new SpillwayError('FUNCTION_ERROR', `The function threw while loading: ${(err as Error).message}`, { stage: 'load' });
      } finally {
        script.release();
      }
      const spw = (await context.global.get('__spw', { reference: true })) as IsolatedVM.Reference<Record<string, unknown>>;
      const load = (await spw.get('load', { reference: true })) as IsolatedVM.Reference<(p: string[] | null, env: object, limits: object) => string>;
      let kind: string;
      try {
        kind = (await load.apply(undefined, [options.plainParams, options.bindings ?? {}, { maxLogBytes: options.maxLogBytes ?? 64 * 1024 }], { arguments: { copy: true }, result: { copy: true }, timeout: 1000 })) as string;
      } catch (err) {
        throw new SpillwayError('NO_HANDLER', `The function exports nothing Spillway can call: ${(err as Error).message}.`);
      }
      const runRef = (await spw.get('run', { reference: true })) as IsolatedVM.Reference<(items: Item[], budget: number, pipelined: boolean, opsInResult: boolean) => Promise<BatchResult>>;
      const drainRef = (await spw.get('drain', { reference: true })) as IsolatedVM.Reference<() => { ops: Op[]; index: number }>;
      const takeRef = OPS_IN_RESULT ? null : ((await spw.get('take', { reference: true })) as IsolatedVM.Reference<() => { ops: Op[]; endMs: number }>);
      load.release();
      spw.release();
      const coldStartUs = Number(process.hrtime.bigint() - t0) / 1000;
      return new IsolateHost(isolate, context, runRef, drainRef, takeRef, kind, coldStartUs, options);
    } catch (err) {
      if (!isolate.isDisposed) isolate.dispose();
      throw err;
    }
  }

  get alive(): boolean {
    return this.dead === null && !this.isolate.isDisposed;
  }

  get inFlight(): number {
    return this.invocations.size;
  }

  /** Starts an invocation: an HTTP request for `fetch`/handler functions, or a JSON input for executions. */
  invoke(mode: 'http', payload: HttpRequestPayload, limits: InvocationLimits): InvocationHandle;
  invoke(mode: 'call', payload: { input: unknown }, limits: InvocationLimits): InvocationHandle;
  invoke(mode: 'http' | 'call', payload: HttpRequestPayload | { input: unknown }, limits: InvocationLimits): InvocationHandle {
    const id = `i${(++invocationCounter).toString(36)}`;
    let resolveOutcome!: (o: InvocationOutcome) => void;
    let resolveMetering!: (m: InvocationMetering) => void;
    const outcome = new Promise<InvocationOutcome>((r) => (resolveOutcome = r));
    const metering = new Promise<InvocationMetering>((r) => (resolveMetering = r));
    const inv: HostInvocation = {
      id,
      startNs: process.hrtime.bigint(),
      cpuNs: 0,
      limits,
      coldStartUs: this.pendingColdStartUs,
      logs: [],
      logBytes: 0,
      logsTruncated: false,
      timers: new Set(),
      stream: null,
      outcomeSettled: false,
      resolveOutcome,
      resolveMetering,
      wallTimer: null,
      error: null,
      started: false,
      abort: null,
      callContext: null,
    };
    this.pendingColdStartUs = 0;
    this.lastUsedMs = Date.now();
    this.compacted = false;
    if (this.dead) {
      this.invocations.set(id, inv);
      this.fail(inv, this.dead);
      return { id, outcome, metering };
    }
    this.invocations.set(id, inv);
    inv.wallTimer = setTimeout(() => {
      const after = inv.outcomeSettled ? ' after its response was sent (ctx.waitUntil work or a streamed body was still running; both count toward the timeout)' : '';
      this.fail(inv, new SpillwayError('TIMEOUT', `The function ran longer than its ${limits.timeoutMs} ms timeout on the wall clock${after} and was stopped.`, { timeoutMs: limits.timeoutMs }));
    }, limits.timeoutMs);
    this.push(mode === 'http' ? ['start', id, 'http', payload as HttpRequestPayload] : ['start', id, 'call', payload as { input: unknown }]);
    return { id, outcome, metering };
  }

  /**
   * Collects the isolate's garbage and gives the freed pages back to the system, when nothing runs
   * in it (call it on an isolate idle for a while: FunctionRuntime does after compactIdleMs). A
   * warm isolate after its first call holds ~1 MB of heap it no longer uses; measured in process,
   * RSS per idle warm hello-world isolate 4.13 -> 3.20 MB, for 8-44 ms of the isolate thread's CPU
   * (shared machine, under load), billed to no invocation, and ~1 ms more CPU on the next call
   * (bytecode the collections flushed is compiled again). Most of it (~1 MB) is the young generation, which V8 shrinks only
   * when the isolate's allocation rate has been low for a while: compacting right after a call
   * frees little. The next call finds the heap smaller and grows it again as needed.
   */
  compact(): void {
    if (this.compacted || !this.alive || this.invocations.size > 0) return;
    this.compacted = true;
    this.lastCompactedMs = Date.now();
    this.push(['gc']);
  }

  /** Disposes the isolate; invocations still in flight fail with the given error. */
  dispose(reason = new SpillwayError('ISOLATE_CRASHED', 'The isolate was shut down while the call was in flight.')): void {
    this.die(reason);
  }

  private push(item: Item): void {
    if (item[0] === 'start') this.starts.push(item);
    else this.continuations.push(item);
    if (this.batchesInFlight < this.maxBatchesInFlight && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.pump());
    }
  }

  /** Submits batches while there are events and room in the pipeline. */
  private pump(): void {
    this.scheduled = false;
    while (!this.dead && this.batchesInFlight < this.maxBatchesInFlight && (this.continuations.length > 0 || this.starts.length > 0)) {
      const limit = this.batchLimit();
      const items = this.continuations.splice(0, limit);
      if (items.length < limit) items.push(...this.starts.splice(0, limit - items.length));
      this.submit(items);
    }
  }

  /**
   * Sends one batch into the isolate. A batch submitted while another is in flight ("pipelined")
   * queues behind it on the isolate's thread; results are processed here strictly in submission
   * order, so operations are applied in the order the guest produced them.
   */
  private submit(items: Item[]): void {
    const pipelined = this.batchesInFlight > 0;
    this.batches++;
    if (pipelined) this.pipelinedBatches++;
    if (!this.stopWatch) {
      // A new run of batches. What the isolate did since the last run (V8's own tasks: optimised
      // code installed, GC) is billed to no one, as before. Within a run the counter is read
      // continuously, so the tail of a batch's task that ran after its result was read counts
      // toward the next batch.
      this.cpuMarkNs = this.isolate.cpuTime;
      this.unattributedNs = 0;
      this.stopWatch = this.watchDisposal();
    }
    this.batchesInFlight++;
    let work: Promise<BatchResult>;
    try {
      work = this.whileAlive(
        this.runRef.apply(undefined, [items, this.batchBudgetMs, pipelined, OPS_IN_RESULT], {
          arguments: { copy: true },
          result: { copy: true, promise: true },
          timeout: this.entryLimitMs(),
        }) as unknown as Promise<BatchResult>,
      );
    } catch (err) {
      work = Promise.reject(err);
    }
    const settled = work.then(
      (result) => ({ result, error: null }),
      (error: unknown) => ({ result: null, error: error as Error }),
    );
    this.resultChain = this.resultChain.then(async () => {
      let { result, error } = await settled;
      this.batchesInFlight--;
      if (result && this.takeRef && !this.dead) {
        try {
          Object.assign(result, this.takeRef.applySync(undefined, [], { result: { copy: true }, timeout: 1000 }));
        } catch (err) {
          result = null;
          error = err as Error;
        }
      }
      try {
        if (!this.dead) {
          if (result) this.onBatchResult(items, result);
          else this.onBatchError(error!, items);
        }
      } catch (err) {
        this.die(new SpillwayError('ISOLATE_CRASHED', `The isolate host failed: ${(err as Error).message}`));
      } finally {
        if (this.batchesInFlight === 0) {
          if (this.deferred.length > 0 && !this.dead) this.requeue(this.deferred);
          this.deferred = [];
        }
      }
      this.pump();
      if (this.batchesInFlight === 0) {
        // The run of batches is over (nothing left to send): one disposal poll per run.
        this.stopWatch?.();
        this.stopWatch = null;
      }
    });
  }

  /** Reads the isolate's CPU counter into the pool of CPU not yet given to invocations. */
  private readCpu(): number {
    const now = this.isolate.cpuTime;
    const deltaNs = Number(now - this.cpuMarkNs);
    this.cpuMarkNs = now;
    this.unattributedNs += deltaNs;
    this.batchCpuNs += deltaNs;
    return deltaNs;
  }

  /**
   * How many events to copy into the next batch: about as many as fit the batch budget at the
   * recent CPU cost per event, so a slow handler is not sent hundreds of events it will hand back.
   */
  private batchLimit(): number {
    if (this.avgEventNs <= 0) return this.maxBatch;
    return Math.max(1, Math.min(this.maxBatch, Math.floor((this.batchBudgetMs * 1e6) / this.avgEventNs)));
  }

  /** Puts events a batch did not reach back at the head of their queues, in order. */
  private requeue(items: Item[]): void {
    const starts: Item[] = items.filter((i) => i[0] === 'start');
    const others: Item[] = items.filter((i) => i[0] !== 'start');
    this.continuations = others.concat(this.continuations);
    this.starts = starts.concat(this.starts);
  }

  private entryLimitMs(): number {
    let max = 0;
    for (const inv of this.invocations.values()) max = Math.max(max, inv.limits.cpuLimitMs);
    return this.batchBudgetMs + Math.max(max, 1);
  }

  private onBatchResult(items: Item[], result: BatchResult): void {
    // The result reaches this thread before the batch's task has quite ended on the isolate's
    // thread, and while a task runs isolated-vm's counter adds its *wall* time so far (its thread
    // CPU only once it ends): read now, a descheduled batch would count its waiting as CPU and the
    // guest-clock shares would never be scaled down to what it really used (the metering test
    // fails under load). A small synchronous call waits for the task to end (normally already
    // over: microseconds). With a batch pipelined behind, it would wait for that one too, so not then.
    if (this.batchesInFlight === 0) this.isolate.getHeapStatisticsSync();
    this.readCpu();
    // With a later batch still in flight, the counter may already include part of its CPU: at
    // most the wall time since this batch ended (one thread runs the isolate). That much stays in
    // the pool for the later batch; the rest is this batch's.
    const reserveNs = this.batchesInFlight > 0 ? Math.max(0, Date.now() - result.endMs + 1) * 1e6 : 0;
    if (result.consumed === 0 && items.length > 0) this.refusedBatches++;
    const consumed = items.slice(0, result.consumed);
    if (result.consumed < items.length) this.deferred.push(...items.slice(result.consumed));
    const attributedNs = this.attributeCpu(result.cpu, reserveNs, consumed);
    if (result.consumed > 0) {
      const perEvent = attributedNs / result.consumed;
      this.avgEventNs = this.avgEventNs === 0 ? perEvent : this.avgEventNs * 0.7 + perEvent * 0.3;
    }
    this.applyOps(result.ops);
    this.enforceCpuLimits();
  }

  /**
   * Settles with `work`, or rejects as soon as isolated-vm disposes the isolate under it. On Node 24
   * (isolated-vm 6.2) an isolate disposed for exceeding its memory limit leaves the pending
   * `apply()` promise unsettled forever (measured: disposed, never rejected); this turns that
   * into the memory-limit failure it is. One flag poll every 25 ms per run of batches (from the first batch submitted to the pipeline emptying),
   * not a timer per batch.
   */
  private whileAlive<T>(work: Promise<T>): Promise<T> {
    return this.disposedWatch ? Promise.race([work, this.disposedWatch.promise]) : work;
  }

  private watchDisposal(): () => void {
    let reject!: (err: Error) => void;
    const promise = new Promise<never>((_, r) => (reject = r));
    promise.catch(() => {}); // raced by each batch; unobserved between batches
    const poll = setInterval(() => {
      if (this.isolate.isDisposed) reject(new Error('Isolate was disposed during execution due to memory limit'));
    }, 25);
    this.disposedWatch = { promise };
    return () => {
      clearInterval(poll);
      this.disposedWatch = null;
    };
  }

  /**
   * Splits the CPU the isolate's own counter measured between invocations. Each event's owner
   * gets what the guest clock measured for it; what no guest clock saw (garbage collection,
   * promise chains that ran past the event's window, runtime bookkeeping, events shorter than the
   * clock's millisecond) is shared equally by every invocation alive in the isolate, since all of
   * them hold the heap that work serves. When the guest clock over-measured (the thread was
   * descheduled mid-event), shares are scaled down. Either way the invocations' CPU sums to what
   * the isolate used: `reserveNs` (CPU a later batch may already have used) stays in the pool for
   * that batch, and the pool is empty whenever no batch is in flight. Returns what was given.
   */
  private attributeCpu(measured: Array<[string, number]>, reserveNs: number, items: Item[]): number {
    for (const item of items) {
      const inv = item[0] === 'start' ? this.invocations.get(item[1]) : undefined;
      if (inv) inv.started = true;
    }
    // The counter adds the wall time of a task still running on the isolate's thread and its
    // thread CPU once it ends, so a reading can exceed a later one: the pool can run negative.
    const availableNs = Math.max(0, this.unattributedNs);
    const ownNs = new Map<string, number>();
    let totalMeasuredNs = 0;
    for (const [owner, ms] of measured) {
      if (!this.invocations.has(owner)) continue;
      ownNs.set(owner, ms * 1e6);
      totalMeasuredNs += ms * 1e6;
    }
    if (totalMeasuredNs > availableNs) {
      for (const [owner, ns] of ownNs) this.invocations.get(owner)!.cpuNs += (availableNs * ns) / totalMeasuredNs;
      this.unattributedNs -= availableNs;
      return availableNs;
    }
    for (const [owner, ns] of ownNs) this.invocations.get(owner)!.cpuNs += ns;
    let given = totalMeasuredNs;
    const residual = Math.max(0, availableNs - totalMeasuredNs - reserveNs);
    // Invocations still queued hold no heap yet, so they share nothing.
    const sharers = [...this.invocations.values()].filter((inv) => inv.started);
    if (sharers.length > 0 && residual > 0) {
      const share = residual / sharers.length;
      for (const inv of sharers) inv.cpuNs += share;
      given += residual;
    }
    this.unattributedNs -= given;
    // With nothing in flight and nobody to share it, what is left (runtime bookkeeping after the
    // last invocation ended) is billed to no one, as before pipelining; a later call must not
    // carry it (its CPU could then exceed its wall time).
    if (this.batchesInFlight === 0 && sharers.length === 0) this.unattributedNs = Math.min(0, this.unattributedNs);
    return given;
  }

  private enforceCpuLimits(): void {
    for (const inv of this.invocations.values()) {
      if (inv.cpuNs > inv.limits.cpuLimitMs * 1e6) {
        this.fail(inv, new SpillwayError('CPU_LIMIT', `The function used more than its ${inv.limits.cpuLimitMs} ms CPU limit and was stopped.`, { cpuLimitMs: inv.limits.cpuLimitMs }));
      }
    }
  }

  private onBatchError(err: Error, items: Item[]): void {
    const message = String(err?.message ?? err);
    if (this.isolate.isDisposed || /memory limit/i.test(message)) {
      this.die(new SpillwayError('OUT_OF_MEMORY', 'The function ran past its memory limit; its isolate was disposed and restarts on the next call.'));
      return;
    }
    if (/timed out/i.test(message)) {
      // One event ran longer than the CPU limit without yielding. Find it, fail its invocation,
      // keep what the batch produced before it, and run the events after it again. (A batch
      // pipelined behind this one runs nothing: the guest refuses it until these are put back.)
      let drained: { ops: Op[]; index: number } = { ops: [], index: 0 };
      try {
        drained = this.drainRef.applySync(undefined, [], { result: { copy: true }, timeout: 100 }) as { ops: Op[]; index: number };
      } catch {
        this.die(new SpillwayError('ISOLATE_CRASHED', 'The isolate stopped answering after a CPU-limit interruption.'));
        return;
      }
      this.readCpu();
      const culprit = items[drained.index];
      const owner = culprit && culprit[0] !== 'timer' && culprit[0] !== 'gc' ? culprit[1] : null;
      this.applyOps(drained.ops);
      this.deferred.push(...items.slice(drained.index + 1));
      const inv = owner ? this.invocations.get(owner) : undefined;
      if (inv) {
        inv.cpuNs += this.unattributedNs;
        this.unattributedNs = 0;
        this.fail(inv, new SpillwayError('CPU_LIMIT', `The function ran more than ${inv.limits.cpuLimitMs} ms of CPU without yielding and was stopped.`, { cpuLimitMs: inv.limits.cpuLimitMs }));
      }
      return;
    }
    this.die(new SpillwayError('ISOLATE_CRASHED', `The isolate failed: ${message}`));
  }

  private applyOps(ops: Op[]): void {
    for (const op of ops) {
      const inv = this.invocations.get(op[1]);
      switch (op[0]) {
        case 'timer': {
          const [, , timerId, delay] = op;
          if (!inv) break;
          inv.timers.add(timerId);
          this.hostTimers.set(
            timerId,
            setTimeout(() => {
              this.hostTimers.delete(timerId);
              inv.timers.delete(timerId);
              this.push(['timer', timerId]);
            }, delay),
          );
          break;
        }
        case 'clearTimer': {
          const handle = this.hostTimers.get(op[2]);
          if (handle) clearTimeout(handle);
          this.hostTimers.delete(op[2]);
          inv?.timers.delete(op[2]);
          break;
        }
        case 'respond': {
          if (!inv || inv.outcomeSettled) break;
          const { status, headers, body, stream } = op[2];
          let readable: Readable | null = null;
          if (stream) {
            const id = inv.id;
            readable = new Readable({
              read: () => this.push(['pull', id]),
              destroy: (error, callback) => {
                if (this.invocations.has(id)) this.push(['cancel', id]);
                callback(error);
              },
            });
            inv.stream = readable;
          }
          this.settleOutcome(inv, { type: 'response', status, headers, body, stream: readable });
          break;
        }
        case 'chunk':
          inv?.stream?.push(Buffer.from(op[2].buffer, op[2].byteOffset, op[2].byteLength));
          break;
        case 'end':
          inv?.stream?.push(null);
          break;
        case 'result':
          if (inv) this.settleOutcome(inv, { type: 'result', json: op[2] });
          break;
        case 'error': {
          if (!inv) break;
          const g = op[2];
          const error =
            g.code === 'BAD_RESPONSE'
              ? new SpillwayError('BAD_RESPONSE', g.message)
              : new SpillwayError('FUNCTION_ERROR', `${g.name}: ${g.message}`, g.stack ? { stack: g.stack } : undefined);
          inv.error = error;
          if (inv.stream) inv.stream.destroy(error);
          this.settleOutcome(inv, { type: 'error', error });
          break;
        }
        case 'log':
          if (inv) this.appendLog(inv, op[2], op[3]);
          break;
        case 'call':
          if (inv) this.hostCall(inv, op[2], op[3], op[4]);
          break;
        case 'done':
          if (inv) this.finish(inv);
          break;
      }
    }
  }

  /** Performs a guest's host call off the isolate's thread and queues its reply as an event. */
  private hostCall(inv: HostInvocation, callId: number, method: string, args: unknown): void {
    const fn = Object.prototype.hasOwnProperty.call(this.hostApi.async, method) ? this.hostApi.async[method] : undefined;
    const reply = (ok: boolean, value: unknown) => {
      if (this.invocations.has(inv.id)) this.push(['reply', inv.id, callId, ok, value]);
    };
    if (!fn) {
      reply(false, { name: 'TypeError', message: `${method} is not available in this runtime.` });
      return;
    }
    let result: unknown;
    try {
      if (!inv.callContext) {
        inv.abort = new AbortController();
        inv.callContext = { invocationId: inv.id, functionId: this.functionId, versionId: this.versionId, signal: inv.abort.signal };
      }
      result = fn(args, inv.callContext);
    } catch (err) {
      reply(false, toGuestError(err));
      return;
    }
    Promise.resolve(result).then(
      (value) => reply(true, value),
      (err: unknown) => reply(false, toGuestError(err)),
    );
  }

  private appendLog(inv: HostInvocation, level: string, message: string): void {
    if (inv.logsTruncated) return;
    if (inv.logBytes + message.length > this.maxLogBytes) {
      inv.logsTruncated = true;
      inv.logs.push({ level: 'warn', message: `[spillway] log output truncated at ${this.maxLogBytes} bytes`, atMs: this.elapsedMs(inv) });
      return;
    }
    inv.logBytes += message.length;
    inv.logs.push({ level, message, atMs: this.elapsedMs(inv) });
  }

  private elapsedMs(inv: HostInvocation): number {
    return Number(process.hrtime.bigint() - inv.startNs) / 1e6;
  }

  private settleOutcome(inv: HostInvocation, outcome: InvocationOutcome): void {
    if (inv.outcomeSettled) return;
    inv.outcomeSettled = true;
    inv.resolveOutcome(outcome);
  }

  /** Ends an invocation with an error: settles whatever is still open and tells the guest to forget it. */
  private fail(inv: HostInvocation, error: SpillwayError): void {
    if (!this.invocations.has(inv.id)) return;
    inv.error ??= error;
    if (inv.stream && !inv.stream.destroyed) inv.stream.destroy(error);
    this.settleOutcome(inv, { type: 'error', error });
    if (!this.dead) this.push(['cancel', inv.id]);
    this.finish(inv);
  }

  private finish(inv: HostInvocation): void {
    if (!this.invocations.delete(inv.id)) return;
    if (this.invocations.size === 0) this.lastUsedMs = Date.now();
    if (inv.wallTimer) clearTimeout(inv.wallTimer);
    inv.abort?.abort(inv.error ?? new Error('the invocation ended'));
    for (const timerId of inv.timers) {
      const handle = this.hostTimers.get(timerId);
      if (handle) clearTimeout(handle);
      this.hostTimers.delete(timerId);
    }
    // A handler that finished without answering (possible only through platform faults) still settles.
    if (!inv.outcomeSettled) this.settleOutcome(inv, { type: 'error', error: inv.error ?? new SpillwayError('BAD_RESPONSE', 'The function finished without producing a response.') });
    inv.resolveMetering({
      invocationId: inv.id,
      cpuUs: Math.round(inv.cpuNs / 1000),
      wallUs: Math.round(Number(process.hrtime.bigint() - inv.startNs) / 1000),
      coldStart: inv.coldStartUs > 0,
      coldStartUs: Math.round(inv.coldStartUs),
      logs: inv.logs,
      logsTruncated: inv.logsTruncated,
      error: inv.error,
    });
  }

  private die(error: SpillwayError): void {
    if (this.dead) return;
    this.dead = error;
    for (const inv of [...this.invocations.values()]) this.fail(inv, error);
    for (const handle of this.hostTimers.values()) clearTimeout(handle);
    this.hostTimers.clear();
    this.continuations = [];
    this.starts = [];
    try {
      this.runRef.release();
      this.drainRef.release();
      this.takeRef?.release();
      this.context.release();
    } catch {
      /* already gone with the isolate */
    }
    if (!this.isolate.isDisposed) this.isolate.dispose();
    this.onDeath?.(error);
  }
}
