/**
 * Issue 4 §5: work passed to ctx.waitUntil runs after the response is sent, is metered into the
 * same invocation, and is bounded: by the function's wall-clock timeout and by a cap on how many
 * promises one invocation may register.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deploy, startPlatform, type TestPlatform } from '../helpers/platform.js';

async function record(t: TestPlatform, res: Response): Promise<any> {
  const id = res.headers.get('x-spillway-execution-id')!;
  // The record is written when all of the call's work has ended; wait for that, not for a clock.
  for (;;) {
    await t.platform.recorder.flush();
    const rec = await t.platform.store.getExecution(id);
    if (rec) return rec;
    await new Promise((r) => setImmediate(r));
  }
}

describe('ctx.waitUntil', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startPlatform();
    await deploy(t.base, 'healthy', `export default { fetch() { return new Response('fine') } }`);
  });
  after(async () => t.close());

  it('answers at once; background work that never ends is stopped at the timeout and recorded as TIMEOUT after the response', async () => {
    await deploy(t.base, 'forever', `export default { fetch(req, env, ctx) { ctx.waitUntil(new Promise(() => {})); return new Response('sent'); } }`, { timeout: 300 });
    const started = performance.now();
    const res = await fetch(`${t.base}/fn/forever`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'sent');
    const answeredMs = performance.now() - started;
    assert.ok(answeredMs < 300, `the response came after ${answeredMs} ms, before the 300 ms timeout`);
    const rec = await record(t, res);
    assert.equal(rec.status, 'failed');
    assert.equal(rec.error.code, 'TIMEOUT');
    assert.match(rec.error.message, /after its response was sent/);
    // Node's timers have millisecond granularity and may fire up to ~1 ms early against hrtime.
    assert.ok(rec.wallUs >= 299_000, `wall ${rec.wallUs} µs runs to the timeout`);
    assert.equal(await (await fetch(`${t.base}/fn/healthy`)).text(), 'fine');
  });

  it('meters CPU burnt in waitUntil into the same invocation', async () => {
    await deploy(
      t.base,
      'background-burn',
      `export default { fetch(req, env, ctx) {
        ctx.waitUntil(new Promise((resolve) => setTimeout(() => { const end = Date.now() + 30; let x = 0; while (Date.now() < end) x++; resolve(x); }, 0)));
        return new Response('ok');
      } }`,
    );
    const res = await fetch(`${t.base}/fn/background-burn`);
    assert.equal(await res.text(), 'ok');
    const rec = await record(t, res);
    assert.equal(rec.status, 'completed');
    assert.ok(rec.cpuUs >= 25_000, `cpu ${rec.cpuUs} µs includes the 30 ms burnt after the response`);
  });

  it('caps the number of waitUntil promises per invocation with a clear error', async () => {
    await deploy(
      t.base,
      'many-waits',
      `export default { fetch(req, env, ctx) {
        let error = null, registered = 0;
        try { for (let i = 0; i < 5000; i++) { ctx.waitUntil(Promise.resolve(i)); registered++; } } catch (e) { error = e.name + ': ' + e.message; }
        return Response.json({ registered, error });
      } }`,
    );
    const body = await (await fetch(`${t.base}/fn/many-waits`)).json();
    assert.equal(body.registered, 1000);
    assert.match(body.error, /^RangeError: waitUntil: at most 1000 promises per invocation/);
  });
});
