/**
 * Synchronous invocation over HTTP: `/fn/:name/*` becomes the handler's Request, and its Response
 * goes back as HTTP (status, headers, body streamed chunk by chunk). The capacity router picks the
 * tier and worker (docs/capacity.md); `/baseline/fn/…` and `/burst/fn/…` (and seed 004's
 * `/fargate/fn/…` and `/lambda/fn/…`) pin one. Every response says where it ran
 * (`x-spillway-tier`, `x-spillway-instance`), and every call is recorded in the execution history
 * with its CPU time, wall time, cost and the instance that served it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SpillwayError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { computeCost, type Tier } from '../executions/cost.js';
import { toExecutionError } from '../executions/execution-worker.js';
import type { TierName } from '../capacity/types.js';
import type { Platform } from '../platform.js';
import type { InvocationMetering } from '../runtime/types.js';
import type { ExecutionRecord, FunctionRecord, VersionRecord } from '../storage/types.js';
import { sendError } from './errors.js';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'proxy-connection', 'te', 'trailer']);

export async function invokeRoutes(app: FastifyInstance, platform: Platform): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const handle = (pin: TierName | undefined) => async (request: FastifyRequest<{ Params: { name: string; '*'?: string } }>, reply: FastifyReply) => {
    const { fn, version } = await platform.functions.resolveForInvoke(request.params.name);
    if (fn.status !== 'active') throw new SpillwayError('FUNCTION_INACTIVE', `Function "${fn.name}" is inactive; set its status to "active" to call it.`);

    const rest = request.params['*'] ?? '';
    const queryAt = request.url.indexOf('?');
    const host = request.headers.host ?? '127.0.0.1';
    const url = `http://${host}/${rest}${queryAt >= 0 ? request.url.slice(queryAt) : ''}`;
    const raw = request.raw.rawHeaders;
    const headers: Array<[string, string]> = [];
    for (let i = 0; i < raw.length; i += 2) headers.push([raw[i], raw[i + 1]]);
    const body = request.body instanceof Buffer && request.body.length > 0 && request.method !== 'GET' && request.method !== 'HEAD' ? new Uint8Array(request.body) : null;

    const recordId = newId('ex');
    const target = {
      functionId: fn.id,
      versionId: version.id,
      name: fn.name,
      memoryLimitMb: fn.config.memoryLimitMb,
      plainParams: version.plainParams,
      bundle: async () => (await platform.blobs.get(version.id))?.toString('utf8') ?? '',
    };
    const routed = await platform.capacity.dispatch(target, { method: request.method, url, headers, body }, { timeoutMs: fn.config.timeout, cpuLimitMs: fn.config.cpuLimitMs }, pin);
    const { handle, tier, instanceId } = routed;
    let responseBytes = 0;
    void handle.metering.then((metering) => {
      // A call no worker took (NO_CAPACITY, BURST_UNAVAILABLE) ran nothing: it is answered, not recorded.
      if (instanceId !== 'none') platform.recorder.record(httpRecord(recordId, fn, version, request, metering, body?.byteLength ?? 0, responseBytes, instanceId), metering.coldStartUs);
    });

    const outcome = await handle.outcome;
    reply.header('x-spillway-tier', tier);
    if (instanceId !== 'none') reply.header('x-spillway-instance', instanceId).header('x-spillway-execution-id', recordId);
    if (outcome.type === 'error') return sendError(reply, outcome.error);
    if (outcome.type !== 'response') return sendError(reply, new SpillwayError('BAD_RESPONSE', 'The handler did not return a Response.'));
    reply.code(outcome.status);
    for (const [name, value] of outcome.headers) if (!HOP_BY_HOP.has(name)) reply.header(name, value);
    if (outcome.stream) {
      outcome.stream.on('data', (chunk: Buffer) => (responseBytes += chunk.length));
      return reply.send(outcome.stream);
    }
    // Always a Buffer: Fastify leaves the handler's content-type alone for Buffers (it would add a charset to strings).
    const payload = outcome.body === null ? Buffer.alloc(0) : typeof outcome.body === 'string' ? Buffer.from(outcome.body) : Buffer.from(outcome.body.buffer, outcome.body.byteOffset, outcome.body.byteLength);
    responseBytes = payload.length;
    return reply.send(payload);
  };

  const routes: Array<[prefix: string, pin: TierName | undefined]> = [
    ['/fn', undefined],
    ['/baseline/fn', 'baseline'],
    ['/burst/fn', 'burst'],
    // Seed 004 routes by path to its two tiers.
    ['/fargate/fn', 'baseline'],
    ['/lambda/fn', 'burst'],
  ];
  for (const [prefix, pin] of routes) {
    app.all(`${prefix}/:name`, handle(pin));
    app.all(`${prefix}/:name/*`, handle(pin));
  }
}

function httpRecord(id: string, fn: FunctionRecord, version: VersionRecord, request: FastifyRequest, m: InvocationMetering, inputBytes: number, outputBytes: number, instanceId: string): ExecutionRecord {
  const end = Date.now();
  const start = end - m.wallUs / 1000;
  return {
    id,
    functionId: fn.id,
    versionId: version.id,
    trigger: 'http',
    input: { method: request.method, path: request.url },
    output: null,
    status: m.error ? 'failed' : 'completed',
    error: m.error ? toExecutionError(m.error) : null,
    retryCount: 0,
    maxRetries: 0,
    createdAt: new Date(start).toISOString(),
    startTime: new Date(start).toISOString(),
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
