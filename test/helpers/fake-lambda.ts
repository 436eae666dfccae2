/**
 * A test double for the AWS Lambda service's HTTP endpoint: a node:http server on 127.0.0.1 that
 * speaks the parts of the Lambda REST API (2015-03-31) the Lambda burst tier uses — GetFunction,
 * CreateFunction, GetFunctionConfiguration, UpdateFunctionCode, DeleteFunction, Invoke — with
 * AWS-shaped answers and errors (x-amzn-ErrorType + JSON body, X-Amz-Function-Error,
 * X-Amz-Log-Result). Invoke really runs the zip it was given: it unzips it, imports its
 * index.mjs and calls `handler(event)`, so a call through the real SDK returns the user
 * handler's real response. Not AWS: no IAM, no real cold start, no sandbox, no limits beyond
 * what a test injects with `override`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { unzipSync } from 'fflate';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface FakeFunction {
  name: string;
  config: Record<string, unknown>;
  tags: Record<string, string>;
  zip: Uint8Array;
  /** GetFunctionConfiguration answers left before a Pending function turns Active. */
  pendingPolls: number;
  module: Promise<{ handler: (event: unknown) => Promise<unknown> }> | null;
  invocations: number;
}

export interface FakeReply {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** Writes a zip's files under `dir`. */
export function unzipInto(zip: Uint8Array, dir: string): Record<string, Uint8Array> {
  const files = unzipSync(zip);
  for (const [path, bytes] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), bytes);
  }
  return files;
}

export function awsError(status: number, type: string, message: string, headers: Record<string, string> = {}): FakeReply {
  return { status, headers: { 'x-amzn-errortype': type, 'content-type': 'application/json', ...headers }, body: JSON.stringify({ Type: status >= 500 ? 'Service' : 'User', message }) };
}

const logStore = new AsyncLocalStorage<string[]>();
let consolePatched = false;
/** Console lines written while a fake invocation runs go to that invocation's log tail, as in Lambda. */
function patchConsole(): void {
  if (consolePatched) return;
  consolePatched = true;
  for (const level of ['log', 'info', 'warn', 'error'] as const) {
    const original = console[level].bind(console);
    console[level] = (...args: unknown[]) => {
      const lines = logStore.getStore();
      if (!lines) return original(...args);
      lines.push(`${new Date().toISOString()}\tREQ\t${level === 'log' ? 'INFO' : level.toUpperCase()}\t${args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`);
    };
  }
}

export class FakeLambda extends EventEmitter {
  readonly requests: RecordedRequest[] = [];
  readonly functions = new Map<string, FakeFunction>();
  /** Answers instead of the fake's own behaviour when it returns a reply (or a promise of one). */
  override: ((req: RecordedRequest) => FakeReply | Promise<FakeReply | undefined> | undefined) | null = null;
  /** State of newly created functions (CreateFunction's answer), and polls until they turn Active. */
  createState: 'Pending' | 'Active' = 'Pending';
  pendingPolls = 1;
  /** The adapter's results of successful invocations, in order. */
  readonly results: unknown[] = [];
  private server: Server | null = null;
  private readonly root = mkdtempSync(join(tmpdir(), 'spw-fake-lambda-'));
  private dirs = 0;
  endpoint = '';

  async start(): Promise<this> {
    patchConsole();
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
    rmSync(this.root, { recursive: true, force: true });
  }

  /** Requests whose method and path match. */
  count(method: string, pathRe: RegExp): number {
    return this.requests.filter((r) => r.method === method && pathRe.test(r.path)).length;
  }

  /** Resolves with the next request matching, when it arrives. */
  nextRequest(method: string, pathRe: RegExp): Promise<RecordedRequest> {
    return new Promise((resolve) => {
      const on = (r: RecordedRequest) => {
        if (r.method === method && pathRe.test(r.path)) {
          this.off('request', on);
          resolve(r);
        }
      };
      this.on('request', on);
    });
  }

  /** Adds an existing function (as if deployed before). */
  addFunction(name: string, zip: Uint8Array, config: Record<string, unknown> = {}, tags: Record<string, string> = {}): FakeFunction {
    const fn: FakeFunction = { name, config: { FunctionName: name, State: 'Active', LastUpdateStatus: 'Successful', MemorySize: 2048, ...config }, tags, zip, pendingPolls: 0, module: null, invocations: 0 };
    this.functions.set(name, fn);
    return fn;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://x');
    const recorded: RecordedRequest = { method: req.method ?? 'GET', path: decodeURIComponent(url.pathname), headers: req.headers, body: Buffer.concat(chunks) };
    this.requests.push(recorded);
    this.emit('request', recorded);
    let reply = this.override ? await this.override(recorded) : undefined;
    if (!reply) reply = await this.behave(recorded);
    res.writeHead(reply.status, { 'x-amzn-requestid': 'fake-request-id', ...(reply.headers ?? {}) });
    res.end(reply.body ?? '');
  }

  private json(status: number, body: unknown, headers: Record<string, string> = {}): FakeReply {
    return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
  }

  private notFound(name: string): FakeReply {
    return awsError(404, 'ResourceNotFoundException', `Function not found: arn:aws:lambda:eu-west-2:123456789012:function:${name}`);
  }

  private async behave(r: RecordedRequest): Promise<FakeReply> {
    let m: RegExpExecArray | null;
    if (r.method === 'POST' && r.path === '/2015-03-31/functions') {
      const body = JSON.parse(r.body.toString('utf8')) as { FunctionName: string; Code: { ZipFile: string }; Tags?: Record<string, string> } & Record<string, unknown>;
      if (this.functions.has(body.FunctionName)) return awsError(409, 'ResourceConflictException', `Function already exist: ${body.FunctionName}`);
      const { Code, Tags, ...config } = body;
      const fn = this.addFunction(body.FunctionName, new Uint8Array(Buffer.from(Code.ZipFile, 'base64')), { ...config, State: this.createState, LastUpdateStatus: this.createState === 'Active' ? 'Successful' : 'InProgress' }, Tags ?? {});
      fn.pendingPolls = this.createState === 'Pending' ? this.pendingPolls : 0;
      return this.json(201, fn.config);
    }
    if ((m = /^\/2015-03-31\/functions\/([^/]+)\/configuration$/.exec(r.path)) && r.method === 'GET') {
      const fn = this.functions.get(m[1]);
      if (!fn) return this.notFound(m[1]);
      if (fn.config.State === 'Pending' || fn.config.LastUpdateStatus === 'InProgress') {
        if (fn.pendingPolls > 0) fn.pendingPolls--;
        else fn.config = { ...fn.config, State: 'Active', LastUpdateStatus: 'Successful' };
      }
      return this.json(200, fn.config);
    }
    if ((m = /^\/2015-03-31\/functions\/([^/]+)\/code$/.exec(r.path)) && r.method === 'PUT') {
      const fn = this.functions.get(m[1]);
      if (!fn) return this.notFound(m[1]);
      const body = JSON.parse(r.body.toString('utf8')) as { ZipFile: string };
      fn.zip = new Uint8Array(Buffer.from(body.ZipFile, 'base64'));
      fn.module = null;
      fn.config = { ...fn.config, LastUpdateStatus: 'InProgress' };
      fn.pendingPolls = 0;
      return this.json(200, fn.config);
    }
    if ((m = /^\/2015-03-31\/functions\/([^/]+)$/.exec(r.path))) {
      const fn = this.functions.get(m[1]);
      if (!fn) return this.notFound(m[1]);
      if (r.method === 'DELETE') {
        this.functions.delete(m[1]);
        return { status: 204 };
      }
      return this.json(200, { Configuration: fn.config, Code: { RepositoryType: 'S3', Location: 'https://example.invalid/code.zip' }, Tags: fn.tags });
    }
    if ((m = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(r.path)) && r.method === 'POST') {
      const fn = this.functions.get(m[1]);
      if (!fn) return this.notFound(m[1]);
      return this.invoke(fn, r);
    }
    return awsError(400, 'InvalidRequestContentException', `The fake has no route for ${r.method} ${r.path}`);
  }

  private load(fn: FakeFunction): Promise<{ handler: (event: unknown) => Promise<unknown> }> {
    if (!fn.module) {
      // A fresh folder per deployment (and per code update): a new "execution environment".
      const dir = join(this.root, `${fn.name}-${this.dirs++}`);
      unzipInto(fn.zip, dir);
      fn.module = import(pathToFileURL(join(dir, 'index.mjs')).href) as Promise<{ handler: (event: unknown) => Promise<unknown> }>;
    }
    return fn.module;
  }

  private async invoke(fn: FakeFunction, r: RecordedRequest): Promise<FakeReply> {
    const first = fn.invocations++ === 0;
    const lines: string[] = [];
    const report = `REPORT RequestId: req-${fn.invocations}\tDuration: 12.50 ms\tBilled Duration: 13 ms\tMemory Size: ${String(fn.config.MemorySize ?? 2048)} MB\tMax Memory Used: 80 MB${first ? '\tInit Duration: 150.25 ms' : ''}\t`;
    const tail = () => Buffer.from([`START RequestId: req-${fn.invocations} Version: $LATEST`, ...lines, `END RequestId: req-${fn.invocations}`, report, ''].join('\n')).toString('base64');
    const headers = { 'x-amz-executed-version': '$LATEST', 'content-type': 'application/json' };
    try {
      const mod = await this.load(fn);
      const result = await logStore.run(lines, () => mod.handler(JSON.parse(r.body.toString('utf8'))));
      this.results.push(result);
      return { status: 200, headers: { ...headers, 'x-amz-log-result': tail() }, body: JSON.stringify(result) };
    } catch (err) {
      const e = err as Error;
      const payload = { errorType: e.name ?? 'Error', errorMessage: e.message ?? String(err), trace: String(e.stack ?? '').split('\n') };
      return { status: 200, headers: { ...headers, 'x-amz-function-error': 'Unhandled', 'x-amz-log-result': tail() }, body: JSON.stringify(payload) };
    }
  }
}
