// Flash-crowd load generator child process: runs autocannon at a fixed overall rate per phase
// (open model: coordinated omission corrected, so a slow server shows as latency, not as a lower
// offered rate), one phase after another, counting responses by status and by the tier that
// served them (x-spillway-tier). Prints one line `RESULT <json>` with each phase's figures.
// Usage: node bench/lib/crowd.mjs '{"url": "...", "connections": 200, "phases": [{"name": "steady", "rate": 50, "durationS": 10}, ...]}'
import autocannon from 'autocannon';

const opts = JSON.parse(process.argv[2] ?? '{}');
const url = String(opts.url);
if (!/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\//.test(url)) {
  console.error(`crowd.mjs only sends traffic to 127.0.0.1, got ${url}`);
  process.exit(2);
}
const totalS = opts.phases.reduce((n, p) => n + p.durationS, 0);
setTimeout(() => {
  console.error('crowd.mjs: hard time limit reached');
  process.exit(3);
}, (totalS + 60) * 1000).unref();

function phase(p) {
  const tiers = {};
  const statuses = {};
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        connections: Math.min(opts.connections ?? 200, Math.max(1, p.rate)),
        overallRate: p.rate,
        duration: p.durationS,
        timeout: opts.timeoutS ?? 30,
        requests: [
          {
            onResponse: (status, _body, _context, headers) => {
              statuses[status] = (statuses[status] ?? 0) + 1;
              const tier = headers['x-spillway-tier'] ?? 'none';
              tiers[tier] = (tiers[tier] ?? 0) + 1;
            },
          },
        ],
        renderProgressBar: false,
        renderLatencyTable: false,
        renderResultsTable: false,
      },
      (err, r) =>
        err
          ? reject(err)
          : resolve({
              name: p.name,
              rate: p.rate,
              durationS: p.durationS,
              total: r.requests.total,
              reqPerSec: r.requests.total / r.duration,
              errors: r.errors,
              timeouts: r.timeouts,
              non2xx: r.non2xx,
              statuses,
              tiers,
              latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max, mean: r.latency.average },
            }),
    );
  });
}

const results = [];
for (const p of opts.phases) {
  process.stderr.write(`  phase ${p.name}: ${p.rate} req/s for ${p.durationS} s\n`);
  results.push(await phase(p));
}
process.stdout.write(`RESULT ${JSON.stringify({ url, phases: results })}\n`);
process.exit(0);
