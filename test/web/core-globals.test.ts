/**
 * The core Web APIs inside a real isolate (encoding, URL, abort, base64, structuredClone,
 * queueMicrotask, timers, crypto, performance, self), driven through IsolateHost with the
 * production crypto host methods. The WPT runner measures conformance; these tests pin the
 * behaviour Spillway adds around the libraries (laziness, host bridging, reporting, timers).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { cryptoHostApi } from '../../src/runtime/capabilities/crypto.js';
import { loadGuestCode } from '../../src/runtime/guest-code.js';
import { composeHostApi } from '../../src/runtime/host-api.js';
import { IsolateHost } from '../../src/runtime/isolate-host.js';
import type { LogLine } from '../../src/runtime/types.js';
import { bundleSource } from '../helpers/bundle.js';

const limits = { timeoutMs: 5000, cpuLimitMs: 2000 };
const hosts: IsolateHost[] = [];
after(() => hosts.forEach((h) => h.dispose()));

async function run(code: string): Promise<{ json: Record<string, unknown>; logs: LogLine[]; wallUs: number }> {
  const { bundle, plainParams } = await bundleSource(code);
  const h = await IsolateHost.create({ bundle, plainParams, memoryLimitMb: 128, guest: await loadGuestCode(), hostApi: composeHostApi(cryptoHostApi) });
  hosts.push(h);
  const handle = h.invoke('http', { method: 'GET', url: 'http://x/', headers: [], body: null }, limits);
  const out = await handle.outcome;
  const m = await handle.metering;
  if (out.type !== 'response') throw new Error(`expected a response, got ${out.type}: ${out.type === 'error' ? out.error.message : ''}`);
  const body = typeof out.body === 'string' ? out.body : Buffer.from(out.body ?? new Uint8Array()).toString();
  return { json: JSON.parse(body) as Record<string, unknown>, logs: m.logs, wallUs: m.wallUs };
}

describe('core Web APIs in an isolate', () => {
  it('installs globals as real ones are (writable, configurable, not enumerable), lazy ones turning into data properties', async () => {
    const { json } = await run(`
      export default { fetch() {
        const url = new URL('http://EXAMPLE.com/a/../b').href;
        const d = Object.getOwnPropertyDescriptor(globalThis, 'URL');
        const names = ['URL', 'TextDecoder', 'ReadableStream', 'AbortSignal', 'DOMException', 'crypto', 'structuredClone', 'atob'];
        const shapes = names.map((n) => { void globalThis[n]; const x = Object.getOwnPropertyDescriptor(globalThis, n); return [n, 'value' in x, x.writable, x.enumerable, x.configurable] });
        return Response.json({ url, dataAfter: 'value' in d, shapes, self: self === globalThis });
      } }`);
    assert.equal(json.url, 'http://example.com/b');
    assert.equal(json.dataAfter, true);
    for (const [name, isData, writable, enumerable, configurable] of json.shapes as Array<[string, boolean, boolean, boolean, boolean]>) {
      assert.deepEqual([isData, writable, enumerable, configurable], [true, true, false, true], name);
    }
    assert.equal(json.self, true);
  });

  it('decodes every Encoding-standard family, honours fatal and streams', async () => {
    const { json } = await run(`export default { async fetch() {
      const out = {};
      out.labels = ['latin1', 'ascii', 'sjis', 'gbk', 'big5', 'euc-kr', 'koi8-r', 'utf-16le', 'iso-2022-jp', 'x-user-defined'].map((l) => new TextDecoder(l).encoding);
      out.win1252 = new TextDecoder('windows-1252').decode(new Uint8Array([0x80]));
      out.sjis = new TextDecoder('shift_jis').decode(new Uint8Array([0x82, 0xa0]));
      try { new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xff])); } catch (e) { out.fatal = e.name }
      try { new TextDecoder('utf-7') } catch (e) { out.bad = e.name }
      const dest = new Uint8Array(3); out.into = new TextEncoder().encodeInto('aé', dest);
      const rs = new ReadableStream({ start(c) { c.enqueue(new Uint8Array([0xe2, 0x82])); c.enqueue(new Uint8Array([0xac])); c.close() } }).pipeThrough(new TextDecoderStream());
      let s = ''; for await (const chunk of rs) s += chunk; out.stream = s;
      return Response.json(out);
    } }`);
    assert.deepEqual(json.labels, ['windows-1252', 'windows-1252', 'shift_jis', 'gbk', 'big5', 'euc-kr', 'koi8-r', 'utf-16le', 'iso-2022-jp', 'x-user-defined']);
    assert.equal(json.win1252, '€');
    assert.equal(json.sjis, 'あ');
    assert.equal(json.fatal, 'TypeError');
    assert.equal(json.bad, 'RangeError');
    assert.deepEqual(json.into, { read: 2, written: 3 });
    assert.equal(json.stream, '€');
  });

  it('parses URLs with IDNA (ASCII hosts without tr46, others through it) and URLSearchParams', async () => {
    const { json } = await run(`export default { fetch() {
      const u = new URL('HTTPS://Bücher.Example:443/p?q=1#h');
      const p = new URLSearchParams('a=1&b=2&a=3'); p.sort();
      return Response.json({ host: u.host, href: u.href, ascii: new URL('http://WWW.Example.COM./').host, punycode: new URL('http://xn--bcher-kva.example/').host,
        bad: URL.canParse('http://exa mple.com/'), params: p.toString(), getAll: p.getAll('a') });
    } }`);
    assert.equal(json.host, 'xn--bcher-kva.example');
    assert.equal(json.href, 'https://xn--bcher-kva.example/p?q=1#h');
    assert.equal(json.ascii, 'www.example.com.');
    assert.equal(json.punycode, 'xn--bcher-kva.example');
    assert.equal(json.bad, false);
    assert.equal(json.params, 'a=1&a=3&b=2');
    assert.deepEqual(json.getAll, ['1', '3']);
  });

  it('aborts with trusted events, reasons, AbortSignal.any and a timeout that does not hold the invocation open', async () => {
    const { json, wallUs } = await run(`export default { async fetch() {
      const c = new AbortController(); const events = [];
      c.signal.addEventListener('abort', (e) => events.push(e.type + ':' + e.isTrusted));
      const dep = AbortSignal.any([c.signal, AbortSignal.timeout(100000)]);
      c.abort(new RangeError('why'));
      let thrown; try { c.signal.throwIfAborted() } catch (e) { thrown = e.message }
      const t = AbortSignal.timeout(5);
      const reason = await new Promise((r) => t.addEventListener('abort', () => r(t.reason.name)));
      AbortSignal.timeout(60000);
      return Response.json({ events, depAborted: dep.aborted, depReason: dep.reason.message, thrown, reason, defaultReason: AbortSignal.abort().reason.name,
        illegal: (() => { try { new AbortSignal() } catch (e) { return e.name } })() });
    } }`);
    assert.deepEqual(json.events, ['abort:true']);
    assert.equal(json.depAborted, true);
    assert.equal(json.depReason, 'why');
    assert.equal(json.thrown, 'why');
    assert.equal(json.reason, 'TimeoutError');
    assert.equal(json.defaultReason, 'AbortError');
    assert.equal(json.illegal, 'TypeError');
    assert.ok(wallUs < 5_000_000, `a pending 60 s AbortSignal.timeout must not keep the invocation open (wall ${wallUs} µs)`);
  });

  it('structuredClone copies graphs and refuses what cannot be cloned with DataCloneError', async () => {
    const { json } = await run(`export default { fetch() {
      const o = { m: new Map([[1, { d: new Date(5) }]]), s: new Set(['x']), e: new TypeError('t', { cause: 'c' }), u8: new Uint8Array([1, 2]), big: 10n };
      o.self = o;
      const c = structuredClone(o);
      const errs = [() => 1, Symbol('s'), new AbortController(), new WeakMap()].map((v) => { try { structuredClone(v); return 'cloned' } catch (e) { return e.name + ':' + (e instanceof DOMException) } });
      const dom = structuredClone(new DOMException('m', 'DataError'));
      const file = structuredClone(new File(['hi'], 'a.txt', { type: 'text/plain', lastModified: 7 }));
      const blob = structuredClone(new Blob(['yo'], { type: 'x/y' }));
      const files = [file instanceof File, file.name, file.type, file.lastModified, file.size, blob instanceof Blob, blob instanceof File, blob.type, blob.size];
      return Response.json({ circular: c.self === c, date: c.m.get(1).d.getTime(), set: [...c.s], err: [c.e instanceof TypeError, c.e.message, c.e.cause], u8: [...c.u8], big: String(c.big),
        fresh: c !== o && c.u8.buffer !== o.u8.buffer, errs, dom: [dom instanceof DOMException, dom.name, dom.code], files });
    } }`);
    assert.equal(json.circular, true);
    assert.equal(json.date, 5);
    assert.deepEqual(json.set, ['x']);
    assert.deepEqual(json.err, [true, 't', 'c']);
    assert.deepEqual(json.u8, [1, 2]);
    assert.equal(json.big, '10');
    assert.equal(json.fresh, true);
    assert.deepEqual(json.errs, ['DataCloneError:true', 'DataCloneError:true', 'DataCloneError:true', 'DataCloneError:true']);
    assert.deepEqual(json.dom, [true, 'DataError', 0]);
    assert.deepEqual(json.files, [true, 'a.txt', 'text/plain', 7, 2, true, false, 'x/y', 2]);
  });

  it('reports exceptions from queueMicrotask and timer callbacks to error listeners, and logs unhandled ones', async () => {
    const { json, logs } = await run(`export default { async fetch() {
      const seen = [];
      const listener = (e) => { seen.push(e.error.message); e.preventDefault(); };
      addEventListener('error', listener);
      queueMicrotask(() => { throw new Error('from microtask') });
      await new Promise((r) => setTimeout(() => { r(); throw new Error('from timer') }, 1));
      await new Promise((r) => setTimeout(r, 1));
      removeEventListener('error', listener);
      queueMicrotask(() => { throw new Error('nobody listens') });
      await null;
      return Response.json({ seen });
    } }`);
    assert.deepEqual(json.seen, ['from microtask', 'from timer']);
    const errors = logs.filter((l) => l.level === 'error').map((l) => l.message);
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.match(errors[0], /^Uncaught Error: nobody listens/);
  });

  it('runs timers as HTML says: string handlers, long timeouts wrap, negative is zero, ids shared', async () => {
    const { json } = await run(`
      globalThis.log = [];
      export default { async fetch() {
        setTimeout("log.push('string')", 1);
        setTimeout(() => log.push('wrapped 2^32'), 2 ** 32);
        setTimeout(() => log.push('negative'), -100);
        const t = setTimeout(() => log.push('cleared'), 0); clearInterval(t);
        let n = 0; const i = setInterval(() => { if (++n === 3) clearInterval(i) }, 0);
        await new Promise((r) => setTimeout(r, 30));
        return Response.json({ log, n });
      } }`);
    assert.deepEqual([...(json.log as string[])].sort(), ['negative', 'string', 'wrapped 2^32']);
    assert.equal(json.n, 3);
  });

  it('crypto: randomness and digests come from the host, errors are the spec DOMExceptions', async () => {
    const { json } = await run(`export default { async fetch() {
      const hex = (b) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');
      const enc = new TextEncoder().encode('abc');
      const out = {};
      out.sha256 = hex(await crypto.subtle.digest('SHA-256', enc));
      out.sha1 = hex(await crypto.subtle.digest({ name: 'sha-1' }, enc));
      out.sha512len = (await crypto.subtle.digest('SHA-512', enc)).byteLength;
      out.notSupported = await crypto.subtle.digest('AES-GCM', enc).catch((e) => e.name + ':' + (e instanceof DOMException));
      out.noName = await crypto.subtle.digest({}, enc).catch((e) => e.name);
      const a = crypto.getRandomValues(new Uint32Array(8)), b = crypto.getRandomValues(new Uint32Array(8));
      out.random = a.some((x, i) => x !== b[i]);
      try { crypto.getRandomValues(new Float32Array(2)) } catch (e) { out.float = e.name }
      try { crypto.getRandomValues(new Uint8Array(65537)) } catch (e) { out.quota = [e.name, e.code, e.quota, e.requested, e instanceof DOMException] }
      out.uuids = [crypto.randomUUID(), crypto.randomUUID()];
      out.perf = [typeof performance.now(), performance.now() >= 0, performance.timeOrigin > 1.6e12, JSON.stringify(performance.toJSON()).includes('timeOrigin')];
      return Response.json(out);
    } }`);
    assert.equal(json.sha256, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(json.sha1, 'a9993e364706816aba3e25717850c26c9cd0d89d');
    assert.equal(json.sha512len, 64);
    assert.equal(json.notSupported, 'NotSupportedError:true');
    assert.equal(json.noName, 'TypeError');
    assert.equal(json.random, true);
    assert.equal(json.float, 'TypeMismatchError');
    assert.deepEqual(json.quota, ['QuotaExceededError', 22, null, null, true]);
    const uuids = json.uuids as string[];
    for (const u of uuids) assert.match(u, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(uuids[0], uuids[1]);
    assert.deepEqual(json.perf, ['number', true, true, true]);
  });

  it('atob/btoa follow forgiving-base64', async () => {
    const { json } = await run(`export default { fetch() {
      const err = (f) => { try { f(); return 'ok' } catch (e) { return e.name } };
      return Response.json({ a: atob(' YW Jj\\n'), b: btoa('\\xff\\x00'), pad: atob('YQ'), bad: err(() => atob('a')), wide: err(() => btoa('€')) });
    } }`);
    assert.deepEqual(json, { a: 'abc', b: '/wA=', pad: 'a', bad: 'InvalidCharacterError', wide: 'InvalidCharacterError' });
  });
});
