/**
 * The pool of ready isolates: cold starts take an isolate with the guest runtime already loaded,
 * each pooled isolate serves exactly one function version (no globals leak between functions),
 * and functions with a non-default memory limit start their own isolate.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, deploy, startPlatform, type TestPlatform } from '../helpers/platform.js';

describe('isolate pool', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startPlatform({ SPILLWAY_ISOLATE_POOL_SIZE: 2 });
    await t.platform.runtime.warmUp();
  });
  after(async () => t.close());

  it('serves a cold start from the pool and records it as a cold start', async () => {
    const before = t.platform.runtime.stats();
    await deploy(t.base, 'pooled', `export default { fetch() { return new Response('from the pool') } }`);
    const res = await fetch(`${t.base}/fn/pooled`);
    assert.equal(await res.text(), 'from the pool');
    const stats = t.platform.runtime.stats();
    assert.equal(stats.poolHits, before.poolHits + 1);
    assert.equal(stats.coldStarts, before.coldStarts + 1);
    await t.platform.recorder.flush();
    const rec = await t.platform.store.getExecution(res.headers.get('x-spillway-execution-id')!);
    assert.equal(rec!.coldStart, true);
  });

  it('never hands one function the globals another function changed', async () => {
    await t.platform.runtime.warmUp();
    await deploy(t.base, 'polluter', `globalThis.leak = 'secret'; Object.prototype.polluted = true; export default { fetch() { return new Response(String(globalThis.leak)) } }`);
    assert.equal(await (await fetch(`${t.base}/fn/polluter`)).text(), 'secret');
    await t.platform.runtime.warmUp();
    await deploy(t.base, 'clean', `export default { fetch() { return Response.json({ leak: typeof globalThis.leak, polluted: ({}).polluted === true }) } }`);
    assert.deepEqual(await (await fetch(`${t.base}/fn/clean`)).json(), { leak: 'undefined', polluted: false });
  });

  it('starts a fresh isolate for a function whose memory limit differs from the pool’s', async () => {
    const before = t.platform.runtime.stats();
    const fn = await deploy(t.base, 'big', `export default { fetch() { return new Response('big') } }`, { memoryLimitMb: 256 });
    assert.equal(fn.config.memoryLimitMb, 256);
    assert.equal(await (await fetch(`${t.base}/fn/big`)).text(), 'big');
    const stats = t.platform.runtime.stats();
    assert.equal(stats.poolHits, before.poolHits, 'the pool was not used');
    assert.equal(stats.coldStarts, before.coldStarts + 1);
    const res = await api(t.base, 'GET', `/api/functions/${fn.id}`);
    assert.equal(res.status, 200);
  });
});
