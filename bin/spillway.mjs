#!/usr/bin/env node
// The Spillway CLI: deploy, invoke, execute, get, load-test. It talks to a running server over the HTTP API
// only (SPILLWAY_URL or --url, default http://127.0.0.1:5000). Plain JavaScript, so `npx spillway`
// needs no build step.
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { parseArgs } from 'node:util';

const USAGE = `Usage: spillway <command> [options]

Commands:
  deploy <file|dir> --name N [--entry F] [--timeout MS] [--retries N] [--memory MB] [--cpu-limit MS]
                              create the function, or deploy a new version if N exists
  invoke <name> [path] [--method M] [--data BODY] [-H 'k: v']
                              call it over HTTP; prints the body, then CPU/wall/cost on stderr
  execute <name> [json-input] [--no-wait]
                              run it as an async execution; waits for the result unless --no-wait
  get <executionId | function>
                              show an execution or a function as JSON
  load-test <name> [--concurrency N] [--duration S | --requests N] [--rate R] [--path /x] [--method M] [--data BODY] [-H 'k: v']
                              have the server load-test the function (docs/load-tester.md): progress every
                              second, then the summary; Ctrl-C cancels. Exit 0: every request got a 2xx;
                              3: it completed but some requests failed; 1: it could not start or failed

Options: --url URL (default $SPILLWAY_URL or http://127.0.0.1:5000), --json (raw JSON output)`;

const SOURCE_EXT = /\.(m|c)?(t|j)sx?$|\.json$/;

function fail(message, code = 1) {
  process.stderr.write(`spillway: ${message}\n`);
  process.exit(code);
}

async function call(base, method, path, body) {
  let res;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    fail(`cannot reach ${base} (${err.cause?.code ?? err.message}); is the server running? Start it with \`npm start\`.`);
  }
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    fail(`${method} ${path}: the server answered ${res.status} with a non-JSON body`);
  }
  return { status: res.status, json };
}

function explain(json) {
  return json?.error ? `${json.error.code}: ${json.error.message}` : JSON.stringify(json);
}

async function collectFiles(target) {
  const info = await stat(target).catch(() => fail(`${target}: no such file or folder`));
  if (info.isFile()) return { files: { [basename(target)]: await readFile(target, 'utf8') }, entry: basename(target) };
  const files = {};
  async function walk(dir) {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (SOURCE_EXT.test(entry.name)) files[relative(target, full).split('\\').join('/')] = await readFile(full, 'utf8');
    }
  }
  await walk(target);
  if (Object.keys(files).length === 0) fail(`${target}: no .ts/.js/.json files found`);
  return { files, entry: undefined };
}

const wait = (ms) => new Promise((r) => setTimeout(r, ms));

function parseHeaders(list) {
  const headers = {};
  for (const h of list ?? []) {
    const at = h.indexOf(':');
    if (at < 0) fail(`header "${h}" must look like "name: value"`, 2);
    headers[h.slice(0, at).trim()] = h.slice(at + 1).trim();
  }
  return headers;
}

const count = (n) => Math.round(n).toLocaleString('en-US');
const ms = (n) => (n == null ? '?' : `${n.toFixed(2)} ms`);
const ms1 = (n) => `${n.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 })} ms`;
const tally = (counts) => Object.entries(counts).map(([k, n]) => `${k}: ${count(n)}`).join(' · ') || 'none';

/** `load-test`: starts a test through the API, prints its progress until it ends, then the summary. */
async function loadTest(base, args, values) {
  if (!args[0]) fail('load-test needs a function name: spillway load-test <name> [--concurrency 10] [--duration 5]', 2);
  // Numbers go as numbers; anything else goes as typed, so the server's message names the bad value.
  const num = (v) => (v === undefined ? undefined : v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v);
  const body = { function: args[0] };
  for (const [key, flag] of [['concurrency', 'concurrency'], ['durationS', 'duration'], ['requests', 'requests'], ['rate', 'rate']]) {
    if (values[flag] !== undefined) body[key] = num(values[flag]);
  }
  if (values.path !== undefined) body.path = values.path.startsWith('/') ? values.path : `/${values.path}`;
  if (values.method !== undefined) body.method = values.method.toUpperCase();
  if (values.data !== undefined) body.body = values.data;
  if (values.header?.length) body.headers = parseHeaders(values.header);

  const started = await call(base, 'POST', '/api/load-tests', body);
  if (started.status !== 202) fail(`load test refused (${started.status}) ${explain(started.json)}`);
  const test = started.json.data;
  const o = test.options;
  const out = (line) => values.json || process.stdout.write(`${line}\n`);
  out(`load test ${test.id} · ${test.functionName} · ${o.concurrency} connections · ${o.requests !== undefined ? `${count(o.requests)} requests` : `${o.durationS} s`}${o.rate ? ` at ${count(o.rate)} req/s` : ''} · ${o.method} ${test.url}`);

  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    process.stderr.write('cancelling…\n');
    void call(base, 'DELETE', `/api/load-tests/${test.id}`);
  });

  let view = test;
  let shown = -1;
  while (view.status === 'running') {
    await wait(250);
    view = (await call(base, 'GET', `/api/load-tests/${test.id}`)).json.data;
    const p = view.progress;
    if (p && p.elapsedS !== shown && view.status === 'running') {
      shown = p.elapsedS;
      out(`  ${p.elapsedS.toFixed(0).padStart(3)} s  ${count(p.requests).padStart(8)} requests  ${count(p.non2xx + p.errors).padStart(6)} failed  ${count(p.reqPerSec).padStart(6)} req/s  p50 ${ms(p.p50Ms)}  p99 ${ms(p.p99Ms)}`);
    }
  }

  if (values.json) process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
  const r = view.result;
  if (r && !values.json) {
    const x = r.executions;
    out(`${view.status} in ${r.durationS.toFixed(2)} s: ${count(r.total)} requests (${count(r.ok)} 2xx, ${count(r.non2xx)} non-2xx, ${count(r.errors)} errors) · ${r.requestsPerSec.toFixed(1)} req/s${r.stoppedEarly ? ' · stopped early' : ''}`);
    out(`latency   p50 ${ms(r.latencyMs.p50)} · p95 ${ms(r.latencyMs.p95)} · p99 ${ms(r.latencyMs.p99)} · max ${ms(r.latencyMs.max)}`);
    out(`status    ${tally(r.statusCounts)}`);
    out(`tiers     ${tally(r.tiers)}`);
    if (Object.keys(r.errorsByCode).length > 0) out(`failures  ${tally(r.errorsByCode)}`);
    const share = x.cpuToWall == null ? '' : ` (${(x.cpuToWall * 100).toFixed(1)}%)`;
    out(`server    ${count(x.records)} executions${x.missing ? ` (${count(x.missing)} not recorded yet)` : ''} · ${count(x.coldStarts)} cold start${x.coldStarts === 1 ? '' : 's'} · cpu ${ms1(x.cpuMs)} of wall ${ms1(x.wallMs)}${share} · cost $${x.costUsd.toFixed(8)} (wall-clock billing $${x.wallClockCostUsd.toFixed(8)})`);
  }
  if (view.status === 'failed') fail(`load test ${view.id} failed: ${view.error}`);
  if (view.status === 'cancelled') {
    process.stderr.write(`spillway: load test ${view.id} was cancelled\n`);
    process.exit(interrupted ? 130 : 1);
  }
  if (r.non2xx + r.errors > 0) process.exit(3);
}

function formatMetering(rec) {
  const cpu = rec.cpuUs == null ? '?' : `${(rec.cpuUs / 1000).toFixed(2)} ms`;
  const wall = rec.wallUs == null ? '?' : `${(rec.wallUs / 1000).toFixed(2)} ms`;
  const cost = rec.cost ? `$${rec.cost.totalCost.toFixed(8)} (wall-clock billing: $${rec.cost.wallClockCost.toFixed(8)}, tier ${rec.cost.tier})` : 'n/a';
  return `cpu ${cpu} · wall ${wall}${rec.coldStart ? ' · cold start' : ''} · cost ${cost}`;
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      name: { type: 'string' },
      entry: { type: 'string' },
      timeout: { type: 'string' },
      retries: { type: 'string' },
      memory: { type: 'string' },
      'cpu-limit': { type: 'string' },
      method: { type: 'string' },
      data: { type: 'string' },
      header: { type: 'string', short: 'H', multiple: true },
      'no-wait': { type: 'boolean' },
      concurrency: { type: 'string' },
      duration: { type: 'string' },
      requests: { type: 'string' },
      rate: { type: 'string' },
      path: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...args] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(command ? 0 : 2);
  }
  const base = (values.url ?? process.env.SPILLWAY_URL ?? 'http://127.0.0.1:5000').replace(/\/$/, '');

  if (command === 'deploy') {
    if (!args[0]) fail('deploy needs a file or folder: spillway deploy <file|dir> --name N', 2);
    const name = values.name ?? basename(args[0]).replace(/\.[^.]+$/, '');
    const { files, entry } = await collectFiles(args[0]);
    const config = {};
    if (values.timeout) config.timeout = Number(values.timeout);
    if (values.retries) config.retryCount = Number(values.retries);
    if (values.memory) config.memoryLimitMb = Number(values.memory);
    if (values['cpu-limit']) config.cpuLimitMs = Number(values['cpu-limit']);
    const body = { files, entry: values.entry ?? entry, ...(Object.keys(config).length ? { config } : {}) };
    const existing = await call(base, 'GET', `/api/functions/${encodeURIComponent(name)}`);
    const res = existing.status === 200 ? await call(base, 'PUT', `/api/functions/${encodeURIComponent(name)}`, body) : await call(base, 'POST', '/api/functions', { name, ...body });
    if (!res.json.success) fail(`deploy failed (${res.status}) ${explain(res.json)}`);
    const fn = res.json.data;
    if (values.json) process.stdout.write(`${JSON.stringify(fn, null, 2)}\n`);
    else process.stdout.write(`${existing.status === 200 ? 'updated' : 'created'} ${fn.name} (${fn.id})\nversion ${fn.currentVersion}\ncall it: curl ${base}/fn/${fn.name}/\n`);
    return;
  }

  if (command === 'invoke') {
    if (!args[0]) fail('invoke needs a function name', 2);
    const path = (args[1] ?? '').replace(/^\//, '');
    const headers = parseHeaders(values.header);
    const method = values.method ?? (values.data !== undefined ? 'POST' : 'GET');
    let res;
    try {
      res = await fetch(`${base}/fn/${encodeURIComponent(args[0])}/${path}`, { method, headers, body: values.data });
    } catch (err) {
      fail(`cannot reach ${base} (${err.cause?.code ?? err.message}); is the server running?`);
    }
    const text = await res.text();
    process.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
    const id = res.headers.get('x-spillway-execution-id');
    if (id) {
      for (let i = 0; i < 20; i++) {
        const rec = await call(base, 'GET', `/api/executions/${id}`);
        if (rec.status === 200) {
          process.stderr.write(`${res.status} · ${id} · ${formatMetering(rec.json.data)}\n`);
          break;
        }
        await wait(100);
      }
    }
    if (res.status >= 400) process.exit(1);
    return;
  }

  if (command === 'execute') {
    if (!args[0]) fail('execute needs a function name', 2);
    let input;
    if (args[1] !== undefined) {
      try {
        input = JSON.parse(args[1]);
      } catch {
        fail(`input must be JSON, got ${args[1]} (quote it: '[2, 3]' or '{"a": 1}')`, 2);
      }
    }
    const res = await call(base, 'POST', `/api/functions/${encodeURIComponent(args[0])}/execute`, input === undefined ? {} : { input });
    if (res.status !== 202) fail(`execute failed (${res.status}) ${explain(res.json)}`);
    const id = res.json.data.executionId;
    if (values['no-wait']) {
      process.stdout.write(`${values.json ? JSON.stringify(res.json.data) : id}\n`);
      return;
    }
    for (;;) {
      const rec = (await call(base, 'GET', `/api/executions/${id}`)).json.data;
      if (rec.status === 'completed' || rec.status === 'failed') {
        if (values.json) process.stdout.write(`${JSON.stringify(rec, null, 2)}\n`);
        else {
          process.stdout.write(rec.status === 'completed' ? `${JSON.stringify(rec.output)}\n` : `failed: ${rec.error.code}: ${rec.error.message}\n`);
          process.stderr.write(`${id} · ${rec.status} after ${rec.retryCount} retries · ${formatMetering(rec)}\n`);
        }
        if (rec.status === 'failed') process.exit(1);
        return;
      }
      await wait(100);
    }
  }

  if (command === 'get') {
    if (!args[0]) fail('get needs an execution id or a function id or name', 2);
    const path = args[0].startsWith('ex_') ? `/api/executions/${args[0]}` : `/api/functions/${encodeURIComponent(args[0])}`;
    const res = await call(base, 'GET', path);
    if (!res.json.success) fail(`${res.status} ${explain(res.json)}`);
    process.stdout.write(`${JSON.stringify(res.json.data, null, 2)}\n`);
    return;
  }

  if (command === 'load-test') return loadTest(base, args, values);

  fail(`unknown command "${command}"\n\n${USAGE}`, 2);
}

main().catch((err) => fail(err.stack ?? String(err)));
