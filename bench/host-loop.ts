/**
 * One IsolateHost driven in process (no HTTP, no recording), for before/after comparisons of
 * src/runtime/isolate-host.ts and the guest: each tree's IsolateHost is loaded side by side and
 * given the same closed-loop load in turn, interleaved in rounds. Not part of `npm run bench`.
 *
 *   node --no-node-snapshot --import tsx bench/host-loop.ts --trees=old=/tmp/perf-old,new=. [--handler=hello|timer] [--inflight=50] [--rounds=3] [--duration=3]
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { numFlag, parseFlags, round } from './lib/common.js';

const args = parseFlags();
const HANDLER_KIND = (args.get('handler') || 'hello') as 'hello' | 'timer';
const INFLIGHT = numFlag(args, 'inflight', HANDLER_KIND === 'hello' ? 50 : 2000);
const ROUNDS = numFlag(args, 'rounds', 3);
const DURATION_S = numFlag(args, 'duration', 3);
const TREES = (args.get('trees') || 'new=.').split(',').map((t) => {
  const [name, root] = t.split('=');
  return { name, root: resolve(root) };
});
const BUNDLE =
  HANDLER_KIND === 'hello'
    ? `var __spw_user = { default: { fetch(request) { return new Response('hello') } } };`
    : `var __spw_user = { default: { async fetch() { await new Promise(r => setTimeout(r, 50)); return new Response('waited') } } };`;
const LIMITS = { timeoutMs: 30_000, cpuLimitMs: 1000 };

interface Subject {
  name: string;
  host: any;
  rounds: Array<{ callsPerS: number; processCpuUsPerCall: number; isolateCpuUsPerCall: number; meteredOverIsolate: number; p50Ms: number; p99Ms: number }>;
}

const subjects: Subject[] = [];
for (const t of TREES) {
  const { loadGuestCode } = await import(pathToFileURL(`${t.root}/src/runtime/guest-code.ts`).href);
  const { IsolateHost } = await import(pathToFileURL(`${t.root}/src/runtime/isolate-host.ts`).href);
  const host = await IsolateHost.create({ bundle: BUNDLE, plainParams: null, memoryLimitMb: 128, guest: await loadGuestCode() });
  subjects.push({ name: t.name, host, rounds: [] });
}

async function drive(s: Subject, seconds: number) {
  const payload = { method: 'GET', url: 'http://x/', headers: [] as Array<[string, string]>, body: null };
  const end = Date.now() + seconds * 1000;
  let calls = 0;
  let meteredUs = 0;
  const lat: number[] = [];
  const iso0 = s.host.isolate.cpuTime as bigint;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  async function worker() {
    while (Date.now() < end) {
      const started = process.hrtime.bigint();
      const h = s.host.invoke('http', payload, LIMITS);
      const out = await h.outcome;
      if (out.type !== 'response') throw new Error(`call failed: ${out.error?.message}`);
      const m = await h.metering;
      meteredUs += m.cpuUs;
      lat.push(Number(process.hrtime.bigint() - started) / 1e6);
      calls++;
    }
  }
  await Promise.all(Array.from({ length: INFLIGHT }, worker));
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const isoUs = Number((s.host.isolate.cpuTime as bigint) - iso0) / 1000;
  lat.sort((a, b) => a - b);
  return {
    callsPerS: round(calls / wallS, 0),
    processCpuUsPerCall: round((cpu.user + cpu.system) / calls, 1),
    isolateCpuUsPerCall: round(isoUs / calls, 1),
    meteredOverIsolate: round(meteredUs / isoUs, 3),
    p50Ms: round(lat[Math.floor(lat.length / 2)], 2),
    p99Ms: round(lat[Math.floor(lat.length * 0.99)], 2),
  };
}

for (const s of subjects) await drive(s, 1); // warm-up
for (let r = 1; r <= ROUNDS; r++) {
  const order = subjects.map((_, i) => subjects[(i + r - 1) % subjects.length]);
  for (const s of order) s.rounds.push(await drive(s, DURATION_S));
  console.error(`  round ${r}: ${subjects.map((s) => `${s.name} ${s.rounds.at(-1)!.callsPerS}/s`).join(', ')}`);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const base = median(subjects[0].rounds.map((x) => x.callsPerS));
console.log(`### host-loop: ${HANDLER_KIND}, ${INFLIGHT} in flight, ${ROUNDS} interleaved rounds of ${DURATION_S} s (medians)\n`);
console.log('| tree | calls/s | rounds | vs first | process CPU µs/call | isolate CPU µs/call | metered / isolate CPU | p50 ms | p99 ms |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const s of subjects) {
  const m = (k: keyof Subject['rounds'][number]) => median(s.rounds.map((x) => x[k]));
  console.log(`| ${s.name} | ${m('callsPerS')} | ${s.rounds.map((x) => x.callsPerS).join(' / ')} | ${round((m('callsPerS') / base) * 100, 0)}% | ${m('processCpuUsPerCall')} | ${m('isolateCpuUsPerCall')} | ${m('meteredOverIsolate')} | ${m('p50Ms')} | ${m('p99Ms')} |`);
}
for (const s of subjects) s.host.dispose();
