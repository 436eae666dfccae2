/**
 * Memory per warm isolate, in process: N IsolateHosts of a hello handler (as the function runtime
 * makes them), each called once, then VmRSS and the isolates' V8 heap statistics. A quick proxy for
 * bench/memory.ts (no server, no HTTP), for trying V8 flags and guest changes. Not part of `npm run bench`.
 *
 *   node --no-node-snapshot [v8 flags] --expose-gc --import tsx bench/memory-inproc.ts [--n=100] [--root=.]
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { numFlag, parseFlags, round } from './lib/common.js';

const args = parseFlags();
const N = numFlag(args, 'n', 100);
const ROOT = resolve(args.get('root') || '.');
const rssKb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

const { loadGuestCode } = await import(pathToFileURL(`${ROOT}/src/runtime/guest-code.ts`).href);
const { IsolateHost } = await import(pathToFileURL(`${ROOT}/src/runtime/isolate-host.ts`).href);
const guest = await loadGuestCode();
const payload = { method: 'GET', url: 'http://x/', headers: [] as Array<[string, string]>, body: null };
const limits = { timeoutMs: 30_000, cpuLimitMs: 1000 };
// One throwaway host first, so one-off process costs (code, caches) are not counted per isolate.
const first = await IsolateHost.create({ bundle: `var __spw_user = { default: { fetch() { return new Response('x') } } };`, plainParams: null, memoryLimitMb: Number(args.get("limit") || 128), guest });
await first.invoke('http', payload, limits).metering;
gc();
await new Promise((r) => setTimeout(r, 500));
const before = rssKb();
const hosts = [];
for (let i = 0; i < N; i++) {
  const host = await IsolateHost.create({ bundle: `var __spw_user = { default: { fetch(request) { return new Response('f${i}') } } };`, plainParams: null, memoryLimitMb: Number(args.get("limit") || 128), guest });
  const h = host.invoke('http', payload, limits);
  const out = await h.outcome;
  if (out.type !== 'response') throw new Error('call failed');
  await h.metering;
  hosts.push(host);
}
if (args.has('compact')) {
  for (const h of hosts) h.compact();
  await new Promise((r) => setTimeout(r, 1000));
}
if (args.has('isolate-gc')) {
  // Experiment: a full GC inside each isolate (needs --expose-gc, which V8 applies to isolates too).
  const times = Number(args.get('gc-times') || 1);
  for (const h of hosts) for (let i = 0; i < times; i++) await (h as any).context.eval(args.get('isolate-gc') === 'minor' ? 'gc({type:"minor"})' : 'gc()');
}
gc();
await new Promise((r) => setTimeout(r, 1000));
const after = rssKb();
const sum = { used_heap_size: 0, total_physical_size: 0, total_heap_size: 0, malloced_memory: 0 };
for (const h of hosts) {
  const s = h.isolate.getHeapStatisticsSync() as unknown as Record<string, number>;
  for (const k of Object.keys(sum) as Array<keyof typeof sum>) sum[k] += s[k];
}
const MB = 1024 * 1024;
console.log(
  JSON.stringify({
    flags: process.execArgv.filter((a) => a.startsWith('--') && !a.startsWith('--import')).join(' '),
    n: N,
    rssPerIsolateMb: round((after - before) / 1024 / N, 3),
    heapUsedMb: round(sum.used_heap_size / MB / N, 3),
    heapPhysicalMb: round(sum.total_physical_size / MB / N, 3),
    heapTotalMb: round(sum.total_heap_size / MB / N, 3),
    mallocedMb: round(sum.malloced_memory / MB / N, 3),
  }),
);
for (const h of hosts) h.dispose();
first.dispose();
