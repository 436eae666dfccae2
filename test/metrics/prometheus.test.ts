/**
 * `GET /metrics` after real invocations (HTTP and queued) on a real server: the body parses as
 * Prometheus text, the counters and histograms carry the function names and triggers of the calls
 * made, the gauges read the capacity snapshot and the queue, and a deleted function's series go.
 * Also the per-function API rows for the same calls, and the JSON log lines of background work.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { jsonLogger, serializeError } from '../../src/core/log.js';
import { api, deploy, startPlatform, waitForExecution, type TestPlatform } from '../helpers/platform.js';

/** Prometheus text exposition, strictly: every sample line is `name{labels} value`. */
function parseProm(text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  const samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    assert.ok(m, `not a Prometheus sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

describe('Prometheus /metrics after real invocations', () => {
  let t: TestPlatform;

  before(async () => {
    t = await startPlatform();
    await deploy(t.base, 'hello', "export default { fetch() { return new Response('hi'); } }");
    await deploy(t.base, 'boom', "export default { fetch() { throw new Error('boom'); } }");
    const add = await deploy(t.base, 'add', 'function add(a, b) { return a + b; }');
    const recorded = new Promise<void>((resolve) => {
      let n = 0;
      const off = t.platform.events.on('invocation_recorded', () => {
        if (++n === 4) {
          off();
          resolve();
        }
      });
    });
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${t.base}/fn/hello/`).then((r) => r.status)), 200);
    assert.equal((await fetch(`${t.base}/fn/boom/`).then((r) => r.status)), 500);
    await recorded;
    await t.platform.recorder.flush();
    const res = await api(t.base, 'POST', `/api/functions/${add.id}/execute`, { input: { a: 2, b: 3 } });
    assert.equal((await waitForExecution(t, res.body.data.executionId)).status, 'completed');
  });
  after(() => t?.close());

  it('serves the text format with seed 003 and seed 000 metrics, labelled by function and trigger', async () => {
    const res = await fetch(`${t.base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const samples = parseProm(await res.text());
    const value = (name: string, labels: Record<string, string> = {}) => samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

    assert.equal(value('spillway_executions_total', { function: 'hello', trigger: 'http', status: 'completed' }), 3);
    assert.equal(value('spillway_executions_total', { function: 'boom', trigger: 'http', status: 'failed' }), 1);
    assert.equal(value('spillway_executions_total', { function: 'add', trigger: 'async', status: 'completed' }), 1);
    assert.equal(value('spillway_processing_time_seconds_count', { function: 'hello', trigger: 'http' }), 3);
    assert.equal(value('spillway_processing_time_seconds_bucket', { function: 'hello', trigger: 'http', le: '+Inf' }), 3);
    assert.equal(value('spillway_invocation_cpu_seconds_count', { function: 'add' }), 1);
    assert.equal(value('spillway_invocation_wall_seconds_count', { function: 'boom' }), 1);
    // Each function's first call started its isolate.
    assert.ok((value('spillway_cold_start_seconds_count', { function: 'hello', trigger: 'http' }) ?? 0) >= 1);
    assert.equal(value('spillway_error_rate'), 1 / 5);
    assert.equal(value('spillway_queue_depth'), 0);
    assert.equal(value('spillway_baseline_workers'), 1);
    assert.equal(value('spillway_burst_workers'), 0);
    assert.equal(value('spillway_tier_weight', { tier: 'baseline' }), 1);
    assert.equal(value('spillway_tier_weight', { tier: 'burst' }), 0);
    assert.ok(value('process_cpu_user_seconds_total') !== undefined, 'default Node metrics are there');
    assert.ok(value('nodejs_heap_size_used_bytes') !== undefined);
  });

  it('gives per-function rows for the same calls', async () => {
    const rows = (await api(t.base, 'GET', '/api/metrics/functions')).body.data.functions;
    const by = Object.fromEntries(rows.map((r: any) => [r.functionName, r]));
    assert.deepEqual([by.hello.executions, by.hello.errors, by.boom.executions, by.boom.errors, by.boom.errorRate, by.add.executions], [3, 0, 1, 1, 100, 1]);
    assert.ok(by.hello.latencyMs.p50 > 0 && by.hello.latencyMs.p95 >= by.hello.latencyMs.p50);
    assert.ok(by.hello.cost.total > 0 && by.hello.cost.wallClock >= by.hello.cost.total);
    const overall = (await api(t.base, 'GET', '/api/metrics')).body.data;
    assert.deepEqual([overall.totalExecutions, overall.failedExecutions, overall.byTrigger], [5, 1, { http: 4, async: 1 }]);
  });

  it("drops a deleted function's series at the next scrape", async () => {
    assert.equal((await api(t.base, 'DELETE', '/api/functions/boom')).status, 200);
    const text = await (await fetch(`${t.base}/metrics`)).text();
    assert.doesNotMatch(text, /function="boom"/);
    assert.match(text, /function="hello"/);
  });
});

describe('JSON log lines of background work', () => {
  it('writes one line with level, time, msg and the error, honouring the level', () => {
    const lines: string[] = [];
    const log = jsonLogger('info', (line) => lines.push(line));
    const err = Object.assign(new Error('disk full'), { code: 'SQLITE_FULL' });
    log.error('recording HTTP invocations failed', { event: 'background_failure', err: serializeError(err) });
    log.info('scaling: scale_up (baseline)', { event: 'scaling', action: 'scale_up', tier: 'baseline', reason: 'CPU 91% > 75%' });
    assert.equal(lines.length, 2);
    const [a, b] = lines.map((l) => JSON.parse(l));
    assert.equal(a.level, 'error');
    assert.ok(!Number.isNaN(Date.parse(a.time)));
    assert.equal(a.err.message, 'disk full');
    assert.equal(a.err.code, 'SQLITE_FULL');
    assert.deepEqual([b.level, b.action, b.tier, b.reason], ['info', 'scale_up', 'baseline', 'CPU 91% > 75%']);
    const quiet: string[] = [];
    jsonLogger('warn', (line) => quiet.push(line)).info('not written');
    jsonLogger('silent', (line) => quiet.push(line)).error('not written');
    assert.deepEqual(quiet, []);
  });
});
