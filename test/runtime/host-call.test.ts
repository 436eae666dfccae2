/**
 * The host-call bridge: guest code awaiting a host method holds no thread and accrues no CPU,
 * replies reach the right invocation, host errors arrive as guest errors, unknown methods and
 * runaway call loops are refused, and the host method sees when its invocation ends.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadGuestCode } from '../../src/runtime/guest-code.js';
import { composeHostApi, type HostCallContext } from '../../src/runtime/host-api.js';
import { IsolateHost } from '../../src/runtime/isolate-host.js';
import { bundleSource } from '../helpers/bundle.js';

const limits = { timeoutMs: 5000, cpuLimitMs: 1000 };
const ended: string[] = [];
const held: Array<() => void> = [];

const hostApi = composeHostApi({
  async: {
    'test.echo': async (args) => ({ echoed: args }),
    'test.fail': async () => {
      throw new RangeError('the host said no');
    },
    'test.wait': (ms, ctx: HostCallContext) =>
      new Promise((resolve) => {
        const t = setTimeout(() => resolve('waited'), Number(ms));
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(t);
          ended.push(ctx.invocationId);
          resolve('aborted');
        });
      }),
    'test.hold': () => new Promise<void>((resolve) => held.push(resolve)),
  },
  sync: { 'test.double': (n) => Number(n) * 2 },
});

async function host(code: string): Promise<IsolateHost> {
  const { bundle, plainParams } = await bundleSource(code);
  return IsolateHost.create({ bundle, plainParams, memoryLimitMb: 64, guest: await loadGuestCode(), hostApi, functionId: 'fn_test' });
}

async function text(h: IsolateHost, path = '/'): Promise<{ status: number; body: string; cpuUs: number; wallUs: number }> {
  const handle = h.invoke('http', { method: 'GET', url: `http://x${path}`, headers: [], body: null }, limits);
  const out = await handle.outcome;
  const m = await handle.metering;
  if (out.type !== 'response') throw new Error(`expected a response, got ${out.type}: ${out.type === 'error' ? out.error.message : ''}`);
  const body = typeof out.body === 'string' ? out.body : Buffer.from(out.body ?? new Uint8Array()).toString();
  return { status: out.status, body, cpuUs: m.cpuUs, wallUs: m.wallUs };
}

const hosts: IsolateHost[] = [];
after(() => hosts.forEach((h) => h.dispose()));

describe('host calls', () => {
  it('round-trips structured values and reports host errors as guest errors', async () => {
    const h = await host(`
      export default { async fetch() {
        const r = await __spw.hostCall('test.echo', { n: 1, bytes: new Uint8Array([1, 2, 3]) });
        let err;
        try { await __spw.hostCall('test.fail', null) } catch (e) { err = e.name + ': ' + e.message }
        let missing;
        try { await __spw.hostCall('test.nope', null) } catch (e) { missing = e.message }
        return Response.json({ n: r.echoed.n, bytes: [...r.echoed.bytes], isU8: r.echoed.bytes instanceof Uint8Array, err, missing, sync: __spw.hostSync('test.double', 21) });
      } }`);
    hosts.push(h);
    const res = await text(h);
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { n: 1, bytes: [1, 2, 3], isU8: true, err: 'RangeError: the host said no', missing: 'test.nope is not available in this runtime.', sync: 42 });
  });

  it('an invocation awaiting a host call accrues wall time, not CPU', async () => {
    const h = await host(`export default { async fetch() { return new Response(await __spw.hostCall('test.wait', 150)) } }`);
    hosts.push(h);
    const results = await Promise.all(Array.from({ length: 50 }, () => text(h)));
    for (const r of results) {
      assert.equal(r.body, 'waited');
      assert.ok(r.wallUs >= 150_000, `wall ${r.wallUs} µs`);
      assert.ok(r.cpuUs < 20_000, `cpu ${r.cpuUs} µs should be far below the 150 ms wait`);
    }
  });

  it('aborts the host side when the invocation times out', async () => {
    const h = await host(`export default { async fetch() { return new Response(await __spw.hostCall('test.wait', 60000)) } }`);
    hosts.push(h);
    const handle = h.invoke('http', { method: 'GET', url: 'http://x/', headers: [], body: null }, { timeoutMs: 100, cpuLimitMs: 1000 });
    const out = await handle.outcome;
    assert.equal(out.type, 'error');
    assert.equal(out.type === 'error' && out.error.code, 'TIMEOUT');
    await handle.metering;
    assert.ok(ended.includes(handle.id), 'the host method saw its invocation end');
  });

  it('refuses a runaway loop of host calls and keeps serving', async () => {
    const h = await host(`export default { async fetch(req) {
      if (req.url.endsWith('/ok')) return new Response('fine');
      const calls = [];
      let refused = null;
      for (let i = 0; i < 10000 && !refused; i++) calls.push(__spw.hostCall('test.hold', i).catch((e) => { refused = e.message; }));
      await null;
      return new Response(String(refused));
    } }`);
    hosts.push(h);
    const res = await text(h, '/flood');
    assert.match(res.body, /more than 512 I\/O operations in flight/);
    assert.equal(held.length, 512, 'exactly the allowed number of calls reached the host');
    held.splice(0).forEach((r) => r());
    assert.equal((await text(h, '/ok')).body, 'fine');
  });

  it('refuses I/O at module load, outside any invocation', async () => {
    const h = await host(`
      let early = 'none';
      __spw.hostCall('test.echo', 1).catch((e) => { early = e.message });
      export default { fetch() { return new Response(early) } }`);
    hosts.push(h);
    assert.match((await text(h)).body, /only possible while a request is being handled/);
  });
});
