/**
 * The key-value binding end to end, through the real platform: functions deployed over HTTP use
 * `Platform.db` (seed 000) and `env.KV` (Cloudflare's KVNamespace API); the management API reads
 * and writes the same entries. Covers value forms, listing, durability across a restart on the
 * same data, isolation between functions (also against calls that skip the bindings), limits and
 * their errors, expiry on an injected clock, deletion with the function, and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { ManualClock } from '../../src/core/clock.js';
import { KV_LIMITS } from '../../src/runtime/capabilities/kv.js';
import { api, deploy } from '../helpers/platform.js';
import { callJson, POSTGRES_URL, startOn, type RunningPlatform } from './bindings-platform.js';

/**
 * A function that runs the KV operations its query string lists (`?<JSON list, URL-encoded>`), each through
 * `Platform.db` or `env.KV`, and reports each result or error. Values that JSON cannot carry are
 * tagged: `{ $bytes: [..] }` ↔ Uint8Array, `{ $zeros: n }` → n zero bytes, `{ $repeat: [text, n] }`
 * → a string, `{ $stream: [[text, n], …] }` → a ReadableStream of those chunks (big values are made
 * inside the isolate); results come back as `{ $bytes }`, `{ $arrayBuffer }`, `{ $stream: text }`.
 */
const KV_DRIVER = `
function arg(v) {
  if (v && typeof v === 'object' && '$bytes' in v) return new Uint8Array(v.$bytes);
  if (v && typeof v === 'object' && '$repeat' in v) return v.$repeat[0].repeat(v.$repeat[1]);
  if (v && typeof v === 'object' && '$zeros' in v) return new Uint8Array(v.$zeros);
  if (v && typeof v === 'object' && '$stream' in v) {
    const chunks = v.$stream.map(([text, n]) => text.repeat(n));
    return new ReadableStream({ pull(c) { const next = chunks.shift(); if (next === undefined) c.close(); else c.enqueue(new TextEncoder().encode(next)); } });
  }
  return v;
}
async function result(v) {
  if (v instanceof Uint8Array) return { $bytes: [...v] };
  if (v instanceof ArrayBuffer) return { $arrayBuffer: [...new Uint8Array(v)] };
  if (v && typeof v.getReader === 'function') return { $stream: await new Response(v).text() };
  if (v && typeof v === 'object' && 'value' in v && 'metadata' in v) return { ...v, value: await result(v.value) };
  return v === undefined ? { $undefined: true } : v;
}
export default {
  async fetch(request, env) {
    const ops = JSON.parse(decodeURIComponent(request.url.split('?')[1]));
    const out = [];
    for (const [form, method, ...args] of ops) {
      const target = form === 'env' ? env.KV : Platform.db;
      try {
        out.push({ ok: await result(await target[method](...args.map(arg))) });
      } catch (e) {
        out.push({ error: e.name, message: e.message, isTypeError: e instanceof TypeError, isRangeError: e instanceof RangeError });
      }
    }
    return Response.json(out);
  },
};`;

type Op = [form: 'env' | 'platform', method: string, ...args: unknown[]];
interface OpResult {
  ok?: any;
  error?: string;
  message?: string;
  isTypeError?: boolean;
  isRangeError?: boolean;
}

async function run(base: string, fn: string, ...ops: Op[]): Promise<OpResult[]> {
  return callJson<OpResult[]>(base, fn, `/?${encodeURIComponent(JSON.stringify(ops))}`);
}

/** The results of ops that must all succeed. */
async function ok(base: string, fn: string, ...ops: Op[]): Promise<any[]> {
  const results = await run(base, fn, ...ops);
  results.forEach((r, i) => assert.ok(!('error' in r), `op ${JSON.stringify(ops[i])} failed: ${r.error}: ${r.message}`));
  return results.map((r) => r.ok);
}

const dirs: string[] = [];
async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'spillway-kv-'));
  dirs.push(dir);
  return dir;
}
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('key-value binding, through the platform', () => {
  let p: RunningPlatform;
  before(async () => {
    p = await startOn(await dataDir());
    await deploy(p.base, 'kv-a', KV_DRIVER);
    await deploy(p.base, 'kv-b', KV_DRIVER);
  });
  after(async () => {
    await p.stop();
    assert.deepEqual(p.errors, []);
  });

  it("runs seed 000's handler: Platform.db.get imported from '@ltbase/sdk', in a handler(req, ctx)", async () => {
    await deploy(
      p.base,
      'seed-000',
      `import { Platform } from '@ltbase/sdk';
       export default async function handler(req, ctx) {
         const userId = /[?&]user=(\\d+)/.exec(req.url)[1];
         const user = await Platform.db.get(\`user:\${userId}\`);
         ctx.waitUntil(Platform.analytics.track("view", { userId: user.id }));
         return new Response(JSON.stringify(user), { headers: { 'content-type': 'application/json' } });
       }`,
    );
    const put = await api(p.base, 'PUT', '/api/functions/seed-000/kv/user:7', { value: { id: 7, name: 'Ada' } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.deepEqual(await callJson(p.base, 'seed-000', '/?user=7'), { id: 7, name: 'Ada' });
    // The global exists before the module runs, so module code can take it.
    await deploy(p.base, 'kv-module-scope', `const { db } = Platform; export default { async fetch() { return Response.json(await db.get('k')); } };`);
    await api(p.base, 'PUT', '/api/functions/kv-module-scope/kv/k', { value: [1, 2] });
    assert.deepEqual(await callJson(p.base, 'kv-module-scope'), [1, 2]);
  });

  it('gives Platform.db values back in the form they were put', async () => {
    const [, , , , text, json, bytes, missing] = await ok(
      p.base,
      'kv-a',
      ['platform', 'put', 'form:text', 'héllo ✓ 🚀'],
      ['platform', 'put', 'form:json', { id: 1, tags: ['a'], nested: { n: null } }],
      ['platform', 'put', 'form:bytes', { $bytes: [0, 1, 254, 255] }],
      ['platform', 'put', 'form:number', 42],
      ['platform', 'get', 'form:text'],
      ['platform', 'get', 'form:json'],
      ['platform', 'get', 'form:bytes'],
      ['platform', 'get', 'form:nothing'],
    );
    assert.equal(text, 'héllo ✓ 🚀');
    assert.deepEqual(json, { id: 1, tags: ['a'], nested: { n: null } });
    assert.deepEqual(bytes, { $bytes: [0, 1, 254, 255] });
    assert.equal(missing, null);
    const [forced, asText, n] = await ok(p.base, 'kv-a', ['platform', 'get', 'form:json', 'text'], ['platform', 'get', 'form:bytes', { type: 'arrayBuffer' }], ['platform', 'get', 'form:number']);
    assert.equal(forced, '{"id":1,"tags":["a"],"nested":{"n":null}}');
    assert.deepEqual(asText, { $arrayBuffer: [0, 1, 254, 255] });
    assert.equal(n, 42);
  });

  it("follows Cloudflare KV's API on env.KV: get types, metadata, streams, void results", async () => {
    const results = await ok(
      p.base,
      'kv-a',
      ['env', 'put', 'cf:text', '{"a":1}', { metadata: { owner: 'ada', n: 2 } }],
      ['env', 'put', 'cf:bytes', { $bytes: [104, 105] }],
      ['env', 'put', 'cf:stream', { $stream: [['str', 1], ['eam', 1], ['ed', 1]] }],
      ['env', 'get', 'cf:text'],
      ['env', 'get', 'cf:text', 'json'],
      ['env', 'get', 'cf:text', { type: 'arrayBuffer' }],
      ['env', 'get', 'cf:text', 'stream'],
      ['env', 'get', 'cf:bytes'],
      ['env', 'get', 'cf:stream'],
      ['env', 'getWithMetadata', 'cf:text', 'json'],
      ['env', 'getWithMetadata', 'cf:bytes'],
      ['env', 'getWithMetadata', 'cf:none'],
      ['env', 'get', 'cf:none'],
      ['env', 'delete', 'cf:bytes'],
      ['env', 'get', 'cf:bytes'],
    );
    assert.deepEqual(results.slice(0, 3), [{ $undefined: true }, { $undefined: true }, { $undefined: true }]);
    assert.equal(results[3], '{"a":1}');
    assert.deepEqual(results[4], { a: 1 });
    assert.deepEqual(results[5], { $arrayBuffer: [...Buffer.from('{"a":1}')] });
    assert.deepEqual(results[6], { $stream: '{"a":1}' });
    assert.equal(results[7], 'hi');
    assert.equal(results[8], 'streamed');
    assert.deepEqual(results[9], { value: { a: 1 }, metadata: { owner: 'ada', n: 2 }, cacheStatus: null });
    assert.deepEqual(results[10], { value: 'hi', metadata: null, cacheStatus: null });
    assert.deepEqual(results[11], { value: null, metadata: null, cacheStatus: null });
    assert.equal(results[12], null);
    assert.deepEqual(results[13], { $undefined: true });
    assert.equal(results[14], null);
    // Platform.db.delete says whether the key existed.
    assert.deepEqual(await ok(p.base, 'kv-a', ['platform', 'delete', 'cf:text'], ['platform', 'delete', 'cf:text']), [true, false]);
  });

  it('lists keys by prefix in byte order, page by page with a cursor', async () => {
    const keys = Array.from({ length: 23 }, (_, i) => `page:${String(i).padStart(2, '0')}`);
    await ok(p.base, 'kv-b', ...keys.map((k): Op => ['env', 'put', k, k, k === 'page:03' ? { metadata: { third: true } } : undefined]), ['env', 'put', 'pagf', 'x'], ['env', 'put', 'pag', 'x']);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    for (;;) {
      const [listing] = await ok(p.base, 'kv-b', ['env', 'list', { prefix: 'page:', limit: 10, cursor }]);
      pages++;
      seen.push(...listing.keys.map((k: { name: string }) => k.name));
      assert.equal(listing.cacheStatus, null);
      if (listing.list_complete) {
        assert.equal('cursor' in listing, false);
        break;
      }
      assert.equal(typeof listing.cursor, 'string');
      cursor = listing.cursor;
    }
    assert.equal(pages, 3);
    assert.deepEqual(seen, keys);
    const [first] = await ok(p.base, 'kv-b', ['platform', 'list', { prefix: 'page:0', limit: 4 }]);
    assert.deepEqual(first.keys, [{ name: 'page:00' }, { name: 'page:01' }, { name: 'page:02' }, { name: 'page:03', metadata: { third: true } }]);
    assert.equal(first.list_complete, false);

    const listed = await api(p.base, 'GET', `/api/functions/kv-b/kv?prefix=${encodeURIComponent('page:2')}`);
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.data.keys.map((k: { key: string }) => k.key), ['page:20', 'page:21', 'page:22']);
    assert.deepEqual(listed.body.data.keys[0], { key: 'page:20', type: 'text', size: 7, metadata: null, expiresAt: null, updatedAt: listed.body.data.keys[0].updatedAt });
    assert.equal(listed.body.data.listComplete, true);
    assert.equal(listed.body.data.cursor, null);
  });

  it('keeps each function to its own keys, even for host calls that bypass the bindings', async () => {
    await ok(p.base, 'kv-a', ['platform', 'put', 'mine', 'a-secret']);
    await ok(p.base, 'kv-b', ['platform', 'put', 'mine', 'b-value']);
    assert.deepEqual(await ok(p.base, 'kv-a', ['env', 'get', 'mine']), ['a-secret']);
    assert.deepEqual(await ok(p.base, 'kv-b', ['env', 'get', 'mine']), ['b-value']);
    const [aKeys] = await ok(p.base, 'kv-a', ['env', 'list', { prefix: 'page:' }]);
    assert.deepEqual(aKeys.keys, [], "kv-b's keys must not be listed for kv-a");

    // The bridge is reachable from user code; naming another function in the arguments changes nothing.
    const a = (await api(p.base, 'GET', '/api/functions/kv-a')).body.data;
    await deploy(
      p.base,
      'kv-snoop',
      `export default { async fetch() {
         const got = await __spw.hostCall('kv.get', { key: 'mine', functionId: ${JSON.stringify(a.id)} });
         const listed = await __spw.hostCall('kv.list', { functionId: ${JSON.stringify(a.id)} });
         await __spw.hostCall('kv.put', { key: 'mine', value: 'overwritten?', type: 'text', functionId: ${JSON.stringify(a.id)} });
         return Response.json({ got, listed });
       } };`,
    );
    assert.deepEqual(await callJson(p.base, 'kv-snoop'), { got: null, listed: { keys: [], complete: true, cursor: null } });
    assert.deepEqual(await ok(p.base, 'kv-a', ['env', 'get', 'mine']), ['a-secret']);
    assert.equal((await api(p.base, 'GET', '/api/functions/kv-snoop/kv/mine')).body.data.value, 'overwritten?');
  });

  it('refuses what is over the limits or malformed, with errors that say what and how much', async () => {
    const tooLongKey = 'k'.repeat(KV_LIMITS.maxKeyBytes + 1);
    const results = await run(
      p.base,
      'kv-a',
      ['env', 'put', tooLongKey, 'v'],
      ['platform', 'get', '€'.repeat(171)],
      ['env', 'put', '', 'v'],
      ['env', 'get', 42],
      ['env', 'put', 'big', { $zeros: KV_LIMITS.maxValueBytes + 1 }],
      ['platform', 'put', 'big', { $repeat: ['é', KV_LIMITS.maxValueBytes / 2 + 1] }],
      ['env', 'put', 'big', { $stream: [['x', 600_000], ['y', 600_000]] }],
      ['env', 'put', 'meta', 'v', { metadata: { blob: 'm'.repeat(KV_LIMITS.maxMetadataBytes) } }],
      ['env', 'put', 'obj', { not: 'a string' }],
      ['env', 'put', 'ttl', 'v', { expirationTtl: 10 }],
      ['env', 'put', 'ttl', 'v', { expiration: 1 }],
      ['env', 'put', 'ttl', 'v', { expirationTtl: 120, expiration: 4_000_000_000 }],
      ['env', 'list', { limit: KV_LIMITS.maxListLimit + 1 }],
      ['env', 'list', { cursor: 'not a cursor!' }],
      ['env', 'get', 'k', 'yaml'],
      ['env', 'put', 'lone\ud800', 'v'],
      ['platform', 'put', 'small', { $repeat: ['x', 1] }],
      ['env', 'put', 'exact', { $zeros: KV_LIMITS.maxValueBytes }],
      ['env', 'put', 'k'.repeat(KV_LIMITS.maxKeyBytes), 'longest key'],
    );
    const expect = (i: number, kind: 'TypeError' | 'RangeError', pattern: RegExp) => {
      const r = results[i]!;
      assert.equal(r.error, kind, `op ${i}: ${JSON.stringify(r)}`);
      assert.equal(kind === 'TypeError' ? r.isTypeError : r.isRangeError, true, `op ${i} must be a real ${kind}`);
      assert.match(r.message ?? '', pattern, `op ${i}`);
    };
    expect(0, 'TypeError', /^env\.KV\.put: key: got 513 bytes, must be at most 512 bytes \(UTF-8\)$/);
    expect(1, 'TypeError', /^Platform\.db\.get: key: got 513 bytes, must be at most 512/);
    expect(2, 'TypeError', /key must not be empty/);
    expect(3, 'TypeError', /key must be a string, got number/);
    expect(4, 'RangeError', /^env\.KV\.put: value: got 1048577 bytes, must be at most 1048576 bytes \(1 MiB\)$/);
    expect(5, 'RangeError', /^Platform\.db\.put: value: got 1048578 bytes, must be at most 1048576/);
    expect(6, 'RangeError', /value: more than 1048576 bytes/);
    expect(7, 'RangeError', /metadata: got \d+ bytes of JSON, must be at most 1024 bytes/);
    expect(8, 'TypeError', /value must be a string, an ArrayBuffer, an ArrayBufferView or a ReadableStream, got object/);
    expect(9, 'TypeError', /expirationTtl: got 10, must be a whole number of seconds, at least 60/);
    expect(10, 'TypeError', /expiration: got 1, must be a whole number of seconds since the epoch, at least 60 s from now/);
    expect(11, 'TypeError', /not both/);
    expect(12, 'TypeError', /limit: got 1001, must be a whole number between 1 and 1000/);
    expect(13, 'TypeError', /cursor: got "not a cursor!", must be a cursor returned by a previous list\(\)/);
    expect(14, 'TypeError', /type must be "text", "json", "arrayBuffer", "stream" or "bytes", got "yaml"/);
    expect(15, 'TypeError', /lone UTF-16 surrogate/);
    assert.deepEqual(results.slice(16).map((r) => r.error), [undefined, undefined, undefined], 'values and keys exactly at the limits are accepted');
    // Nothing refused was stored.
    const keys = (await api(p.base, 'GET', '/api/functions/kv-a/kv?prefix=big')).body.data.keys;
    assert.deepEqual(keys, []);
    const exact = (await api(p.base, 'GET', '/api/functions/kv-a/kv?prefix=exact')).body.data.keys;
    assert.equal(exact[0].size, KV_LIMITS.maxValueBytes);
  });

  it('refuses the same limits when the bindings are bypassed and the host is called directly', async () => {
    await deploy(
      p.base,
      'kv-raw',
      `export default { async fetch() {
         const tries = {
           longKey: ['kv.put', { key: 'k'.repeat(513), value: 'v', type: 'text' }],
           bigValue: ['kv.put', { key: 'big', value: new Uint8Array(1048577), type: 'bytes' }],
           badType: ['kv.put', { key: 'k', value: 'v', type: 'yaml' }],
           badJson: ['kv.put', { key: 'k', value: '{nope', type: 'json' }],
           notBytes: ['kv.put', { key: 'k', value: 'text', type: 'bytes' }],
           nul: ['kv.get', { key: 'a\\u0000b' }],
           noKey: ['kv.delete', {}],
         };
         const out = {};
         for (const [name, [method, args]] of Object.entries(tries)) {
           try { await __spw.hostCall(method, args); out[name] = 'accepted'; } catch (e) { out[name] = e.name + ': ' + e.message; }
         }
         return Response.json(out);
       } };`,
    );
    const { badJson, ...out } = await callJson(p.base, 'kv-raw');
    assert.match(badJson, /^TypeError: value: not valid JSON for type "json" \(/);
    assert.deepEqual(out, {
      longKey: 'TypeError: key: got 513 bytes, must be at most 512 bytes (UTF-8)',
      bigValue: 'RangeError: value: got 1048577 bytes, must be at most 1048576 bytes (1 MiB)',
      badType: 'TypeError: type: got "yaml", must be "text", "json" or "bytes"',
      notBytes: 'TypeError: value: got "text", must be bytes for type "bytes"',
      nul: 'TypeError: key: must not contain the character U+0000',
      noKey: 'TypeError: key: got nothing, must be a string',
    });
  });

  it('reads and writes the same entries through the management API, keys with slashes and unicode included', async () => {
    const key = 'dir/sub dir/ünï?#%';
    const path = `/api/functions/kv-a/kv/${encodeURIComponent(key).replace(/%2F/g, '/')}`;
    let r = await api(p.base, 'PUT', path, { value: 'from the API', metadata: { by: 'api' }, expirationTtl: 3600 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.data.key, key);
    assert.equal(r.body.data.value, 'from the API');
    assert.ok(Date.parse(r.body.data.expiresAt) > Date.now() + 3_500_000);
    assert.deepEqual(await ok(p.base, 'kv-a', ['env', 'getWithMetadata', key]), [{ value: 'from the API', metadata: { by: 'api' }, cacheStatus: null }]);

    await ok(p.base, 'kv-a', ['env', 'put', 'from-fn/bytes', { $bytes: [0, 200, 7] }], ['platform', 'put', 'from-fn/json', { deep: [1, { x: 'y' }] }]);
    r = await api(p.base, 'GET', '/api/functions/kv-a/kv/from-fn/bytes');
    assert.deepEqual(r.body, { success: true, data: { key: 'from-fn/bytes', type: 'bytes', size: 3, metadata: null, expiresAt: null, updatedAt: r.body.data.updatedAt, value: Buffer.from([0, 200, 7]).toString('base64') } });
    r = await api(p.base, 'GET', '/api/functions/kv-a/kv/from-fn%2Fjson');
    assert.deepEqual(r.body.data.value, { deep: [1, { x: 'y' }] });
    assert.equal(r.body.data.type, 'json');

    r = await api(p.base, 'PUT', '/api/functions/kv-a/kv/api-bytes', { value: Buffer.from([9, 8, 7]).toString('base64'), type: 'bytes' });
    assert.equal(r.status, 200);
    assert.deepEqual(await ok(p.base, 'kv-a', ['platform', 'get', 'api-bytes']), [{ $bytes: [9, 8, 7] }]);
    r = await api(p.base, 'PUT', '/api/functions/kv-a/kv/api-json', { value: [1, 'two'] });
    assert.deepEqual(await ok(p.base, 'kv-a', ['platform', 'get', 'api-json']), [[1, 'two']]);

    r = await api(p.base, 'DELETE', '/api/functions/kv-a/kv/api-json');
    assert.deepEqual(r.body, { success: true, data: { key: 'api-json', deleted: true } });
    r = await api(p.base, 'DELETE', '/api/functions/kv-a/kv/api-json');
    assert.deepEqual(r.body.data, { key: 'api-json', deleted: false });
    r = await api(p.base, 'GET', '/api/functions/kv-a/kv/api-json');
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, 'KV_KEY_NOT_FOUND');
    assert.match(r.body.error.message, /no key-value entry under "api-json"/);
  });

  it('answers API misuse with the documented codes', async () => {
    const cases: Array<[string, string, unknown, number, string, RegExp]> = [
      ['PUT', `/api/functions/kv-a/kv/${'k'.repeat(513)}`, { value: 'v' }, 400, 'VALIDATION_FAILED', /key: got 513 bytes, must be at most 512/],
      ['PUT', '/api/functions/kv-a/kv/', { value: 'v' }, 400, 'VALIDATION_FAILED', /key: must not be empty/],
      ['PUT', '/api/functions/kv-a/kv/big', { value: 'x'.repeat(KV_LIMITS.maxValueBytes + 1) }, 413, 'KV_VALUE_TOO_LARGE', /value: got 1048577 bytes, must be at most 1048576/],
      ['PUT', '/api/functions/kv-a/kv/k', { value: 'v', metadata: 'm'.repeat(1100) }, 413, 'KV_VALUE_TOO_LARGE', /metadata: got 1102 bytes of JSON/],
      ['PUT', '/api/functions/kv-a/kv/k', { value: 'not base64!', type: 'bytes' }, 400, 'VALIDATION_FAILED', /base64/],
      ['PUT', '/api/functions/kv-a/kv/k', { value: 5, type: 'text' }, 400, 'VALIDATION_FAILED', /must be a string when type is "text"/],
      ['PUT', '/api/functions/kv-a/kv/k', { valu: 'typo' }, 400, 'VALIDATION_FAILED', /unknown field\(s\) "valu"/],
      ['PUT', '/api/functions/kv-a/kv/k', { value: 'v', expirationTtl: 1 }, 400, 'VALIDATION_FAILED', /expirationTtl: got 1, must be a whole number of seconds, at least 60/],
      ['GET', '/api/functions/kv-a/kv?limit=0', undefined, 400, 'VALIDATION_FAILED', /limit: got 0, must be a whole number between 1 and 1000/],
      ['GET', '/api/functions/kv-a/kv?cursor=%3F%3F', undefined, 400, 'VALIDATION_FAILED', /cursor/],
      ['GET', '/api/functions/kv-a/kv?colour=red', undefined, 400, 'VALIDATION_FAILED', /unknown field\(s\) "colour"/],
      ['GET', '/api/functions/no-such-fn/kv', undefined, 404, 'FUNCTION_NOT_FOUND', /no-such-fn/],
      ['PUT', '/api/functions/no-such-fn/kv/k', { value: 'v' }, 404, 'FUNCTION_NOT_FOUND', /no-such-fn/],
    ];
    for (const [method, path, body, status, code, message] of cases) {
      const r = await api(p.base, method, path, body);
      assert.equal(r.status, status, `${method} ${path.slice(0, 60)}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.success, false);
      assert.equal(r.body.error.code, code, `${method} ${path.slice(0, 60)}`);
      assert.match(r.body.error.message, message, `${method} ${path.slice(0, 60)}`);
    }
  });

  it("deletes a function's entries with it; a new function of the same name starts empty", async () => {
    await deploy(p.base, 'kv-doomed', KV_DRIVER);
    await ok(p.base, 'kv-doomed', ['platform', 'put', 'left-behind?', 'v'], ['env', 'put', 'also', 'v']);
    const doomed = (await api(p.base, 'GET', '/api/functions/kv-doomed')).body.data;
    assert.equal((await api(p.base, 'DELETE', '/api/functions/kv-doomed')).status, 200);
    assert.deepEqual((await p.platform.store.kvList({ functionId: doomed.id, limit: 10, nowMs: 0 })).keys, []);
    await deploy(p.base, 'kv-doomed', KV_DRIVER);
    assert.deepEqual(await ok(p.base, 'kv-doomed', ['platform', 'get', 'left-behind?'], ['env', 'list']), [null, { keys: [], list_complete: true, cacheStatus: null }]);
  });
});

describe('key-value durability', () => {
  it('keeps entries across a platform restart on the same data folder', async () => {
    const dir = await dataDir();
    const first = await startOn(dir);
    try {
      await deploy(first.base, 'kv-durable', KV_DRIVER);
      await ok(first.base, 'kv-durable', ['platform', 'put', 'survives', { restarts: 1 }], ['env', 'put', 'bytes', { $bytes: [1, 2, 3] }, { metadata: { m: true } }]);
    } finally {
      await first.stop();
    }
    const second = await startOn(dir);
    try {
      assert.deepEqual(await ok(second.base, 'kv-durable', ['platform', 'get', 'survives'], ['env', 'getWithMetadata', 'bytes', 'arrayBuffer']), [
        { restarts: 1 },
        { value: { $arrayBuffer: [1, 2, 3] }, metadata: { m: true }, cacheStatus: null },
      ]);
      assert.equal((await api(second.base, 'GET', '/api/functions/kv-durable/kv/survives')).body.data.value.restarts, 1);
    } finally {
      await second.stop();
    }
  });
});

describe('key-value expiry, on an injected clock', () => {
  it('hides an entry once its time to live has passed and purges it in the background', async () => {
    const clock = new ManualClock(Date.now());
    const p = await startOn(await dataDir(), {}, clock);
    try {
      await deploy(p.base, 'kv-ttl', KV_DRIVER);
      const nowS = Math.floor(clock.now() / 1000);
      const [, , listed] = await ok(
        p.base,
        'kv-ttl',
        ['env', 'put', 'short', 'v', { expirationTtl: 60 }],
        ['env', 'put', 'absolute', 'v', { expiration: nowS + 120 }],
        ['env', 'list'],
        ['env', 'put', 'forever', 'v'],
      );
      assert.deepEqual(listed.keys, [
        { name: 'absolute', expiration: nowS + 120 },
        { name: 'short', expiration: Math.floor((clock.now() + 60_000) / 1000) },
      ]);
      clock.advance(60_000);
      assert.deepEqual(await ok(p.base, 'kv-ttl', ['env', 'get', 'short'], ['env', 'get', 'absolute']), [null, 'v']);
      assert.equal((await api(p.base, 'GET', '/api/functions/kv-ttl/kv/short')).status, 404);
      clock.advance(60_000);
      const [all] = await ok(p.base, 'kv-ttl', ['env', 'list']);
      assert.deepEqual(all.keys, [{ name: 'forever' }]);
      // The minute's purge has fired; the rows are gone from the table, not only hidden.
      await p.platform.kv.close();
      const fn = (await api(p.base, 'GET', '/api/functions/kv-ttl')).body.data;
      const rows = await p.platform.store.kvList({ functionId: fn.id, limit: 10, nowMs: 0 });
      assert.deepEqual(rows.keys.map((k) => k.key), ['forever']);
    } finally {
      await p.stop();
    }
  });
});

describe('key-value binding on PostgreSQL', () => {
  const schema = `spw_kv_${randomBytes(5).toString('hex')}`;
  after(async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });

  it('stores, isolates, lists and keeps entries across a restart', async () => {
    const dir = await dataDir();
    const settings = { SPILLWAY_STORE: 'postgres', SPILLWAY_POSTGRES_URL: POSTGRES_URL, SPILLWAY_POSTGRES_SCHEMA: schema };
    const first = await startOn(dir, settings);
    try {
      await deploy(first.base, 'pg-a', KV_DRIVER);
      await deploy(first.base, 'pg-b', KV_DRIVER);
      await ok(first.base, 'pg-a', ['platform', 'put', 'é/1', { on: 'postgres' }], ['env', 'put', 'é/2', { $bytes: [0, 0, 1] }], ['env', 'put', 'z', 'last']);
      await ok(first.base, 'pg-b', ['platform', 'put', 'é/1', 'b']);
      const [listing] = await ok(first.base, 'pg-a', ['env', 'list', { prefix: 'é/', limit: 1 }]);
      assert.deepEqual(listing.keys, [{ name: 'é/1' }]);
      assert.equal(listing.list_complete, false);
      const [next] = await ok(first.base, 'pg-a', ['env', 'list', { prefix: 'é/', cursor: listing.cursor }]);
      assert.deepEqual(next.keys, [{ name: 'é/2' }]);
    } finally {
      await first.stop();
    }
    const second = await startOn(dir, settings);
    try {
      assert.deepEqual(await ok(second.base, 'pg-a', ['platform', 'get', 'é/1'], ['platform', 'get', 'é/2']), [{ on: 'postgres' }, { $bytes: [0, 0, 1] }]);
      assert.deepEqual(await ok(second.base, 'pg-b', ['platform', 'get', 'é/1'], ['env', 'get', 'z']), ['b', null]);
    } finally {
      await second.stop();
    }
  });
});
