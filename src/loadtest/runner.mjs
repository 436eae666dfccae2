// The load tester's load generator: a child process (forked by src/loadtest/load-tester.ts with an
// IPC channel) that runs autocannon against one of the server's own /fn/ URLs, so the load never
// shares the server's event loop. It counts every response by status, by the tier that served it
// (x-spillway-tier) and, for failures, by Spillway error code; keeps the execution ids the server
// returned (x-spillway-execution-id) so the server can sum those records; sends a progress message
// every second and one result message at the end. Plain .mjs because autocannon ships no types;
// the messages are typed in src/loadtest/types.ts (RunnerOptions, RunnerMessage, RunnerCommand).
const opts = JSON.parse(process.argv[2] ?? '{}');
const send = (message) => (process.connected ? process.send(message) : undefined);

// Listen for a stop before anything else (autocannon is imported below, after this): a test
// cancelled while this process starts must still stop, not wait for the kill.
let instance = null;
let stoppedEarly = false;
function stop() {
  stoppedEarly = true;
  instance?.stop();
}
process.on('message', (message) => {
  if (message?.type === 'stop') stop();
});
process.on('SIGTERM', stop);

// Never outlive the server, and never run much past the longest test allowed, whatever happens.
process.on('disconnect', () => process.exit(0));
setTimeout(() => {
  process.stderr.write('load generator: hard time limit reached\n');
  process.exit(3);
}, ((opts.durationS ?? opts.maxDurationS) + opts.timeoutS + 30) * 1000).unref();

/** Latencies in log buckets 1% wide from 0.01 ms: constant memory, percentiles within 1%. */
class Histogram {
  static BASE = 0.01;
  static GROWTH = Math.log(1.01);
  counts = new Float64Array(2000);
  n = 0;
  sum = 0;
  max = 0;
  record(ms) {
    const i = ms <= Histogram.BASE ? 0 : Math.min(this.counts.length - 1, Math.ceil(Math.log(ms / Histogram.BASE) / Histogram.GROWTH));
    this.counts[i]++;
    this.n++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }
  percentile(p) {
    if (this.n === 0) return null;
    const rank = Math.max(1, Math.ceil((p / 100) * this.n));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= rank) return round2(Math.min(this.max, Histogram.BASE * Math.exp(i * Histogram.GROWTH)));
    }
    return round2(this.max);
  }
}
const round2 = (x) => Math.round(x * 100) / 100;
const bump = (counts, key) => (counts[key] = (counts[key] ?? 0) + 1);

const latency = new Histogram();
const statusCounts = {};
const errorsByCode = {};
const tiers = {};
const executionIds = [];
let ok = 0;
let non2xx = 0;
let errors = 0;

/** Called for each response, with its body and headers (autocannon collects them when onResponse is set). */
function onResponse(status, body, _context, headers) {
  bump(statusCounts, String(status));
  bump(tiers, String(headers['x-spillway-tier'] ?? 'none'));
  const id = headers['x-spillway-execution-id'];
  if (typeof id === 'string') executionIds.push(id);
  if (status >= 200 && status < 300) return;
  // A platform or function error in Spillway's envelope (it carries x-spillway-error-source) is
  // counted by its code; any other non-2xx is the function's own response.
  let code = `HTTP_${status}`;
  if (headers['x-spillway-error-source'] && typeof body === 'string' && body.length < 16_384) {
    try {
      const parsed = JSON.parse(body);
      if (typeof parsed?.error?.code === 'string') code = parsed.error.code;
    } catch {
      // Not JSON after all: keep HTTP_<status>.
    }
  }
  bump(errorsByCode, code);
}

const { default: autocannon } = await import('autocannon');
instance = autocannon(
  {
    url: opts.url,
    connections: opts.connections,
    ...(opts.amount !== undefined ? { amount: opts.amount } : { duration: opts.durationS }),
    ...(opts.rate !== undefined ? { overallRate: opts.rate } : {}),
    timeout: opts.timeoutS,
    method: opts.method,
    headers: opts.headers,
    ...(opts.body !== undefined ? { body: opts.body } : {}),
    requests: [{ onResponse }],
    renderProgressBar: false,
    renderLatencyTable: false,
    renderResultsTable: false,
  },
  (err, r) => {
    clearInterval(ticker);
    if (err) {
      send({ type: 'failed', message: String(err.message ?? err) });
      process.exit(1);
    }
    const durationS = (Date.now() - started) / 1000;
    const total = r['2xx'] + r.non2xx + r.errors;
    const result = {
      type: 'result',
      durationS: round2(durationS),
      connections: r.connections,
      total,
      ok: r['2xx'],
      non2xx: r.non2xx,
      errors: r.errors,
      timeouts: r.timeouts,
      sent: r.requests.sent,
      requestsPerSec: round2(durationS > 0 ? total / durationS : 0),
      latencyMs: { p50: latency.percentile(50) ?? 0, p95: latency.percentile(95) ?? 0, p99: latency.percentile(99) ?? 0, max: round2(latency.max), mean: round2(latency.n ? latency.sum / latency.n : 0) },
      statusCounts,
      errorsByCode,
      tiers,
      stoppedEarly,
      executionIds,
    };
    // Exit once the IPC channel has taken the message (it can be megabytes of ids).
    if (process.connected) process.send(result, () => process.disconnect());
    else process.exit(0);
  },
);

instance.on('response', (_client, status, _bytes, responseTimeMs) => {
  latency.record(responseTimeMs);
  if (status >= 200 && status < 300) ok++;
  else non2xx++;
});
instance.on('reqError', (err) => {
  errors++;
  bump(errorsByCode, err?.message === 'request timed out' ? 'CLIENT_TIMEOUT' : String(err?.code ?? 'CONNECTION_ERROR'));
});

if (stoppedEarly) instance.stop();

const started = Date.now();
let last = { at: started, done: 0 };
const ticker = setInterval(() => {
  const now = Date.now();
  const done = ok + non2xx + errors;
  send({
    type: 'progress',
    elapsedS: round2((now - started) / 1000),
    requests: done,
    ok,
    non2xx,
    errors,
    reqPerSec: round2(((done - last.done) * 1000) / Math.max(1, now - last.at)),
    p50Ms: latency.percentile(50),
    p99Ms: latency.percentile(99),
  });
  last = { at: now, done };
}, 1000);

// A counted test still ends by the time cap.
if (opts.amount !== undefined) setTimeout(stop, opts.maxDurationS * 1000).unref();
