/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against a real
 * Spillway: real HTTP server, store, queue and isolates, the built dashboard served at `/`.
 * Every wait is on page state (Playwright's auto-waiting locators), never a fixed delay.
 * Screenshots of every page at 1280×800 and 390×844 go to docs/screenshots/.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ensureDashboardBuilt, launchChromium } from '../helpers/browser.js';
import { api, deploy, startPlatform, waitForExecution, type TestPlatform } from '../helpers/platform.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// SPILLWAY_SCREENSHOTS_DIR sends them elsewhere (e.g. a CI artifact folder) and leaves the committed ones alone.
const SHOTS = process.env.SPILLWAY_SCREENSHOTS_DIR ?? join(ROOT, 'docs', 'screenshots');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

const SLOW_IO = `export default {
  async fetch(request) {
    // Waits on "I/O" (a timer) for 40 ms: wall time a wall-clock platform would bill, CPU time Spillway does not.
    await new Promise((resolve) => setTimeout(resolve, 40));
    return Response.json({ ok: true, path: new URL(request.url).pathname });
  },
};
`;

describe('dashboard in Chromium', () => {
  let t: TestPlatform;
  let browser: Browser;
  let desktop: BrowserContext;
  let page: Page;
  const ids: Record<string, string> = {};
  // The capacity controller reads the baseline's utilisation from here (the platform's own hook for
  // tests and simulations), so a test can make it decide something; everything else is real.
  let utilisation = { cpuPct: 10, memoryPct: 20 };

  before(async () => {
    ensureDashboardBuilt(ROOT);
    await mkdir(SHOTS, { recursive: true });
    t = await startPlatform({}, { utilisation: async () => utilisation });
    browser = await launchChromium();
    desktop = await browser.newContext({ viewport: DESKTOP, deviceScaleFactor: 1 });
    page = await desktop.newPage();
    page.setDefaultTimeout(20_000);
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  /** Waits until no loading state is on screen. */
  async function settled(p: Page): Promise<void> {
    await p.locator('.state-loading').first().waitFor({ state: 'detached' });
  }

  async function shoot(p: Page, name: string): Promise<void> {
    await settled(p);
    await p.screenshot({ path: join(SHOTS, `${name}.png`) });
  }

  it('serves the app at / and client routes on reload, with the live connection up', async () => {
    await page.goto(`${t.base}/`);
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    await page.locator('.topbar [data-testid="live-status"]', { hasText: 'Live' }).waitFor();
    await page.goto(`${t.base}/functions`);
    await page.getByRole('heading', { name: 'Functions', level: 1 }).waitFor();
    await page.getByText('No functions yet').waitFor();
  });

  it('creates a function through the UI (name, code editor, config) and lands on its page', async () => {
    await page.getByRole('link', { name: 'Create your first function' }).click();
    await page.getByRole('heading', { name: 'New function' }).waitFor();
    await page.getByLabel('Name').fill('hello');
    await page.getByLabel('Description').fill('Greets whoever calls it');
    await page.getByLabel('Timeout (ms)').fill('5000');
    // The editor starts with a Workers-style template; make it ours.
    const code = page.getByLabel('Code');
    assert.match(await code.inputValue(), /export default/);
    await code.fill(`export default {\n  async fetch(request) {\n    const url = new URL(request.url);\n    console.log('greeting', url.searchParams.get('name'));\n    const body = request.method === 'GET' ? null : await request.json();\n    return Response.json({ hello: url.searchParams.get('name') ?? body?.name ?? 'world' });\n  },\n};\n`);
    await shoot(page, 'function-new-desktop');
    await page.getByRole('button', { name: 'Create and deploy' }).click();
    await page.getByRole('heading', { name: 'hello', level: 1 }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/functions/hello');
    await page.getByText('Greets whoever calls it').waitFor();
    const fn = (await api(t.base, 'GET', '/api/functions/hello')).body.data;
    assert.equal(fn.config.timeout, 5000);
    ids.hello = fn.id;
  });

  it('shows the server\'s validation message when a deploy is refused', async () => {
    await page.goto(`${t.base}/functions/new`);
    await page.getByLabel('Name').fill('bad name!');
    await page.getByRole('button', { name: 'Create and deploy' }).click();
    await page.getByText('VALIDATION_FAILED').waitFor();
    await page.getByText(/name: got "bad name!"/).waitFor();
  });

  it('invokes the function over HTTP from its page: status, x-spillway-tier, headers and body', async () => {
    await page.goto(`${t.base}/functions/hello`);
    await page.getByLabel('Path').fill('?name=Ada');
    await page.getByRole('button', { name: 'Send' }).click();
    const result = page.getByTestId('invoke-result');
    await result.getByText('200 OK').waitFor();
    assert.equal(await page.getByTestId('invoke-tier').textContent(), 'baseline');
    await result.getByText('x-spillway-instance').waitFor();
    await page.getByTestId('invoke-body').getByText('"hello": "Ada"').waitFor();
    // POST with a JSON body.
    await page.getByLabel('Method').selectOption('POST');
    await page.getByLabel('Path').fill('');
    await page.getByLabel('Body').fill('{"name": "Grace"}');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByTestId('invoke-body').getByText('"hello": "Grace"').waitFor();
  });

  it('shows a queued execution appear and complete live on the Executions page, without a reload', async () => {
    await page.goto(`${t.base}/executions`);
    await page.getByRole('heading', { name: 'Executions', level: 1 }).waitFor();
    await page.locator('[data-testid="live-status"]', { hasText: 'Live' }).first().waitFor();
    await settled(page);
    await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
    const res = await api(t.base, 'POST', `/api/functions/${ids.hello}/execute`, { input: { name: 'Live' } });
    assert.equal(res.status, 202);
    const id: string = res.body.data.executionId;
    const row = page.getByTestId('executions-table').locator('tr', { hasText: id.slice(0, 11) });
    await row.filter({ hasText: 'completed' }).waitFor();
    await row.getByText('hello').waitFor();
    assert.equal(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload), true, 'the page was not reloaded');
    ids.execution = id;
  });

  it('shows the execution in the Dashboard\'s live activity feed, without a reload', async () => {
    await page.getByRole('link', { name: 'Dashboard' }).click();
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
    const res = await api(t.base, 'POST', `/api/functions/${ids.hello}/execute`, { input: { name: 'Feed' } });
    const id: string = res.body.data.executionId;
    const feed = page.getByTestId('activity-feed');
    await feed.locator('li', { hasText: id }).filter({ hasText: 'completed' }).waitFor();
    await feed.locator('li', { hasText: id }).filter({ hasText: 'started' }).waitFor();
    assert.equal(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload), true);
    await waitForExecution(t, id);
  });

  it('reconnects the live connection after the server drops it, and catches up on what it missed', async () => {
    await page.goto(`${t.base}/executions`);
    const live = page.locator('.topbar [data-testid="live-status"]');
    await live.getByText('Live', { exact: true }).waitFor();
    await settled(page);
    // Drop every WebSocket from the server's side, as a restart or a network cut would.
    const sockets = t.platform.server!.websocketServer.clients;
    assert.ok(sockets.size >= 1);
    for (const socket of sockets) socket.terminate();
    await live.getByText('Reconnecting…').waitFor();
    const res = await api(t.base, 'POST', `/api/functions/${ids.hello}/execute`, { input: { name: 'Reconnected' } });
    const id: string = res.body.data.executionId;
    await waitForExecution(t, id);
    await live.getByText('Live', { exact: true }).waitFor();
    await page.getByTestId('executions-table').locator('tr', { hasText: id.slice(0, 11) }).filter({ hasText: 'completed' }).waitFor();
  });

  it('opens an execution: input, output, logs, CPU vs wall, cost, cold start and instance', async () => {
    await page.goto(`${t.base}/executions/${ids.execution}`);
    await page.getByRole('heading', { name: `Execution ${ids.execution}` }).waitFor();
    await page.getByTestId('execution-input').getByText('"name": "Live"').waitFor();
    await page.getByTestId('execution-output').getByText('Live').waitFor();
    await page.locator('.log', { hasText: 'greeting' }).waitFor();
    await page.getByRole('heading', { name: 'CPU vs wall' }).waitFor();
    await page.getByText('Cost breakdown').waitFor();
    await page.locator('.stat', { hasText: 'Cold start' }).getByText(/^(Yes|No)$/).waitFor();
    const record = (await api(t.base, 'GET', `/api/executions/${ids.execution}`)).body.data;
    await page.locator('.stat', { hasText: 'Instance' }).getByText(record.instanceId, { exact: true }).waitFor();
    await page.locator('.stat', { hasText: 'CPU time' }).getByText('what Spillway bills').waitFor();
  });

  it('edits and redeploys a function, then deletes one with a confirmation', async () => {
    await deploy(t.base, 'scratch', 'export function scratch() { return 1; }');
    await page.goto(`${t.base}/functions/scratch`);
    await page.getByRole('button', { name: 'Edit and redeploy' }).click();
    await page.getByLabel('Code').fill('export function scratch() { return 2; }');
    await page.getByLabel('Description').fill('Version two');
    await page.getByRole('button', { name: 'Save and redeploy' }).click();
    await page.getByText('Saved and deployed.').waitFor();
    await page.locator('pre', { hasText: 'return 2' }).waitFor();
    const updated = (await api(t.base, 'GET', '/api/functions/scratch')).body.data;
    assert.equal(updated.description, 'Version two');
    await page.getByRole('button', { name: 'Delete function…' }).click();
    await page.getByRole('button', { name: 'Yes, delete scratch' }).click();
    await page.getByRole('heading', { name: 'Functions', level: 1 }).waitFor();
    assert.equal((await api(t.base, 'GET', '/api/functions/scratch')).status, 404);
    await page.getByRole('link', { name: 'hello', exact: true }).waitFor();
  });

  it('fills the platform with calls for the remaining pages', async () => {
    await deploy(t.base, 'slow-io', SLOW_IO);
    const add = await deploy(t.base, 'add', 'function add(a, b) { return a + b; }');
    const flaky = await deploy(t.base, 'flaky', 'export function flaky() { throw new Error("upstream said no"); }', { retryCount: 0 });
    for (let i = 0; i < 12; i++) assert.equal((await fetch(`${t.base}/fn/slow-io/item/${i}`)).status, 200);
    for (let i = 0; i < 6; i++) assert.equal((await fetch(`${t.base}/fn/hello/?name=n${i}`)).status, 200);
    const queued = await Promise.all([1, 2, 3, 4].map(async (n) => (await api(t.base, 'POST', `/api/functions/${add.id}/execute`, { input: [n, n] })).body.data.executionId as string));
    const failed = (await api(t.base, 'POST', `/api/functions/${flaky.id}/execute`, { input: null })).body.data.executionId as string;
    for (const id of [...queued, failed]) await waitForExecution(t, id);
    ids.failed = failed;
    await t.platform.recorder.flush();
  });

  it('shows per-function p50/p95/p99, errors and cold starts on the Monitoring page', async () => {
    await page.goto(`${t.base}/monitoring`);
    await page.getByRole('heading', { name: 'Monitoring', level: 1 }).waitFor();
    const table = page.getByTestId('function-metrics');
    const slow = table.locator('tr', { hasText: 'slow-io' });
    await slow.waitFor();
    // 12 calls, each waiting 40 ms: the median is at least 40 ms of wall time.
    assert.match((await slow.locator('td').nth(1).textContent()) ?? '', /^12$/);
    assert.match((await slow.locator('td').nth(3).textContent()) ?? '', /^\d+(\.\d+)? ms$/);
    await table.locator('tr', { hasText: 'flaky' }).locator('td.error-text').getByText('1', { exact: false }).waitFor();
    await page.getByRole('heading', { name: 'Scaling history' }).waitFor();
    await page.getByTestId('tier-state').getByText('normal').waitFor();
    // The function's own page has the same figures for the last 24 hours.
    await table.getByRole('link', { name: 'slow-io' }).click();
    await page.getByRole('heading', { name: 'slow-io', level: 1 }).waitFor();
    await page.getByTestId('function-metrics-24h').locator('.stat', { hasText: 'Calls' }).getByText('12', { exact: true }).waitFor();
  });

  it('opens the Cost Monitoring page: billed (CPU) vs wall-clock, trend, costs by function', async () => {
    await page.goto(`${t.base}/costs`);
    await page.getByRole('heading', { name: 'Cost Monitoring', level: 1 }).waitFor();
    const summary = page.getByTestId('cost-summary');
    await summary.getByText('Billed (CPU time)').waitFor();
    await summary.getByText('Wall-clock billing would be').waitFor();
    await page.getByTestId('function-costs').getByText('slow-io').waitFor();
    await page.getByRole('heading', { name: 'Cost trend' }).waitFor();
  });

  it('runs the cost comparison with the measured workload, then with edited inputs', async () => {
    await page.getByRole('link', { name: 'Compare platforms →' }).click();
    await page.getByRole('heading', { name: 'Cost comparison', level: 1 }).waitFor();
    const projection = page.getByTestId('projection');
    await projection.getByText('cheapest').waitFor();
    await projection.getByText('Serverless (wall-clock)').waitFor();
    await page.getByRole('heading', { name: 'Seed 000 §8, reproduced from its own inputs' }).waitFor();
    // Seed 000's own figures come out as the seed printed them.
    await page.locator('tr', { hasText: 'Baseline per month' }).first().getByText('agrees').waitFor();
    await page.getByLabel('Calls per second').fill('1000');
    await page.getByLabel('Wall ms per call').fill('200');
    await page.getByRole('button', { name: 'Recalculate' }).click();
    await page.getByRole('heading', { name: /Per month at 1,000 calls\/s/ }).waitFor();
    // A refused value comes back as the server's message.
    await page.getByLabel('Memory (MB)').fill('20000');
    await page.getByRole('button', { name: 'Recalculate' }).click();
    await page.getByText('VALIDATION_FAILED').waitFor();
    await page.getByLabel('Memory (MB)').fill('');
    await page.getByRole('button', { name: 'Use seed 000' }).click();
    await page.getByRole('heading', { name: /Per month at 100 calls\/s, 10 ms CPU, 200 ms wall/ }).waitFor();
  });

  it('runs a small load test from the Load Tester page and shows throughput, percentiles, errors, tiers and cost', async () => {
    await page.goto(`${t.base}/load-tester`);
    await page.getByRole('heading', { name: 'Load Tester', level: 1 }).waitFor();
    await page.getByText('No test run yet').waitFor();
    await page.getByLabel('Function').selectOption('slow-io');
    await page.getByLabel('Concurrency').fill('4');
    await page.getByLabel('Stop after').selectOption('requests');
    await page.getByLabel('Requests').fill('80');
    await page.getByRole('button', { name: 'Start load test' }).click();
    const results = page.getByTestId('load-results');
    await results.waitFor({ timeout: 60_000 });
    await page.locator('.card-head', { hasText: 'slow-io · 4 connections · 80 requests' }).getByText('completed').waitFor();
    await results.locator('.stat', { hasText: 'Throughput' }).getByText(/req\/s/).first().waitFor();
    await results.locator('.stat', { hasText: 'Throughput' }).getByText(/^80 requests in/).waitFor();
    await results.getByText('Latency p99').waitFor();
    await results.getByText('No errors: every request got a 2xx.').waitFor();
    await page.getByTestId('load-tiers').locator('tr', { hasText: 'baseline' }).getByText('80').waitFor();
    await results.getByText('Cost (CPU-billed)').waitFor();
    const list = (await api(t.base, 'GET', '/api/load-tests')).body.data as Array<{ status: string; result: { total: number } }>;
    assert.equal(list[0]?.status, 'completed', 'newest first');
    assert.equal(list[0]?.result.total, 80);
  });

  it('shows a scaling decision live: activity feed, tier state and scaling history, without a reload', async () => {
    await page.goto(`${t.base}/`);
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    await page.getByText('No scaling events yet').waitFor();
    await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
    // Seed 000 §5: one sample above 85% CPU turns spillover on (70/30).
    utilisation = { cpuPct: 92, memoryPct: 30 };
    await t.platform.capacity.tick();
    utilisation = { cpuPct: 10, memoryPct: 20 };
    await page.getByTestId('activity-feed').locator('li', { hasText: 'spillover on' }).waitFor();
    await page.getByTestId('tier-state').getByText('routing 70% baseline / 30% burst').waitFor();
    await page.locator('.card', { hasText: 'Recent scaling events' }).locator('tr', { hasText: 'spillover on' }).waitFor();
    assert.equal(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload), true);
    await page.goto(`${t.base}/monitoring`);
    await page.locator('.card', { hasText: 'Scaling history' }).locator('tr', { hasText: 'spillover on' }).getByText(/cpu/i).waitFor();
  });

  it('takes a screenshot of every page at 1280×800', async () => {
    const pages: Array<[string, string, string]> = [
      ['dashboard', '/', 'Dashboard'],
      ['functions', '/functions', 'Functions'],
      ['function-detail', '/functions/hello', 'hello'],
      ['executions', '/executions', 'Executions'],
      ['execution-detail', `/executions/${ids.execution}`, `Execution ${ids.execution}`],
      ['execution-failed', `/executions/${ids.failed}`, `Execution ${ids.failed}`],
      ['monitoring', '/monitoring', 'Monitoring'],
      ['costs', '/costs', 'Cost Monitoring'],
      ['cost-comparison', '/costs/comparison', 'Cost comparison'],
      ['load-tester', '/load-tester', 'Load Tester'],
    ];
    for (const [name, path, heading] of pages) {
      await page.goto(`${t.base}${path}`);
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      await shoot(page, `${name}-desktop`);
    }
  });

  it('works on a phone (390×844): the navigation collapses into a menu', async () => {
    const phone = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
    const p = await phone.newPage();
    p.setDefaultTimeout(20_000);
    try {
      await p.goto(`${t.base}/`);
      await p.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
      const nav = p.getByRole('navigation', { name: 'Main' });
      assert.equal(await nav.isVisible(), false, 'the navigation is collapsed on a phone');
      await shoot(p, 'dashboard-phone');
      await p.getByRole('button', { name: 'Menu' }).click();
      await nav.waitFor({ state: 'visible' });
      await shoot(p, 'menu-phone');
      await nav.getByRole('link', { name: 'Executions' }).click();
      await p.getByRole('heading', { name: 'Executions', level: 1 }).waitFor();
      await nav.waitFor({ state: 'hidden' });
      const width = await p.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= PHONE.width, `no horizontal scrolling on a phone (page is ${width} px wide)`);
      const pages: Array<[string, string, string]> = [
        ['functions', '/functions', 'Functions'],
        ['function-detail', '/functions/hello', 'hello'],
        ['executions', '/executions', 'Executions'],
        ['execution-detail', `/executions/${ids.execution}`, `Execution ${ids.execution}`],
        ['monitoring', '/monitoring', 'Monitoring'],
        ['costs', '/costs', 'Cost Monitoring'],
        ['cost-comparison', '/costs/comparison', 'Cost comparison'],
        ['load-tester', '/load-tester', 'Load Tester'],
      ];
      for (const [name, path, heading] of pages) {
        await p.goto(`${t.base}${path}`);
        await p.getByRole('heading', { name: heading, level: 1 }).waitFor();
        await shoot(p, `${name}-phone`);
        const w = await p.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(w <= PHONE.width, `${path}: no horizontal scrolling on a phone (page is ${w} px wide)`);
      }
    } finally {
      await phone.close();
    }
  });
});
