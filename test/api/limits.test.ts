import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, deploy, startPlatform, waitForExecution, type TestPlatform } from '../helpers/platform.js';

const MEMORY_BOMB = `export default { fetch() { const hog = []; for (;;) hog.push({ filler: new Array(1000).fill(Math.random()) }); } };`;

describe('limits and honest failures', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startPlatform();
    await deploy(t.base, 'healthy', `export default { async fetch() { await new Promise((r) => setTimeout(r, 5)); return new Response('fine'); } };`);
  });
  after(async () => t.close());

  it('stops a call that outlives its wall-clock timeout: 504 on HTTP, TIMEOUT on an execution', async () => {
    const fn = await deploy(t.base, 'sleepy', `export default async function (req) { await new Promise((r) => setTimeout(r, 5000)); return new Response('late'); }`, { timeout: 200, retryCount: 0 });
    const started = Date.now();
    const res = await fetch(`${t.base}/fn/sleepy`);
    assert.equal(res.status, 504);
    assert.equal((await res.json()).error.code, 'TIMEOUT');
    assert.ok(Date.now() - started < 2000);
    const exec = await api(t.base, 'POST', `/api/functions/${fn.id}/execute`, { input: null });
    const rec = await waitForExecution(t, exec.body.data.executionId);
    assert.equal(rec.status, 'failed');
    assert.equal(rec.error.code, 'TIMEOUT');
  });

  it('stops an infinite loop at the CPU limit; the isolate and other functions keep serving', async () => {
    await deploy(t.base, 'spin', `export default { fetch(req) { if (new URL(req.url, 'http://x').pathname === '/ok') return new Response('ok'); for (;;) {} } };`.replace("new URL(req.url, 'http://x').pathname === '/ok'", "req.url.endsWith('/ok')"), { cpuLimitMs: 100 });
    const [spun, other] = await Promise.all([fetch(`${t.base}/fn/spin/loop`), fetch(`${t.base}/fn/healthy`)]);
    assert.equal(spun.status, 502);
    assert.equal((await spun.json()).error.code, 'CPU_LIMIT');
    assert.equal(await other.text(), 'fine');
    const again = await fetch(`${t.base}/fn/spin/ok`);
    assert.equal(again.status, 200);
    assert.equal(await again.text(), 'ok');
  });

  it('disposes an isolate that blows its memory limit (502 OUT_OF_MEMORY) while other traffic keeps flowing', async () => {
    await deploy(t.base, 'bomb', MEMORY_BOMB, { memoryLimitMb: 16 });
    const others = Array.from({ length: 40 }, () => fetch(`${t.base}/fn/healthy`).then(async (r) => [r.status, await r.text()]));
    const bomb = await fetch(`${t.base}/fn/bomb`);
    assert.equal(bomb.status, 502);
    assert.equal(bomb.headers.get('x-spillway-error-source'), 'function');
    assert.equal((await bomb.json()).error.code, 'OUT_OF_MEMORY');
    for (const [status, text] of await Promise.all(others)) {
      assert.equal(status, 200);
      assert.equal(text, 'fine');
    }
    assert.equal(t.platform.runtime.stats().isolateDeaths >= 1, true);
    // The next call gets a fresh isolate (and the bomb goes off again, honestly reported).
    const second = await fetch(`${t.base}/fn/bomb`);
    assert.equal(second.status, 502);
    assert.equal(await (await fetch(`${t.base}/fn/healthy`)).text(), 'fine');
  });

  it('fails an execution that blows its memory limit with OUT_OF_MEMORY', async () => {
    const fn = await deploy(t.base, 'bomb-exec', 'export function bomb() { const hog = []; for (;;) hog.push(new Array(1000).fill(1.5)); }', { memoryLimitMb: 16, retryCount: 0 });
    const exec = await api(t.base, 'POST', `/api/functions/${fn.id}/execute`, { input: [] });
    const rec = await waitForExecution(t, exec.body.data.executionId);
    assert.equal(rec.status, 'failed');
    assert.equal(rec.error.code, 'OUT_OF_MEMORY');
    assert.equal(rec.error.functionFault, true);
  });

  it('keeps string and ArrayBuffer bombs inside the function as its own errors', async () => {
    await deploy(t.base, 'strbomb', `export default { fetch() { let s = 'x'; for (;;) s += s; } };`, { memoryLimitMb: 64 });
    const res = await fetch(`${t.base}/fn/strbomb`);
    assert.ok(res.status === 500 || res.status === 502, `status ${res.status}`);
    const code = (await res.json()).error.code;
    assert.ok(code === 'FUNCTION_ERROR' || code === 'OUT_OF_MEMORY', code);
    assert.equal(await (await fetch(`${t.base}/fn/healthy`)).text(), 'fine');
  });

  it('caps captured console output per invocation', async () => {
    await deploy(t.base, 'chatty', `export default { fetch() { for (let i = 0; i < 5000; i++) console.log('line ' + i + ' ' + 'x'.repeat(100)); return new Response('done'); } };`);
    const res = await fetch(`${t.base}/fn/chatty`);
    assert.equal(await res.text(), 'done');
    await t.platform.recorder.flush();
    const rec = await t.platform.store.getExecution(res.headers.get('x-spillway-execution-id')!);
    const bytes = rec!.logs.reduce((n, l) => n + l.message.length, 0);
    assert.ok(bytes <= 64 * 1024 + 200, `kept ${bytes} bytes`);
    assert.match(rec!.logs.at(-1)!.message, /truncated/);
  });
});
