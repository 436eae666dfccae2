/**
 * A real browser for the dashboard tests: Debian's Chromium (/usr/bin/chromium, `apt install
 * chromium`) driven by playwright-core. Never downloads a browser; if Chromium is missing the
 * test fails saying how to install it (it is not skipped).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.SPILLWAY_CHROMIUM ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}. The browser tests need a real Chromium: install Debian's (sudo apt-get install chromium) or point SPILLWAY_CHROMIUM at one. No browser is downloaded.`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((entry) => newestMtime(join(path, entry))));
}

/** Builds dashboard/dist if it is missing or older than the dashboard's sources, so the tests see the current code. */
export function ensureDashboardBuilt(root: string): void {
  const index = join(root, 'dashboard', 'dist', 'index.html');
  const sources = [join(root, 'dashboard', 'src'), join(root, 'dashboard', 'index.html'), join(root, 'dashboard', 'vite.config.ts')];
  if (existsSync(index) && statSync(index).mtimeMs >= Math.max(...sources.map(newestMtime))) return;
  const result = spawnSync(process.execPath, [join(root, 'scripts', 'build-dashboard.mjs')], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('npm run build:dashboard failed; the browser tests need the built dashboard.');
}
