import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { api, deploy, startPlatform, type TestPlatform } from '../helpers/platform.js';

describe('functions API', () => {
  let t: TestPlatform;
  before(async () => (t = await startPlatform()));
  after(async () => t.close());

  it('creates a function from seed 001 request shape with the documented defaults', async () => {
    const res = await api(t.base, 'POST', '/api/functions', { name: 'add', description: 'Adds two numbers', code: 'function add(a, b) { return a + b; }' });
    assert.equal(res.status, 201);
    assert.equal(res.body.success, true);
    const fn = res.body.data;
    assert.match(fn.id, /^fn_[0-9a-f]{32}$/);
    assert.equal(fn.name, 'add');
    assert.equal(fn.description, 'Adds two numbers');
    assert.equal(fn.status, 'active');
    assert.deepEqual(fn.config, { timeout: 30000, retryCount: 3, memoryLimitMb: 128, cpuLimitMs: 10000 });
    assert.equal(fn.code, 'function add(a, b) { return a + b; }');
    assert.equal(fn.tier, 'basic');
    assert.match(fn.currentVersion, /^[0-9a-f]{64}$/);
  });

  it('stores each version under the SHA-256 of its bundle', async () => {
    const fn = (await api(t.base, 'GET', '/api/functions/add')).body.data;
    const bundle = await t.platform.blobs.get(fn.currentVersion);
    assert.ok(bundle, 'bundle blob exists');
    assert.equal(createHash('sha256').update(bundle).digest('hex'), fn.currentVersion);
  });

  it('refuses a second function with the same name with 409', async () => {
    const res = await api(t.base, 'POST', '/api/functions', { name: 'add', code: 'function add(a, b) { return a - b; }' });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'FUNCTION_NAME_TAKEN');
    assert.match(res.body.error.message, /"add" already exists/);
    const list = (await api(t.base, 'GET', '/api/functions')).body.data;
    assert.equal(list.filter((f: any) => f.name === 'add').length, 1);
    assert.equal(list.find((f: any) => f.name === 'add').code, 'function add(a, b) { return a + b; }');
  });

  it('gets by id and by name, lists, and 404s on unknown ids', async () => {
    const byName = await api(t.base, 'GET', '/api/functions/add');
    const byId = await api(t.base, 'GET', `/api/functions/${byName.body.data.id}`);
    assert.equal(byId.body.data.name, 'add');
    const missing = await api(t.base, 'GET', '/api/functions/fn_doesnotexist');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'FUNCTION_NOT_FOUND');
  });

  it('updates config and code; a code change is a new immutable version', async () => {
    const before = (await api(t.base, 'GET', '/api/functions/add')).body.data;
    const res = await api(t.base, 'PUT', '/api/functions/add', { description: 'now subtracts', config: { timeout: 5000 }, code: 'function sub(a, b) { return a - b; }' });
    assert.equal(res.status, 200);
    assert.equal(res.body.data.description, 'now subtracts');
    assert.equal(res.body.data.config.timeout, 5000);
    assert.equal(res.body.data.config.retryCount, 3);
    assert.notEqual(res.body.data.currentVersion, before.currentVersion);
    const versions = (await api(t.base, 'GET', '/api/functions/add/versions')).body.data;
    assert.deepEqual(versions.map((v: any) => v.id).sort(), [before.currentVersion, res.body.data.currentVersion].sort());
    assert.ok(await t.platform.blobs.get(before.currentVersion), 'the old version is still stored');
  });

  it('validates config with messages that name the field, the value and the range', async () => {
    const res = await api(t.base, 'POST', '/api/functions', { name: 'bad-config', code: 'function f() {}', config: { timeout: 0, retryCount: 99 } });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'VALIDATION_FAILED');
    assert.match(res.body.error.message, /config\.timeout: got 0, must be between 1 and 900000 ms/);
    assert.match(res.body.error.message, /config\.retryCount: got 99, must be between 0 and 10/);
    const unknown = await api(t.base, 'POST', '/api/functions', { name: 'x', code: 'function f() {}', colour: 'red' });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error.message, /unknown field\(s\) "colour"/);
    const badName = await api(t.base, 'POST', '/api/functions', { name: '../etc', code: 'function f() {}' });
    assert.equal(badName.status, 400);
    assert.match(badName.body.error.message, /^name: got "..\/etc"/);
    const both = await api(t.base, 'POST', '/api/functions', { name: 'both', code: 'function f() {}', files: { 'a.ts': '' } });
    assert.equal(both.status, 400);
  });

  it('answers malformed JSON with 400 MALFORMED_JSON and creates nothing', async () => {
    const res = await api(t.base, 'POST', '/api/functions', '{"name": "broken", "code": ');
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'MALFORMED_JSON');
    assert.equal((await api(t.base, 'GET', '/api/functions/broken')).status, 404);
  });

  it('reports a syntax error with file, line and column', async () => {
    const res = await api(t.base, 'POST', '/api/functions', { name: 'syntax', files: { 'index.ts': 'export default {\n  fetch(req: Request) {\n    return new Response("x"\n  }\n};\n' } });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'BUILD_FAILED');
    const details = res.body.error.details!;
    assert.equal(details.file, 'index.ts');
    assert.equal(details.line, 4);
    assert.equal(typeof details.column, 'number');
    assert.match(res.body.error.message, /index\.ts:4:\d+: Expected "\)" but found "}"/);
  });

  it('bundles several TypeScript files with relative imports', async () => {
    await deploy(t.base, 'multi', {
      'index.ts': "import { greet } from './lib/greet.js';\nexport default { fetch(req: Request): Response { return new Response(greet('Ada')); } };\n",
      'lib/greet.ts': "export function greet(name: string): string { return `hello ${name}`; }\n",
    });
    const res = await fetch(`${t.base}/fn/multi/`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'hello Ada');
  });

  it('names the missing file of a broken import', async () => {
    const res = await api(t.base, 'POST', '/api/functions', { name: 'missing-import', files: { 'index.ts': "import { x } from './nope';\nexport default { fetch() { return new Response(x); } };" } });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'BUILD_FAILED');
    assert.match(res.body.error.message, /index\.ts:1:\d+: Cannot find "\.\/nope"/);
  });

  it('refuses code with nothing to call, and code that throws while loading', async () => {
    const none = await api(t.base, 'POST', '/api/functions', { name: 'nothing', code: 'const x = 1;' });
    assert.equal(none.status, 400);
    assert.equal(none.body.error.code, 'NO_HANDLER');
    const throws = await api(t.base, 'POST', '/api/functions', { name: 'throws', code: 'throw new Error("boom at load"); export default { fetch() {} }' });
    assert.equal(throws.status, 400);
    assert.equal(throws.body.error.code, 'BUILD_FAILED');
    assert.match(throws.body.error.message, /boom at load/);
    assert.equal((await api(t.base, 'GET', '/api/functions/nothing')).status, 404);
  });

  it('deletes a function; its executions stay in the history', async () => {
    const fn = await deploy(t.base, 'doomed', 'export function f() { return 1; }');
    const exec = await api(t.base, 'POST', `/api/functions/${fn.id}/execute`, { input: [] });
    assert.equal(exec.status, 202);
    const del = await api(t.base, 'DELETE', `/api/functions/${fn.id}`);
    assert.equal(del.status, 200);
    assert.equal(del.body.data.deleted, true);
    assert.equal((await api(t.base, 'GET', `/api/functions/${fn.id}`)).status, 404);
    assert.equal((await api(t.base, 'DELETE', `/api/functions/${fn.id}`)).status, 404);
    assert.equal((await api(t.base, 'GET', `/api/executions/${exec.body.data.executionId}`)).status, 200);
    assert.equal((await fetch(`${t.base}/fn/doomed/`)).status, 404);
  });

  it('answers unknown routes with the error envelope', async () => {
    const res = await api(t.base, 'GET', '/api/nope');
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'ROUTE_NOT_FOUND');
  });
});
