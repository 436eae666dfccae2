/**
 * Measures the isolate cold start: creates N IsolateHosts (one after another) with a hello-world
 * bundle, each from the shared guest code cache, and prints p50/p99 of `IsolateHost.create`
 * (isolate, context, guest runtime, user bundle, load). Optionally also a first request that
 * touches the heavy lazily-installed globals (URL, TextDecoder, streams) with `--touch`.
 *
 *   node --no-node-snapshot --import tsx scripts/measure-cold-start.ts [N] [--touch]
 */
import { loadGuestCode } from '../src/runtime/guest-code.js';
import { IsolateHost } from '../src/runtime/isolate-host.js';
import { bundle } from '../src/deploy/bundler.js';
import { cryptoHostApi } from '../src/runtime/capabilities/crypto.js';
import { composeHostApi } from '../src/runtime/host-api.js';

const n = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 200);
const touch = process.argv.includes('--touch');

const hello = touch
  ? `export default { fetch(req) { const u = new URL(req.url); new TextDecoder('windows-1252').decode(new Uint8Array([0x80])); new ReadableStream(); return new Response('hello ' + u.pathname) } }`
  : `export default { fetch() { return new Response('hello') } }`;
const built = await bundle({ files: { 'index.ts': hello } });
const guest = await loadGuestCode();
const hostApi = composeHostApi(cryptoHostApi);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

// Warm up the process (JIT, code cache) before measuring.
for (let i = 0; i < 10; i++) (await IsolateHost.create({ bundle: built.code, plainParams: built.plainParams, memoryLimitMb: 128, guest, hostApi })).dispose();

const createMs: number[] = [];
const firstMs: number[] = [];
for (let i = 0; i < n; i++) {
  const t0 = process.hrtime.bigint();
  const host = await IsolateHost.create({ bundle: built.code, plainParams: built.plainParams, memoryLimitMb: 128, guest, hostApi });
  const t1 = process.hrtime.bigint();
  const handle = host.invoke('http', { method: 'GET', url: 'http://x/hello', headers: [], body: null }, { timeoutMs: 5000, cpuLimitMs: 1000 });
  const outcome = await handle.outcome;
  await handle.metering;
  const t2 = process.hrtime.bigint();
  if (outcome.type !== 'response') throw new Error(`hello failed: ${outcome.type === 'error' ? outcome.error.message : outcome.type}`);
  createMs.push(Number(t1 - t0) / 1e6);
  firstMs.push(Number(t2 - t0) / 1e6);
  host.dispose();
}
createMs.sort((a, b) => a - b);
firstMs.sort((a, b) => a - b);
const fmt = (x: number) => x.toFixed(2);
console.log(`node ${process.version}, N=${n}, guest ${(guest.source.length / 1024).toFixed(0)} KiB${touch ? ', first request touches URL/TextDecoder/streams' : ''}`);
console.log(`cold start (IsolateHost.create): p50 ${fmt(percentile(createMs, 50))} ms, p99 ${fmt(percentile(createMs, 99))} ms`);
console.log(`cold start + first response:     p50 ${fmt(percentile(firstMs, 50))} ms, p99 ${fmt(percentile(firstMs, 99))} ms`);
