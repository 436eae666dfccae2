/**
 * The Lambda adapter: the `index.mjs` of every Lambda function the Lambda burst tier
 * (../lambda-tier.ts) deploys, copied into the zip as it is (plain JavaScript, Node built-ins
 * only; Lambda's Node.js runtime provides fetch, Request and Response). Beside it in the zip:
 * `bundle.js`, the function version's bundle (an IIFE assigning its exports to `__spw_user`), and
 * `spillway.json` ({ functionId, versionId, plainParams }).
 *
 * It detects the handler style the way the isolate runtime does (src/runtime/guest/index.ts
 * `load`): default `{ fetch }` object → `fetch(request, env, ctx)`; default function →
 * `handler(request, ctx)`; `__spw_plain` (or the only exported function) → arguments from the
 * JSON body, result as JSON. It answers our own event shape
 * `{ method, url, headers: [[name, value]], bodyBase64 }` with
 * `{ status, headers, bodyBase64, cpuUs, coldStart }`, and an API Gateway HTTP API / function
 * URL (payload 2.0) event with the proxy response shape. An error thrown by the handler is
 * thrown on, so Lambda reports it as a function error (X-Amz-Function-Error: Unhandled).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const here = dirname(fileURLToPath(import.meta.url));
/** Lambda's limit for a synchronous response payload (6 MB). */
const MAX_RESPONSE_BYTES = 6 * 1024 * 1024;
/** Most `ctx.waitUntil` promises per call, as on the isolate runtime. */
const MAX_WAIT_UNTIL = 1000;

let invocations = 0;
let loaded = null;

/** An error Spillway reports as BAD_RESPONSE (502) rather than FUNCTION_ERROR. */
function badResponse(message) {
  const err = new TypeError(message);
  err.name = 'Spillway.BadResponse';
  return err;
}

function platformUnavailable() {
  throw new Error('Platform bindings (Platform.db, Platform.analytics, env.KV, env.ANALYTICS) are not available on the Lambda burst tier.');
}

function load() {
  if (loaded) return loaded;
  const meta = JSON.parse(readFileSync(join(here, 'spillway.json'), 'utf8'));
  if (globalThis.Platform === undefined) {
    // seed 000's global exists so module code that only references it loads; using it fails clearly.
    globalThis.Platform = { db: { get: platformUnavailable, put: platformUnavailable, delete: platformUnavailable, list: platformUnavailable }, analytics: { track: platformUnavailable } };
  }
  const code = readFileSync(join(here, 'bundle.js'), 'utf8');
  // A script in this context: the IIFE's `var __spw_user` becomes a global, as in the isolate.
  vm.runInThisContext(`${code}\n;globalThis.__spw_user = typeof __spw_user === 'undefined' ? undefined : __spw_user;`, { filename: join(here, 'bundle.js') });
  const mod = globalThis.__spw_user && typeof globalThis.__spw_user === 'object' ? globalThis.__spw_user : {};
  const def = mod.default;
  let kind;
  let target;
  let self;
  if (def && typeof def === 'object' && typeof def.fetch === 'function') {
    kind = 'fetch';
    target = def.fetch;
    self = def;
  } else if (typeof def === 'function') {
    kind = 'handler';
    target = def;
  } else if (typeof mod.__spw_plain === 'function') {
    kind = 'plain';
    target = mod.__spw_plain;
  } else {
    const fns = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
    if (fns.length !== 1) throw new Error(`found ${fns.length} exported functions (${fns.join(', ') || 'none'}); export a default handler or exactly one function`);
    kind = 'plain';
    target = mod[fns[0]];
  }
  loaded = { kind, target, self, plainParams: Array.isArray(meta.plainParams) ? meta.plainParams : null };
  return loaded;
}

function mapArguments(input, plainParams) {
  if (input === undefined || input === null) return [];
  if (Array.isArray(input)) return input;
  if (plainParams && plainParams.length >= 2 && typeof input === 'object' && plainParams.every((p) => Object.prototype.hasOwnProperty.call(input, p))) {
    return plainParams.map((p) => input[p]);
  }
  return [input];
}

/** Our own event, or API Gateway HTTP API / function URL payload 2.0, as a fetch Request. */
function toRequest(event) {
  if (event && event.version === '2.0' && event.requestContext && event.requestContext.http) {
    const http = event.requestContext.http;
    const headers = new Headers();
    for (const [name, value] of Object.entries(event.headers ?? {})) headers.set(name, String(value));
    if (Array.isArray(event.cookies) && event.cookies.length > 0) headers.set('cookie', event.cookies.join('; '));
    const host = headers.get('host') ?? event.requestContext.domainName ?? 'lambda.internal';
    const url = `https://${host}${event.rawPath ?? '/'}${event.rawQueryString ? `?${event.rawQueryString}` : ''}`;
    const body = event.body === undefined || event.body === null ? null : event.isBase64Encoded ? Buffer.from(event.body, 'base64') : event.body;
    return { request: new Request(url, { method: http.method, headers, body: http.method === 'GET' || http.method === 'HEAD' ? null : body }), shape: 'apigw' };
  }
  if (!event || typeof event.method !== 'string' || typeof event.url !== 'string') {
    throw new TypeError('The event is neither a Spillway invocation ({ method, url, headers, bodyBase64 }) nor an API Gateway payload 2.0 event.');
  }
  const body = typeof event.bodyBase64 === 'string' ? Buffer.from(event.bodyBase64, 'base64') : null;
  const bodyless = event.method === 'GET' || event.method === 'HEAD';
  return { request: new Request(event.url, { method: event.method, headers: event.headers ?? [], body: bodyless ? null : body }), shape: 'spillway' };
}

async function callHandler(handler, request, ctx) {
  if (handler.kind === 'fetch') return handler.target.call(handler.self, request, {}, ctx);
  if (handler.kind === 'handler') return handler.target.call(undefined, request, ctx);
  const text = await request.text();
  const input = text === '' ? undefined : JSON.parse(text);
  const result = await handler.target.apply(undefined, mapArguments(input, handler.plainParams));
  let json;
  try {
    json = JSON.stringify(result);
  } catch (err) {
    throw badResponse(`The function's return value is not JSON-serialisable: ${err && err.message}`);
  }
  return new Response(json === undefined ? 'null' : json, { headers: { 'content-type': 'application/json' } });
}

export async function handler(event) {
  const coldStart = invocations === 0;
  invocations++;
  const fn = load();
  // The call's own CPU: loading the bundle (once per environment) is not counted, as on the isolate runtime.
  const cpu0 = process.cpuUsage();
  const { request, shape } = toRequest(event);
  const waits = [];
  const ctx = {
    waitUntil(promise) {
      if (waits.length >= MAX_WAIT_UNTIL) throw new RangeError(`waitUntil: at most ${MAX_WAIT_UNTIL} promises per invocation; combine them with Promise.all.`);
      // Lambda freezes the environment once the handler returns: the work is awaited before answering.
      waits.push(Promise.resolve(promise).catch((err) => console.error(`waitUntil promise rejected: ${err && err.message ? err.message : String(err)}`)));
    },
    passThroughOnException() {},
  };
  const response = await callHandler(fn, request, ctx);
  if (!(response instanceof Response)) {
    const got = response === null ? 'null' : typeof response === 'object' ? response.constructor?.name ?? 'object' : typeof response;
    throw badResponse(`The handler must return a Response (or a Promise of one), got ${got}.`);
  }
  // No streaming through RequestResponse: a streamed body is read to its end here.
  const bytes = response.body === null ? null : Buffer.from(await response.arrayBuffer());
  await Promise.all(waits);
  const cpu = process.cpuUsage(cpu0);
  const headers = [...response.headers];
  const bodyBase64 = bytes === null ? null : bytes.toString('base64');
  if (bodyBase64 !== null && bodyBase64.length > MAX_RESPONSE_BYTES - 64 * 1024) {
    throw badResponse(`The response body is ${bytes.length} bytes; Lambda answers at most 6 MB per call (base64-encoded), so the burst tier cannot return it.`);
  }
  if (shape === 'apigw') {
    const cookies = response.headers.getSetCookie();
    const single = {};
    for (const [name, value] of headers) if (name !== 'set-cookie') single[name] = value;
    return { statusCode: response.status, headers: single, cookies, body: bodyBase64 ?? '', isBase64Encoded: true };
  }
  return { status: response.status, headers, bodyBase64, cpuUs: cpu.user + cpu.system, coldStart };
}
