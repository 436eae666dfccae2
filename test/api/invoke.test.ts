import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, deploy, startPlatform, type TestPlatform } from '../helpers/platform.js';

describe('HTTP invocation /fn/:name/*', () => {
  let t: TestPlatform;
  before(async () => (t = await startPlatform({ SPILLWAY_MAX_BODY_BYTES: 64 * 1024 })));
  after(async () => t.close());

  it('runs Cloudflare Workers module syntax unchanged: request in, response out', async () => {
    await deploy(
      t.base,
      'echo',
      `export default {
        async fetch(request: Request, env: unknown, ctx: { waitUntil(p: Promise<unknown>): void }) {
          const body = await request.text();
          return new Response(JSON.stringify({ method: request.method, url: request.url, agent: request.headers.get('x-test'), body, hasEnv: typeof env === 'object', hasCtx: typeof ctx.waitUntil === 'function' }), {
            status: 201,
            headers: { 'content-type': 'application/json', 'x-from-handler': 'yes' },
          });
        },
      };`,
    );
    const res = await fetch(`${t.base}/fn/echo/some/path?q=1`, { method: 'POST', headers: { 'x-test': 'abc' }, body: 'payload' });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('x-from-handler'), 'yes');
    assert.equal(res.headers.get('content-type'), 'application/json');
    const json = await res.json();
    assert.equal(json.method, 'POST');
    assert.match(json.url, /^http:\/\/127\.0\.0\.1:\d+\/some\/path\?q=1$/);
    assert.equal(json.agent, 'abc');
    assert.equal(json.body, 'payload');
    assert.equal(json.hasEnv, true);
    assert.equal(json.hasCtx, true);
  });

  it("runs seed 000's handler(req, ctx); waitUntil work runs after the response and is metered into the same call", async () => {
    await deploy(
      t.base,
      'background',
      `export default async function handler(req, ctx) {
        ctx.waitUntil(new Promise((resolve) => setTimeout(() => { console.log('background done'); resolve(undefined); }, 150)));
        return new Response('sent first');
      }`,
    );
    const started = Date.now();
    const res = await fetch(`${t.base}/fn/background`);
    assert.equal(await res.text(), 'sent first');
    const answeredMs = Date.now() - started;
    const id = res.headers.get('x-spillway-execution-id');
    assert.ok(id);
    let record;
    for (;;) {
      await t.platform.recorder.flush();
      record = await t.platform.store.getExecution(id);
      if (record) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(answeredMs < 150, `answered in ${answeredMs} ms, before the 150 ms background work`);
    assert.ok(record.wallUs! >= 150_000, `wall ${record.wallUs} µs includes the waitUntil work`);
    assert.deepEqual(record.logs.map((l: any) => l.message), ['background done']);
    assert.equal(record.trigger, 'http');
    assert.equal(record.status, 'completed');
  });

  it('maps a JSON body onto a plain function (seed 001 style) and returns JSON', async () => {
    await deploy(t.base, 'plain-add', 'function add(a: number, b: number) { return a + b; }');
    const byName = await fetch(`${t.base}/fn/plain-add`, { method: 'POST', body: JSON.stringify({ a: 2, b: 3 }) });
    assert.equal(await byName.json(), 5);
    const byArray = await fetch(`${t.base}/fn/plain-add`, { method: 'POST', body: JSON.stringify([10, 20]) });
    assert.equal(await byArray.json(), 30);
  });

  it('streams a ReadableStream body chunk by chunk', async () => {
    await deploy(
      t.base,
      'stream',
      `export default {
        fetch() {
          let step = 0;
          const stream = new ReadableStream({
            async pull(controller) {
              step++;
              if (step === 1) controller.enqueue(new TextEncoder().encode('data: first\\n\\n'));
              else if (step === 2) { await new Promise((r) => setTimeout(r, 400)); controller.enqueue(new TextEncoder().encode('data: second\\n\\n')); }
              else controller.close();
            },
          });
          return new Response(stream, { headers: { 'content-type': 'text/event-stream' } });
        },
      };`,
    );
    const started = Date.now();
    const res = await fetch(`${t.base}/fn/stream`);
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const reader = res.body!.getReader();
    const first = await reader.read();
    const firstAt = Date.now() - started;
    assert.equal(new TextDecoder().decode(first.value), 'data: first\n\n');
    let rest = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    const endAt = Date.now() - started;
    assert.equal(rest, 'data: second\n\n');
    assert.ok(endAt - firstAt >= 300, `first chunk at ${firstAt} ms, end at ${endAt} ms: the first arrived before the second was written`);
  });

  it('records every call with CPU, wall time, cold start and cost', async () => {
    await deploy(t.base, 'metered', `export default { fetch() { let x = 0; for (let i = 0; i < 2e5; i++) x += i; return new Response(String(x)); } };`);
    const first = await fetch(`${t.base}/fn/metered`);
    await first.text();
    const second = await fetch(`${t.base}/fn/metered`);
    await second.text();
    await t.platform.recorder.flush();
    const a = (await api(t.base, 'GET', `/api/executions/${first.headers.get('x-spillway-execution-id')}`)).body.data;
    const b = (await api(t.base, 'GET', `/api/executions/${second.headers.get('x-spillway-execution-id')}`)).body.data;
    assert.equal(a.coldStart, true, 'first call of a new version is a cold start');
    assert.equal(b.coldStart, false);
    for (const rec of [a, b]) {
      assert.ok(rec.cpuUs > 0, 'cpu recorded');
      assert.ok(rec.wallUs >= rec.cpuUs, `wall >= cpu (${rec.wallUs} ${rec.cpuUs})`);
      assert.equal(rec.cost.tier, 'standard', 'code of 101-5000 characters is the standard tier');
      assert.ok(rec.cost.totalCost > 0);
    }
    assert.ok(a.cost.coldStartCost > 0 && b.cost.coldStartCost === 0, 'only the cold call pays the cold-start charge');
  });

  it('404s an unknown function, 413s an oversized body, and marks function errors as the function’s', async () => {
    const missing = await fetch(`${t.base}/fn/nope/`);
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).error.code, 'FUNCTION_NOT_FOUND');
    assert.equal(missing.headers.get('x-spillway-error-source'), 'platform');

    const big = await fetch(`${t.base}/fn/echo/`, { method: 'POST', body: 'x'.repeat(65 * 1024) });
    assert.equal(big.status, 413);
    assert.equal((await big.json()).error.code, 'PAYLOAD_TOO_LARGE');

    await deploy(t.base, 'thrower', `export default { fetch() { throw new TypeError('bad things'); } };`);
    const thrown = await fetch(`${t.base}/fn/thrower/`);
    assert.equal(thrown.status, 500);
    assert.equal(thrown.headers.get('x-spillway-error-source'), 'function');
    const body = await thrown.json();
    assert.equal(body.error.code, 'FUNCTION_ERROR');
    assert.equal(body.error.message, 'TypeError: bad things');

    await deploy(t.base, 'not-a-response', `export default { fetch() { return { hello: 'world' }; } };`);
    const bad = await fetch(`${t.base}/fn/not-a-response/`);
    assert.equal(bad.status, 502);
    assert.equal((await bad.json()).error.code, 'BAD_RESPONSE');
  });

  it('hands the handler the path and query exactly as sent, and answers a nameless /fn/ with the API 404', async () => {
    const res = await fetch(`${t.base}/fn/echo/a%2Fb/%C3%A9?x=%26y`, { method: 'POST', body: '' });
    assert.equal(res.status, 201);
    assert.match((await res.json()).url, /^http:\/\/127\.0\.0\.1:\d+\/a%2Fb\/%C3%A9\?x=%26y$/);
    // The name is decoded like any path parameter; the function is found.
    assert.equal((await fetch(`${t.base}/fn/%65cho/`, { method: 'POST', body: 'x' })).status, 201);
    const nameless = await fetch(`${t.base}/fn/`);
    assert.equal(nameless.status, 404);
    assert.equal((await nameless.json()).error.code, 'ROUTE_NOT_FOUND');
  });

  it('refuses a body over the limit whether its length is declared or streamed, and closes that connection', async () => {
    const { request } = await import('node:http');
    const send = (headers: Record<string, string>, chunks: string[]) =>
      new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
        const req = request(`${t.base}/fn/echo/`, { method: 'POST', headers }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
        });
        req.on('error', reject);
        for (const c of chunks) req.write(c);
        req.end();
      });
    // Declared: refused from the header, before any of the body is read.
    const declared = await send({ 'content-length': String(65 * 1024) }, ['x'.repeat(65 * 1024)]);
    assert.equal(declared.status, 413);
    assert.equal(JSON.parse(declared.body).error.code, 'PAYLOAD_TOO_LARGE');
    assert.equal(declared.connection, 'close');
    // Streamed (chunked, no length): refused once the limit is passed.
    const streamed = await send({ 'transfer-encoding': 'chunked' }, Array.from({ length: 5 }, () => 'y'.repeat(16 * 1024)));
    assert.equal(streamed.status, 413);
    assert.equal(JSON.parse(streamed.body).error.code, 'PAYLOAD_TOO_LARGE');
    assert.equal(streamed.connection, 'close');
    // The server and the function are unharmed: a body at the limit still goes through.
    const ok = await fetch(`${t.base}/fn/echo/`, { method: 'POST', body: 'z'.repeat(64 * 1024) });
    assert.equal(ok.status, 201);
    assert.equal((await ok.json()).body.length, 64 * 1024);
  });

  it('refuses calls to an inactive function with 409', async () => {
    await api(t.base, 'PUT', '/api/functions/echo', { status: 'inactive' });
    const res = await fetch(`${t.base}/fn/echo/`);
    assert.equal(res.status, 409);
    assert.equal((await res.json()).error.code, 'FUNCTION_INACTIVE');
    await api(t.base, 'PUT', '/api/functions/echo', { status: 'active' });
    assert.equal((await fetch(`${t.base}/fn/echo/`)).status, 201);
  });
});
