/**
 * Synchronous invocation over HTTP: `/fn/:name/*` becomes the handler's Request, and its Response
 * goes back as HTTP (status, headers, body streamed chunk by chunk). The capacity router picks the
 * tier and worker (docs/capacity.md); `/baseline/fn/…` and `/burst/fn/…` (and seed 004's
 * `/fargate/fn/…` and `/lambda/fn/…`) pin one. Every response says where it ran
 * (`x-spillway-tier`, `x-spillway-instance`), and every call is recorded in the execution history
 * with its CPU time, wall time, cost and the instance that served it.
 *
 * These paths are served straight from Node's HTTP server, ahead of Fastify (server.ts hands them
 * here before Fastify's router): the handler gets the path and query exactly as sent, a whole body
 * leaves with its length in one write, a streamed one chunk by chunk under backpressure, and an
 * oversized upload is refused without being read to its end. (It measured no faster than Fastify's
 * route on the hello benchmark: docs/performance.md, session 4.) Errors leave in the same envelope
 * and with the same codes as the API's (./errors.ts); the management API, and these paths while
 * the server closes (Fastify answers 503), stay with Fastify.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import { SpillwayError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { computeCost, type Tier } from '../executions/cost.js';
import { toExecutionError } from '../executions/execution-worker.js';
import type { TierName } from '../capacity/types.js';
import type { Platform } from '../platform.js';
import type { InvocationMetering, InvocationOutcome } from '../runtime/types.js';
import type { ExecutionRecord, FunctionRecord, VersionRecord } from '../storage/types.js';
import { errorBody, errorHeaders, toSpillwayError } from './errors.js';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'proxy-connection', 'te', 'trailer']);

const ROUTES: ReadonlyArray<readonly [prefix: string, pin: TierName | undefined]> = [
  ['/fn/', undefined],
  ['/baseline/fn/', 'baseline'],
  ['/burst/fn/', 'burst'],
  // Seed 004 routes by path to its two tiers.
  ['/fargate/fn/', 'baseline'],
  ['/lambda/fn/', 'burst'],
];

export interface InvokeRoute {
  /** The function's name (percent-decoded). */
  name: string;
  /** The path after the name, without its leading slash, as sent (still percent-encoded). */
  rest: string;
  /** `?…` as sent, or ''. */
  query: string;
  pin: TierName | undefined;
}

/** The invocation route a request URL names, or null (`/fn/` without a name is not one: it is a 404 from the API). */
export function matchInvokeRoute(url: string): InvokeRoute | null {
  for (const [prefix, pin] of ROUTES) {
    if (!url.startsWith(prefix)) continue;
    const queryAt = url.indexOf('?');
    const path = queryAt >= 0 ? url.slice(0, queryAt) : url;
    const slash = path.indexOf('/', prefix.length);
    const rawName = slash >= 0 ? path.slice(prefix.length, slash) : path.slice(prefix.length);
    if (rawName === '') return null;
    let name = rawName;
    if (rawName.includes('%')) {
      try {
        name = decodeURIComponent(rawName);
      } catch {
        return null;
      }
    }
    return { name, rest: slash >= 0 ? path.slice(slash + 1) : '', query: queryAt >= 0 ? url.slice(queryAt) : '', pin };
  }
  return null;
}

/** Serves invocation routes on raw Node requests. */
export class InvokeHandler {
  constructor(
    private readonly platform: Platform,
    private readonly bodyLimit: number,
    /** Where an unexpected (INTERNAL) failure is logged. */
    private readonly logError: (err: unknown) => void,
  ) {}

  handle(req: IncomingMessage, res: ServerResponse, route: InvokeRoute): void {
    this.serve(req, res, route).catch((err: unknown) => {
      const error = toSpillwayError(err, this.bodyLimit);
      if (error.code === 'INTERNAL') this.logError(err);
      writeError(res, error);
    });
  }

  private async serve(req: IncomingMessage, res: ServerResponse, route: InvokeRoute): Promise<void> {
    const method = req.method ?? 'GET';
    const bodyBytes = method === 'GET' || method === 'HEAD' ? null : await readBody(req, res, this.bodyLimit);
    const { fn, version } = await this.platform.functions.resolveForInvoke(route.name);
    if (fn.status !== 'active') throw new SpillwayError('FUNCTION_INACTIVE', `Function "${fn.name}" is inactive; set its status to "active" to call it.`);

    const url = `http://${req.headers.host ?? '127.0.0.1'}/${route.rest}${route.query}`;
    const raw = req.rawHeaders;
    const headers: Array<[string, string]> = [];
    for (let i = 0; i < raw.length; i += 2) headers.push([raw[i]!, raw[i + 1]!]);
    const body = bodyBytes && bodyBytes.length > 0 ? new Uint8Array(bodyBytes.buffer, bodyBytes.byteOffset, bodyBytes.byteLength) : null;

    // Backpressure (docs/backpressure.md): 429 / 503 before anything runs; the outcome is reported below.
    const permit = this.platform.backpressure.admitInvocation(fn, {
      headers: req.headers,
      // A getter: the peer address is a system call, needed only when invocations are rate-limited.
      get ip() {
        return req.socket.remoteAddress ?? '';
      },
    });
    const recordId = newId('ex');
    const target = {
      functionId: fn.id,
      versionId: version.id,
      name: fn.name,
      memoryLimitMb: fn.config.memoryLimitMb,
      plainParams: version.plainParams,
      bundle: async () => (await this.platform.blobs.get(version.id))?.toString('utf8') ?? '',
    };
    const routed = await this.platform.capacity
      .dispatch(target, { method, url, headers, body }, { timeoutMs: fn.config.timeout, cpuLimitMs: fn.config.cpuLimitMs }, route.pin)
      .catch((err: unknown) => {
        permit.release();
        throw err;
      });
    const { handle, tier, instanceId } = routed;
    let responseBytes = 0;
    void handle.metering.then((metering) => {
      // A call no worker took (NO_CAPACITY, BURST_UNAVAILABLE) ran nothing: it is answered, not recorded.
      if (instanceId !== 'none') this.platform.recorder.record(httpRecord(recordId, fn, version, method, req.url ?? '', metering, body?.byteLength ?? 0, responseBytes, instanceId), metering.coldStartUs);
    });

    const outcome = await handle.outcome;
    // A Response of any status is a success for the breaker; only function faults count against it.
    // A call no worker took (NO_CAPACITY, BURST_UNAVAILABLE) says nothing about the function.
    if (instanceId === 'none') permit.release();
    else permit.report(outcome.type === 'error' ? outcome.error.code : outcome.type === 'response' ? null : 'BAD_RESPONSE');
    const where: Array<[string, string]> = instanceId === 'none' ? [['x-spillway-tier', tier]] : [['x-spillway-tier', tier], ['x-spillway-instance', instanceId], ['x-spillway-execution-id', recordId]];
    if (outcome.type !== 'response') {
      writeError(res, outcome.type === 'error' ? outcome.error : new SpillwayError('BAD_RESPONSE', 'The handler did not return a Response.'), where);
      return;
    }
    responseBytes = writeResponse(res, outcome, where, (n) => (responseBytes += n));
  }
}

/**
 * Writes the handler's Response. A whole body goes with its length in one write (header and a
 * string body in one buffer); a stream goes chunk by chunk, and a client that leaves stops it.
 * Returns the bytes of a whole body (a stream's are counted through `onChunk`).
 */
function writeResponse(res: ServerResponse, outcome: Extract<InvocationOutcome, { type: 'response' }>, where: Array<[string, string]>, onChunk: (bytes: number) => void): number {
  const headers = where;
  let hasType = false;
  for (const header of outcome.headers) {
    if (HOP_BY_HOP.has(header[0])) continue;
    if (header[0] === 'content-type') hasType = true;
    headers.push(header);
  }
  if (outcome.stream) {
    const stream = outcome.stream;
    res.writeHead(outcome.status, headers);
    stream.on('data', (chunk: Buffer) => onChunk(chunk.length));
    // Either side failing ends both: a client that leaves cancels the guest's stream, and a stream
    // that fails mid-body cuts the response (its status is already sent).
    pipeline(stream, res, () => {});
    return 0;
  }
  const body = outcome.body;
  const bytes = body === null ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  // A body without a type is bytes to HTTP (as Fastify, which served this path before, said too).
  if (!hasType && bytes > 0) headers.push(['content-type', 'application/octet-stream']);
  headers.push(['content-length', String(bytes)]);
  res.writeHead(outcome.status, headers);
  if (body === null) res.end();
  else res.end(typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  return bytes;
}

function writeError(res: ServerResponse, error: SpillwayError, extra: Array<[string, string]> = []): void {
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  const json = JSON.stringify(errorBody(error));
  res.writeHead(error.status, [...extra, ...errorHeaders(error), ['content-length', String(Buffer.byteLength(json))]]);
  res.end(json);
}

/**
 * Reads a request body up to `limit` bytes. Past the limit (declared or sent) it fails with
 * PAYLOAD_TOO_LARGE at once, without buffering the rest, and the connection closes after the
 * answer so an oversized upload is not read to its end.
 */
function readBody(req: IncomingMessage, res: ServerResponse, limit: number): Promise<Buffer | null> {
  const tooLarge = () => {
    res.shouldKeepAlive = false;
    return new SpillwayError('PAYLOAD_TOO_LARGE', `The request body is larger than the ${limit}-byte limit; send a smaller body.`, { limitBytes: limit });
  };
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(tooLarge());
  if (declared === 0 || (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined)) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.once('error', reject);
  });
}

function httpRecord(id: string, fn: FunctionRecord, version: VersionRecord, method: string, path: string, m: InvocationMetering, inputBytes: number, outputBytes: number, instanceId: string): ExecutionRecord {
  const end = Date.now();
  const startIso = new Date(end - m.wallUs / 1000).toISOString();
  return {
    id,
    functionId: fn.id,
    versionId: version.id,
    trigger: 'http',
    input: { method, path },
    output: null,
    status: m.error ? 'failed' : 'completed',
    error: m.error ? toExecutionError(m.error) : null,
    retryCount: 0,
    maxRetries: 0,
    createdAt: startIso,
    startTime: startIso,
    endTime: new Date(end).toISOString(),
    duration: Math.round(m.wallUs / 100) / 10,
    cpuUs: m.cpuUs,
    wallUs: m.wallUs,
    coldStart: m.coldStart,
    instanceId,
    logs: m.logs,
    cost: computeCost({ tier: fn.tier as Tier, cpuUs: m.cpuUs, wallUs: m.wallUs, retryCount: 0, coldStart: m.coldStart, inputBytes, outputBytes }),
    nextAttemptAt: null,
    inputBytes,
    outputBytes,
    replayOf: null,
  };
}
