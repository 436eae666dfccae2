/**
 * Measurement probe, preloaded into a Spillway server started by a benchmark
 * (`startSpillway({ probe: true })` adds `--import bench/lib/spillway-probe.ts`). It changes no
 * behaviour; it only reports, on the server's stdout, figures the HTTP API does not expose:
 *
 *   PROBE coldstart {"fn","isolateUs","pathUs"}  once per runtime isolate start (not deploy-time validation):
 *       isolateUs = the cold start the server itself computes (IsolateHost's coldStartUs, which
 *                   goes into the invocation's metering; the execution record keeps only the
 *                   boolean `coldStart`),
 *       pathUs    = the whole server-side cold path in FunctionRuntime (guest code + bundle read
 *                   from the blob store + isolate start).
 *   PROBE mem {...}  on SIGUSR2: process memory (VmRSS, VmHWM, Node heap, external) and the sum of
 *       V8 heap statistics over the live runtime isolates, after a full GC of the Node heap when
 *       node runs with --expose-gc.
 *
 * It patches the classes of the very modules the server imports (same URLs, so the same module
 * instances under tsx), from outside src/. BENCH_SPILLWAY_ROOT names the tree the server runs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FunctionRuntime as FunctionRuntimeClass } from '../../src/runtime/function-runtime.js';
import type { IsolateHost as IsolateHostClass } from '../../src/runtime/isolate-host.js';

// The tree the server runs (BENCH_SPILLWAY_ROOT, set by startSpillway), else this checkout.
const root = process.env.BENCH_SPILLWAY_ROOT || join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..');
const { FunctionRuntime } = (await import(pathToFileURL(join(root, 'src', 'runtime', 'function-runtime.ts')).href)) as { FunctionRuntime: typeof FunctionRuntimeClass };
const { IsolateHost } = (await import(pathToFileURL(join(root, 'src', 'runtime', 'isolate-host.ts')).href)) as { IsolateHost: typeof IsolateHostClass };
type IsolateHost = IsolateHostClass;

/*
 * Counterfactual experiments for bench/diagnose.ts only (BENCH_PROBE_EXPERIMENT, comma-separated);
 * never set by the benchmarks whose figures go into docs/performance.md:
 *   no-record    HTTP invocations are not written to the execution history (InvocationRecorder.record is a no-op);
 *   sync-normal  the SQLite store commits with synchronous=NORMAL (no fsync per commit in WAL mode) instead of FULL;
 *   no-stack     Error.stackTraceLimit = 0: creating an Error captures no stack (what lazily created errors would save).
 */
const experiments = new Set((process.env.BENCH_PROBE_EXPERIMENT ?? '').split(',').filter(Boolean));
if (experiments.has('no-record')) {
  const { InvocationRecorder } = (await import(pathToFileURL(join(root, 'src', 'executions', 'execution-service.ts')).href)) as { InvocationRecorder: { prototype: { record: (e: unknown) => void } } };
  InvocationRecorder.prototype.record = () => {};
}
if (experiments.has('sync-normal')) {
  const { SqliteMetadataStore } = (await import(pathToFileURL(join(root, 'src', 'storage', 'sqlite', 'sqlite-metadata-store.ts')).href)) as { SqliteMetadataStore: { prototype: { migrate: () => Promise<void> } } };
  const originalMigrate = SqliteMetadataStore.prototype.migrate;
  SqliteMetadataStore.prototype.migrate = async function (this: { db: { pragma: (s: string) => unknown } }) {
    await originalMigrate.call(this);
    this.db.pragma('synchronous = NORMAL');
  };
}
if (experiments.has('no-stack')) Error.stackTraceLimit = 0;
if (experiments.size > 0) process.stdout.write(`PROBE experiments ${JSON.stringify([...experiments])}\n`);

const hosts = new Set<IsolateHost>();
const say = (tag: string, data: unknown) => process.stdout.write(`PROBE ${tag} ${JSON.stringify(data)}\n`);

// The runtime passes `filename: <functionId>.js`; deploy-time validation passes none. Every
// wrapper forwards all arguments (create's second one is a pooled, ready isolate in newer trees).
const originalCreate = IsolateHost.create.bind(IsolateHost) as (...args: unknown[]) => Promise<IsolateHost>;
(IsolateHost as unknown as { create: (...args: unknown[]) => Promise<IsolateHost> }).create = async function probedCreate(...args: unknown[]) {
  const host = await originalCreate(...args);
  const options = args[0] as { filename?: string };
  if (options.filename) {
    hosts.add(host);
    (host as unknown as { __probeColdStartUs: number }).__probeColdStartUs = (host as unknown as { pendingColdStartUs: number }).pendingColdStartUs;
  }
  return host;
};

const proto = FunctionRuntime.prototype as unknown as { start: (...args: unknown[]) => Promise<IsolateHost> };
const originalStart = proto.start;
proto.start = async function probedStart(this: unknown, ...args: unknown[]) {
  const t0 = process.hrtime.bigint();
  const host = await originalStart.apply(this, args);
  const pathUs = Number(process.hrtime.bigint() - t0) / 1000;
  const ref = args[0] as { functionId: string };
  say('coldstart', { fn: ref.functionId, isolateUs: Math.round((host as unknown as { __probeColdStartUs: number }).__probeColdStartUs), pathUs: Math.round(pathUs) });
  return host;
};

// Batches: how busy the isolates kept their entries since the last `PROBE batches` report. One
// entry = one batch, from IsolateHost.submit (the apply() into the isolate on isolated-vm's thread)
// to the end of onBatchResult (the host applying its operations on Node's main thread, applyOps);
// what is left of its wall time is the
// isolate thread's CPU (IsolateHost.batchCpuNs) and, the rest, hand-offs between the threads and
// waiting for Node's main thread to pick the result up.
const batchStats = { batches: 0, events: 0, busyNs: 0, maxNs: 0, isolateNs: 0, applyOpsNs: 0, since: process.hrtime.bigint() };
const hostProto = IsolateHost.prototype as unknown as {
  submit: (...args: unknown[]) => void;
  onBatchResult: (...args: unknown[]) => void;
  onBatchError: (...args: unknown[]) => void;
  applyOps: (...args: unknown[]) => void;
};
// Batches are processed in submission order (IsolateHost.resultChain): a FIFO of submit times per host.
const submitted = new WeakMap<object, bigint[]>();
const originalSubmit = hostProto.submit;
hostProto.submit = function probedSubmit(this: object, ...args: unknown[]) {
  let fifo = submitted.get(this);
  if (!fifo) submitted.set(this, (fifo = []));
  fifo.push(process.hrtime.bigint());
  batchStats.batches++;
  batchStats.events += (args[0] as unknown[]).length;
  return originalSubmit.apply(this, args);
};
function batchEnded(host: object & { batchCpuNs: number }, cpu0: number): void {
  const t0 = submitted.get(host)?.shift();
  if (t0 === undefined) return;
  const ns = Number(process.hrtime.bigint() - t0);
  batchStats.busyNs += ns;
  batchStats.isolateNs += host.batchCpuNs - cpu0;
  if (ns > batchStats.maxNs) batchStats.maxNs = ns;
}
for (const name of ['onBatchResult', 'onBatchError'] as const) {
  const original = hostProto[name];
  hostProto[name] = function probedBatchEnd(this: object & { batchCpuNs: number }, ...args: unknown[]) {
    const cpu0 = this.batchCpuNs;
    try {
      return original.apply(this, args);
    } finally {
      batchEnded(this, cpu0);
    }
  };
}
const originalApplyOps = hostProto.applyOps;
hostProto.applyOps = function probedApplyOps(this: unknown, ...args: unknown[]) {
  const t0 = process.hrtime.bigint();
  try {
    return originalApplyOps.apply(this, args);
  } finally {
    batchStats.applyOpsNs += Number(process.hrtime.bigint() - t0);
  }
};

function procStatusKb(field: string): number {
  const m = readFileSync('/proc/self/status', 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return m ? Number(m[1]) : NaN;
}

// SIGWINCH (ignored by Node by default): report and reset the batch counters.
process.on('SIGWINCH', () => {
  const wallNs = Number(process.hrtime.bigint() - batchStats.since);
  say('batches', {
    wallMs: Math.round(wallNs / 1e6),
    batches: batchStats.batches,
    events: batchStats.events,
    eventsPerBatch: batchStats.batches ? Math.round((batchStats.events / batchStats.batches) * 10) / 10 : 0,
    busyPct: Math.round((batchStats.busyNs / wallNs) * 1000) / 10,
    meanBatchMs: batchStats.batches ? Math.round(batchStats.busyNs / batchStats.batches / 1e3) / 1e3 : 0,
    maxBatchMs: Math.round(batchStats.maxNs / 1e3) / 1e3,
    meanIsolateCpuMs: batchStats.batches ? Math.round(batchStats.isolateNs / batchStats.batches / 1e3) / 1e3 : 0,
    meanApplyOpsMs: batchStats.batches ? Math.round(batchStats.applyOpsNs / batchStats.batches / 1e3) / 1e3 : 0,
  });
  Object.assign(batchStats, { batches: 0, events: 0, busyNs: 0, maxNs: 0, isolateNs: 0, applyOpsNs: 0, since: process.hrtime.bigint() });
});

process.on('SIGUSR2', () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) gc();
  let live = 0;
  const sum = { total_heap_size: 0, used_heap_size: 0, total_physical_size: 0, malloced_memory: 0, external_memory: 0, externally_allocated_size: 0 };
  for (const host of hosts) {
    if (host.isolate.isDisposed) {
      hosts.delete(host);
      continue;
    }
    live++;
    const s = host.isolate.getHeapStatisticsSync() as unknown as Record<string, number>;
    for (const k of Object.keys(sum) as Array<keyof typeof sum>) sum[k] += Number(s[k] ?? 0);
  }
  const mu = process.memoryUsage();
  say('mem', {
    rssKb: procStatusKb('VmRSS'),
    hwmKb: procStatusKb('VmHWM'),
    nodeHeapUsed: mu.heapUsed,
    nodeHeapTotal: mu.heapTotal,
    nodeExternal: mu.external,
    nodeArrayBuffers: mu.arrayBuffers,
    gc: Boolean(gc),
    liveIsolates: live,
    isolates: sum,
  });
});
