/**
 * The web-platform-tests yardstick.
 *
 * 1. The runner itself, on a scratch WPT folder: it reports passes and failures as testharness.js
 *    sees them, honours variants and META scripts (whose top-level declarations later scripts see,
 *    as with classic scripts), and a hostile file (a test that never ends, a
 *    busy loop, a memory bomb) ends with TIMEOUT or CRASH instead of hanging the run.
 * 2. The expectations: every subtest test/wpt/expectations.json lists as passing in Spillway still
 *    passes (the Spillway column only; the Node column is `npm run wpt`'s business). Newly passing
 *    subtests only print a hint to run `npm run wpt -- --update`.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { assertWptRoot, discover, wptRoot } from '../../scripts/wpt/discover.js';
import { compare, readExpectations } from '../../scripts/wpt/expectations.js';
import { runFiles } from '../../scripts/wpt/runner.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const ROOT = wptRoot(REPO);
const haveWpt = existsSync(join(ROOT, 'resources', 'testharness.js'));
const noWpt = haveWpt ? false : `no WPT copy at ${ROOT} (set SPILLWAY_WPT_DIR)`;

describe('WPT runner', { skip: noWpt }, () => {
  const scratch = mkdtempSync(join(tmpdir(), 'spillway-wpt-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));
  mkdirSync(join(scratch, 'resources'));
  mkdirSync(join(scratch, 'demo', 'resources'), { recursive: true });
  copyFileSync(join(ROOT, 'resources', 'testharness.js'), join(scratch, 'resources', 'testharness.js'));
  const files: Record<string, string> = {
    'demo/resources/helper.js': 'self.helperValue = 42;\n',
    // Top-level declarations of classic scripts are shared with later scripts: a const, a class,
    // and in a strict script its functions too.
    'demo/resources/lexical.js': 'const sharedConst = { n: 1 };\nclass SharedClass {}\nlet sharedLet = 1;\n',
    'demo/resources/strict.js': '"use strict";\nfunction strictHelper() { return this; }\nvar strictVar = 2;\n',
    'demo/resources/data.json': '{"answer": 42}\n',
    'demo/basic.any.js': [
      '// META: global=window,worker',
      '// META: script=resources/helper.js',
      '// META: variant=?first',
      '// META: variant=?second',
      'test(() => assert_equals(helperValue, 42), "META script ran first");',
      'test(() => assert_equals(location.search, "?first"), "variant is location.search");',
      'test(() => assert_true(false, "on purpose"), "a failing subtest");',
      'promise_test(async () => { await new Promise((r) => setTimeout(r, 5)); }, "a timer resolves");',
      'promise_test(async () => assert_equals((await (await fetch("resources/data.json")).json()).answer, 42), "relative fetch from the static server");',
    ].join('\n'),
    'demo/shared-scope.any.js': [
      '// META: script=resources/lexical.js',
      '// META: script=resources/strict.js',
      'test(() => { assert_equals(sharedConst.n, 1); assert_equals(typeof SharedClass, "function"); }, "const and class of an earlier script");',
      'test(() => { sharedLet = 5; assert_equals(sharedLet, 5); }, "let of an earlier script stays assignable");',
      'test(() => assert_throws_js(TypeError, () => { sharedConst = 2; }), "const of an earlier script stays constant");',
      'test(() => { assert_equals(strictHelper(), undefined); assert_equals(strictVar, 2); }, "functions and vars of a strict script, still strict");',
    ].join('\n'),
    'demo/window-only.any.js': '// META: global=window\ntest(() => {}, "never runs");\n',
    'demo/never-ends.any.js': 'test(() => {}, "quick");\npromise_test(() => new Promise(() => {}), "never settles");\n',
    'demo/busy-loop.any.js': 'test(() => { for (;;) {} }, "spins");\n',
    'demo/memory-bomb.any.js': 'test(() => { const a = []; for (;;) a.push(new Array(1e6).fill(1)); }, "eats memory");\n',
    'demo/throws-at-load.any.js': 'test(() => {}, "defined before the throw");\nthrow new Error("broken file");\n',
  };
  for (const [path, text] of Object.entries(files)) writeFileSync(join(scratch, path), text);

  it('says where it looked, and how to point it elsewhere, when the WPT folder is missing', () => {
    assert.throws(() => assertWptRoot(join(scratch, 'nowhere')), (err: Error) => err.message.includes(join(scratch, 'nowhere')) && err.message.includes('SPILLWAY_WPT_DIR'));
    assert.equal(wptRoot('/repo', { SPILLWAY_WPT_DIR: '/data/wpt' }), '/data/wpt');
    assert.equal(wptRoot('/repo/main', {}), '/repo/shared/wpt');
  });

  it('discovers variants and skips window-only files with a reason', () => {
    const found = discover(scratch);
    assert.deepEqual(found.filter((f) => f.path === 'demo/basic.any.js').map((f) => f.id), ['demo/basic.any.js?first', 'demo/basic.any.js?second']);
    const windowOnly = found.find((f) => f.path === 'demo/window-only.any.js');
    assert.match(windowOnly?.skip ?? '', /global=window/);
    assert.deepEqual(found.find((f) => f.id === 'demo/basic.any.js?first')?.scripts, ['demo/resources/helper.js', 'demo/basic.any.js']);
  });

  it('skips the real files that need a WPT HTTP server or a window', () => {
    const real = discover(ROOT);
    const reason = (path: string) => real.find((f) => f.path === path)?.skip ?? '';
    assert.match(reason('fetch/api/request/request-keepalive.any.js'), /get-host-info/);
    assert.match(reason('fetch/api/response/response-clone.any.js'), /trickle\.py/);
    assert.match(reason('dom/abort/timeout-shadowrealm.any.js'), /shadowrealm/);
    assert.equal(reason('url/url-constructor.any.js'), '');
  });

  it('runs files in both columns, reporting what testharness.js reports, and contains hostile files', { timeout: 60_000 }, async () => {
    const out = await runFiles(discover(scratch), { wptRoot: scratch, columns: ['spillway', 'node'], timeoutMs: 1500, longTimeoutMs: 1500, memoryLimitMb: 64, concurrency: 4 });
    for (const column of ['spillway', 'node'] as const) {
      const runs = out.runs[column];
      const status = (id: string, name: string) => runs.get(id)?.subtests.find((s) => s.name === name)?.status;
      assert.equal(runs.has('demo/window-only.any.js'), false, `${column}: a skipped file does not run`);
      assert.equal(status('demo/basic.any.js?first', 'META script ran first'), 'PASS', column);
      assert.equal(status('demo/basic.any.js?first', 'variant is location.search'), 'PASS', column);
      assert.equal(status('demo/basic.any.js?second', 'variant is location.search'), 'FAIL', column);
      assert.equal(status('demo/basic.any.js?first', 'a failing subtest'), 'FAIL', column);
      assert.equal(runs.get('demo/never-ends.any.js')?.harness, 'TIMEOUT', column);
      assert.equal(status('demo/never-ends.any.js', 'quick'), 'PASS', column);
      assert.equal(status('demo/never-ends.any.js', 'never settles'), 'TIMEOUT', column);
      assert.equal(runs.get('demo/throws-at-load.any.js')?.harness, 'ERROR', column);
      assert.match(runs.get('demo/throws-at-load.any.js')?.message ?? '', /broken file/, column);
      for (const name of ['const and class of an earlier script', 'let of an earlier script stays assignable', 'const of an earlier script stays constant', 'functions and vars of a strict script, still strict']) {
        assert.equal(status('demo/shared-scope.any.js', name), 'PASS', `${column}: ${name}`);
      }
      assert.equal(runs.get('demo/busy-loop.any.js')?.harness, 'CRASH', column);
      assert.equal(runs.get('demo/memory-bomb.any.js')?.harness, 'CRASH', column);
    }
    // Spillway's own Web APIs decide these two; the harness mechanics above must not depend on them.
    assert.equal(out.runs.node.get('demo/basic.any.js?first')?.subtests.find((s) => s.name === 'a timer resolves')?.status, 'PASS');
    assert.equal(out.runs.node.get('demo/basic.any.js?first')?.subtests.find((s) => s.name === 'relative fetch from the static server')?.status, 'PASS');
  });
});

describe('WPT expectations (Spillway column)', { skip: noWpt }, () => {
  it('every subtest recorded as passing still passes', { timeout: 180_000 }, async (t) => {
    const expected = readExpectations();
    const ids = new Set(Object.keys(expected.pass));
    const files = discover(ROOT).filter((f) => ids.has(f.id) && !f.skip);
    const started = Date.now();
    const out = await runFiles(files, { wptRoot: ROOT, columns: ['spillway'], concurrency: 4 });
    let { regressions, newlyPassing } = compare(expected, out.runs.spillway);
    t.diagnostic(`${files.length} files in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (regressions.length > 0) {
      // A few subtests measure time (timers, lastModified); on a loaded machine they can miss once.
      // Files with a regression run again, one at a time; only what fails again counts.
      const again = new Set(regressions.map((r) => r.id));
      const rerun = await runFiles(files.filter((f) => again.has(f.id)), { wptRoot: ROOT, columns: ['spillway'], concurrency: 1 });
      const confirmed = compare({ ...expected, pass: Object.fromEntries([...again].map((id) => [id, expected.pass[id]])) }, rerun.runs.spillway).regressions;
      const flaky = regressions.filter((r) => !confirmed.some((c) => c.id === r.id && c.name === r.name));
      for (const f of flaky) t.diagnostic(`failed once, passed when run alone (timing-sensitive?): ${f.id} :: ${f.name}`);
      regressions = confirmed;
    }
    if (newlyPassing.length > 0) t.diagnostic(`${newlyPassing.length} subtests now pass that test/wpt/expectations.json does not list: run \`npm run wpt -- --update\` to record them.`);
    const missing = [...ids].filter((id) => !files.some((f) => f.id === id));
    assert.deepEqual(missing, [], 'expectations name files that are gone or now skipped; run `npm run wpt -- --update`');
    assert.equal(
      regressions.length,
      0,
      `${regressions.length} subtests expected to pass did not:\n${regressions.map((r) => `  ${r.id} :: ${r.name} -> ${r.got}`).join('\n')}`,
    );
  });
});
