#!/usr/bin/env node
// Builds the dashboard (dashboard/ -> dashboard/dist): type-checks it with its own tsconfig
// (browser libs, no Node types), then runs Vite. The server serves the result at `/`.
//   npm run build:dashboard            always build; fail on any error
//   --if-missing                       do nothing when dashboard/dist/index.html exists (npm start)
//   --optional                         when the build tools are not installed (npm install
//                                      --omit=dev), say so and succeed (npm install's postinstall)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const dist = join(root, 'dashboard', 'dist', 'index.html');

if (args.has('--if-missing') && existsSync(dist)) process.exit(0);

// Vite 7 needs Node 20.19+ or 22.12+ (the server itself runs on 20.6+).
const [major, minor] = process.versions.node.split('.').map(Number);
if ((major === 20 && minor < 19) || (major === 22 && minor < 12) || major < 20) {
  const message = `dashboard: Vite 7 needs Node 20.19+ or 22.12+ (this is ${process.versions.node}), so dashboard/dist was not built; build it with a newer Node (npm run build:dashboard).`;
  if (args.has('--optional')) {
    console.warn(message);
    process.exit(0);
  }
  console.error(message);
  process.exit(1);
}

const require = createRequire(join(root, 'package.json'));
function resolveBin(pkg, bin) {
  try {
    return join(dirname(require.resolve(`${pkg}/package.json`)), bin);
  } catch {
    return null;
  }
}
const tsc = resolveBin('typescript', 'bin/tsc');
const vite = resolveBin('vite', 'bin/vite.js');
function installed(pkg) {
  try {
    import.meta.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}
if (!tsc || !vite || !installed('@vitejs/plugin-react') || !installed('react') || !installed('recharts')) {
  const message = 'dashboard: the build tools (vite, @vitejs/plugin-react, react, typescript: devDependencies) are not installed, so dashboard/dist was not built. Install them (npm install) and run npm run build:dashboard; the server answers / with this advice until then.';
  if (args.has('--optional')) {
    console.warn(message);
    process.exit(0);
  }
  console.error(message);
  process.exit(1);
}

function run(label, file, fileArgs) {
  const result = spawnSync(process.execPath, [file, ...fileArgs], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`dashboard: ${label} failed (exit ${result.status ?? result.signal}).`);
    process.exit(result.status ?? 1);
  }
}

run('type check', tsc, ['--noEmit', '-p', 'dashboard/tsconfig.json']);
run('vite build', vite, ['build', '--config', 'dashboard/vite.config.ts', '--logLevel', 'warn']);
console.log(`dashboard: built into ${join('dashboard', 'dist')}`);
