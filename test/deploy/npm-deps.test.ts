/**
 * npm dependencies at deploy: a function declares them in a package.json among its files, the
 * real npm installs them once per set (from the real registry), and the bundle resolves bare
 * imports from that install. Real frameworks (Hono, itty-router) then serve their routes through
 * /fn/<name>/…, seeing the path without the /fn/<name> prefix.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bundle } from '../../src/deploy/bundler.js';
import { NpmInstaller, readDependencies } from '../../src/deploy/npm-deps.js';
import { SpillwayError } from '../../src/core/errors.js';
import { api, deploy, startPlatform, type TestPlatform } from '../helpers/platform.js';

const HONO_APP = {
  'package.json': JSON.stringify({ name: 'hono-app', main: 'src/app.ts', dependencies: { hono: '^4.6.0' } }, null, 2),
  'src/app.ts': `
    import { Hono } from 'hono';
    import { users } from './users';
    const app = new Hono();
    // Middleware: runs around every route, adds a header after the handler.
    app.use('*', async (c, next) => {
      await next();
      c.header('x-handled-by', 'hono-middleware');
    });
    app.get('/', (c) => c.text('hello from hono'));
    app.route('/users', users);
    app.post('/echo', async (c) => c.json({ got: await c.req.json(), path: c.req.path }, 201));
    app.notFound((c) => c.json({ error: 'no route', path: c.req.path }, 404));
    export default app;`,
  'src/users.ts': `
    import { Hono } from 'hono';
    export const users = new Hono();
    users.get('/:id', (c) => c.json({ id: c.req.param('id'), sort: c.req.query('sort') ?? null, path: c.req.path, url: c.req.url }));
    users.get('/:id/posts/:post', (c) => c.json(c.req.param()));`,
};

const ITTY_APP = {
  'package.json': JSON.stringify({ dependencies: { 'itty-router': '^5.0.0' } }),
  'index.js': `
    import { AutoRouter, json, text } from 'itty-router';
    const router = AutoRouter();
    router
      .get('/', () => text('hello from itty'))
      .get('/items/:id', ({ params, query }) => ({ id: params.id, q: query.q ?? null }))
      .post('/items', async (request) => json({ created: await request.json() }, { status: 201 }));
    export default router;`,
};

async function installerWithCounter(dir: string, options: Partial<ConstructorParameters<typeof NpmInstaller>[0]> = {}) {
  mkdirSync(dir, { recursive: true });
  const counter = join(dir, 'npm-runs.log');
  const wrapper = join(dir, 'counting-npm.sh');
  writeFileSync(wrapper, `#!/bin/sh\necho run >> "${counter}"\nexec npm "$@"\n`);
  chmodSync(wrapper, 0o755);
  const runs = () => {
    try {
      return readFileSync(counter, 'utf8').trim().split('\n').filter(Boolean).length;
    } catch {
      return 0;
    }
  };
  const npm = new NpmInstaller({ dir: join(dir, 'cache'), timeoutMs: 120_000, maxBytes: 256 * 1024 * 1024, npmCommand: wrapper, ...options });
  return { npm, runs };
}

async function rejectsWith(promise: Promise<unknown>, code: string, message?: RegExp): Promise<SpillwayError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof SpillwayError, `expected a SpillwayError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

/** Asserts a status, showing the body (the function's error, if any) when it differs. */
async function expectStatus(res: Response, status: number): Promise<void> {
  if (res.status !== status) assert.fail(`expected ${status}, got ${res.status}: ${await res.clone().text()}`);
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

describe('declaring dependencies (package.json)', () => {
  it('normalises the set: the same dependencies in another order are the same key, another set is not', () => {
    const a = readDependencies({ 'package.json': JSON.stringify({ dependencies: { hono: '^4.6.0', 'itty-router': ' ^5.0.0 ' } }) });
    const b = readDependencies({ 'package.json': JSON.stringify({ name: 'other', devDependencies: { typescript: '5' }, dependencies: { 'itty-router': '^5.0.0', hono: '^4.6.0' } }) });
    const c = readDependencies({ 'package.json': JSON.stringify({ dependencies: { hono: '^4.7.0' } }) });
    assert.ok(a && b && c);
    assert.equal(a.key, b.key);
    assert.notEqual(a.key, c.key);
    assert.match(a.key, /^[0-9a-f]{64}$/);
    assert.deepEqual(Object.keys(a.dependencies), ['hono', 'itty-router']);
  });

  it('has no dependency set without package.json, or with one that declares none', () => {
    assert.equal(readDependencies({ 'index.ts': 'export default 1' }), null);
    assert.equal(readDependencies({ 'package.json': '{"name":"x"}' }), null);
    assert.equal(readDependencies({ 'package.json': '{"dependencies":{}}' }), null);
  });

  it('refuses anything but registry packages, naming the field', () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ x: 'git+https://example.invalid/x.git' }, /dependencies\["x"\].*not a registry version/],
      [{ x: 'file:../../etc' }, /not a registry version/],
      [{ x: 'github:user/repo' }, /not a registry version/],
      [{ x: 'https://example.invalid/x.tgz' }, /not a registry version/],
      [{ x: 'link:/tmp' }, /not a registry version/],
      [{ x: 5 }, /must be a version string/],
      [{ '../evil': '1.0.0' }, /not a valid npm package name/],
      [{ x: 'npm:../y@1' }, /not a registry version|not a valid npm package name/],
    ];
    for (const [dependencies, message] of bad) {
      assert.throws(() => readDependencies({ 'package.json': JSON.stringify({ dependencies }) }), (err: SpillwayError) => err.code === 'VALIDATION_FAILED' && message.test(err.message));
    }
    assert.throws(() => readDependencies({ 'package.json': '{ nope' }), /package.json: not valid JSON/);
    const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`p${i}`, '1.0.0']));
    assert.throws(() => readDependencies({ 'package.json': JSON.stringify({ dependencies: many }) }), /at most 100/);
    assert.ok(readDependencies({ 'package.json': JSON.stringify({ dependencies: { a: 'npm:hono@^4', b: 'latest', c: '>=1.2.3 <2 || 3.x', '@scope/d': '1.0.0-beta.1' } }) }));
  });

  it('takes a lockfile only with registry versions, and without its resolved URLs', () => {
    const pkg = JSON.stringify({ dependencies: { x: '^1.0.0' } });
    const lock = (packages: Record<string, unknown>, lockfileVersion = 3) => JSON.stringify({ lockfileVersion, packages: { '': { dependencies: { x: '^1.0.0' } }, ...packages } });
    const set = readDependencies({ 'package.json': pkg, 'package-lock.json': lock({ 'node_modules/x': { version: '1.0.3', resolved: 'http://10.0.0.1/x.tgz', integrity: 'sha512-abc' } }) });
    assert.deepEqual((set!.lockfile as { packages: Record<string, unknown> }).packages['node_modules/x'], { version: '1.0.3', integrity: 'sha512-abc' });
    assert.notEqual(set!.key, readDependencies({ 'package.json': pkg })!.key, 'a lockfile is part of the set');
    const refused: Array<[string, RegExp]> = [
      [lock({ 'node_modules/x': { version: '1.0.3' } }, 1), /lockfileVersion 1 is not supported/],
      [lock({ 'node_modules/x': { link: true, resolved: '../x', version: '1.0.3' } }), /link to a local folder/],
      [lock({ 'node_modules/x': { version: 'git+ssh://git@example.invalid/x.git#abc' } }), /not a registry version/],
      [lock({ '../outside': { version: '1.0.0' } }), /not a node_modules path/],
    ];
    for (const [text, message] of refused) {
      assert.throws(() => readDependencies({ 'package.json': pkg, 'package-lock.json': text }), (err: SpillwayError) => err.code === 'VALIDATION_FAILED' && message.test(err.message));
    }
  });
});

describe('installing dependencies with npm', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spillway-npm-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('installs a set once: concurrent installs share one npm run, a later installer reuses the folder', async () => {
    const { npm, runs } = await installerWithCounter(join(dir, 'once'));
    const set = readDependencies({ 'package.json': JSON.stringify({ dependencies: { 'itty-router': '^5.0.0' } }) })!;
    const [a, b, c] = await Promise.all([npm.install(set), npm.install(set), npm.install(set)]);
    assert.equal(runs(), 1, 'npm ran once for three concurrent deploys of one set');
    assert.equal(a.reused, false);
    assert.deepEqual(b, a);
    assert.deepEqual(c, a);
    assert.equal(a.dir, join(dir, 'once', 'cache', set.key));
    assert.ok(a.bytes > 10_000, `${a.bytes} bytes installed`);
    assert.equal(JSON.parse(readFileSync(join(a.nodeModules, 'itty-router', 'package.json'), 'utf8')).name, 'itty-router');
    assert.deepEqual(readdirSync(join(dir, 'once', 'cache', '.partial')), [], 'no scratch folder left behind');

    const { npm: again, runs: runsAgain } = await installerWithCounter(join(dir, 'once'));
    const reused = await again.install(set);
    assert.equal(reused.reused, true);
    assert.equal(runsAgain(), 1, 'no new npm run for a set already installed');
  });

  it('pins versions from an uploaded lockfile', async () => {
    // A real lockfile, made by npm for an exact older version, then used with a wider range.
    const lockDir = join(dir, 'lockgen');
    mkdirSync(lockDir, { recursive: true });
    writeFileSync(join(lockDir, 'package.json'), JSON.stringify({ name: 'lockgen', dependencies: { 'itty-router': '5.0.17' } }));
    const made = spawnSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: lockDir, encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const pkg = JSON.stringify({ dependencies: { 'itty-router': '^5.0.0' } });
    const { npm } = await installerWithCounter(join(dir, 'lock'));
    const pinned = await npm.install(readDependencies({ 'package.json': pkg, 'package-lock.json': readFileSync(join(lockDir, 'package-lock.json'), 'utf8') })!);
    const unpinned = await npm.install(readDependencies({ 'package.json': pkg })!);
    const version = (nodeModules: string) => JSON.parse(readFileSync(join(nodeModules, 'itty-router', 'package.json'), 'utf8')).version;
    assert.equal(version(pinned.nodeModules), '5.0.17');
    assert.notEqual(version(unpinned.nodeModules), '5.0.17', 'without the lockfile npm takes the newest 5.x');
  });

  it('reports an unknown package or version with npm’s reason, and caches nothing', async () => {
    const { npm } = await installerWithCounter(join(dir, 'unknown'));
    const missing = readDependencies({ 'package.json': JSON.stringify({ dependencies: { 'spillway-test-no-such-package-zz9': '1.0.0' } }) })!;
    await rejectsWith(npm.install(missing), 'DEPENDENCY_INSTALL_FAILED', /E404.*spillway-test-no-such-package-zz9/s);
    await rejectsWith(npm.install(readDependencies({ 'package.json': JSON.stringify({ dependencies: { hono: '99.0.0' } }) })!), 'DEPENDENCY_INSTALL_FAILED', /ETARGET.*No matching version found for hono@99\.0\.0/s);
    assert.deepEqual(readdirSync(join(dir, 'unknown', 'cache')).filter((n) => n !== '.partial'), [], 'a failed install leaves no cached set');
  });

  it('refuses a set larger than the size limit', async () => {
    const { npm } = await installerWithCounter(join(dir, 'big'), { maxBytes: 1024 * 1024 });
    await rejectsWith(npm.install(readDependencies({ 'package.json': JSON.stringify({ dependencies: { hono: '^4.6.0' } }) })!), 'DEPENDENCY_INSTALL_FAILED', /more than 1048576 bytes.*SPILLWAY_NPM_MAX_INSTALL_BYTES/);
    assert.deepEqual(readdirSync(join(dir, 'big', 'cache')).filter((n) => n !== '.partial'), []);
  });

  it('stops an install that outlives its timeout, killing npm', async () => {
    const sockets = new Set<Socket>();
    const closed: Array<Promise<void>> = [];
    const registry = createServer(() => {
      /* never answers */
    });
    registry.on('connection', (s) => {
      sockets.add(s);
      closed.push(new Promise((resolve) => s.on('close', () => resolve())));
    });
    const port = await listen(registry);
    try {
      const { npm } = await installerWithCounter(join(dir, 'slow'), { timeoutMs: 8000, registry: `http://127.0.0.1:${port}/` });
      const started = Date.now();
      await rejectsWith(npm.install(readDependencies({ 'package.json': JSON.stringify({ dependencies: { hono: '^4.6.0' } }) })!), 'DEPENDENCY_INSTALL_TIMEOUT', /within 8000 ms.*SPILLWAY_NPM_INSTALL_TIMEOUT_MS/);
      assert.ok(Date.now() - started < 20_000);
      assert.ok(sockets.size > 0, 'npm did reach the (hanging) registry');
      await Promise.all(closed); // npm's connections close only because npm was killed
      assert.deepEqual(readdirSync(join(dir, 'slow', 'cache')).filter((n) => n !== '.partial'), []);
    } finally {
      registry.close();
    }
  });

  it('tells an unreachable registry apart from a bad request', async () => {
    const probe = createServer();
    const port = await listen(probe);
    await new Promise((resolve) => probe.close(resolve)); // nothing listens there now
    const { npm } = await installerWithCounter(join(dir, 'down'), { registry: `http://127.0.0.1:${port}/` });
    const err = await rejectsWith(npm.install(readDependencies({ 'package.json': JSON.stringify({ dependencies: { hono: '^4.6.0' } }) })!), 'DEPENDENCY_REGISTRY_UNREACHABLE', /ECONNREFUSED/);
    assert.equal(err.status, 502);
  });
});

describe('bundling with dependencies', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spillway-npm-bundle-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('keeps a bundle inside its node_modules, and honours a package’s browser map', async () => {
    // A set whose folder is already there (as after an install) holding crafted packages: the
    // bundler must not read a file outside node_modules even when a package asks it to.
    const npm = new NpmInstaller({ dir, timeoutMs: 60_000, maxBytes: 1 << 30 });
    const pkg = JSON.stringify({ dependencies: { sneaky: '1.0.0', dual: '1.0.0' } });
    const set = readDependencies({ 'package.json': pkg })!;
    const nm = join(dir, set.key, 'node_modules');
    mkdirSync(join(nm, 'sneaky'), { recursive: true });
    mkdirSync(join(nm, 'dual'), { recursive: true });
    writeFileSync(join(dir, 'host-secret.json'), '{"secret":"host"}');
    writeFileSync(join(nm, 'sneaky', 'package.json'), JSON.stringify({ name: 'sneaky', version: '1.0.0', main: 'index.js' }));
    writeFileSync(join(nm, 'sneaky', 'index.js'), `module.exports = require('../../../host-secret.json');`);
    writeFileSync(join(nm, 'sneaky', 'abs.js'), `module.exports = require(${JSON.stringify(join(dir, 'host-secret.json'))});`);
    writeFileSync(join(nm, 'dual', 'package.json'), JSON.stringify({ name: 'dual', version: '1.0.0', main: 'node.js', browser: { './node.js': './web.js', fs: false } }));
    writeFileSync(join(nm, 'dual', 'node.js'), `module.exports = require('fs').readFileSync;`);
    writeFileSync(join(nm, 'dual', 'web.js'), `const fs = require('fs'); module.exports = 'web build, fs is ' + JSON.stringify(fs);`);

    for (const importPath of ['sneaky', 'sneaky/abs.js']) {
      await rejectsWith(
        bundle({ files: { 'package.json': pkg, 'index.ts': `import s from '${importPath}'; export default { fetch: () => Response.json(s) };` } }, { npm }),
        'BUILD_FAILED',
        /node_modules\/sneaky\/(index|abs)\.js:1:\d+: Cannot import ".*host-secret\.json": it resolves outside the function's installed packages/,
      );
    }
    const ok = await bundle({ files: { 'package.json': pkg, 'index.ts': `import s from 'dual'; export default { fetch: () => new Response(s) };` } }, { npm });
    assert.match(ok.code, /web build, fs is/);
    assert.doesNotMatch(ok.code, /readFileSync/);
    assert.doesNotMatch(ok.code, new RegExp(dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'no server path in the bundle');
  });

  it('refuses Node built-ins and undeclared packages, naming the import', async () => {
    const npm = new NpmInstaller({ dir, timeoutMs: 120_000, maxBytes: 1 << 30 });
    const pkg = JSON.stringify({ dependencies: { 'itty-router': '^5.0.0' } });
    await rejectsWith(bundle({ files: { 'package.json': pkg, 'index.ts': `import { readFileSync } from 'fs'; export default { fetch: () => new Response(String(readFileSync)) };` } }, { npm }), 'BUILD_FAILED', /index\.ts:1:\d+: Cannot import "fs": it is a Node\.js built-in module/);
    await rejectsWith(bundle({ files: { 'package.json': pkg, 'index.ts': `import { spawn } from 'node:child_process'; export default { fetch: () => new Response(String(spawn)) };` } }, { npm }), 'BUILD_FAILED', /Cannot import "node:child_process": it is a Node\.js built-in module/);
    await rejectsWith(bundle({ files: { 'package.json': pkg, 'index.ts': `import _ from 'lodash'; export default { fetch: () => new Response(String(_)) };` } }, { npm }), 'BUILD_FAILED', /Cannot import "lodash": no installed package provides it \(package.json declares "itty-router"\)/);
    // Without package.json: the same clear refusal as before dependencies existed, now saying how to declare one.
    await rejectsWith(bundle({ files: { 'index.ts': `import { Hono } from 'hono'; export default new Hono();` } }, { npm }), 'BUILD_FAILED', /Cannot import "hono": npm packages are bundled only when declared in a package.json/);
    await rejectsWith(bundle({ files: { 'package.json': pkg, 'index.ts': `export default { fetch: () => new Response('x') };` } }), 'DEPENDENCY_INSTALL_FAILED', /does not install npm packages/);
  });
});

describe('real frameworks through the platform', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startPlatform();
  });
  after(async () => t.close());

  it('serves a Hono app: routes, path params, query, JSON in and out, middleware, 404', async () => {
    const fn = await deploy(t.base, 'hono-app', HONO_APP);
    assert.equal(fn.entry, 'src/app.ts', 'package.json "main" names the entry');
    assert.deepEqual(fn.files.sort(), ['package.json', 'src/app.ts', 'src/users.ts']);

    const home = await fetch(`${t.base}/fn/hono-app`);
    await expectStatus(home, 200);
    assert.equal(await home.text(), 'hello from hono');
    assert.equal(home.headers.get('x-handled-by'), 'hono-middleware');

    const user = await fetch(`${t.base}/fn/hono-app/users/42?sort=desc`);
    await expectStatus(user, 200);
    assert.match(user.headers.get('content-type') ?? '', /application\/json/);
    const body = await user.json();
    assert.deepEqual({ ...body, url: undefined }, { id: '42', sort: 'desc', path: '/users/42', url: undefined });
    assert.match(body.url, /^http:\/\/127\.0\.0\.1:\d+\/users\/42\?sort=desc$/, 'the handler sees the path without /fn/<name>');
    assert.equal(user.headers.get('x-handled-by'), 'hono-middleware');

    assert.deepEqual(await (await fetch(`${t.base}/fn/hono-app/users/7/posts/99`)).json(), { id: '7', post: '99' });

    const echo = await fetch(`${t.base}/fn/hono-app/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ a: [1, 2], b: 'ü' }) });
    await expectStatus(echo, 201);
    assert.deepEqual(await echo.json(), { got: { a: [1, 2], b: 'ü' }, path: '/echo' });

    const missing = await fetch(`${t.base}/fn/hono-app/nothing/here`);
    await expectStatus(missing, 404);
    assert.deepEqual(await missing.json(), { error: 'no route', path: '/nothing/here' });
    assert.equal(missing.headers.get('x-handled-by'), 'hono-middleware');
  });

  it('serves an itty-router app: routes, params, query, JSON, 404', async () => {
    await deploy(t.base, 'itty-app', ITTY_APP);
    const home = await fetch(`${t.base}/fn/itty-app/`);
    await expectStatus(home, 200);
    assert.equal(await home.text(), 'hello from itty');
    const item = await fetch(`${t.base}/fn/itty-app/items/abc?q=first`);
    await expectStatus(item, 200);
    assert.deepEqual(await item.json(), { id: 'abc', q: 'first' });
    const created = await fetch(`${t.base}/fn/itty-app/items`, { method: 'POST', body: JSON.stringify({ name: 'thing' }) });
    await expectStatus(created, 201);
    assert.deepEqual(await created.json(), { created: { name: 'thing' } });
    const missing = await fetch(`${t.base}/fn/itty-app/nope`);
    await expectStatus(missing, 404);
    const notFound = await missing.json();
    assert.equal(notFound.status, 404, "itty-router's own 404 body");
    assert.match(notFound.error, /^not found\.?$/i);
  });

  it('reuses an installed set for another function with the same dependencies', async () => {
    const sameSet = { ...HONO_APP, 'package.json': JSON.stringify({ main: 'src/app.ts', dependencies: { hono: ' ^4.6.0' } }) };
    await deploy(t.base, 'hono-again', sameSet);
    assert.equal(await (await fetch(`${t.base}/fn/hono-again/`)).text(), 'hello from hono');
    const sets = readdirSync(join(t.dataDir, 'npm')).filter((n) => n !== '.partial');
    assert.equal(sets.length, 2, `one install per set (hono, itty-router), got ${sets.join(', ')}`);
  });

  it('answers a bad dependency with a 400 carrying npm’s reason, and a Node built-in with BUILD_FAILED naming it', async () => {
    const unknown = await api(t.base, 'POST', '/api/functions', { name: 'bad-dep', files: { 'package.json': JSON.stringify({ dependencies: { 'spillway-test-no-such-package-zz9': '^1.0.0' } }), 'index.ts': `export default { fetch: () => new Response('x') };` } });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error.code, 'DEPENDENCY_INSTALL_FAILED');
    assert.match(unknown.body.error.message, /E404.*spillway-test-no-such-package-zz9/s);

    const builtin = await api(t.base, 'POST', '/api/functions', { name: 'bad-import', files: { 'package.json': HONO_APP['package.json'], 'index.ts': `import { Hono } from 'hono'; import { createServer } from 'node:http'; export default new Hono().get('/', (c) => c.text(String(createServer)));` } });
    assert.equal(builtin.status, 400);
    assert.equal(builtin.body.error.code, 'BUILD_FAILED');
    assert.match(builtin.body.error.message, /Cannot import "node:http"/);
    assert.equal(builtin.body.error.details?.file, 'index.ts');

    const git = await api(t.base, 'POST', '/api/functions', { name: 'git-dep', files: { 'package.json': JSON.stringify({ dependencies: { hono: 'github:honojs/hono' } }), 'index.ts': `export default { fetch: () => new Response('x') };` } });
    assert.equal(git.status, 400);
    assert.equal(git.body.error.code, 'VALIDATION_FAILED');
    assert.match(git.body.error.message, /dependencies\["hono"\]: "github:honojs\/hono" is not a registry version/);
    assert.equal((await api(t.base, 'GET', '/api/functions/bad-dep')).status, 404, 'nothing was deployed');
  });

  it('keeps deploying a function without package.json exactly as before', async () => {
    await deploy(t.base, 'plain', `export default { fetch: (req) => new Response('plain ' + req.method) };`);
    assert.equal(await (await fetch(`${t.base}/fn/plain`)).text(), 'plain GET');
  });
});
