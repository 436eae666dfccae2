// Flash-crowd load generator child process: an open-model load (requests arrive at a fixed rate,
// evenly spaced, whatever the server does), phase after phase, over undici's connection pool.
// Latency is measured from each request's *scheduled* arrival time, so a server that falls behind
// shows as latency, not as a lower offered rate (no coordinated omission). Counts responses by
// status and by the tier that served them (x-spillway-tier). Prints one line `RESULT <json>`.
//
// Why not autocannon here (the other benchmarks use it): its rate limit lets every connection send
// its whole per-second quota at the start of each second, so a "fixed rate" is a train of
// one-second bursts, all connections at once. That is fine for throughput and wrong for latency
// at a given arrival rate, which is what this benchmark compares.
//
// Usage: node bench/lib/crowd.mjs '{"url": "...", "connections": 512, "phases": [{"name": "steady", "rate": 50, "durationS": 10}, ...]}'
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';

const opts = JSON.parse(process.argv[2] ?? '{}');
const url = new URL(String(opts.url));
if (!/^(127\.0\.0\.1|localhost)$/.test(url.hostname)) {
  console.error(`crowd.mjs only sends traffic to 127.0.0.1, got ${url}`);
  process.exit(2);
}
const totalS = opts.phases.reduce((n, p) => n + p.durationS, 0);
setTimeout(() => {
  console.error('crowd.mjs: hard time limit reached');
  process.exit(3);
}, (totalS + 90) * 1000).unref();

const pool = new Pool(url.origin, { connections: opts.connections ?? 512, pipelining: 1, headersTimeout: 30_000, bodyTimeout: 30_000, keepAliveTimeout: 60_000 });
const path = `${url.pathname}${url.search}`;

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

async function phase(p) {
  const latencies = [];
  const tiers = {};
  const statuses = {};
  let errors = 0;
  let non2xx = 0;
  const inFlight = new Set();
  const intervalMs = 1000 / p.rate;
  const total = Math.round(p.rate * p.durationS);
  const start = performance.now();
  const send = (scheduledAt) => {
    const done = pool
      .request({ method: 'GET', path })
      .then(async (res) => {
        await res.body.dump();
        latencies.push(performance.now() - scheduledAt);
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        if (res.statusCode < 200 || res.statusCode >= 300) non2xx++;
        const tier = res.headers['x-spillway-tier'] ?? 'none';
        tiers[tier] = (tiers[tier] ?? 0) + 1;
      })
      .catch(() => {
        errors++;
        latencies.push(performance.now() - scheduledAt);
      })
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  };
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor((performance.now() - start) / intervalMs) + 1);
    for (; sent < due; sent++) send(start + sent * intervalMs);
    if (sent < total) await sleep(Math.max(0, start + sent * intervalMs - performance.now()));
  }
  await Promise.all([...inFlight]);
  const wallS = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const r1 = (x) => Math.round(x * 10) / 10;
  return {
    name: p.name,
    rate: p.rate,
    durationS: p.durationS,
    total: latencies.length,
    reqPerSec: latencies.length / wallS,
    errors,
    timeouts: 0,
    non2xx,
    statuses,
    tiers,
    latencyMs: { p50: r1(percentile(latencies, 50)), p90: r1(percentile(latencies, 90)), p99: r1(percentile(latencies, 99)), max: r1(latencies.at(-1) ?? NaN), mean: r1(latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length)) },
  };
}

const results = [];
for (const p of opts.phases) {
  process.stderr.write(`  phase ${p.name}: ${p.rate} req/s for ${p.durationS} s\n`);
  results.push(await phase(p));
}
await pool.close();
process.stdout.write(`RESULT ${JSON.stringify({ url: String(url), phases: results })}\n`);
process.exit(0);
