/**
 * The analytics binding end to end, through the real platform: functions deployed over HTTP track
 * events with `Platform.analytics.track` (seed 000, inside ctx.waitUntil) and `env.ANALYTICS`
 * (`track`, and Workers Analytics Engine's `writeDataPoint`); `GET /api/functions/:id/analytics`
 * reads them back. Covers filters, isolation between functions, limits (also against calls that
 * skip the bindings), durability across a restart, and deletion with the function.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ANALYTICS_LIMITS } from '../../src/runtime/capabilities/analytics.js';
import { api, deploy } from '../helpers/platform.js';
import { callJson, nextInvocationRecord, startOn, type RunningPlatform } from './bindings-platform.js';

/**
 * Tracks what its query string says (`?<JSON list, URL-encoded>` of `[form, name, properties]`), form `platform`,
 * `env` or `point`; properties `{ $blob: n }` become `{ blob: "xxx…" }` (n characters) inside the isolate.
 */
const TRACKER = `
export default {
  async fetch(request, env, ctx) {
    const events = JSON.parse(decodeURIComponent(request.url.split('?')[1]));
    const out = [];
    for (const [form, name, given] of events) {
      const props = given && given.$blob ? { blob: 'x'.repeat(given.$blob) } : given;
      try {
        if (form === 'platform') await Platform.analytics.track(name, props);
        else if (form === 'env') await env.ANALYTICS.track(name, props);
        else env.ANALYTICS.writeDataPoint(props);
        out.push('ok');
      } catch (e) {
        out.push(e.name + ': ' + e.message);
      }
    }
    return Response.json(out);
  },
};`;

type Tracked = [form: 'platform' | 'env' | 'point', name: string | null, properties?: unknown];

function track(base: string, fn: string, ...events: Tracked[]): Promise<string[]> {
  return callJson<string[]>(base, fn, `/?${encodeURIComponent(JSON.stringify(events))}`);
}

async function events(base: string, fn: string, query = ''): Promise<Array<{ id: string; functionId: string; name: string; properties: Record<string, unknown>; createdAt: string }>> {
  const r = await api(base, 'GET', `/api/functions/${fn}/analytics${query}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.success, true);
  return r.body.data;
}

const dirs: string[] = [];
async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'spillway-analytics-'));
  dirs.push(dir);
  return dir;
}
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('analytics binding, through the platform', () => {
  let p: RunningPlatform;
  before(async () => {
    p = await startOn(await dataDir());
    await deploy(p.base, 'an-a', TRACKER);
    await deploy(p.base, 'an-b', TRACKER);
  });
  after(async () => {
    await p.stop();
    assert.deepEqual(p.errors, []);
  });

  it("records seed 000's ctx.waitUntil(Platform.analytics.track(...)) after the response", async () => {
    await deploy(
      p.base,
      'an-seed',
      `import { Platform } from '@ltbase/sdk';
       export default async function handler(req, ctx) {
         const user = { id: Number(/[?&]user=(\\d+)/.exec(req.url)[1]) };
         ctx.waitUntil(Platform.analytics.track("view", { userId: user.id }));
         return new Response('ok');
       }`,
    );
    const fn = (await api(p.base, 'GET', '/api/functions/an-seed')).body.data;
    const recorded = nextInvocationRecord(p.platform, fn.id);
    const res = await fetch(`${p.base}/fn/an-seed/?user=42`);
    assert.equal(await res.text(), 'ok');
    // The invocation is recorded once its waitUntil work ended: by then the event was accepted.
    const record = await recorded;
    assert.equal(record.id, res.headers.get('x-spillway-execution-id'));
    assert.equal(record.error, null);
    const listed = await events(p.base, 'an-seed');
    assert.equal(listed.length, 1);
    assert.deepEqual({ ...listed[0], id: undefined, createdAt: undefined }, { id: undefined, functionId: fn.id, name: 'view', properties: { userId: 42 }, createdAt: undefined });
    assert.match(listed[0]!.id, /^ev_[0-9a-f]{32}$/);
    assert.ok(Math.abs(Date.parse(listed[0]!.createdAt) - Date.now()) < 60_000);
  });

  it('tracks through Platform.analytics, env.ANALYTICS.track and writeDataPoint, read back newest first', async () => {
    assert.deepEqual(
      await track(
        p.base,
        'an-a',
        ['platform', 'signup', { plan: 'pro', seats: 3, nested: { tags: ['a', 'b'] } }],
        ['env', 'click', { button: 'buy' }],
        ['env', 'click'],
        ['point', null, { blobs: ['GET', null], doubles: [12.5, 3], indexes: ['user-7'] }],
      ),
      ['ok', 'ok', 'ok', 'ok'],
    );
    const listed = await events(p.base, 'an-a');
    assert.deepEqual(
      listed.map((e) => [e.name, e.properties]),
      [
        ['datapoint', { indexes: ['user-7'], blobs: ['GET', null], doubles: [12.5, 3] }],
        ['click', {}],
        ['click', { button: 'buy' }],
        ['signup', { plan: 'pro', seats: 3, nested: { tags: ['a', 'b'] } }],
      ],
    );
    assert.deepEqual((await events(p.base, 'an-a', '?name=click')).map((e) => e.properties), [{}, { button: 'buy' }]);
    assert.deepEqual((await events(p.base, 'an-a', '?limit=1')).map((e) => e.name), ['datapoint']);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    assert.deepEqual(await events(p.base, 'an-a', `?since=${encodeURIComponent(future)}`), []);
    const past = new Date(Date.now() - 3_600_000).toISOString();
    assert.equal((await events(p.base, 'an-a', `?since=${encodeURIComponent(past)}&name=signup`)).length, 1);
  });

  it("keeps each function's events to itself", async () => {
    await track(p.base, 'an-b', ['platform', 'only-b', { secret: true }]);
    assert.deepEqual(await events(p.base, 'an-a', '?name=only-b'), []);
    assert.deepEqual((await events(p.base, 'an-b')).map((e) => e.name), ['only-b']);
    // A host call naming another function still records for the caller.
    const a = (await api(p.base, 'GET', '/api/functions/an-a')).body.data;
    await deploy(p.base, 'an-forger', `export default { async fetch() { await __spw.hostCall('analytics.track', { name: 'forged', functionId: ${JSON.stringify(a.id)} }); return new Response('done'); } };`);
    assert.equal(await (await fetch(`${p.base}/fn/an-forger/`)).text(), 'done');
    assert.deepEqual(await events(p.base, 'an-a', '?name=forged'), []);
    assert.deepEqual((await events(p.base, 'an-forger')).map((e) => e.name), ['forged']);
  });

  it('refuses events over the limits with errors that say what and how much', async () => {
    const results = await track(
      p.base,
      'an-b',
      ['platform', 'n'.repeat(ANALYTICS_LIMITS.maxNameBytes + 1), {}],
      ['env', '', {}],
      ['platform', 'big', { $blob: ANALYTICS_LIMITS.maxPropertiesBytes }],
      ['platform', 'list', [1, 2]],
      ['env', 'text', 'just a string'],
      ['point', null, { indexes: ['a', 'b'] }],
      ['point', null, { doubles: ['not a number'] }],
      ['platform', 'n'.repeat(ANALYTICS_LIMITS.maxNameBytes), { fits: true }],
    );
    assert.deepEqual(results, [
      'RangeError: Platform.analytics.track: name: got 129 bytes, must be at most 128 bytes (UTF-8)',
      'TypeError: env.ANALYTICS.track: name must be a non-empty string',
      `RangeError: Platform.analytics.track: properties: got ${ANALYTICS_LIMITS.maxPropertiesBytes + 11} bytes of JSON, must be at most ${ANALYTICS_LIMITS.maxPropertiesBytes} bytes`,
      'TypeError: Platform.analytics.track: properties must be a plain object, like { userId: 7 }',
      'TypeError: env.ANALYTICS.track: properties must be a plain object, like { userId: 7 }',
      'RangeError: env.ANALYTICS.writeDataPoint: at most one index, got 2',
      'TypeError: env.ANALYTICS.writeDataPoint: doubles must be an array of numbers',
      'ok',
    ]);
    assert.deepEqual((await events(p.base, 'an-b', '?limit=10')).map((e) => e.name.length), [ANALYTICS_LIMITS.maxNameBytes, 'only-b'.length]);
  });

  it(`caps one invocation at ${ANALYTICS_LIMITS.maxEventsPerInvocation} events, counted by the host, and starts again with the next`, async () => {
    const cap = ANALYTICS_LIMITS.maxEventsPerInvocation;
    await deploy(
      p.base,
      'an-flood',
      `export default { async fetch(req, env) {
         const raw = req.url.endsWith('?raw');
         const out = { ok: 0, errors: [] };
         for (let i = 0; i < ${cap} + 5; i++) {
           try {
             if (raw) await __spw.hostCall('analytics.track', { name: 'raw' });
             else await env.ANALYTICS.track('burst', { i });
             out.ok++;
           } catch (e) { out.errors.push(e.name + ': ' + e.message); }
         }
         return Response.json(out);
       } };`,
    );
    const first = await callJson<{ ok: number; errors: string[] }>(p.base, 'an-flood');
    assert.equal(first.ok, cap);
    assert.equal(first.errors.length, 5);
    assert.equal(first.errors[0], `RangeError: env.ANALYTICS.track: more than ${cap} events in one invocation; this one was not tracked`);
    const raw = await callJson<{ ok: number; errors: string[] }>(p.base, 'an-flood', '/?raw');
    assert.equal(raw.ok, cap, 'the cap holds for calls that skip the binding');
    const stored = await events(p.base, 'an-flood', '?limit=1000');
    assert.equal(stored.filter((e) => e.name === 'burst').length, cap);
    assert.equal(stored.filter((e) => e.name === 'raw').length, cap);
    assert.deepEqual(
      stored.filter((e) => e.name === 'burst').map((e) => e.properties.i).sort((x, y) => Number(x) - Number(y)),
      Array.from({ length: cap }, (_, i) => i),
    );
  });

  it('checks the same limits when the binding is bypassed and the host is called directly', async () => {
    await deploy(
      p.base,
      'an-raw',
      `export default { async fetch() {
         const tries = {
           longName: { name: 'n'.repeat(129) },
           notJson: { name: 'x', properties: '{nope' },
           array: { name: 'x', properties: '[1]' },
           bigProps: { name: 'x', properties: JSON.stringify({ b: 'x'.repeat(${ANALYTICS_LIMITS.maxPropertiesBytes}) }) },
           objectProps: { name: 'x', properties: { not: 'text' } },
           noName: {},
         };
         const out = {};
         for (const [label, args] of Object.entries(tries)) {
           try { await __spw.hostCall('analytics.track', args); out[label] = 'accepted'; } catch (e) { out[label] = e.name + ': ' + e.message; }
         }
         return Response.json(out);
       } };`,
    );
    assert.deepEqual(await callJson(p.base, 'an-raw'), {
      longName: 'RangeError: name: got 129 bytes, must be at most 128 bytes (UTF-8)',
      notJson: 'TypeError: properties: not valid JSON',
      array: 'TypeError: properties: must be a plain object, like { userId: 7 }',
      bigProps: `RangeError: properties: got ${ANALYTICS_LIMITS.maxPropertiesBytes + 8} bytes of JSON, must be at most ${ANALYTICS_LIMITS.maxPropertiesBytes} bytes`,
      objectProps: 'TypeError: properties: must arrive as JSON text',
      noName: 'TypeError: name: got undefined, must be a string',
    });
    assert.deepEqual(await events(p.base, 'an-raw'), []);
  });

  it('answers API misuse with the documented codes', async () => {
    const cases: Array<[string, number, string, RegExp]> = [
      ['/api/functions/an-a/analytics?since=yesterday', 400, 'VALIDATION_FAILED', /since: got "yesterday", must be an ISO-8601 time/],
      ['/api/functions/an-a/analytics?limit=0', 400, 'VALIDATION_FAILED', /limit: got "0", must be between 1 and 1000/],
      ['/api/functions/an-a/analytics?limit=1001', 400, 'VALIDATION_FAILED', /limit: got "1001", must be between 1 and 1000/],
      ['/api/functions/an-a/analytics?name=', 400, 'VALIDATION_FAILED', /name: got "", must not be empty/],
      ['/api/functions/an-a/analytics?colour=red', 400, 'VALIDATION_FAILED', /unknown field\(s\) "colour"/],
      ['/api/functions/no-such-fn/analytics', 404, 'FUNCTION_NOT_FOUND', /no-such-fn/],
    ];
    for (const [path, status, code, message] of cases) {
      const r = await api(p.base, 'GET', path);
      assert.equal(r.status, status, `${path}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, code, path);
      assert.match(r.body.error.message, message, path);
    }
  });

  it("deletes a function's events with it, and drops those tracked just before the delete", async () => {
    await deploy(p.base, 'an-doomed', TRACKER);
    await track(p.base, 'an-doomed', ['platform', 'stored-first', {}]);
    assert.equal((await events(p.base, 'an-doomed')).length, 1);
    const doomed = (await api(p.base, 'GET', '/api/functions/an-doomed')).body.data;
    await track(p.base, 'an-doomed', ['platform', 'still-buffered', {}]);
    assert.equal((await api(p.base, 'DELETE', '/api/functions/an-doomed')).status, 200);
    await p.platform.analytics.flush();
    assert.deepEqual(await p.platform.store.listAnalyticsEvents({ functionId: doomed.id }), []);
    await deploy(p.base, 'an-doomed', TRACKER);
    assert.deepEqual(await events(p.base, 'an-doomed'), []);
  });
});

describe('analytics durability', () => {
  it('keeps accepted events across a platform restart on the same data folder', async () => {
    const dir = await dataDir();
    const first = await startOn(dir);
    try {
      await deploy(first.base, 'an-durable', TRACKER);
      assert.deepEqual(await track(first.base, 'an-durable', ['platform', 'before-restart', { n: 1 }], ['env', 'also', { n: 2 }]), ['ok', 'ok']);
    } finally {
      // Stopping writes what is buffered; no read through the API happened before it.
      await first.stop();
    }
    const second = await startOn(dir);
    try {
      assert.deepEqual((await events(second.base, 'an-durable')).map((e) => [e.name, e.properties]), [
        ['also', { n: 2 }],
        ['before-restart', { n: 1 }],
      ]);
    } finally {
      await second.stop();
    }
  });
});
