/**
 * The Fetch API object model inside a real isolate (undici's classes bundled into the guest, and
 * Spillway's Blob/File/FileReader): what Spillway adds around them. Conformance itself is measured
 * by the WPT runner (fetch/api, FileAPI, xhr/formdata); these tests pin the glue: how request
 * bodies arrive from the host, how each kind of Response body goes back, relative URLs, and the
 * multipart/urlencoded round trips.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { cryptoHostApi } from '../../src/runtime/capabilities/crypto.js';
import { loadGuestCode } from '../../src/runtime/guest-code.js';
import { composeHostApi } from '../../src/runtime/host-api.js';
import { IsolateHost } from '../../src/runtime/isolate-host.js';
import type { HttpRequestPayload } from '../../src/runtime/types.js';
import { bundleSource } from '../helpers/bundle.js';

const limits = { timeoutMs: 5000, cpuLimitMs: 2000 };
const hosts: IsolateHost[] = [];
after(() => hosts.forEach((h) => h.dispose()));

async function host(code: string): Promise<IsolateHost> {
  const { bundle, plainParams } = await bundleSource(code);
  const h = await IsolateHost.create({ bundle, plainParams, memoryLimitMb: 128, guest: await loadGuestCode(), hostApi: composeHostApi(cryptoHostApi) });
  hosts.push(h);
  return h;
}

async function call(h: IsolateHost, request: Partial<HttpRequestPayload> = {}) {
  const handle = h.invoke('http', { method: 'GET', url: 'http://fn.test/', headers: [], body: null, ...request }, limits);
  const out = await handle.outcome;
  if (out.type !== 'response') throw new Error(`expected a response, got ${out.type}: ${out.type === 'error' ? out.error.message : ''}`);
  let body: Buffer;
  if (out.stream) {
    const chunks: Buffer[] = [];
    for await (const c of out.stream) chunks.push(c as Buffer);
    body = Buffer.concat(chunks);
  } else body = typeof out.body === 'string' ? Buffer.from(out.body) : Buffer.from(out.body ?? new Uint8Array());
  await handle.metering;
  return { status: out.status, headers: out.headers, body, streamed: out.stream !== null, rawBody: out.body };
}

describe('Fetch API objects in an isolate', () => {
  it('hands the handler a Request with the host body (bytes or text), method and headers', async () => {
    const h = await host(`export default { async fetch(req) {
      return Response.json({ method: req.method, url: req.url, type: req.headers.get('content-type'), text: await req.text(), used: req.bodyUsed, isRequest: req instanceof Request });
    } }`);
    const bytes = await call(h, { method: 'POST', headers: [['content-type', 'text/plain']], body: new TextEncoder().encode('héllo bytes') });
    assert.deepEqual(JSON.parse(bytes.body.toString()), { method: 'POST', url: 'http://fn.test/', type: 'text/plain', text: 'héllo bytes', used: true, isRequest: true });
    const text = await call(h, { method: 'PUT', body: 'plain string' });
    assert.equal(JSON.parse(text.body.toString()).text, 'plain string');
  });

  it('sends string and byte bodies to the host whole, and stream bodies chunk by chunk', async () => {
    const h = await host(`export default { fetch(req) {
      const kind = new URL(req.url).pathname;
      if (kind === '/text') return new Response('some text', { status: 201, headers: { 'x-kind': 'text' } });
      if (kind === '/bytes') return new Response(new Uint8Array([1, 2, 3]));
      if (kind === '/json') return Response.json({ ok: true });
      if (kind === '/empty') return new Response(null, { status: 204 });
      if (kind === '/blob') return new Response(new Blob(['blob ', 'body'], { type: 'text/x-blob' }));
      return new Response(new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('a')); c.enqueue(new TextEncoder().encode('b')); c.close(); } }));
    } }`);
    const text = await call(h, { url: 'http://fn.test/text' });
    assert.equal(text.status, 201);
    assert.equal(typeof text.rawBody, 'string', 'a string body crosses as text');
    assert.equal(text.body.toString(), 'some text');
    assert.deepEqual(text.headers.find(([k]) => k === 'content-type'), ['content-type', 'text/plain;charset=UTF-8']);
    assert.deepEqual(text.headers.find(([k]) => k === 'x-kind'), ['x-kind', 'text']);
    const bytes = await call(h, { url: 'http://fn.test/bytes' });
    assert.ok(bytes.rawBody instanceof Uint8Array && !bytes.streamed);
    assert.deepEqual([...bytes.body], [1, 2, 3]);
    const json = await call(h, { url: 'http://fn.test/json' });
    assert.equal(json.body.toString(), '{"ok":true}');
    assert.deepEqual(json.headers.find(([k]) => k === 'content-type'), ['content-type', 'application/json']);
    const empty = await call(h, { url: 'http://fn.test/empty' });
    assert.equal(empty.status, 204);
    assert.equal(empty.rawBody, null);
    const blob = await call(h, { url: 'http://fn.test/blob' });
    assert.equal(blob.body.toString(), 'blob body');
    assert.deepEqual(blob.headers.find(([k]) => k === 'content-type'), ['content-type', 'text/x-blob']);
    const stream = await call(h, { url: 'http://fn.test/stream' });
    assert.ok(stream.streamed);
    assert.equal(stream.body.toString(), 'ab');
  });

  it('refuses to send a Response whose body the handler already read', async () => {
    const h = await host(`export default { async fetch() { const r = new Response('once'); await r.text(); return r } }`);
    const handle = h.invoke('http', { method: 'GET', url: 'http://fn.test/', headers: [], body: null }, limits);
    const out = await handle.outcome;
    assert.equal(out.type, 'error');
    assert.equal(out.type === 'error' && out.error.code, 'BAD_RESPONSE');
    assert.match(out.type === 'error' ? out.error.message : '', /body was already read/);
  });

  it('resolves relative URLs against location when the global has one, and throws a TypeError without it', async () => {
    const h = await host(`export default { fetch() {
      let without;
      try { new Request('relative/path') } catch (e) { without = e.name + ': ' + e.message }
      globalThis.location = { href: 'https://base.example/dir/page' };
      const resolved = new Request('relative/path?q=1').url;
      const redirect = Response.redirect('/elsewhere').headers.get('location');
      delete globalThis.location;
      return Response.json({ without, resolved, redirect });
    } }`);
    const json = JSON.parse((await call(h)).body.toString());
    assert.equal(json.without, 'TypeError: Failed to parse URL from relative/path');
    assert.equal(json.resolved, 'https://base.example/dir/relative/path?q=1');
    assert.equal(json.redirect, 'https://base.example/elsewhere');
  });

  it('round-trips FormData through multipart and urlencoded bodies, with Files', async () => {
    const h = await host(`export default { async fetch() {
      const fd = new FormData();
      fd.append('name', 'ada');
      fd.append('file', new File(['file ', 'bytes'], 'a.txt', { type: 'text/plain' }));
      const multipart = new Request('https://x.test/', { method: 'POST', body: fd });
      const type = multipart.headers.get('content-type');
      const parsed = await multipart.formData();
      const file = parsed.get('file');
      const urlencoded = await new Response('a=1&b=two+words', { headers: { 'content-type': 'application/x-www-form-urlencoded' } }).formData();
      return Response.json({
        multipart: type.startsWith('multipart/form-data; boundary='),
        name: parsed.get('name'),
        fileName: file.name, fileType: file.type, fileText: await file.text(), isFile: file instanceof File,
        urlencoded: [...urlencoded],
      });
    } }`);
    const json = JSON.parse((await call(h)).body.toString());
    assert.deepEqual(json, { multipart: true, name: 'ada', fileName: 'a.txt', fileType: 'text/plain', fileText: 'file bytes', isFile: true, urlencoded: [['a', '1'], ['b', 'two words']] });
  });

  it('Blob, File and FileReader follow the File API', async () => {
    const h = await host(`export default { async fetch() {
      const blob = new Blob(['héllo', new Uint8Array([33])], { type: 'Text/Plain' });
      const slice = blob.slice(1, -1, 'x/y');
      const reader = new FileReader();
      const dataUrl = await new Promise((resolve) => { reader.onload = () => resolve(reader.result); reader.readAsDataURL(new Blob(['hi'], { type: 'text/plain' })) });
      const sync = new FileReaderSync().readAsText(blob);
      const chunks = [];
      for await (const c of blob.stream()) chunks.push(c.byteLength);
      return Response.json({ size: blob.size, type: blob.type, slice: await slice.text(), sliceType: slice.type, bytes: [...await blob.bytes()].length,
        file: new File(['x'], 'f.bin', { lastModified: 42 }).lastModified, dataUrl, sync, chunks, tag: Object.prototype.toString.call(blob) });
    } }`);
    const json = JSON.parse((await call(h)).body.toString());
    assert.deepEqual(json, { size: 7, type: 'text/plain', slice: 'éllo', sliceType: 'x/y', bytes: 7, file: 42, dataUrl: 'data:text/plain;base64,aGk=', sync: 'héllo!', chunks: [7], tag: '[object Blob]' });
  });

  it('keeps Node out of the isolate: no Buffer or process globals leak from the bundled undici', async () => {
    const h = await host(`export default { fetch() { return Response.json({ buffer: typeof Buffer, process: typeof process, require: typeof globalThis.require }) } }`);
    assert.deepEqual(JSON.parse((await call(h)).body.toString()), { buffer: 'undefined', process: 'undefined', require: 'undefined' });
  });

  it('installs the Fetch API globals as data properties once a request was made (undici loads on first use)', async () => {
    const h = await host(`export default { fetch() {
      return Response.json(['Headers', 'Request', 'Response', 'FormData', 'Blob', 'File', 'fetch'].map((n) => { const d = Object.getOwnPropertyDescriptor(globalThis, n); return [n, 'value' in d, d.writable, d.enumerable, d.configurable, d.value.name] }));
    } }`);
    for (const [name, isData, writable, enumerable, configurable, fnName] of JSON.parse((await call(h)).body.toString()) as Array<[string, boolean, boolean, boolean, boolean, string]>) {
      assert.deepEqual([isData, writable, enumerable, configurable, fnName], [true, true, false, true, name], name);
    }
  });
});
