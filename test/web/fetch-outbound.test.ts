/**
 * Outbound fetch() from handlers, end to end: a real isolate, the real fetch capability (undici)
 * and real HTTP upstreams on 127.0.0.1. Covers the SSRF policy (loopback refused by default, a
 * redirect to a refused address, a host name that resolves to a private address, the allow-list),
 * bodies streamed both ways with backpressure, abort, the per-request timeout, the concurrency
 * cap, and that time spent waiting on the network is wall time, not CPU.
 */
import assert from 'node:assert/strict';
import { lookup as dnsLookup } from 'node:dns';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createFetchCapability, parseAllowHosts, type FetchCapability } from '../../src/runtime/capabilities/fetch.js';
import { loadGuestCode } from '../../src/runtime/guest-code.js';
import { composeHostApi } from '../../src/runtime/host-api.js';
import { IsolateHost } from '../../src/runtime/isolate-host.js';
import { bundleSource } from '../helpers/bundle.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function listen(handler: Handler): Promise<{ server: Server; origin: string; port: number }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { server, origin: `http://127.0.0.1:${port}`, port };
}

/** Resolves when `check()` holds, polling on server events rather than on time. */
function waiter() {
  const waiting: Array<() => void> = [];
  return {
    notify: () => waiting.splice(0).forEach((w) => w()),
    until: (check: () => boolean) =>
      new Promise<void>((resolve) => {
        const test = () => (check() ? resolve() : waiting.push(test));
        test();
      }),
  };
}

// Upstream state the tests observe.
const slow = { release: null as (() => void) | null };
const big = { written: 0, total: 64 * 1024 * 1024, finished: false, closed: false, events: waiter() };
const upload = { received: 0, events: waiter() };
const hang = { started: 0, closed: 0, events: waiter() };

let upstream: { server: Server; origin: string; port: number };
let other: { server: Server; origin: string; port: number };

const routes: Record<string, Handler> = {
  '/hello': (_req, res) => {
    res.setHeader('x-upstream', 'yes');
    res.end('hello from upstream');
  },
  '/echo': (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString() }));
    });
  },
  '/slow': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first;');
    slow.release = () => res.end('second');
  },
  '/release': (_req, res) => {
    slow.release?.();
    res.end('released');
  },
  '/big': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const pump = () => {
      while (big.written < big.total) {
        big.written += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end(() => (big.finished = true));
    };
    res.on('close', () => {
      big.closed = true;
      big.events.notify();
    });
    pump();
  },
  '/upload': (req, res) => {
    req.on('data', (c: Buffer) => {
      upload.received += c.length;
      upload.events.notify();
    });
    req.on('end', () => res.end(`got ${upload.received}`));
  },
  '/upload-progress': (_req, res) => res.end(String(upload.received)),
  '/size': (req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => res.end(String(n)));
  },
  '/delay': (_req, res) => {
    res.writeHead(200);
    res.write('waiting;');
    setTimeout(() => res.end('done'), 250);
  },
  '/hang': (_req, res) => {
    hang.started++;
    hang.events.notify();
    res.on('close', () => {
      hang.closed++;
      hang.events.notify();
    });
  },
  '/redirect-to-refused': (_req, res) => {
    res.writeHead(302, { location: `${other.origin}/hello` });
    res.end();
  },
  '/redirect-to-localhost': (_req, res) => {
    res.writeHead(302, { location: `http://localhost:${upstream.port}/hello` });
    res.end();
  },
  '/redirect-ok': (_req, res) => {
    res.writeHead(301, { location: '/hello' });
    res.end();
  },
};

let capability: FetchCapability;
const hosts: IsolateHost[] = [];

before(async () => {
  upstream = await listen((req, res) => (routes[new URL(req.url ?? '/', 'http://x').pathname] ?? ((_q, r) => r.writeHead(404).end()))(req, res));
  other = await listen((_req, res) => res.end('other server reached'));
  capability = createFetchCapability({
    allowHosts: [`127.0.0.1:${upstream.port}`],
    timeoutMs: 1500,
    maxConcurrent: 3,
    // A DNS answer without a network: rebind.test resolves to the loopback address.
    lookup: (hostname, options, callback) => {
      if (hostname === 'rebind.test') return callback(null, [{ address: '127.0.0.1', family: 4 }]);
      if (hostname === 'private.test') return callback(null, [{ address: '10.1.2.3', family: 4 }]);
      dnsLookup(hostname, options, callback);
    },
  });
});

after(async () => {
  hosts.forEach((h) => h.dispose());
  await capability.close();
  upstream.server.closeAllConnections();
  other.server.closeAllConnections();
  upstream.server.close();
  other.server.close();
});

async function host(code: string): Promise<IsolateHost> {
  const { bundle, plainParams } = await bundleSource(code.replaceAll('UPSTREAM', upstream.origin).replaceAll('UPORT', String(upstream.port)).replaceAll('OTHER', other.origin));
  const h = await IsolateHost.create({ bundle, plainParams, memoryLimitMb: 128, guest: await loadGuestCode(), hostApi: composeHostApi(capability), functionId: 'fn_fetch' });
  hosts.push(h);
  return h;
}

async function call(h: IsolateHost, opts: { method?: string; body?: string | null; timeoutMs?: number } = {}) {
  const handle = h.invoke('http', { method: opts.method ?? 'GET', url: 'http://fn.test/', headers: [], body: opts.body ?? null }, { timeoutMs: opts.timeoutMs ?? 10_000, cpuLimitMs: 2000 });
  const out = await handle.outcome;
  if (out.type !== 'response') return { out, metering: await handle.metering, status: 0, text: '' };
  let text: string;
  if (out.stream) {
    const chunks: Buffer[] = [];
    for await (const c of out.stream) chunks.push(c as Buffer);
    text = Buffer.concat(chunks).toString();
  } else text = typeof out.body === 'string' ? out.body : Buffer.from(out.body ?? new Uint8Array()).toString();
  // The invocation ends (and its metering settles) once its body was read.
  return { out, metering: await handle.metering, status: out.status, text };
}

describe('outbound fetch', () => {
  it('fetches an allowed upstream: status, headers, body, redirects followed', async () => {
    const h = await host(`export default { async fetch() {
      const r = await fetch('UPSTREAM/hello');
      const via = await fetch('UPSTREAM/redirect-ok');
      const posted = await (await fetch('UPSTREAM/echo', { method: 'POST', headers: { 'x-a': '1' }, body: JSON.stringify({ n: 1 }) })).json();
      return Response.json({ status: r.status, header: r.headers.get('x-upstream'), body: await r.text(), url: r.url, redirected: via.redirected, viaUrl: via.url, viaBody: await via.text(), posted });
    } }`);
    const res = await call(h);
    assert.equal(res.status, 200, res.out.type === 'error' ? res.out.error.message : '');
    const json = JSON.parse(res.text);
    assert.equal(json.status, 200);
    assert.equal(json.header, 'yes');
    assert.equal(json.body, 'hello from upstream');
    assert.equal(json.url, `${upstream.origin}/hello`);
    assert.equal(json.redirected, true);
    assert.equal(json.viaUrl, `${upstream.origin}/hello`);
    assert.equal(json.viaBody, 'hello from upstream');
    assert.equal(json.posted.method, 'POST');
    assert.equal(json.posted.headers['x-a'], '1');
    assert.equal(json.posted.headers['content-type'], 'text/plain;charset=UTF-8');
    assert.equal(json.posted.body, '{"n":1}');
  });

  it('refuses loopback, private and unspecified addresses by default, with a clear TypeError', async () => {
    const h = await host(`export default { async fetch() {
      const out = {};
      for (const [name, url] of Object.entries({
        loopbackLiteral: 'OTHER/hello',
        localhostName: 'http://localhost:UPORT/hello',
        v6Loopback: 'http://[::1]:UPORT/hello',
        unspecified: 'http://0.0.0.0:UPORT/hello',
        linkLocal: 'http://169.254.169.254/latest/meta-data/',
        privateName: 'http://private.test/',
        rebound: 'http://rebind.test:UPORT/hello',
        redirectToRefused: 'UPSTREAM/redirect-to-refused',
        redirectToLocalhost: 'UPSTREAM/redirect-to-localhost',
      })) {
        try { const r = await fetch(url); out[name] = 'reached: ' + (await r.text()); }
        catch (e) { out[name] = (e instanceof TypeError ? 'TypeError: ' : e.name + ': ') + e.message; }
      }
      return Response.json(out);
    } }`);
    const res = await call(h);
    const out = JSON.parse(res.text) as Record<string, string>;
    const expected: Record<string, RegExp> = {
      loopbackLiteral: /^TypeError: fetch: refused to connect to 127\.0\.0\.1: it is a loopback address/,
      localhostName: /^TypeError: fetch: refused to connect to localhost \((127\.0\.0\.1|::1)\): it is a loopback address/,
      v6Loopback: /^TypeError: fetch: refused to connect to ::1: it is a loopback address/,
      unspecified: /^TypeError: fetch: refused to connect to 0\.0\.0\.0: it is a unspecified address/,
      linkLocal: /^TypeError: fetch: refused to connect to 169\.254\.169\.254: it is a link-local address/,
      privateName: /^TypeError: fetch: refused to connect to private\.test \(10\.1\.2\.3\): it is a private address/,
      rebound: /^TypeError: fetch: refused to connect to rebind\.test \(127\.0\.0\.1\): it is a loopback address/,
      redirectToRefused: /^TypeError: fetch: refused to connect to 127\.0\.0\.1: it is a loopback address/,
      redirectToLocalhost: /^TypeError: fetch: refused to connect to localhost/,
    };
    for (const [name, pattern] of Object.entries(expected)) assert.match(out[name], pattern, `${name}: ${out[name]}`);
    assert.match(out.loopbackLiteral, /SPILLWAY_FETCH_ALLOW_HOSTS/);
  });

  it('parses the allow-list setting and rejects malformed entries', () => {
    assert.deepEqual(parseAllowHosts('127.0.0.1:8080, db.internal [::1]:9000'), ['127.0.0.1:8080', 'db.internal', '[::1]:9000']);
    assert.deepEqual(parseAllowHosts(''), []);
    assert.throws(() => parseAllowHosts('host:99999'), /port 99999 .* out of range/);
    assert.throws(() => parseAllowHosts('a:b:c'), /not a host or host:port/);
  });

  it('streams the response body to the guest chunk by chunk', async () => {
    const h = await host(`export default { async fetch() {
      const r = await fetch('UPSTREAM/slow');
      const reader = r.body.getReader();
      const dec = new TextDecoder();
      const first = dec.decode((await reader.read()).value);
      // The upstream sends the rest only after this second request: the first chunk came alone.
      await (await fetch('UPSTREAM/release')).text();
      let rest = '';
      for (;;) { const { done, value } = await reader.read(); if (done) break; rest += dec.decode(value); }
      return Response.json({ first, rest });
    } }`);
    const res = await call(h);
    assert.deepEqual(JSON.parse(res.text), { first: 'first;', rest: 'second' });
  });

  it('does not buffer a large response body on the host: the upstream is held back until the guest reads', async () => {
    big.written = 0;
    big.finished = false;
    big.closed = false;
    const h = await host(`export default { async fetch() {
      const r = await fetch('UPSTREAM/big');
      const reader = r.body.getReader();
      let bytes = 0;
      for (let i = 0; i < 4; i++) bytes += (await reader.read()).value.byteLength;
      await reader.cancel('enough');
      return new Response(String(bytes));
    } }`);
    const res = await call(h);
    assert.ok(Number(res.text) > 0);
    await big.events.until(() => big.closed);
    assert.equal(big.finished, false, 'the upstream never finished sending: the cancel reached it');
    assert.ok(big.written < big.total / 4, `the upstream wrote ${big.written} of ${big.total} bytes before backpressure stopped it`);
  });

  it('streams a request body to the upstream one chunk at a time', async () => {
    upload.received = 0;
    const h = await host(`export default { async fetch() {
      const seen = [];
      let sent = 0;
      const body = new ReadableStream({
        async pull(controller) {
          if (sent > 0) seen.push(Number(await (await fetch('UPSTREAM/upload-progress')).text()));
          if (sent === 3) return controller.close();
          sent++;
          controller.enqueue(new TextEncoder().encode('x'.repeat(1000)));
        },
      }, { highWaterMark: 0 });
      const r = await fetch('UPSTREAM/upload', { method: 'POST', body, duplex: 'half' });
      return Response.json({ seen, final: await r.text() });
    } }`);
    const res = await call(h);
    const json = JSON.parse(res.text);
    assert.equal(json.final, 'got 3000');
    // Before producing chunk n+1 the guest asked the upstream how much it had: chunk n had arrived.
    assert.deepEqual(json.seen, [1000, 2000, 3000]);
  });

  it('sends request bodies larger than one host call in pieces', async () => {
    const h = await host(`export default { async fetch() {
      const big = 'y'.repeat(3 * 1024 * 1024 + 5);
      const asText = await (await fetch('UPSTREAM/size', { method: 'POST', body: big })).text();
      const oneChunk = new ReadableStream({ start(c) { c.enqueue(new Uint8Array(5 * 1024 * 1024)); c.close(); } });
      const asStream = await (await fetch('UPSTREAM/size', { method: 'POST', body: oneChunk, duplex: 'half' })).text();
      return Response.json({ asText, asStream });
    } }`);
    assert.deepEqual(JSON.parse((await call(h)).text), { asText: String(3 * 1024 * 1024 + 5), asStream: String(5 * 1024 * 1024) });
  });

  it('a request body stream that errors fails the fetch and releases the host request', async () => {
    const h = await host(`export default { async fetch() {
      let n = 0;
      const body = new ReadableStream({ pull(c) { if (n++ === 0) c.enqueue(new Uint8Array(10)); else c.error(new Error('body broke')); } });
      let failed;
      try { await fetch('UPSTREAM/upload', { method: 'POST', body, duplex: 'half' }) } catch (e) { failed = e.message }
      // Its slot is free again: three more requests can be open at once (the cap is 3).
      const open = [];
      for (let i = 0; i < 3; i++) open.push(await fetch('UPSTREAM/slow'));
      return Response.json({ failed, open: open.length });
    } }`);
    assert.deepEqual(JSON.parse((await call(h)).text), { failed: 'body broke', open: 3 });
    slow.release?.();
  });

  it('a guest AbortSignal aborts the host request', async () => {
    const before = hang.closed;
    const h = await host(`export default { async fetch() {
      const ac = new AbortController();
      const pending = fetch('UPSTREAM/hang', { signal: ac.signal });
      await (await fetch('UPSTREAM/hello')).text();
      ac.abort(new Error('stop'));
      try { await pending; return new Response('not aborted') } catch (e) { return new Response(e.message) }
    } }`);
    const res = await call(h);
    assert.equal(res.text, 'stop');
    await hang.events.until(() => hang.closed > before);
  });

  it('times a request out after the per-request limit', async () => {
    const h = await host(`export default { async fetch() {
      try { await fetch('UPSTREAM/hang'); return new Response('answered') } catch (e) { return new Response(e.name + ': ' + e.message) }
    } }`);
    const res = await call(h);
    assert.match(res.text, /^TimeoutError: fetch: no complete response from .*\/hang within 1500 ms/);
  });

  it('aborts outbound requests when the invocation ends', async () => {
    const before = hang.closed;
    const h = await host(`export default { async fetch() { await fetch('UPSTREAM/hang'); return new Response('never') } }`);
    const res = await call(h, { timeoutMs: 300 });
    assert.equal(res.out.type, 'error');
    assert.equal(res.out.type === 'error' && res.out.error.code, 'TIMEOUT');
    await hang.events.until(() => hang.closed > before);
  });

  it('caps the outbound requests one invocation may have open', async () => {
    const h = await host(`export default { async fetch() {
      const open = [];
      for (let i = 0; i < 3; i++) open.push(await fetch('UPSTREAM/slow'));
      let refused;
      try { await fetch('UPSTREAM/hello') } catch (e) { refused = e.message }
      await open[0].body.cancel();
      const after = await (await fetch('UPSTREAM/hello')).text();
      return Response.json({ refused, after });
    } }`);
    const res = await call(h);
    const json = JSON.parse(res.text);
    assert.match(json.refused, /3 outbound requests are already open in this invocation \(the limit is 3\)/);
    assert.equal(json.after, 'hello from upstream');
    slow.release?.();
  });

  it('counts time waiting on the network as wall time, not CPU', async () => {
    // The upstream answers its head at once and the rest of the body 250 ms later.
    const h = await host(`export default { async fetch() { return new Response(await (await fetch('UPSTREAM/delay')).text()) } }`);
    const res = await call(h);
    assert.equal(res.text, 'waiting;done');
    assert.ok(res.metering.wallUs >= 250_000, `wall ${res.metering.wallUs} µs`);
    assert.ok(res.metering.cpuUs < 100_000, `cpu ${res.metering.cpuUs} µs is far below the wall time`);
  });

  it('proxies a fetched response straight back to the client as a stream', async () => {
    const h = await host(`export default { fetch() { return fetch('UPSTREAM/hello') } }`);
    const res = await call(h);
    assert.equal(res.status, 200);
    assert.equal(res.out.type === 'response' && res.out.stream !== null, true, 'sent as a stream');
    assert.equal(res.text, 'hello from upstream');
  });

  it('fetches data: URLs inside the isolate and refuses other schemes', async () => {
    const h = await host(`export default { async fetch() {
      const r = await fetch('data:text/plain;base64,aGk=');
      let other;
      try { await fetch('ftp://example.com/') } catch (e) { other = e.message }
      return Response.json({ type: r.headers.get('content-type'), text: await r.text(), other });
    } }`);
    const json = JSON.parse((await call(h)).text);
    assert.deepEqual(json, { type: 'text/plain', text: 'hi', other: 'fetch: only http:, https: and data: URLs can be fetched, got "ftp://example.com/".' });
  });
});
