// Load generator child process: runs autocannon (warm-up, then the measured run) against one URL
// and prints one line `RESULT <json>`. Kept in its own process so it never shares an event loop
// with a server under test. Plain .mjs because autocannon ships no types.
// Usage: node bench/lib/load.mjs '<json options>'
import autocannon from 'autocannon';

const opts = JSON.parse(process.argv[2] ?? '{}');
const url = String(opts.url);
if (!/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\//.test(url)) {
  console.error(`load.mjs only sends traffic to 127.0.0.1, got ${url}`);
  process.exit(2);
}

function run(duration) {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections: opts.connections ?? 50,
        pipelining: opts.pipelining ?? 1,
        duration,
        timeout: opts.timeoutS ?? 10,
        // Keep the latency histogram but do not print anything.
        renderProgressBar: false,
        renderLatencyTable: false,
        renderResultsTable: false,
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    process.once('SIGTERM', () => instance.stop());
  });
}

// Hard stop: never outlive warm-up + duration by much, whatever happens.
const hardMs = ((opts.warmupS ?? 0) + (opts.durationS ?? 10) + 30) * 1000;
setTimeout(() => {
  console.error('load.mjs: hard time limit reached');
  process.exit(3);
}, hardMs).unref();

if (opts.warmupS > 0) await run(opts.warmupS);
// This process's own CPU during the measured run: near 100% of a core means the load generator,
// not the server, may be what limits the figure.
const cpu0 = process.cpuUsage();
const wall0 = process.hrtime.bigint();
const r = await run(opts.durationS ?? 10);
const cpu1 = process.cpuUsage(cpu0);
const wallS = Number(process.hrtime.bigint() - wall0) / 1e9;
const out = {
  url,
  connections: r.connections,
  pipelining: r.pipelining,
  durationS: r.duration,
  total: r.requests.total,
  ok2xx: r['2xx'],
  non2xx: r.non2xx,
  errors: r.errors,
  timeouts: r.timeouts,
  reqPerSec: r.requests.total / r.duration,
  reqPerSecAvg: r.requests.average,
  latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max, mean: r.latency.average },
  bytesPerSec: r.throughput.average,
  loadGenCpuPct: Math.round(((cpu1.user + cpu1.system) / 1e6 / wallS) * 1000) / 10,
};
process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
process.exit(0);
