/**
 * `spillway load-test` end to end: the CLI (bin/spillway.mjs, a separate process) against a real
 * server, which runs the real load generator.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { deploy, startPlatform, type TestPlatform } from '../helpers/platform.js';

const run = promisify(execFile);
const CLI = join(process.cwd(), 'bin', 'spillway.mjs');

async function cli(base: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args, '--url', base]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('spillway load-test', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startPlatform();
    await deploy(t.base, 'hello', 'export default { fetch(req) { return new Response(new URL(req.url).pathname) } }');
    await deploy(t.base, 'thrower', 'export default { fetch() { throw new Error("boom") } }');
  });
  after(async () => t.close());

  it('runs a timed test, prints progress lines and the summary, exits 0', async () => {
    const res = await cli(t.base, 'load-test', 'hello', '--concurrency', '3', '--duration', '2', '--path', '/x');
    assert.equal(res.code, 0, res.stderr);
    const lines = res.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^load test lt_[0-9a-f]+ · hello · 3 connections · 2 s · GET http:\/\/127\.0\.0\.1:\d+\/fn\/hello\/x$/);
    assert.ok(lines.some((l) => /^\s+1 s\s+[\d,]+ requests\s+0 failed\s+[\d,]+ req\/s  p50 [\d.]+ ms  p99 [\d.]+ ms$/.test(l)), res.stdout);
    assert.match(res.stdout, /^completed in [\d.]+ s: ([\d,]+) requests \(\1 2xx, 0 non-2xx, 0 errors\) · [\d.]+ req\/s$/m);
    assert.match(res.stdout, /^latency   p50 [\d.]+ ms · p95 [\d.]+ ms · p99 [\d.]+ ms · max [\d.]+ ms$/m);
    assert.match(res.stdout, /^status    200: [\d,]+$/m);
    assert.match(res.stdout, /^tiers     baseline: [\d,]+$/m);
    assert.match(res.stdout, /^server    [\d,]+ executions · \d+ cold starts? · cpu [\d,.]+ ms of wall [\d,.]+ ms \([\d.]+%\) · cost \$\d+\.\d{8} \(wall-clock billing \$\d+\.\d{8}\)$/m);
    // The calls went to the path asked for.
    const [rec] = await t.platform.store.listExecutions({ functionId: (await t.platform.functions.resolve('hello')).id, limit: 1 });
    assert.deepEqual(rec!.input, { method: 'GET', path: '/fn/hello/x' });
  });

  it('a counted test with failed requests lists them by code and exits 3; --json prints the record', async () => {
    const res = await cli(t.base, 'load-test', 'thrower', '--requests', '20', '--concurrency', '2', '--json');
    assert.equal(res.code, 3, res.stderr);
    const view = JSON.parse(res.stdout);
    assert.equal(view.status, 'completed');
    assert.equal(view.result.total, 20);
    assert.ok(view.result.errorsByCode.FUNCTION_ERROR > 0);
  });

  it('explains a refused test and exits 1', async () => {
    const bad = await cli(t.base, 'load-test', 'hello', '--concurrency', '500');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /load test refused \(400\) VALIDATION_FAILED: concurrency: got 500, must be between 1 and 200 connections/);
    const notNumber = await cli(t.base, 'load-test', 'hello', '--duration', 'soon');
    assert.equal(notNumber.code, 1);
    assert.match(notNumber.stderr, /durationS: got "soon", must be a number \(seconds\)/);
    const missing = await cli(t.base, 'load-test', 'nope');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /load test refused \(404\) FUNCTION_NOT_FOUND/);
    const noName = await cli(t.base, 'load-test');
    assert.equal(noName.code, 2);
  });
});
