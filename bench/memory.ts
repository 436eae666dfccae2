/**
 * Memory per warm function isolate, at 1,000 functions.
 *
 *   1. A fresh server (its own data folder) deploys 1,000 distinct small functions, then stops.
 *   2. The same server restarts on that data: 1,000 functions deployed, none called, and none of
 *      the deploy-time churn (bundling, validation isolates) in its heap. Measured: "before",
 *      the same-run baseline.
 *   3. Each function is called once over HTTP, so each has its warm isolate. Measured: "after".
 *
 * Per warm function = (VmRSS after - VmRSS before) / 1,000. RSS (/proc/<pid>/status of the
 * server process, which runs every isolate) is the honest figure: isolated-vm's isolates live
 * outside the Node heap. The probe (bench/lib/spillway-probe.ts) runs a full GC of the Node heap
 * before each reading and adds the isolates' own V8 heap statistics, which the HTTP API does not
 * expose (GET /api/health gives only the count of warm isolates).
 *
 * Target: <= 4 MB per warm function.
 *
 *   node --no-node-snapshot --import tsx bench/memory.ts [--functions=1000] [--memory-limit-mb=<default>] [--concurrency=4]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, deploy, fmtInt, markdownTable, numFlag, parseFlags, probeMemory, round, sleep, startSpillway, writeResults, type Server } from './lib/common.js';

const args = parseFlags();
const FUNCTIONS = numFlag(args, 'functions', 1000);
const CONCURRENCY = numFlag(args, 'concurrency', 4);
const MEMORY_LIMIT_MB = args.has('memory-limit-mb') ? numFlag(args, 'memory-limit-mb', 128) : null;
const SETTLE_MS = 2000;

const name = (i: number) => `mem-${i}`;
const code = (i: number) => `export default { fetch(request) { return new Response('f${i}') } }`;

async function pool(n: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) await work(next++);
    }),
  );
}

const MB = 1024 * 1024;
interface Reading {
  rssMb: number;
  hwmMb: number;
  nodeHeapUsedMb: number;
  nodeExternalMb: number;
  liveIsolates: number;
  isolateHeapTotalMb: number;
  isolateHeapUsedMb: number;
  isolatePhysicalMb: number;
  isolateMallocedMb: number;
  isolateExternalMb: number;
  warmIsolates: number | null;
}

async function reading(server: Server): Promise<Reading> {
  await sleep(SETTLE_MS);
  const m = await probeMemory(server);
  const health = await api(server.base, 'GET', '/api/health');
  return {
    rssMb: round(m.rssKb / 1024, 1),
    hwmMb: round(m.hwmKb / 1024, 1),
    nodeHeapUsedMb: round(m.nodeHeapUsed / MB, 1),
    nodeExternalMb: round(m.nodeExternal / MB, 1),
    liveIsolates: m.liveIsolates,
    isolateHeapTotalMb: round(m.isolates.total_heap_size / MB, 1),
    isolateHeapUsedMb: round(m.isolates.used_heap_size / MB, 1),
    isolatePhysicalMb: round(m.isolates.total_physical_size / MB, 1),
    isolateMallocedMb: round(m.isolates.malloced_memory / MB, 1),
    isolateExternalMb: round(m.isolates.externally_allocated_size / MB, 1),
    warmIsolates: health.body?.data?.runtime?.warmIsolates ?? null,
  };
}

const t0 = Date.now();
console.error(`memory: ${FUNCTIONS} functions${MEMORY_LIMIT_MB ? `, memoryLimitMb ${MEMORY_LIMIT_MB}` : ''}`);
const dataDir = await mkdtemp(join(tmpdir(), 'spillway-bench-mem-'));
let failure: string | null = null;
let empty: Reading | null = null;
let before: Reading | null = null;
let after: Reading | null = null;
let deploySeconds = NaN;
let callSeconds = NaN;
// One process holds every isolate: 1,000 warm functions are ~3.3 GB, past the default policy's
// 2,048 MB per baseline worker, so the capacity controller would (rightly) add a worker process
// mid-run and part of the functions would warm up there, out of this process's reading.
const policyFile = join(dataDir, 'capacity-policy.json');
await writeFile(policyFile, JSON.stringify({ baseline: { minWorkers: 1, maxWorkers: 1 } }));
const env = { SPILLWAY_CAPACITY_POLICY: policyFile };
try {
  // 1. Deploy.
  const s1 = await startSpillway({ probe: true, dataDir, env });
  try {
    empty = await reading(s1);
    const td = Date.now();
    await pool(FUNCTIONS, CONCURRENCY, async (i) => {
      await deploy(s1.base, name(i), code(i), MEMORY_LIMIT_MB ? { memoryLimitMb: MEMORY_LIMIT_MB } : {});
    });
    deploySeconds = (Date.now() - td) / 1000;
    console.error(`  deployed ${FUNCTIONS} in ${round(deploySeconds, 1)} s`);
  } finally {
    await s1.close();
  }
  // 2. Restart on the same data: deployed, not called.
  const s2 = await startSpillway({ probe: true, dataDir, env });
  try {
    before = await reading(s2);
    // 3. Call each once.
    const tc = Date.now();
    await pool(FUNCTIONS, 8, async (i) => {
      const res = await fetch(`${s2.base}/fn/${name(i)}/`, { signal: AbortSignal.timeout(30_000) });
      const text = await res.text();
      if (res.status !== 200 || text !== `f${i}`) throw new Error(`${name(i)} answered ${res.status} ${JSON.stringify(text.slice(0, 200))}`);
    });
    callSeconds = (Date.now() - tc) / 1000;
    console.error(`  called ${FUNCTIONS} in ${round(callSeconds, 1)} s`);
    after = await reading(s2);
    if (after.warmIsolates !== FUNCTIONS) throw new Error(`expected ${FUNCTIONS} warm isolates after the calls, /api/health says ${after.warmIsolates}`);
  } finally {
    await s2.close();
  }
} catch (err) {
  failure = (err as Error).message;
  console.error(`memory failed: ${failure}`);
} finally {
  await rm(dataDir, { recursive: true, force: true });
}

const per = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? NaN : round((b - a) / FUNCTIONS, 3));
const perFunction = {
  rssMb: per(before?.rssMb, after?.rssMb),
  isolateHeapTotalMb: per(before?.isolateHeapTotalMb, after?.isolateHeapTotalMb),
  isolateHeapUsedMb: per(before?.isolateHeapUsedMb, after?.isolateHeapUsedMb),
  isolatePhysicalMb: per(before?.isolatePhysicalMb, after?.isolatePhysicalMb),
  isolateMallocedMb: per(before?.isolateMallocedMb, after?.isolateMallocedMb),
  nodeHeapUsedMb: per(before?.nodeHeapUsedMb, after?.nodeHeapUsedMb),
};
const metadataPerFunctionMb = per(empty?.rssMb, before?.rssMb);
const targets = { perWarmFunctionRss: { target: '<= 4 MB', actual: perFunction.rssMb, met: perFunction.rssMb <= 4 } };

const col = (r: Reading | null, k: keyof Reading) => (r ? String(r[k] ?? 'n/a') : 'n/a');
const keys: Array<[keyof Reading, string]> = [
  ['rssMb', 'VmRSS (MB)'],
  ['hwmMb', 'VmHWM, peak RSS (MB)'],
  ['nodeHeapUsedMb', 'Node heap used (MB)'],
  ['nodeExternalMb', 'Node external (MB)'],
  ['warmIsolates', 'warm isolates (/api/health)'],
  ['isolateHeapTotalMb', 'isolates: V8 heap total (MB, sum)'],
  ['isolateHeapUsedMb', 'isolates: V8 heap used (MB, sum)'],
  ['isolatePhysicalMb', 'isolates: V8 heap physical (MB, sum)'],
  ['isolateMallocedMb', 'isolates: malloced (MB, sum)'],
];
const markdown = [
  `### memory: ${fmtInt(FUNCTIONS)} functions, each called once (default config${MEMORY_LIMIT_MB ? `, memoryLimitMb ${MEMORY_LIMIT_MB}` : ', memoryLimitMb 128'})`,
  '',
  ...(failure ? [`**Run failed:** ${failure}`, ''] : []),
  markdownTable(
    ['server process', 'empty (fresh, nothing deployed)', `baseline: ${fmtInt(FUNCTIONS)} deployed, not called (restarted)`, `${fmtInt(FUNCTIONS)} called once (warm)`, 'per warm function'],
    keys.map(([k, label]) => [label, col(empty, k), col(before, k), col(after, k), k in perFunction ? `${(perFunction as Record<string, number>)[k]}` : '']),
  ),
  '',
  `**RSS per warm function: ${perFunction.rssMb} MB** (target <= 4 MB: ${targets.perWarmFunctionRss.met ? 'met' : 'MISSED'}). ` +
    `Of which the isolate's V8 heap (physical): ${perFunction.isolatePhysicalMb} MB, used ${perFunction.isolateHeapUsedMb} MB, reserved ${perFunction.isolateHeapTotalMb} MB. ` +
    `Deployed-but-not-called metadata: ${metadataPerFunctionMb} MB per function (empty → restarted baseline). ` +
    `Deploying ${fmtInt(FUNCTIONS)} took ${round(deploySeconds, 1)} s (${CONCURRENCY} at a time), first calls ${round(callSeconds, 1)} s (8 at a time).`,
].join('\n');

writeResults('memory', { config: { functions: FUNCTIONS, concurrency: CONCURRENCY, memoryLimitMb: MEMORY_LIMIT_MB ?? 'default (128)', settleMs: SETTLE_MS }, failure, readings: { empty, before, after }, perFunction, metadataPerFunctionMb, deploySeconds, callSeconds, targets, elapsedS: round((Date.now() - t0) / 1000, 1) }, markdown);
console.log(markdown);
if (failure) process.exitCode = 1;
