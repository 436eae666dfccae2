/**
 * Hostile code stays inside its isolate. Each test runs an attack from a handler and shows it
 * fails with the documented outcome while another function, called at the same time, keeps
 * answering correctly. See docs/security.md for the model these tests check.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadGuestCode } from '../../src/runtime/guest-code.js';
import { composeHostApi, type HostCallContext } from '../../src/runtime/host-api.js';
import { IsolateHost } from '../../src/runtime/isolate-host.js';
import { bundleSource } from '../helpers/bundle.js';
import { deploy, startPlatform, type TestPlatform } from '../helpers/platform.js';

const HEALTHY = `export default { async fetch(req) { await new Promise((r) => setTimeout(r, 10)); return new Response('fine ' + new URL(req.url).pathname); } };`;

/** Runs `attack` while 20 calls of the healthy function are in flight; every healthy call must answer correctly. */
async function whileOthersServe<T>(t: TestPlatform, attack: () => Promise<T>): Promise<T> {
  const others = Array.from({ length: 20 }, (_, i) => fetch(`${t.base}/fn/healthy/n${i}`).then(async (r) => [r.status, await r.text()] as const));
  const result = await attack();
  const answers = await Promise.all(others);
  answers.forEach(([status, text], i) => {
    assert.equal(status, 200, `healthy call ${i}`);
    assert.equal(text, `fine /n${i}`);
  });
  const after = await fetch(`${t.base}/api/functions`);
  assert.equal(after.status, 200, 'the platform API still answers');
  return result;
}

async function json(res: Response): Promise<any> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    assert.fail(`not JSON (${res.status}): ${text.slice(0, 300)}`);
  }
}

describe('hostile code through the platform', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startPlatform();
    await deploy(t.base, 'healthy', HEALTHY);
  });
  after(async () => t.close());

  it('prototype pollution stays in the polluting function: the host and other isolates keep pristine built-ins', async () => {
    await deploy(
      t.base,
      'polluter',
      `export default { fetch() {
        Object.prototype.polluted = 'yes';
        Array.prototype.map = function () { return ['hijacked']; };
        JSON.parse = () => 'hijacked';
        Object.defineProperty(Object.prototype, 'then', { value: undefined, configurable: true, writable: true });
        return new Response(JSON.stringify({ own: ({}).polluted, map: [1].map((x) => x) }));
      } };`,
    );
    await deploy(t.base, 'bystander', `export default { fetch() { return Response.json({ polluted: ({}).polluted ?? null, map: [1, 2].map((x) => x * 2), parse: JSON.parse('[3]') }); } };`);
    const polluted = await whileOthersServe(t, async () => json(await fetch(`${t.base}/fn/polluter`)));
    assert.deepEqual(polluted, { own: 'yes', map: ['hijacked'] }, 'the pollution took effect inside its own isolate');
    assert.deepEqual(await json(await fetch(`${t.base}/fn/bystander`)), { polluted: null, map: [2, 4], parse: [3] });
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false, "the host's Object.prototype is untouched");
    assert.deepEqual([1].map((x) => x + 1), [2]);
    // The same function's isolate stays polluted for its later calls (module state is shared, as in Workers).
    assert.deepEqual(await json(await fetch(`${t.base}/fn/polluter`)), { own: 'yes', map: ['hijacked'] });
  });

  it('constructor.constructor, eval and stack-frame tricks reach only the isolate’s own realm', async () => {
    await deploy(
      t.base,
      'escaper',
      `export default { async fetch(request, env, ctx) {
        const out = {};
        const probe = "typeof process + ',' + typeof require + ',' + typeof module + ',' + typeof Buffer + ',' + typeof __spw_host_sync";
        const attempt = async (name, fn) => { try { out[name] = String(await fn()); } catch (e) { out[name] = 'threw ' + e.name; } };
        await attempt('this.constructor.constructor', () => this.constructor.constructor('return ' + probe)());
        await attempt('request.constructor.constructor', () => request.constructor.constructor('return ' + probe)());
        await attempt('env.constructor.constructor', () => env.constructor.constructor('return ' + probe)());
        await attempt('ctx.waitUntil.constructor', () => ctx.waitUntil.constructor('return ' + probe)());
        await attempt('hostCall.constructor', () => __spw.hostCall.constructor('return ' + probe)());
        await attempt('indirect eval', () => (0, eval)(probe));
        await attempt('global is the isolate', () => Function('return this')() === globalThis);
        await attempt('process.binding', () => Function('return process.binding("fs")')());
        await attempt('dynamic import', () => Function('return import("node:fs")')());
        await attempt('stack frames', () => {
          const saved = Error.prepareStackTrace;
          Error.prepareStackTrace = (_e, frames) => frames.map((f) => String(f.getFileName()));
          try { return JSON.stringify(new Error().stack); } finally { Error.prepareStackTrace = saved; }
        });
        return Response.json(out);
      } };`,
    );
    const out = await whileOthersServe(t, async () => json(await fetch(`${t.base}/fn/escaper`)));
    const nothing = 'undefined,undefined,undefined,undefined,undefined';
    for (const key of ['this.constructor.constructor', 'request.constructor.constructor', 'env.constructor.constructor', 'ctx.waitUntil.constructor', 'hostCall.constructor', 'indirect eval']) {
      assert.equal(out[key], nothing, `${key}: ${out[key]}`);
    }
    assert.equal(out['global is the isolate'], 'true');
    assert.equal(out['process.binding'], 'threw ReferenceError');
    assert.match(out['dynamic import'], /^threw /, 'no module loader in the isolate');
    const files: string[] = JSON.parse(out['stack frames']);
    assert.ok(files.length > 0);
    for (const file of files) assert.doesNotMatch(file, /node:|isolated-vm|\/src\/runtime\/isolate-host/, `a host frame is visible: ${file}`);
  });

  it('everything the guest holds is its own: no isolated-vm handle, no host function, the sync bridge off the global', async () => {
    await deploy(
      t.base,
      'scanner',
      `export default { fetch(request, env, ctx) {
        const found = [];
        const seen = new Set();
        const HANDLE = ['Reference', 'ExternalCopy', 'Callback', 'Isolate', 'Context', 'Script', 'Module', 'NativeModule'];
        const walk = (v, path, depth) => {
          if (v === null || (typeof v !== 'object' && typeof v !== 'function') || seen.has(v) || depth > 5) return;
          seen.add(v);
          let ctor = '';
          try { ctor = Object.getPrototypeOf(v)?.constructor?.name ?? ''; } catch {}
          if (HANDLE.includes(ctor) || ['derefInto', 'copySync', 'applySync', 'getSync', 'setSync'].some((m) => { try { return typeof v[m] === 'function'; } catch { return false; } })) found.push(path + ' (' + ctor + ')');
          for (const key of Reflect.ownKeys(v)) {
            let d;
            try { d = Object.getOwnPropertyDescriptor(v, key); } catch { continue; }
            if (d && 'value' in d) walk(d.value, path + '.' + String(key), depth + 1);
          }
        };
        walk(globalThis, 'globalThis', 0);
        walk(request, 'request', 0);
        walk(env, 'env', 0);
        walk(ctx, 'ctx', 0);
        return Response.json({ found, scanned: seen.size, syncBridge: typeof globalThis.__spw_host_sync, ways: Object.keys(globalThis.__spw).filter((k) => typeof globalThis.__spw[k] === 'function').sort() });
      } };`,
    );
    const out = await whileOthersServe(t, async () => json(await fetch(`${t.base}/fn/scanner`)));
    assert.deepEqual(out.found, []);
    assert.ok(out.scanned > 200, `scanned ${out.scanned} objects`);
    assert.equal(out.syncBridge, 'undefined', 'the raw isolated-vm callback is not on the global');
  });

  it('hostile arguments to hostCall/hostSync are refused inside the isolate with a clear error', async () => {
    await deploy(
      t.base,
      'abuser',
      `export default { async fetch(request) {
        if (new URL(request.url).pathname === '/ok') return new Response('still serving');
        const out = {};
        const attempt = async (name, fn) => { try { await fn(); out[name] = 'accepted'; } catch (e) { out[name] = e.name + ': ' + e.message; } };
        const big = 'x'.repeat(1 << 20);
        const cyclic = { a: 1 }; cyclic.self = cyclic;
        let deep = {}; for (let i = 0; i < 10000; i++) deep = { deep };
        await attempt('unknown async', () => __spw.hostCall('no.such.method', {}));
        await attempt('unknown sync', () => __spw.hostSync('no.such.method', {}));
        await attempt('method object', () => __spw.hostCall({ toString() { return 'kv.get'; } }, {}));
        await attempt('inherited method', () => __spw.hostCall('constructor', {}));
        await attempt('huge', () => __spw.hostCall('no.such.method', new Array(100).fill(big)));
        await attempt('huge sync', () => __spw.hostSync('crypto.randomBytes', [big, big]));
        await attempt('throwing getter', () => __spw.hostCall('no.such.method', { get x() { throw new Error('getter says no'); } }));
        await attempt('proxy', () => __spw.hostCall('no.such.method', new Proxy({}, { ownKeys() { throw new Error('trap says no'); } })));
        await attempt('cyclic', () => __spw.hostCall('no.such.method', cyclic));
        await attempt('deep', () => __spw.hostCall('no.such.method', deep));
        await attempt('function', () => __spw.hostCall('no.such.method', { f() {} }));
        await attempt('class instance', () => __spw.hostCall('no.such.method', new Map([[1, 2]])));
        await attempt('raw sync callback', () => __spw_host_sync('crypto.randomBytes', 16));
        return Response.json(out);
      } };`,
    );
    const out = await whileOthersServe(t, async () => json(await fetch(`${t.base}/fn/abuser`)));
    assert.equal(out['unknown async'], 'TypeError: no.such.method is not available in this runtime.');
    assert.match(out['unknown sync'], /^TypeError: no\.such\.method is not available/);
    assert.equal(out['method object'], 'TypeError: hostCall: the method must be a string.');
    assert.match(out['inherited method'], /constructor is not available/);
    assert.match(out.huge, /^RangeError: no\.such\.method: more than 33554432 bytes/);
    assert.match(out['huge sync'], /^RangeError: crypto\.randomBytes: more than 1048576 bytes/);
    assert.equal(out['throwing getter'], 'Error: getter says no');
    assert.equal(out.proxy, 'Error: trap says no');
    assert.match(out.cyclic, /^TypeError: .*cyclic/);
    assert.match(out.deep, /^RangeError: .*deeper than 64 levels/);
    assert.match(out.function, /^TypeError: .*a function cannot be sent/);
    assert.match(out['class instance'], /^TypeError: .*only plain objects/);
    assert.match(out['raw sync callback'], /^ReferenceError/);
    assert.equal(await (await fetch(`${t.base}/fn/abuser/ok`)).text(), 'still serving');
  });

  it('a flood of timers is capped per invocation', async () => {
    await deploy(
      t.base,
      'timer-flood',
      `export default { fetch() {
        let n = 0;
        try { for (let i = 0; i < 1000000; i++) { setTimeout(() => {}, 3600000); n++; } } catch (e) { return new Response(n + ' ' + e.name + ': ' + e.message); }
        return new Response('no cap');
      } };`,
      { timeout: 1500 },
    );
    const res = await whileOthersServe(t, () => fetch(`${t.base}/fn/timer-flood`));
    assert.equal(res.status, 200);
    assert.match(await res.text(), /^10000 RangeError: setTimeout\/setInterval: more than 10000 timers pending in one invocation/);
  });

  it('a flood of console output (one big string, repeated) is cut at the log cap before it reaches the host', async () => {
    await deploy(t.base, 'log-flood', `export default { fetch() { const big = 'y'.repeat(1 << 20); for (let i = 0; i < 2000; i++) console.log(big); return new Response('logged'); } };`);
    const before = process.memoryUsage().heapUsed;
    const res = await whileOthersServe(t, () => fetch(`${t.base}/fn/log-flood`));
    assert.equal(await res.text(), 'logged');
    await t.platform.recorder.flush();
    const rec = await t.platform.store.getExecution(res.headers.get('x-spillway-execution-id')!);
    const kept = rec!.logs.reduce((n, l) => n + l.message.length, 0);
    assert.ok(kept <= 64 * 1024 + 200, `kept ${kept} bytes`);
    assert.match(rec!.logs.at(-1)!.message, /truncated at 65536 bytes/);
    // 2000 × 1 MiB would be 2 GiB on the host if every line crossed.
    assert.ok(process.memoryUsage().heapUsed - before < 256 * 1024 * 1024, 'the host did not copy the repeated lines');
  });

  it('gigantic response headers are a 502 BAD_RESPONSE; a gigantic body is delivered whole', async () => {
    await deploy(t.base, 'big-header', `export default { fetch() { return new Response('x', { headers: { 'x-big': 'h'.repeat(1 << 20) } }); } };`);
    await deploy(t.base, 'many-headers', `export default { fetch() { const h = new Headers(); const v = 'v'.repeat(1024); for (let i = 0; i < 2000; i++) h.append('x-h' + i, v); return new Response('x', { headers: h }); } };`);
    await deploy(t.base, 'big-body', `export default { fetch() { const b = new Uint8Array(48 << 20); b[b.length - 1] = 7; return new Response(b); } };`, { memoryLimitMb: 256 });
    for (const name of ['big-header', 'many-headers']) {
      const res = await whileOthersServe(t, () => fetch(`${t.base}/fn/${name}`));
      assert.equal(res.status, 502, name);
      const body = await json(res);
      assert.equal(body.error.code, 'BAD_RESPONSE');
      assert.match(body.error.message, /headers are larger than 262144 bytes/);
    }
    const res = await whileOthersServe(t, () => fetch(`${t.base}/fn/big-body`));
    assert.equal(res.status, 200);
    const bytes = new Uint8Array(await res.arrayBuffer());
    assert.equal(bytes.length, 48 << 20);
    assert.equal(bytes[bytes.length - 1], 7);
  });

  it('a never-ending stream is cut at the function’s timeout; the call is recorded as TIMEOUT', async () => {
    await deploy(
      t.base,
      'endless',
      `export default { fetch() {
        const chunk = new TextEncoder().encode('data: more\\n\\n');
        return new Response(new ReadableStream({ pull(c) { c.enqueue(chunk); } }), { headers: { 'content-type': 'text/event-stream' } });
      } };`,
      { timeout: 800 },
    );
    const started = Date.now();
    const { received, error, id } = await whileOthersServe(t, async () => {
      const res = await fetch(`${t.base}/fn/endless`);
      assert.equal(res.status, 200);
      let received = 0;
      let error: unknown = null;
      try {
        for await (const chunk of res.body!) received += chunk.length;
      } catch (err) {
        error = err;
      }
      return { received, error, id: res.headers.get('x-spillway-execution-id')! };
    });
    assert.ok(received > 1000, `received ${received} bytes before the cut`);
    assert.ok(error, 'the stream ended with an error, not a clean end');
    assert.ok(Date.now() - started < 5000);
    await t.platform.recorder.flush();
    const rec = await t.platform.store.getExecution(id);
    assert.equal(rec!.error?.code, 'TIMEOUT');
  });

  it('deep recursion is the function’s own RangeError (500), and the isolate keeps serving', async () => {
    await deploy(t.base, 'recurse', `function down(n) { return down(n + 1) + 1; } export default { fetch(req) { if (req.url.endsWith('/ok')) return new Response('ok'); return new Response(String(down(0))); } };`);
    const res = await whileOthersServe(t, () => fetch(`${t.base}/fn/recurse`));
    assert.equal(res.status, 500);
    assert.equal(res.headers.get('x-spillway-error-source'), 'function');
    const body = await json(res);
    assert.equal(body.error.code, 'FUNCTION_ERROR');
    assert.match(body.error.message, /RangeError: Maximum call stack size exceeded/);
    assert.equal(await (await fetch(`${t.base}/fn/recurse/ok`)).text(), 'ok');
  });

  it('an error dressed up to be huge (a name made of a million-character array) stays a bounded error', async () => {
    await deploy(
      t.base,
      'huge-error',
      `export default { fetch() {
        const s = 'e'.repeat(1 << 20);
        const err = new Error('m');
        Object.defineProperty(err, 'name', { value: new Array(20).fill(s) });
        return Promise.reject(err);
      } };`,
      { memoryLimitMb: 128 },
    );
    const res = await whileOthersServe(t, () => fetch(`${t.base}/fn/huge-error`));
    assert.ok(res.status === 500 || res.status === 502, `status ${res.status}`);
    const text = await res.text();
    assert.ok(text.length < 100_000, `the error reached the client as ${text.length} bytes`);
    assert.match(JSON.parse(text).error.code, /^(FUNCTION_ERROR|OUT_OF_MEMORY)$/);
  });
});

describe('hostile code against the host-call bridge', () => {
  const shared = { list: [1, 2, 3], nested: { n: 1 } };
  const received: unknown[] = [];
  const held: Array<{ ctx: HostCallContext; resolve: (v: unknown) => void }> = [];
  const hostApi = composeHostApi({
    async: {
      'test.shared': async () => shared,
      'test.keep': async (args) => {
        received.push(args);
        return 'kept';
      },
      'test.hold': (_args, ctx) => new Promise((resolve) => held.push({ ctx, resolve })),
    },
  });
  const hosts: IsolateHost[] = [];
  after(() => hosts.forEach((h) => h.dispose()));

  async function host(code: string, memoryLimitMb = 64): Promise<IsolateHost> {
    const { bundle, plainParams } = await bundleSource(code);
    const h = await IsolateHost.create({ bundle, plainParams, memoryLimitMb, guest: await loadGuestCode(), hostApi, functionId: 'fn_hostile' });
    hosts.push(h);
    return h;
  }

  async function call(h: IsolateHost, path = '/', timeoutMs = 5000): Promise<{ status: number; body: string } | { error: string }> {
    const handle = h.invoke('http', { method: 'GET', url: `http://x${path}`, headers: [], body: null }, { timeoutMs, cpuLimitMs: 2000 });
    const out = await handle.outcome;
    if (out.type === 'error') return { error: out.error.code };
    assert.equal(out.type, 'response');
    if (out.type !== 'response') throw new Error('unreachable');
    return { status: out.status, body: typeof out.body === 'string' ? out.body : Buffer.from(out.body ?? new Uint8Array()).toString() };
  }

  let bystander: IsolateHost;
  before(async () => {
    bystander = await host(`export default { fetch(req) { return new Response('bystander ' + new URL(req.url).pathname); } };`);
  });

  async function bystanderServes(): Promise<void> {
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => call(bystander, `/b${i}`)));
    answers.forEach((a, i) => assert.deepEqual(a, { status: 200, body: `bystander /b${i}` }));
  }

  it('values from the host are copies: mutating them, or their prototypes, changes nothing on the host', async () => {
    const h = await host(`export default { async fetch() {
      const got = await __spw.hostCall('test.shared', null);
      got.list.push(4); got.nested.n = 99; delete got.list;
      Object.getPrototypeOf(got).polluted = 'from a host value';
      const again = await __spw.hostCall('test.shared', null);
      const sent = { keep: 1, tricky: JSON.parse('{"__proto__": {"polluted": "via __proto__ key"}}') };
      await __spw.hostCall('test.keep', sent);
      sent.keep = 2;
      return Response.json({ again, guestPolluted: ({}).polluted });
    } };`);
    const [res] = await Promise.all([call(h), bystanderServes()]);
    assert.ok('body' in res);
    assert.deepEqual(JSON.parse(res.body), { again: { list: [1, 2, 3], nested: { n: 1 } }, guestPolluted: 'from a host value' });
    assert.deepEqual(shared, { list: [1, 2, 3], nested: { n: 1 } }, "the host's object is untouched");
    const kept = received.at(-1) as { keep: number; tricky: Record<string, unknown> };
    assert.equal(kept.keep, 1, 'the host got a copy, not a live view');
    assert.equal(Object.getPrototypeOf(kept.tricky), Object.prototype, 'a "__proto__" key arrives as data');
    assert.equal(({} as Record<string, unknown>).polluted, undefined, "the host's prototypes are untouched");
  });

  it('a flood of host calls stops at 512 in flight; another function answers meanwhile', async () => {
    const h = await host(`export default { async fetch() {
      let refused = null;
      for (let i = 0; i < 10000 && !refused; i++) __spw.hostCall('test.hold', i).catch((e) => { refused = e.message; });
      await null;
      return new Response(String(refused));
    } };`);
    const before = held.length;
    const res = await call(h);
    await bystanderServes();
    assert.ok('body' in res);
    assert.match(res.body, /more than 512 I\/O operations in flight/);
    assert.equal(held.length - before, 512);
    held.splice(before).forEach((c) => c.resolve('late'));
  });

  it('a memory bomb during a host call kills only its isolate; the host call is aborted and its late reply is dropped', async () => {
    const h = await host(`export default { async fetch() {
      const pending = __spw.hostCall('test.hold', 'bomb');
      await __spw.hostCall('test.keep', 'a round trip: the held call has reached the host');
      const hog = [];
      for (;;) hog.push(new Array(10000).fill(Math.random()));
      await pending;
    } };`, 16);
    const before = held.length;
    const [res] = await Promise.all([call(h), bystanderServes()]);
    assert.deepEqual(res, { error: 'OUT_OF_MEMORY' });
    const [pending] = held.splice(before);
    assert.ok(pending, 'the call reached the host before the bomb went off');
    assert.equal(pending.ctx.signal.aborted, true, "the host call's signal aborted when its isolate died");
    pending.resolve('too late');
    assert.equal(h.alive, false);
    await bystanderServes();
  });
});
