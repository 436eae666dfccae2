import assert from 'node:assert/strict';
import { mkdtemp, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cli } from '../helpers/cli.js';
import { startPlatform, type TestPlatform } from '../helpers/platform.js';


describe('spillway CLI', () => {
  let t: TestPlatform;
  let dir: string;
  before(async () => {
    t = await startPlatform();
    dir = await mkdtemp(join(tmpdir(), 'spillway-cli-'));
  });
  after(async () => t.close());

  it('deploys a file, then a new version of it', async () => {
    const file = join(dir, 'add.ts');
    await writeFile(file, 'function add(a: number, b: number) { return a + b; }\n');
    const first = await cli(t.base, 'deploy', file, '--name', 'add');
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^created add \(fn_[0-9a-f]+\)\nversion [0-9a-f]{64}/);
    await writeFile(file, 'function add(a: number, b: number) { return a + b + 0; }\n');
    const second = await cli(t.base, 'deploy', file, '--name', 'add', '--timeout', '5000');
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /^updated add/);
    assert.equal((await t.platform.functions.get('add')).config.timeout, 5000);
  });

  it('deploys a folder of files with relative imports and invokes it over HTTP, printing the metering', async () => {
    const app = join(dir, 'app');
    await mkdir(join(app, 'lib'), { recursive: true });
    await writeFile(join(app, 'index.ts'), "import { shout } from './lib/shout';\nexport default { fetch(req: Request) { return new Response(shout('hi')); } };\n");
    await writeFile(join(app, 'lib', 'shout.ts'), 'export const shout = (s: string) => s.toUpperCase() + "!";\n');
    const deployed = await cli(t.base, 'deploy', app, '--name', 'shouter');
    assert.equal(deployed.code, 0, deployed.stderr);
    const invoked = await cli(t.base, 'invoke', 'shouter');
    assert.equal(invoked.code, 0, invoked.stderr);
    assert.equal(invoked.stdout, 'HI!\n');
    assert.match(invoked.stderr, /^200 · ex_[0-9a-f]+ · cpu [\d.]+ ms · wall [\d.]+ ms · cold start · cost \$/);
  });

  it('executes with JSON input and waits for the result; get shows the record', async () => {
    const res = await cli(t.base, 'execute', 'add', '[2, 3]');
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, '5\n');
    const id = res.stderr.match(/^(ex_[0-9a-f]+)/)![1];
    const got = await cli(t.base, 'get', id);
    assert.equal(JSON.parse(got.stdout).output, 5);
    const fn = await cli(t.base, 'get', 'add');
    assert.equal(JSON.parse(fn.stdout).name, 'add');
  });

  it('explains errors and exits non-zero', async () => {
    const missing = await cli(t.base, 'execute', 'nope', '1');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /execute failed \(404\) FUNCTION_NOT_FOUND/);
    const badJson = await cli(t.base, 'execute', 'add', '{oops');
    assert.equal(badJson.code, 2);
    assert.match(badJson.stderr, /input must be JSON/);
    const broken = join(dir, 'broken.ts');
    await writeFile(broken, 'export default { fetch( { }');
    const build = await cli(t.base, 'deploy', broken, '--name', 'broken');
    assert.equal(build.code, 1);
    assert.match(build.stderr, /BUILD_FAILED: The code did not build:\nbroken\.ts:1:\d+/);
    const down = await cli('http://127.0.0.1:1', 'get', 'add');
    assert.equal(down.code, 1);
    assert.match(down.stderr, /cannot reach http:\/\/127\.0\.0\.1:1/);
  });
});
