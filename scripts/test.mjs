#!/usr/bin/env node
// The test gate (`npm test`): type-check host and guest code, check for circular imports, then
// run every test file with node's test runner under tsx. `npm test -- test/api` runs only the
// files under the given paths (and skips the checks).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const roots = args.length > 0 ? args : ['test'];

function run(cmd, cmdArgs) {
  const result = spawnSync(cmd, cmdArgs, { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function collect(path, out) {
  const stat = statSync(path);
  if (stat.isFile()) {
    if (path.endsWith('.test.ts')) out.push(path);
    return out;
  }
  for (const entry of readdirSync(path).sort()) collect(join(path, entry), out);
  return out;
}

if (args.length === 0) {
  const tsc = join('node_modules', 'typescript', 'bin', 'tsc');
  run(process.execPath, [tsc, '--noEmit', '-p', 'tsconfig.json']);
  run(process.execPath, [tsc, '--noEmit', '-p', 'src/runtime/guest/tsconfig.json']);
  // No circular imports between modules (the layering in docs/architecture.md depends on it).
  run(process.execPath, [join('node_modules', 'madge', 'bin', 'cli.js'), '--circular', '--no-spinner', '--extensions', 'ts', '--ts-config', 'tsconfig.json', 'src']);
}

const files = roots.flatMap((root) => collect(root, []));
if (files.length === 0) {
  console.error(`no test files under ${roots.join(', ')}`);
  process.exit(1);
}
run(process.execPath, ['--no-node-snapshot', '--import', 'tsx', '--test', '--test-reporter=spec', ...files]);
