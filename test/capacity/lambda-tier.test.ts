/**
 * The AWS Lambda burst tier (src/capacity/tiers/lambda-tier.ts) and its in-Lambda adapter.
 * The adapter is run for real from the zip the tier builds; the AWS API calls go for real, through
 * @aws-sdk/client-lambda, over HTTP to a local test double of Lambda's endpoint
 * (test/helpers/fake-lambda.ts) that runs the uploaded zip on Invoke. Nothing here reaches AWS.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config/config.js';
import { ManualClock, systemClock, type Clock } from '../../src/core/clock.js';
import type { SpillwayError } from '../../src/core/errors.js';
import { bundle } from '../../src/deploy/bundler.js';
import {
  ADAPTER_HASH,
  buildLambdaZip,
  createLambdaTier,
  lambdaFunctionName,
  LambdaTier,
  parseLogTail,
  parseReport,
  type LambdaInvocationMetering,
  type LambdaTierOptions,
} from '../../src/capacity/tiers/lambda-tier.js';
import type { InvocationTarget } from '../../src/capacity/types.js';
import type { HttpRequestPayload, InvocationOutcome } from '../../src/runtime/types.js';
import { awsError, FakeLambda, unzipInto, type RecordedRequest } from '../helpers/fake-lambda.js';

const execFileP = promisify(execFile);
const ROLE = 'arn:aws:iam::123456789012:role/spillway-burst';
const LIMITS = { timeoutMs: 30_000, cpuLimitMs: 10_000 };
const ADAPTER_SOURCE = readFileSync(new URL('../../src/capacity/tiers/lambda-adapter/index.mjs', import.meta.url), 'utf8');

const WORKERS = `export default {
  async fetch(request: Request, env: Record<string, unknown>, ctx: { waitUntil(p: Promise<unknown>): void }) {
    const body = await request.text();
    console.log('workers handler saw', request.method, new URL(request.url).pathname);
    ctx.waitUntil(new Promise((r) => setImmediate(r)).then(() => { (globalThis as any).__spwAfter = ((globalThis as any).__spwAfter ?? 0) + 1; }));
    return new Response(JSON.stringify({ style: 'workers', method: request.method, url: request.url, body, envKeys: Object.keys(env), hasWaitUntil: typeof ctx.waitUntil }), {
      status: 201,
      headers: { 'content-type': 'application/json', 'x-style': 'workers' },
    });
  },
};`;
const HANDLER = `export default async function handler(req: Request, ctx: { waitUntil(p: Promise<unknown>): void }) {
  return new Response('handler ' + req.method + ' ' + req.headers.get('x-who') + ' ' + typeof ctx.waitUntil, { headers: { 'content-type': 'text/plain' } });
}`;
const PLAIN = `function add(a: number, b: number) { return a + b; }`;
const THROWS = `export default { fetch() { throw new TypeError('boom from the handler'); } };`;
const NOT_A_RESPONSE = `export default async function handler() { return 'just a string'; }`;
const STREAMS = `export default { fetch() {
  const enc = new TextEncoder();
  const stream = new ReadableStream({ start(c) { c.enqueue(enc.encode('one,')); c.enqueue(enc.encode('two')); c.close(); } });
  return new Response(stream, { headers: { 'content-type': 'text/plain' } });
} };`;

let fnCounter = 0;
/** A target as the capacity layer hands it over, bundled by the real bundler. */
async function makeTarget(code: string, name = `fn-${++fnCounter}`): Promise<InvocationTarget & { code: string }> {
  const b = await bundle({ files: { 'index.ts': code } });
  return { functionId: `id-${name}`, versionId: b.digest, name, memoryLimitMb: 128, plainParams: b.plainParams, bundle: async () => b.code, code: b.code };
}

function httpPayload(method: string, path: string, body: string | Uint8Array | null = null, headers: Array<[string, string]> = []): HttpRequestPayload {
  return { method, url: `http://example.test${path}`, headers, body };
}

function asText(body: string | Uint8Array | null): string {
  return body === null ? '' : typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
}

function expectError(outcome: InvocationOutcome, code: string, status: number): SpillwayError {
  assert.equal(outcome.type, 'error', `expected ${code}, got ${JSON.stringify(outcome)}`);
  const err = (outcome as { error: SpillwayError }).error;
  assert.equal(err.code, code, err.message);
  assert.equal(err.status, status);
  return err;
}

/* ------------------------------------------------------------------ the adapter, for real */

describe('Lambda adapter (index.mjs from the zip the tier builds)', () => {
  const root = mkdtempSync(join(tmpdir(), 'spw-adapter-'));
  let n = 0;
  after(() => rmSync(root, { recursive: true, force: true }));

  async function loadFromZip(code: string): Promise<{ handler: (event: unknown) => Promise<Record<string, unknown>>; files: Record<string, Uint8Array> }> {
    const target = await makeTarget(code);
    const zip = buildLambdaZip(target, target.code);
    const dir = join(root, String(n++));
    const files = unzipInto(zip, dir);
    const mod = (await import(pathToFileURL(join(dir, 'index.mjs')).href)) as { handler: (event: unknown) => Promise<Record<string, unknown>> };
    return { handler: mod.handler, files };
  }
  const event = (method: string, path: string, body: string | null = null, headers: Array<[string, string]> = []) => ({
    method,
    url: `http://example.test${path}`,
    headers,
    bodyBase64: body === null ? null : Buffer.from(body).toString('base64'),
  });

  it('the zip holds the adapter as index.mjs, the bundle and the version metadata', async () => {
    const target = await makeTarget(PLAIN);
    const { files } = await loadFromZip(PLAIN);
    assert.deepEqual(Object.keys(files).sort(), ['bundle.js', 'index.mjs', 'spillway.json']);
    assert.equal(Buffer.from(files['index.mjs']).toString('utf8'), ADAPTER_SOURCE);
    assert.equal(Buffer.from(files['bundle.js']).toString('utf8'), target.code);
    const meta = JSON.parse(Buffer.from(files['spillway.json']).toString('utf8'));
    assert.deepEqual(meta.plainParams, ['a', 'b']);
    assert.equal(meta.adapter, ADAPTER_HASH);
  });

  it('runs a Workers-style fetch(request, env, ctx): status, headers, body, env {}, waitUntil awaited; cold then warm', async () => {
    const { handler } = await loadFromZip(WORKERS);
    const before = (globalThis as { __spwAfter?: number }).__spwAfter ?? 0;
    const first = await handler(event('POST', '/items?x=1', 'hello', [['content-type', 'text/plain']]));
    assert.equal(first.status, 201);
    assert.ok((first.headers as Array<[string, string]>).some(([k, v]) => k === 'x-style' && v === 'workers'));
    const json = JSON.parse(Buffer.from(first.bodyBase64 as string, 'base64').toString('utf8'));
    assert.deepEqual(json, { style: 'workers', method: 'POST', url: 'http://example.test/items?x=1', body: 'hello', envKeys: [], hasWaitUntil: 'function' });
    assert.equal((globalThis as { __spwAfter?: number }).__spwAfter, before + 1, 'the waitUntil work finished before the adapter answered');
    assert.equal(first.coldStart, true);
    assert.equal(typeof first.cpuUs, 'number');
    assert.ok((first.cpuUs as number) >= 0);
    const second = await handler(event('GET', '/'));
    assert.equal(second.coldStart, false, 'the second call in the same environment is warm');
  });

  it('runs a seed 000 handler(req, ctx)', async () => {
    const { handler } = await loadFromZip(HANDLER);
    const res = await handler(event('PUT', '/', null, [['x-who', 'ada']]));
    assert.equal(res.status, 200);
    assert.equal(Buffer.from(res.bodyBase64 as string, 'base64').toString('utf8'), 'handler PUT ada function');
  });

  it('runs a plain function with arguments from the JSON body (by name, spread, none)', async () => {
    const { handler } = await loadFromZip(PLAIN);
    const byName = await handler(event('POST', '/', JSON.stringify({ a: 2, b: 3 })));
    assert.equal(Buffer.from(byName.bodyBase64 as string, 'base64').toString('utf8'), '5');
    assert.ok((byName.headers as Array<[string, string]>).some(([k, v]) => k === 'content-type' && v === 'application/json'));
    const spread = await handler(event('POST', '/', '[40, 2]'));
    assert.equal(Buffer.from(spread.bodyBase64 as string, 'base64').toString('utf8'), '42');
    const none = await handler(event('POST', '/', ''));
    assert.equal(Buffer.from(none.bodyBase64 as string, 'base64').toString('utf8'), 'null', 'add() is NaN, which JSON writes as null');
  });

  it('buffers a streamed response body (no streaming through RequestResponse)', async () => {
    const { handler } = await loadFromZip(STREAMS);
    const res = await handler(event('GET', '/'));
    assert.equal(Buffer.from(res.bodyBase64 as string, 'base64').toString('utf8'), 'one,two');
  });

  it('answers an API Gateway payload 2.0 event in the proxy response shape', async () => {
    const { handler } = await loadFromZip(HANDLER);
    const res = await handler({
      version: '2.0',
      rawPath: '/hello',
      rawQueryString: 'q=1',
      headers: { host: 'api.example.test', 'x-who': 'gw' },
      requestContext: { http: { method: 'POST' }, domainName: 'api.example.test' },
      body: Buffer.from('x').toString('base64'),
      isBase64Encoded: true,
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.isBase64Encoded, true);
    assert.equal(Buffer.from(res.body as string, 'base64').toString('utf8'), 'handler POST gw function');
  });

  it('runs under plain node in a child process (no tsx loader, fresh globals), as Lambda would import it', async () => {
    const target = await makeTarget(WORKERS);
    const dir = join(root, `child-${n++}`);
    unzipInto(buildLambdaZip(target, target.code), dir);
    const script = `const m = await import(${JSON.stringify(pathToFileURL(join(dir, 'index.mjs')).href)});
const ev = ${JSON.stringify(event('POST', '/child', 'from-child'))};
const a = await m.handler(ev); const b = await m.handler(ev);
process.stdout.write('\\nRESULT ' + JSON.stringify([a, b]));`;
    const { stdout } = await execFileP(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env.PATH ?? '' } });
    assert.match(stdout, /^workers handler saw POST \/child$/m, "the handler's console.log reaches the process's stdout (CloudWatch, in Lambda)");
    const [a, b] = JSON.parse(stdout.slice(stdout.lastIndexOf('\nRESULT ') + 8)) as Array<{ status: number; bodyBase64: string; coldStart: boolean; cpuUs: number }>;
    assert.equal(a.status, 201);
    assert.equal(JSON.parse(Buffer.from(a.bodyBase64, 'base64').toString('utf8')).body, 'from-child');
    assert.deepEqual([a.coldStart, b.coldStart], [true, false]);
    assert.ok(Number.isInteger(a.cpuUs) && a.cpuUs > 0, `a Request, a handler and a Response cost some CPU: ${a.cpuUs} µs`);
  });

  it('throws what the handler throws, so Lambda reports a function error', async () => {
    const { handler } = await loadFromZip(THROWS);
    await assert.rejects(handler(event('GET', '/')), (err: Error) => err.name === 'TypeError' && err.message === 'boom from the handler');
  });

  it('throws Spillway.BadResponse when the handler returns something that is not a Response', async () => {
    const { handler } = await loadFromZip(NOT_A_RESPONSE);
    await assert.rejects(handler(event('GET', '/')), (err: Error) => err.name === 'Spillway.BadResponse' && /must return a Response/.test(err.message) && /got string/.test(err.message));
  });
});

/* ------------------------------------------------------------------ pure helpers */

describe('Lambda tier helpers', () => {
  it('names functions <prefix>-<name>-<version>, at most 64 characters of [A-Za-z0-9_-], distinct for long names', () => {
    const v = 'a'.repeat(64);
    assert.equal(lambdaFunctionName('spillway', { name: 'shop', versionId: v }), `spillway-shop-${'a'.repeat(12)}`);
    const long1 = lambdaFunctionName('p'.repeat(20), { name: `${'x'.repeat(40)}-one`, versionId: v });
    const long2 = lambdaFunctionName('p'.repeat(20), { name: `${'x'.repeat(40)}-two`, versionId: v });
    for (const n of [long1, long2, lambdaFunctionName('spillway', { name: 'weird name.with/dots', versionId: v })]) {
      assert.ok(n.length <= 64, n);
      assert.match(n, /^[A-Za-z0-9_-]+$/);
    }
    assert.notEqual(long1, long2);
    assert.notEqual(lambdaFunctionName('s', { name: 'a.b', versionId: v }), lambdaFunctionName('s', { name: 'a-b', versionId: v }));
  });

  it('parses the REPORT line and the log tail', () => {
    const tail = [
      'START RequestId: r1 Version: $LATEST',
      '2026-01-01T00:00:00.000Z\tr1\tINFO\thello',
      '2026-01-01T00:00:00.250Z\tr1\tERROR\tbad thing',
      '    at line two',
      'END RequestId: r1',
      'REPORT RequestId: r1\tDuration: 101.25 ms\tBilled Duration: 102 ms\tMemory Size: 2048 MB\tMax Memory Used: 75 MB\tInit Duration: 180.50 ms\t',
    ].join('\n');
    assert.deepEqual(parseReport(tail), { requestId: 'r1', durationMs: 101.25, billedDurationMs: 102, memorySizeMb: 2048, maxMemoryUsedMb: 75, initDurationMs: 180.5 });
    assert.deepEqual(parseLogTail(tail), [
      { level: 'log', message: 'hello', atMs: 0 },
      { level: 'error', message: 'bad thing\n    at line two', atMs: 250 },
    ]);
    assert.equal(parseReport('no report here'), null);
  });
});

/* ------------------------------------------------------------------ through the SDK, over HTTP */

describe('LambdaTier against a local HTTP endpoint speaking the Lambda API', () => {
  let fake: FakeLambda;
  const tiers: LambdaTier[] = [];
  before(async () => {
    fake = await new FakeLambda().start();
  });
  after(async () => {
    for (const t of tiers) await t.close();
    await fake.stop();
  });

  function tier(options: Partial<LambdaTierOptions> = {}, clock: Clock = systemClock): LambdaTier {
    const t = new LambdaTier({
      region: 'eu-west-2',
      roleArn: ROLE,
      endpoint: fake.endpoint,
      credentials: { accessKeyId: 'AKIAFAKEFAKEFAKE', secretAccessKey: 'fake-secret' },
      prefix: 'spillway',
      memoryMb: 2048,
      architecture: 'arm64',
      runtime: 'nodejs22.x',
      clock,
      ...options,
    });
    tiers.push(t);
    return t;
  }

  /** A clock whose short timers (the Active poll) fire on the next turn: polling runs without waiting. */
  function pollingClock(): Clock {
    const manual = new ManualClock();
    return {
      now: () => manual.now(),
      setTimer(fn, ms) {
        const cancel = manual.setTimer(fn, ms);
        if (ms <= 5000) setImmediate(() => manual.advance(ms));
        return cancel;
      },
    };
  }

  async function call(t: LambdaTier, target: InvocationTarget, payload = httpPayload('GET', '/')) {
    const handle = await t.invoke(target, 'http', payload, LIMITS);
    const [outcome, metering] = await Promise.all([handle.outcome, handle.metering]);
    return { handle, outcome, metering: metering as LambdaInvocationMetering };
  }

  const since = (start: number) => fake.requests.slice(start);

  it('first call: GetFunction, CreateFunction (arm64, 2048 MB, role, zip of adapter + bundle), waits for Active, then Invoke; the handler really answers', async () => {
    const t = tier({}, pollingClock());
    const target = await makeTarget(WORKERS, 'orders');
    const name = lambdaFunctionName('spillway', target);
    fake.createState = 'Pending';
    fake.pendingPolls = 2;
    const start = fake.requests.length;
    const { handle, outcome, metering } = await call(t, target, httpPayload('POST', '/items', 'payload-body', [['content-type', 'text/plain']]));

    const reqs = since(start);
    assert.deepEqual(
      reqs.map((r) => `${r.method} ${r.path}`),
      [
        `GET /2015-03-31/functions/${name}`,
        'POST /2015-03-31/functions',
        `GET /2015-03-31/functions/${name}/configuration`,
        `GET /2015-03-31/functions/${name}/configuration`,
        `GET /2015-03-31/functions/${name}/configuration`,
        `POST /2015-03-31/functions/${name}/invocations`,
      ],
      'Pending for two polls, Active on the third, then one Invoke',
    );
    const create = JSON.parse(reqs[1].body.toString('utf8'));
    assert.equal(create.FunctionName, name);
    assert.equal(create.Runtime, 'nodejs22.x');
    assert.deepEqual(create.Architectures, ['arm64']);
    assert.equal(create.MemorySize, 2048);
    assert.equal(create.Role, ROLE);
    assert.equal(create.Handler, 'index.handler');
    assert.equal(create.PackageType, 'Zip');
    assert.equal(create.Timeout, 30);
    assert.deepEqual(create.Tags, { 'spillway:function-id': target.functionId, 'spillway:version-id': target.versionId, 'spillway:function-name': 'orders', 'spillway:adapter': ADAPTER_HASH });
    const dir = mkdtempSync(join(tmpdir(), 'spw-zip-'));
    const files = unzipInto(new Uint8Array(Buffer.from(create.Code.ZipFile, 'base64')), dir);
    rmSync(dir, { recursive: true, force: true });
    assert.equal(Buffer.from(files['index.mjs']).toString('utf8'), ADAPTER_SOURCE);
    assert.equal(Buffer.from(files['bundle.js']).toString('utf8'), target.code);

    const inv = reqs[5];
    assert.equal(inv.headers['x-amz-invocation-type'], 'RequestResponse');
    assert.equal(inv.headers['x-amz-log-type'], 'Tail');
    assert.match(String(inv.headers.authorization), /^AWS4-HMAC-SHA256 Credential=AKIAFAKEFAKEFAKE\/\d{8}\/eu-west-2\/lambda\/aws4_request/);
    assert.deepEqual(JSON.parse(inv.body.toString('utf8')), {
      method: 'POST',
      url: 'http://example.test/items',
      headers: [['content-type', 'text/plain']],
      bodyBase64: Buffer.from('payload-body').toString('base64'),
    });

    assert.equal(handle.instanceId, `lambda:${name}`);
    assert.equal(outcome.type, 'response');
    if (outcome.type !== 'response') return;
    assert.equal(outcome.status, 201);
    assert.ok(outcome.headers.some(([k, v]) => k === 'x-style' && v === 'workers'));
    const json = JSON.parse(asText(outcome.body));
    assert.equal(json.body, 'payload-body');
    assert.equal(json.url, 'http://example.test/items');

    const adapterResult = fake.results.at(-1) as { cpuUs: number };
    assert.equal(metering.cpuUs, adapterResult.cpuUs, "CPU time is the adapter's process.cpuUsage delta");
    assert.equal(metering.coldStart, true);
    assert.ok(metering.coldStartUs >= 150_250, 'cold start time includes the REPORT Init Duration');
    assert.ok(metering.wallUs > 0);
    assert.equal(metering.error, null);
    assert.equal(metering.lambda.report?.billedDurationMs, 13);
    assert.equal(metering.lambda.executedVersion, '$LATEST');
    assert.ok(metering.logs.some((l) => l.level === 'log' && l.message === 'workers handler saw POST /items'), JSON.stringify(metering.logs));

    const warmStart = fake.requests.length;
    const warm = await call(t, target);
    assert.deepEqual(since(warmStart).map((r) => r.method + ' ' + r.path), [`POST /2015-03-31/functions/${name}/invocations`], 'a warm version goes straight to Invoke');
    assert.equal(warm.outcome.type, 'response');
    assert.equal(warm.metering.coldStart, false);
    assert.deepEqual(t.stats(), { kind: 'lambda', workers: 1, inFlight: 0, served: 2, refused: 0, coldStarts: 1 });
  });

  it('20 concurrent first calls of one version create the function once', async () => {
    const t = tier();
    const target = await makeTarget(HANDLER);
    const name = lambdaFunctionName('spillway', target);
    fake.createState = 'Active';
    const start = fake.requests.length;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => call(t, target, httpPayload('GET', '/', null, [['x-who', `c${i}`]]))));
    const reqs = since(start);
    assert.equal(reqs.filter((r) => r.method === 'GET' && r.path === `/2015-03-31/functions/${name}`).length, 1);
    assert.equal(reqs.filter((r) => r.method === 'POST' && r.path === '/2015-03-31/functions').length, 1);
    assert.equal(reqs.filter((r) => r.path.endsWith('/invocations')).length, 20);
    results.forEach((r, i) => {
      assert.equal(r.outcome.type, 'response');
      if (r.outcome.type === 'response') assert.equal(asText(r.outcome.body), `handler GET c${i} function`);
    });
    assert.equal(results.filter((r) => r.metering.coldStart).length, 1, 'one environment in the fake: one cold start');
    assert.equal(t.stats().served, 20);
  });

  it('uses an existing Active function without creating it; redeploys the code when its adapter tag is from another release', async () => {
    const t = tier({}, pollingClock());
    const target = await makeTarget(PLAIN);
    const name = lambdaFunctionName('spillway', target);
    fake.addFunction(name, buildLambdaZip(target, target.code), {}, { 'spillway:adapter': ADAPTER_HASH });
    let start = fake.requests.length;
    const ok = await call(t, target, httpPayload('POST', '/', '{"a":1,"b":2}'));
    assert.equal(ok.outcome.type === 'response' && asText(ok.outcome.body), '3');
    assert.ok(!since(start).some((r) => r.path === '/2015-03-31/functions' || r.path.endsWith('/code')), 'no CreateFunction or UpdateFunctionCode');

    const t2 = tier({}, pollingClock());
    const other = await makeTarget(`function mul(a: number, b: number) { return a * b; }`);
    const otherName = lambdaFunctionName('spillway', other);
    fake.addFunction(otherName, buildLambdaZip(other, other.code), {}, { 'spillway:adapter': 'from-an-older-release' });
    start = fake.requests.length;
    const updated = await call(t2, other, httpPayload('POST', '/', '[6,7]'));
    assert.equal(updated.outcome.type === 'response' && asText(updated.outcome.body), '42');
    const paths = since(start).map((r) => `${r.method} ${r.path}`);
    assert.ok(paths.includes(`PUT /2015-03-31/functions/${otherName}/code`), paths.join('\n'));
    assert.ok(paths.indexOf(`PUT /2015-03-31/functions/${otherName}/code`) < paths.indexOf(`POST /2015-03-31/functions/${otherName}/invocations`));
  });

  describe('error mapping', () => {
    /** A deployed (Active) function whose Invoke answers `reply`. */
    async function invokeAnswering(reply: ((r: RecordedRequest) => ReturnType<typeof awsError> | undefined) | null, code = WORKERS, options: Partial<LambdaTierOptions> = {}) {
      const t = tier(options);
      const target = await makeTarget(code);
      fake.createState = 'Active';
      fake.override = reply ? (r) => (r.path.endsWith('/invocations') ? reply(r) : undefined) : null;
      try {
        return { t, target, ...(await call(t, target)) };
      } finally {
        fake.override = null;
      }
    }
    const functionError = (payload: unknown, log = '') => (): ReturnType<typeof awsError> => ({
      status: 200,
      headers: { 'x-amz-function-error': 'Unhandled', 'content-type': 'application/json', 'x-amz-log-result': Buffer.from(log).toString('base64') },
      body: JSON.stringify(payload),
    });

    it('a handler that throws (the real adapter, FunctionError Unhandled) → FUNCTION_ERROR 500 with the error type and stack', async () => {
      const { outcome, metering, t } = await invokeAnswering(null, THROWS);
      const err = expectError(outcome, 'FUNCTION_ERROR', 500);
      assert.equal(err.message, 'TypeError: boom from the handler');
      assert.equal(err.details?.errorType, 'TypeError');
      assert.match(String(err.details?.stack), /boom from the handler/);
      assert.equal(metering.error, err, 'the metering carries the error');
      assert.equal(t.stats().refused, 0, 'a function error is not a refusal');
    });

    it('a handler that returns a non-Response (the real adapter) → BAD_RESPONSE 502', async () => {
      const { outcome } = await invokeAnswering(null, NOT_A_RESPONSE);
      expectError(outcome, 'BAD_RESPONSE', 502);
    });

    it('Runtime.OutOfMemory, or Runtime.ExitError killed with memory full / no REPORT / heap out of memory in the log → OUT_OF_MEMORY 502; another ExitError → FUNCTION_ERROR', async () => {
      expectError((await invokeAnswering(functionError({ errorType: 'Runtime.OutOfMemory', errorMessage: 'RequestId: r Error: Runtime exited with error: signal: killed' }))).outcome, 'OUT_OF_MEMORY', 502);
      const full = 'REPORT RequestId: r\tDuration: 900.00 ms\tBilled Duration: 900 ms\tMemory Size: 2048 MB\tMax Memory Used: 2048 MB\t\n';
      expectError((await invokeAnswering(functionError({ errorType: 'Runtime.ExitError', errorMessage: 'Runtime exited with error: signal: killed' }, full))).outcome, 'OUT_OF_MEMORY', 502);
      const roomy = full.replace('Max Memory Used: 2048', 'Max Memory Used: 90');
      expectError((await invokeAnswering(functionError({ errorType: 'Runtime.ExitError', errorMessage: 'Runtime exited with error: exit status 1' }, roomy))).outcome, 'FUNCTION_ERROR', 500);
      expectError((await invokeAnswering(functionError({ errorType: 'Runtime.ExitError', errorMessage: 'Runtime exited with error: signal: killed' }, roomy))).outcome, 'FUNCTION_ERROR', 500);
      expectError((await invokeAnswering(functionError({ errorType: 'Runtime.ExitError', errorMessage: 'RequestId: r Error: Runtime exited with error: signal: killed' }, 'START RequestId: r\n'))).outcome, 'OUT_OF_MEMORY', 502);
      const heap = `2026-01-01T00:00:00.000Z\tr\tERROR\tFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n${roomy}`;
      expectError((await invokeAnswering(functionError({ errorType: 'Runtime.ExitError', errorMessage: 'Runtime exited with error: signal: aborted' }, heap))).outcome, 'OUT_OF_MEMORY', 502);
    });

    it('Sandbox.Timedout and "Task timed out" → TIMEOUT 504', async () => {
      expectError((await invokeAnswering(functionError({ errorType: 'Sandbox.Timedout', errorMessage: 'RequestId: r Error: Task timed out after 30.00 seconds' }))).outcome, 'TIMEOUT', 504);
      expectError((await invokeAnswering(functionError({ errorMessage: '2026-01-01T00:00:30.000Z r Task timed out after 30.03 seconds' }))).outcome, 'TIMEOUT', 504);
    });

    it('TooManyRequestsException → BURST_UNAVAILABLE 503 with retryAfterMs from Retry-After, else the default', async () => {
      const withHeader = await invokeAnswering(() => awsError(429, 'TooManyRequestsException', 'Rate Exceeded.', { 'retry-after': '7' }));
      const err = expectError(withHeader.outcome, 'BURST_UNAVAILABLE', 503);
      assert.equal(err.details?.retryAfterMs, 7000);
      assert.equal(err.details?.awsError, 'TooManyRequestsException');
      assert.equal(withHeader.t.stats().refused, 1);
      const without = expectError((await invokeAnswering(() => awsError(429, 'TooManyRequestsException', 'Rate Exceeded.'))).outcome, 'BURST_UNAVAILABLE', 503);
      assert.equal(without.details?.retryAfterMs, 1000);
      const custom = expectError((await invokeAnswering(() => awsError(429, 'TooManyRequestsException', 'Rate Exceeded.'), WORKERS, { defaultRetryAfterMs: 2500 })).outcome, 'BURST_UNAVAILABLE', 503);
      assert.equal(custom.details?.retryAfterMs, 2500);
    });

    it('ServiceException (500) → BURST_UNAVAILABLE; ResourceConflictException while updating → BURST_UNAVAILABLE with a longer retry', async () => {
      const service = expectError((await invokeAnswering(() => awsError(500, 'ServiceException', 'internal failure'))).outcome, 'BURST_UNAVAILABLE', 503);
      assert.equal(service.details?.retryAfterMs, 1000);
      assert.equal(service.details?.httpStatus, 500);
      const conflict = expectError((await invokeAnswering(() => awsError(409, 'ResourceConflictException', 'The operation cannot be performed at this time. An update is in progress for resource'))).outcome, 'BURST_UNAVAILABLE', 503);
      assert.equal(conflict.details?.retryAfterMs, 2000);
      assert.match(conflict.message, /ResourceConflictException/);
    });

    it('RequestTooLargeException (413) → PAYLOAD_TOO_LARGE', async () => {
      const err = expectError((await invokeAnswering(() => awsError(413, 'RequestTooLargeException', 'Request must be smaller than 6291456 bytes for the InvokeFunction operation'))).outcome, 'PAYLOAD_TOO_LARGE', 413);
      assert.match(err.message, /6 MB/);
    });

    it('a function deleted behind our back (Invoke 404) → BURST_UNAVAILABLE, and the next call deploys it again', async () => {
      const { t, target, outcome } = await invokeAnswering(() => awsError(404, 'ResourceNotFoundException', 'Function not found'));
      expectError(outcome, 'BURST_UNAVAILABLE', 503);
      fake.functions.delete(lambdaFunctionName('spillway', target));
      const start = fake.requests.length;
      const again = await call(t, target);
      assert.equal(again.outcome.type, 'response');
      assert.ok(since(start).some((r) => r.method === 'POST' && r.path === '/2015-03-31/functions'), 'CreateFunction again');
    });

    it('a CreateFunction refusal (role not assumable) → BURST_UNAVAILABLE, and the next call tries the deploy again', async () => {
      const t = tier();
      const target = await makeTarget(HANDLER);
      fake.override = (r) => (r.method === 'POST' && r.path === '/2015-03-31/functions' ? awsError(400, 'InvalidParameterValueException', 'The role defined for the function cannot be assumed by Lambda.') : undefined);
      const first = await call(t, target);
      fake.override = null;
      const err = expectError(first.outcome, 'BURST_UNAVAILABLE', 503);
      assert.match(err.message, /cannot be assumed/);
      assert.equal(t.stats().workers, 0);
      const second = await call(t, target);
      assert.equal(second.outcome.type, 'response');
      assert.equal(t.stats().workers, 1);
    });

    it('CreateFunction answering ResourceConflictException (another node created it first) → waits for it and invokes', async () => {
      const t = tier({}, pollingClock());
      const target = await makeTarget(HANDLER);
      const name = lambdaFunctionName('spillway', target);
      fake.addFunction(name, buildLambdaZip(target, target.code), { State: 'Pending', LastUpdateStatus: 'InProgress' }, { 'spillway:adapter': ADAPTER_HASH }).pendingPolls = 1;
      // GetFunction misses it (the other node's CreateFunction had not landed yet).
      fake.override = (r) => (r.method === 'GET' && r.path === `/2015-03-31/functions/${name}` ? awsError(404, 'ResourceNotFoundException', 'Function not found') : undefined);
      const start = fake.requests.length;
      const { outcome } = await call(t, target);
      fake.override = null;
      assert.equal(outcome.type, 'response');
      assert.deepEqual(
        since(start).map((r) => `${r.method} ${r.path.replace(name, 'NAME')}`),
        ['GET /2015-03-31/functions/NAME', 'POST /2015-03-31/functions', 'GET /2015-03-31/functions/NAME/configuration', 'GET /2015-03-31/functions/NAME/configuration', 'POST /2015-03-31/functions/NAME/invocations'],
      );
    });

    it('a function in state Failed → BURST_UNAVAILABLE naming the reason', async () => {
      const t = tier();
      const target = await makeTarget(HANDLER);
      fake.addFunction(lambdaFunctionName('spillway', target), buildLambdaZip(target, target.code), { State: 'Failed', StateReasonCode: 'InvalidZipFileException', StateReason: 'Could not unzip uploaded file.' }, { 'spillway:adapter': ADAPTER_HASH });
      const err = expectError((await call(t, target)).outcome, 'BURST_UNAVAILABLE', 503);
      assert.match(err.message, /Failed \(InvalidZipFileException: Could not unzip uploaded file\.\)/);
    });

    it('a function that never becomes Active within activeTimeoutMs → BURST_UNAVAILABLE', async () => {
      const t = tier({ activeTimeoutMs: 3000, pollIntervalMs: 1000 }, pollingClock());
      const target = await makeTarget(HANDLER);
      fake.createState = 'Pending';
      fake.pendingPolls = 1000;
      const err = expectError((await call(t, target)).outcome, 'BURST_UNAVAILABLE', 503);
      assert.match(err.message, /did not become Active within 3000 ms/);
      fake.functions.get(lambdaFunctionName('spillway', target))!.pendingPolls = 0;
    });

    it('network failure (nothing listening) → BURST_UNAVAILABLE with a retry, and invoke resolves', async () => {
      const dead = new FakeLambda();
      await dead.start();
      const endpoint = dead.endpoint;
      await dead.stop();
      const t = tier({ endpoint });
      const target = await makeTarget(HANDLER);
      const err = expectError((await call(t, target)).outcome, 'BURST_UNAVAILABLE', 503);
      assert.match(err.message, /could not be reached/);
      assert.equal(err.details?.retryAfterMs, 5000);
      assert.equal(t.stats().refused, 1);
    });

    it('the wall-clock timeout abandons a call Lambda has not answered → TIMEOUT 504', async () => {
      const clock = new ManualClock();
      const t = tier({}, clock);
      const target = await makeTarget(HANDLER);
      fake.createState = 'Active';
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      fake.override = async (r) => {
        if (!r.path.endsWith('/invocations')) return undefined;
        await held;
        return awsError(500, 'ServiceException', 'too late');
      };
      const invoked = fake.nextRequest('POST', /\/invocations$/);
      const handle = await t.invoke(target, 'http', httpPayload('GET', '/'), { timeoutMs: 5000, cpuLimitMs: 1000 });
      await invoked;
      clock.advance(5000);
      const err = expectError(await handle.outcome, 'TIMEOUT', 504);
      assert.equal(err.details?.timeoutMs, 5000);
      fake.override = null;
      release();
    });
  });

  describe('bad input', () => {
    it('no role ARN → BURST_UNAVAILABLE naming SPILLWAY_LAMBDA_ROLE_ARN, without any request', async () => {
      const t = tier({ roleArn: undefined });
      const start = fake.requests.length;
      const { outcome, metering } = await call(t, await makeTarget(HANDLER));
      const err = expectError(outcome, 'BURST_UNAVAILABLE', 503);
      assert.match(err.message, /SPILLWAY_LAMBDA_ROLE_ARN/);
      assert.equal(typeof err.details?.retryAfterMs, 'number');
      assert.equal(metering.error?.code, 'BURST_UNAVAILABLE');
      assert.equal(fake.requests.length, start);
      assert.equal(t.stats().refused, 1);
    });

    it('createLambdaTier from the settings: no role set → refused the same way', async () => {
      const t = createLambdaTier(loadConfig({}, { SPILLWAY_BURST_TIER: 'lambda', SPILLWAY_LAMBDA_ENDPOINT: fake.endpoint }), systemClock, { credentials: { accessKeyId: 'A', secretAccessKey: 'B' } });
      tiers.push(t);
      assert.equal(t.kind, 'lambda');
      expectError((await call(t, await makeTarget(HANDLER))).outcome, 'BURST_UNAVAILABLE', 503);
    });

    it('a 7 MB body, and a 4.8 MB body whose base64 is over 6 MB → PAYLOAD_TOO_LARGE without any request', async () => {
      const t = tier();
      const target = await makeTarget(HANDLER);
      const start = fake.requests.length;
      const big = await call(t, target, httpPayload('POST', '/', new Uint8Array(7 * 1024 * 1024)));
      const err = expectError(big.outcome, 'PAYLOAD_TOO_LARGE', 413);
      assert.match(err.message, /6 MB/);
      const base64Big = await call(t, target, httpPayload('POST', '/', 'x'.repeat(4_800_000)));
      expectError(base64Big.outcome, 'PAYLOAD_TOO_LARGE', 413);
      assert.equal(fake.requests.length, start, 'nothing reached the endpoint');
      assert.equal(t.stats().refused, 0);
    });

    it('a 4 MB body goes through (base64 ≈ 5.3 MB)', async () => {
      const t = tier();
      const target = await makeTarget(`export default { async fetch(r: Request) { return new Response(String((await r.arrayBuffer()).byteLength)); } };`);
      fake.createState = 'Active';
      const { outcome } = await call(t, target, httpPayload('POST', '/', new Uint8Array(4 * 1024 * 1024)));
      assert.equal(outcome.type === 'response' && asText(outcome.body), String(4 * 1024 * 1024));
    });
  });

  describe('lifecycle', () => {
    it('evictFunction forgets the deployed versions (the next call checks again); with deleteOnEvict it deletes them', async () => {
      const t = tier({ deleteOnEvict: true });
      const target = await makeTarget(HANDLER);
      const name = lambdaFunctionName('spillway', target);
      fake.createState = 'Active';
      await call(t, target);
      assert.equal(t.stats().workers, 1);
      const deleted = fake.nextRequest('DELETE', new RegExp(`/functions/${name}$`));
      t.evictFunction(target.functionId);
      assert.equal(t.stats().workers, 0);
      await deleted;
      assert.equal(fake.functions.has(name), false);
      const start = fake.requests.length;
      const again = await call(t, target);
      assert.equal(again.outcome.type, 'response');
      assert.deepEqual(since(start).map((r) => r.method + ' ' + r.path.replace(name, 'NAME')), ['GET /2015-03-31/functions/NAME', 'POST /2015-03-31/functions', 'POST /2015-03-31/functions/NAME/invocations']);
    });

    it('evictFunction without deleteOnEvict leaves the Lambda in place', async () => {
      const t = tier();
      const target = await makeTarget(HANDLER);
      fake.createState = 'Active';
      await call(t, target);
      const start = fake.requests.length;
      t.evictFunction(target.functionId);
      await call(t, target);
      assert.deepEqual(since(start).map((r) => r.method), ['GET', 'POST'], 'GetFunction finds it, then Invoke');
      assert.ok(since(start)[1].path.endsWith('/invocations'));
    });

    it('past maxInFlight, a call is refused at once as BURST_UNAVAILABLE; stats count it', async () => {
      const t = tier({ maxInFlight: 1 });
      const target = await makeTarget(HANDLER);
      fake.createState = 'Active';
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      fake.override = async (r) => {
        if (!r.path.endsWith('/invocations')) return undefined;
        await held;
        return undefined;
      };
      const invoked = fake.nextRequest('POST', /\/invocations$/);
      const first = await t.invoke(target, 'http', httpPayload('GET', '/', null, [['x-who', 'first']]), LIMITS);
      await invoked;
      assert.equal(t.stats().inFlight, 1);
      const start = fake.requests.length;
      const second = await call(t, target);
      const err = expectError(second.outcome, 'BURST_UNAVAILABLE', 503);
      assert.match(err.message, /1 calls in flight/);
      assert.equal(fake.requests.length, start, 'the refused call sent nothing');
      fake.override = null;
      release();
      const outcome = await first.outcome;
      assert.equal(outcome.type === 'response' && asText(outcome.body), 'handler GET first function');
      await first.metering;
      assert.deepEqual({ ...t.stats(), kind: undefined, coldStarts: undefined }, { kind: undefined, coldStarts: undefined, workers: 1, inFlight: 0, served: 1, refused: 1 });
    });

    it('after close(), calls are refused as BURST_UNAVAILABLE', async () => {
      const t = tier();
      await t.close();
      const start = fake.requests.length;
      expectError((await call(t, await makeTarget(HANDLER))).outcome, 'BURST_UNAVAILABLE', 503);
      assert.equal(fake.requests.length, start);
    });
  });
});
