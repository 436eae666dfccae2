import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { dashboardRoutes, isClientRoute } from '../../src/api/dashboard-routes.js';
import { sendError } from '../../src/api/errors.js';
import { SpillwayError } from '../../src/core/errors.js';

/** The server's JSON 404, as src/api/server.ts sets it. */
async function app(dir: string): Promise<FastifyInstance> {
  const a = Fastify();
  a.setNotFoundHandler((request, reply) => sendError(reply, new SpillwayError('ROUTE_NOT_FOUND', `No route matches ${request.method} ${request.url}`)));
  a.get('/api/health', async () => ({ success: true, data: { status: 'ok' } }));
  await a.register(async (scope) => dashboardRoutes(scope, { dir }));
  return a;
}

describe('dashboard routes (src/api/dashboard-routes.ts)', () => {
  let dir: string;
  let a: FastifyInstance;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spillway-dashboard-'));
    a = await app(dir);
  });
  after(async () => {
    await a.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('tells client routes from platform paths and files', () => {
    for (const url of ['/', '/functions', '/functions/add', '/costs/comparison?window=1h', '/executions/ex_1']) assert.equal(isClientRoute(url), true, url);
    for (const url of ['/api/nope', '/fn/add', '/baseline/fn/x', '/burst/fn/x', '/fargate/fn/x', '/lambda/fn/x', '/metrics', '/favicon.ico', '/assets/index-1.js']) assert.equal(isClientRoute(url), false, url);
  });

  it('without a build: / explains how to build it, the API still answers, unknown API routes stay JSON 404', async () => {
    const home = await a.inject('/');
    assert.equal(home.statusCode, 503);
    assert.match(home.headers['content-type'] as string, /text\/html/);
    assert.match(home.body, /The dashboard is not built/);
    assert.match(home.body, /npm run build:dashboard/);
    assert.equal((await a.inject('/monitoring')).statusCode, 503);
    assert.equal((await a.inject('/api/health')).statusCode, 200);
    const missing = await a.inject('/api/nope');
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.code, 'ROUTE_NOT_FOUND');
    assert.equal((await a.inject('/assets/app.js')).statusCode, 404);
  });

  it('with a build (made while running): serves files, falls back to index.html for client routes, never for /api, /fn, /metrics or files', async () => {
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>Spillway</title><div id="root"></div>');
    await writeFile(join(dir, 'assets', 'index-abc.js'), 'console.log(1)');
    const home = await a.inject('/');
    assert.equal(home.statusCode, 200);
    assert.match(home.body, /<title>Spillway<\/title>/);
    assert.equal(home.headers['cache-control'], 'no-cache');
    for (const url of ['/functions/add', '/costs/comparison?window=7d', '/load-tester']) {
      const res = await a.inject(url);
      assert.equal(res.statusCode, 200, url);
      assert.match(res.body, /<div id="root">/, url);
    }
    const asset = await a.inject('/assets/index-abc.js');
    assert.equal(asset.statusCode, 200);
    assert.match(asset.headers['content-type'] as string, /javascript/);
    assert.match(asset.headers['cache-control'] as string, /immutable/);
    for (const url of ['/api/nope', '/fn', '/metrics', '/lambda/x', '/assets/missing.js', '/favicon.ico', '/../package.json', '/assets/..%2f..%2fetc%2fpasswd']) {
      const res = await a.inject(url);
      assert.ok(res.statusCode === 404 || res.statusCode === 403, `${url}: ${res.statusCode}`);
      assert.doesNotMatch(res.body, /<div id="root">/, url);
    }
    const api404 = await a.inject('/api/nope');
    assert.equal(api404.json().error.code, 'ROUTE_NOT_FOUND');
    // POST to a client route is not the dashboard's.
    assert.equal((await a.inject({ method: 'POST', url: '/functions' })).statusCode, 404);
  });
});
