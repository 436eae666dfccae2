/**
 * The AWS Lambda burst tier (`SPILLWAY_BURST_TIER=lambda`), written against the real Lambda API
 * with @aws-sdk/client-lambda. Each function version is deployed once as its own Lambda function
 * (the bundle plus ./lambda-adapter/index.mjs in a zip), then invoked synchronously
 * (RequestResponse, log tail included). Every failure comes back as an error outcome, never a
 * rejection: AWS refusing or throttling the call is BURST_UNAVAILABLE with details.retryAfterMs, so
 * the router can fall back. docs/lambda-tier.md has the configuration, the IAM permissions, the
 * error mapping and what has (and has not) run against AWS.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import {
  CreateFunctionCommand,
  DeleteFunctionCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  UpdateFunctionCodeCommand,
  type FunctionConfiguration,
  type InvokeCommandOutput,
} from '@aws-sdk/client-lambda';
import { zipSync } from 'fflate';
import type { Config } from '../../config/config.js';
import type { Clock } from '../../core/clock.js';
import { SpillwayError, type ErrorCode } from '../../core/errors.js';
import type { HttpRequestPayload, InvocationHandle, InvocationLimits, InvocationMetering, InvocationOutcome, LogLine } from '../../runtime/types.js';
import type { BurstTier, BurstTierStats, InvocationTarget } from '../types.js';

/** Lambda's limit on a synchronous (RequestResponse) request payload: 6 MB. */
export const LAMBDA_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** Lambda's limit on a zip uploaded directly in CreateFunction/UpdateFunctionCode: 50 MB. */
export const LAMBDA_MAX_ZIP_BYTES = 50 * 1024 * 1024;
/** Longest Lambda function name. */
const MAX_NAME = 64;
/** Characters of the function's own name kept in the Lambda name (the rest is prefix and version). */
const MAX_NAME_PART = 30;

/** The adapter's source, as shipped in every zip. */
const ADAPTER_SOURCE = readFileSync(new URL('./lambda-adapter/index.mjs', import.meta.url));
/** Short hash of the adapter, tagged on each Lambda, so a Spillway upgrade redeploys the adapter. */
export const ADAPTER_HASH = createHash('sha256').update(ADAPTER_SOURCE).digest('hex').slice(0, 16);
/** Fixed timestamps make the zip a function of its contents. */
const ZIP_MTIME = new Date('2020-01-01T00:00:00Z');

export interface LambdaTierOptions {
  /** A client to use (tests, or a caller with its own credentials); otherwise one is made from the settings below. */
  client?: LambdaClient;
  region: string;
  /** Execution role of the created functions (SPILLWAY_LAMBDA_ROLE_ARN); without it every call is BURST_UNAVAILABLE. */
  roleArn: string | undefined;
  endpoint?: string;
  prefix: string;
  memoryMb: number;
  architecture: 'arm64' | 'x86_64';
  runtime: string;
  clock: Clock;
  /** Optional: credentials for the client made here (default: the SDK's provider chain). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Optional: SDK attempts per AWS call for the client made here (default 1: the router, not the SDK, decides what to do with a refusal). */
  maxAttempts?: number;
  /** Optional: how long a new function may take to become Active (default 120 s). */
  activeTimeoutMs?: number;
  /** Optional: interval between GetFunctionConfiguration polls while waiting (default 1 s). */
  pollIntervalMs?: number;
  /** Optional: Retry-After for throttling and service errors when AWS gives none (default 1 s). */
  defaultRetryAfterMs?: number;
  /** Optional: delete a function's Lambda functions (those this process deployed) on `evictFunction` (default false). */
  deleteOnEvict?: boolean;
  /**
   * Optional: calls in flight at once (default 1000, AWS's default regional concurrency); past it a
   * call is refused at once as BURST_UNAVAILABLE instead of queueing. The client made here gets
   * as many sockets (the SDK's own default is 50).
   */
  maxInFlight?: number;
}

/** What the Lambda's REPORT line said about one call. */
export interface LambdaReport {
  requestId: string | null;
  durationMs: number | null;
  billedDurationMs: number | null;
  memorySizeMb: number | null;
  maxMemoryUsedMb: number | null;
  initDurationMs: number | null;
}

/** Metering of a Lambda call: the common fields, plus what AWS reported. */
export interface LambdaInvocationMetering extends InvocationMetering {
  lambda: { functionName: string; executedVersion: string | null; report: LambdaReport | null };
}

interface Deployment {
  functionId: string;
  name: string;
  promise: Promise<void>;
  ready: boolean;
}

interface AdapterResult {
  status: number;
  headers: Array<[string, string]>;
  bodyBase64: string | null;
  cpuUs: number;
  coldStart: boolean;
}

/** A Lambda function name for a version: `<prefix>-<name>-<12 hex of the version>`, at most 64 of [A-Za-z0-9_-]. */
export function lambdaFunctionName(prefix: string, target: Pick<InvocationTarget, 'name' | 'versionId'>): string {
  let name = target.name.replace(/[^A-Za-z0-9_-]/g, '-');
  if (name.length > MAX_NAME_PART || name !== target.name) {
    // Truncated or rewritten: a hash of the real name keeps two such names apart.
    const tag = createHash('sha256').update(target.name).digest('hex').slice(0, 4);
    name = `${name.slice(0, MAX_NAME_PART - 5)}-${tag}`;
  }
  const version = target.versionId.replace(/[^A-Za-z0-9]/g, '').slice(0, 12) || createHash('sha256').update(target.versionId).digest('hex').slice(0, 12);
  return `${prefix}-${name}-${version}`.slice(0, MAX_NAME);
}

/** The deployment zip: the adapter as index.mjs, the bundle, and the version's metadata. */
export function buildLambdaZip(target: Pick<InvocationTarget, 'functionId' | 'versionId' | 'plainParams'>, bundle: string): Uint8Array {
  const enc = new TextEncoder();
  const meta = JSON.stringify({ functionId: target.functionId, versionId: target.versionId, plainParams: target.plainParams, adapter: ADAPTER_HASH });
  return zipSync(
    {
      'index.mjs': [new Uint8Array(ADAPTER_SOURCE), { mtime: ZIP_MTIME }],
      'bundle.js': [enc.encode(bundle), { mtime: ZIP_MTIME }],
      'spillway.json': [enc.encode(meta), { mtime: ZIP_MTIME }],
    },
    { level: 6 },
  );
}

/** Parses the REPORT line of a Lambda log tail. */
export function parseReport(log: string): LambdaReport | null {
  const line = log.split('\n').find((l) => l.startsWith('REPORT '));
  if (!line) return null;
  const num = (re: RegExp) => {
    const m = re.exec(line);
    return m ? Number(m[1]) : null;
  };
  return {
    requestId: /RequestId: (\S+)/.exec(line)?.[1] ?? null,
    durationMs: num(/\tDuration: ([\d.]+) ms/) ?? num(/ Duration: ([\d.]+) ms/),
    billedDurationMs: num(/Billed Duration: ([\d.]+) ms/),
    memorySizeMb: num(/Memory Size: (\d+) MB/),
    maxMemoryUsedMb: num(/Max Memory Used: (\d+) MB/),
    initDurationMs: num(/Init Duration: ([\d.]+) ms/),
  };
}

/** The handler's console lines from a log tail (Node runtime text format), without START/END/REPORT. */
export function parseLogTail(log: string): LogLine[] {
  const out: LogLine[] = [];
  let first: number | null = null;
  for (const raw of log.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line === '' || /^(START|END|REPORT|INIT_START|EXTENSION|TELEMETRY) /.test(line)) continue;
    const m = /^(\d{4}-\d\d-\d\dT[\d:.]+Z)\t\S+\t([A-Z]+)\t([\s\S]*)$/.exec(line);
    if (!m) {
      // A continuation of a multi-line message, or a line outside the runtime's format.
      if (out.length > 0) out[out.length - 1].message += `\n${line}`;
      else out.push({ level: 'log', message: line, atMs: 0 });
      continue;
    }
    const at = Date.parse(m[1]);
    if (first === null) first = at;
    out.push({ level: m[2] === 'INFO' ? 'log' : m[2].toLowerCase(), message: m[3], atMs: Math.max(0, at - first) });
  }
  return out;
}

/** Maps a Lambda function error (X-Amz-Function-Error) to Spillway's catalogue. */
/**
 * Lambda reports running out of memory as the process being killed (`Runtime.ExitError`,
 * "signal: killed") with Max Memory Used at the Memory Size, sometimes with no REPORT line at all;
 * Node's own heap limit aborts the process with "JavaScript heap out of memory" in the log.
 */
export function mapFunctionError(payload: { errorType?: unknown; errorMessage?: unknown; trace?: unknown }, report: LambdaReport | null, timeoutMs: number | null, logTail = ''): SpillwayError {
  const type = typeof payload.errorType === 'string' ? payload.errorType : 'Error';
  const message = typeof payload.errorMessage === 'string' ? payload.errorMessage : 'The function failed without a message.';
  const stack = Array.isArray(payload.trace) ? payload.trace.filter((l): l is string => typeof l === 'string').join('\n') : undefined;
  const details: Record<string, unknown> = { tier: 'lambda', errorType: type };
  if (type === 'Sandbox.Timedout' || /Task timed out after/.test(message)) {
    return new SpillwayError('TIMEOUT', `The function ran longer than its ${timeoutMs ?? 'configured'} ms timeout on Lambda and was stopped: ${message}`, { ...details, timeoutMs });
  }
  const memoryFull = report !== null && report.maxMemoryUsedMb !== null && report.memorySizeMb !== null && report.maxMemoryUsedMb >= report.memorySizeMb * 0.98;
  const killed = type === 'Runtime.ExitError' && /signal: killed/.test(message) && (report === null || report.maxMemoryUsedMb === null || memoryFull);
  if (/OutOfMemory/i.test(type) || /out of memory/i.test(message) || killed || (type === 'Runtime.ExitError' && (memoryFull || /JavaScript heap out of memory/.test(logTail)))) {
    return new SpillwayError('OUT_OF_MEMORY', `The function ran past the Lambda's memory (${report?.memorySizeMb ?? '?'} MB) and its environment was stopped: ${message}`, details);
  }
  if (type === 'Spillway.BadResponse' || type === 'Function.ResponseSizeTooLarge') {
    return new SpillwayError('BAD_RESPONSE', message, details);
  }
  return new SpillwayError('FUNCTION_ERROR', `${type}: ${message}`, stack ? { ...details, stack } : details);
}

interface AwsErrorLike {
  name?: string;
  message?: string;
  code?: string;
  retryAfterSeconds?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string | undefined> };
}

/** Maps an error the SDK threw (service error, network failure, abort) to Spillway's catalogue. */
export function mapServiceError(err: unknown, defaultRetryAfterMs: number): SpillwayError {
  const e = (err ?? {}) as AwsErrorLike;
  const name = e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const awsMessage = e.message ?? String(err);
  const header = e.$response?.headers?.['retry-after'] ?? e.retryAfterSeconds;
  const given = header !== undefined && /^\d+(\.\d+)?$/.test(String(header).trim()) ? Math.ceil(Number(header) * 1000) : null;
  const details = (retryAfterMs: number) => ({ tier: 'lambda', retryAfterMs, awsError: name, ...(status !== undefined ? { httpStatus: status } : {}) });
  if (name === 'RequestTooLargeException' || status === 413) {
    return new SpillwayError('PAYLOAD_TOO_LARGE', `Lambda refused the request as too large (its synchronous payload limit is 6 MB): ${awsMessage}`, { tier: 'lambda', awsError: name });
  }
  if (name === 'TooManyRequestsException' || name === 'ThrottlingException' || status === 429) {
    return new SpillwayError('BURST_UNAVAILABLE', `Lambda throttled the call (${name}): ${awsMessage}`, details(given ?? defaultRetryAfterMs));
  }
  if (name === 'ResourceConflictException' || name === 'ResourceNotReadyException' || name === 'ResourceNotFoundException') {
    return new SpillwayError('BURST_UNAVAILABLE', `The Lambda function is not ready (${name}): ${awsMessage}`, details(given ?? Math.max(defaultRetryAfterMs, 2000)));
  }
  if (status === undefined) {
    // No HTTP answer: DNS, connection refused or reset, TLS, credentials that could not be loaded.
    return new SpillwayError('BURST_UNAVAILABLE', `Lambda could not be reached (${e.code ?? name}): ${awsMessage}`, details(given ?? Math.max(defaultRetryAfterMs, 5000)));
  }
  return new SpillwayError('BURST_UNAVAILABLE', `Lambda refused the call (${name}, HTTP ${status}): ${awsMessage}`, details(given ?? defaultRetryAfterMs));
}

function isAdapterResult(v: unknown): v is AdapterResult {
  const r = v as AdapterResult | null;
  return (
    typeof r === 'object' && r !== null && Number.isInteger(r.status) && Array.isArray(r.headers) &&
    r.headers.every((h) => Array.isArray(h) && typeof h[0] === 'string' && typeof h[1] === 'string') &&
    (r.bodyBase64 === null || typeof r.bodyBase64 === 'string')
  );
}

export class LambdaTier implements BurstTier {
  readonly kind = 'lambda' as const;
  private readonly client: LambdaClient;
  private readonly deployments = new Map<string, Deployment>();
  private readonly o: Required<Omit<LambdaTierOptions, 'client' | 'endpoint' | 'credentials' | 'roleArn'>> & Pick<LambdaTierOptions, 'roleArn'>;
  private inFlight = 0;
  private served = 0;
  private refused = 0;
  private coldStarts = 0;
  private closed = false;

  constructor(options: LambdaTierOptions) {
    this.client =
      options.client ??
      new LambdaClient({
        region: options.region,
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
        maxAttempts: options.maxAttempts ?? 1,
        requestHandler: {
          connectionTimeout: 5000,
          httpsAgent: { maxSockets: options.maxInFlight ?? 1000 },
          httpAgent: { maxSockets: options.maxInFlight ?? 1000 },
        },
      });
    this.o = {
      region: options.region,
      roleArn: options.roleArn,
      prefix: options.prefix,
      memoryMb: options.memoryMb,
      architecture: options.architecture,
      runtime: options.runtime,
      clock: options.clock,
      maxAttempts: options.maxAttempts ?? 1,
      activeTimeoutMs: options.activeTimeoutMs ?? 120_000,
      pollIntervalMs: options.pollIntervalMs ?? 1000,
      defaultRetryAfterMs: options.defaultRetryAfterMs ?? 1000,
      deleteOnEvict: options.deleteOnEvict ?? false,
      maxInFlight: options.maxInFlight ?? 1000,
    };
  }

  invoke(target: InvocationTarget, mode: 'http', payload: HttpRequestPayload, limits: InvocationLimits): Promise<InvocationHandle & { instanceId: string }> {
    const id = randomUUID();
    const name = lambdaFunctionName(this.o.prefix, target);
    const run = this.run(id, name, target, mode, payload, limits);
    return Promise.resolve({ id, instanceId: `lambda:${name}`, outcome: run.then((r) => r.outcome), metering: run.then((r) => r.metering) });
  }

  evictFunction(functionId: string): void {
    for (const [key, d] of this.deployments) {
      if (d.functionId !== functionId) continue;
      this.deployments.delete(key);
      if (this.o.deleteOnEvict) {
        // Best effort, after the deploy (if one is running) settles; a failure leaves the Lambda for manual clean-up (docs/lambda-tier.md).
        void d.promise
          .catch(() => undefined)
          .then(() => this.client.send(new DeleteFunctionCommand({ FunctionName: d.name })))
          .catch(() => undefined);
      }
    }
  }

  stats(): BurstTierStats {
    let workers = 0;
    for (const d of this.deployments.values()) if (d.ready) workers++;
    return { kind: 'lambda', workers, inFlight: this.inFlight, served: this.served, refused: this.refused, coldStarts: this.coldStarts };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.client.destroy();
  }

  /* ---------------------------------------------------------------- one call */

  private async run(id: string, name: string, target: InvocationTarget, mode: string, payload: HttpRequestPayload, limits: InvocationLimits): Promise<{ outcome: InvocationOutcome; metering: LambdaInvocationMetering }> {
    const started = performance.now();
    const full = this.inFlight >= this.o.maxInFlight;
    this.inFlight++;
    const metering: LambdaInvocationMetering = {
      invocationId: id,
      cpuUs: 0,
      wallUs: 0,
      coldStart: false,
      coldStartUs: 0,
      logs: [],
      logsTruncated: false,
      error: null,
      lambda: { functionName: name, executedVersion: null, report: null },
    };
    const fail = (error: SpillwayError) => {
      if (error.code === 'BURST_UNAVAILABLE') this.refused++;
      metering.error = error;
      return { type: 'error' as const, error };
    };
    let outcome: InvocationOutcome;
    try {
      outcome = full
        ? fail(new SpillwayError('BURST_UNAVAILABLE', `The Lambda burst tier has ${this.o.maxInFlight} calls in flight, its limit.`, { tier: 'lambda', retryAfterMs: this.o.defaultRetryAfterMs }))
        : await this.attempt(name, target, mode, payload, limits, metering, fail);
    } catch (err) {
      // Defensive: a bug here must still come back as an outcome, never as a rejection.
      outcome = fail(err instanceof SpillwayError ? err : new SpillwayError('BURST_UNAVAILABLE', `The Lambda burst tier failed: ${(err as Error)?.message ?? String(err)}`, { tier: 'lambda', retryAfterMs: this.o.defaultRetryAfterMs }));
    } finally {
      this.inFlight--;
    }
    metering.wallUs = Math.round((performance.now() - started) * 1000);
    return { outcome, metering };
  }

  private async attempt(
    name: string,
    target: InvocationTarget,
    mode: string,
    payload: HttpRequestPayload,
    limits: InvocationLimits,
    metering: LambdaInvocationMetering,
    fail: (e: SpillwayError) => InvocationOutcome,
  ): Promise<InvocationOutcome> {
    if (this.closed) return fail(new SpillwayError('BURST_UNAVAILABLE', 'The Lambda burst tier is closed (the server is stopping).', { tier: 'lambda', retryAfterMs: this.o.defaultRetryAfterMs }));
    if (mode !== 'http') return fail(new SpillwayError('BURST_UNAVAILABLE', `The Lambda burst tier runs HTTP calls only, not "${mode}".`, { tier: 'lambda', retryAfterMs: 60_000 }));
    if (!this.o.roleArn) {
      return fail(
        new SpillwayError('BURST_UNAVAILABLE', 'The Lambda burst tier has no execution role: set SPILLWAY_LAMBDA_ROLE_ARN to the ARN of the role its Lambda functions run as (docs/lambda-tier.md).', {
          tier: 'lambda',
          retryAfterMs: 60_000,
          setting: 'SPILLWAY_LAMBDA_ROLE_ARN',
        }),
      );
    }
    // Refuse what Lambda would refuse, before any AWS call: the whole JSON event counts against 6 MB.
    const body = payload.body === null ? null : typeof payload.body === 'string' ? Buffer.from(payload.body, 'utf8') : Buffer.from(payload.body.buffer, payload.body.byteOffset, payload.body.byteLength);
    const event = Buffer.from(JSON.stringify({ method: payload.method, url: payload.url, headers: payload.headers, bodyBase64: body === null ? null : body.toString('base64') }), 'utf8');
    if (event.byteLength > LAMBDA_MAX_PAYLOAD_BYTES) {
      return fail(
        new SpillwayError('PAYLOAD_TOO_LARGE', `The request is ${body?.byteLength ?? 0} bytes; sent to Lambda it would be a ${event.byteLength}-byte payload (the body base64-encoded), over Lambda's 6 MB (${LAMBDA_MAX_PAYLOAD_BYTES} bytes) limit for a synchronous call. Send a smaller body.`, {
          tier: 'lambda',
          limitBytes: LAMBDA_MAX_PAYLOAD_BYTES,
          payloadBytes: event.byteLength,
        }),
      );
    }

    const deployStart = performance.now();
    let deployedNow: boolean;
    try {
      deployedNow = await this.ensureDeployed(name, target, limits);
    } catch (err) {
      return fail(err instanceof SpillwayError ? err : mapServiceError(err, this.o.defaultRetryAfterMs));
    }
    const deployUs = deployedNow ? Math.round((performance.now() - deployStart) * 1000) : 0;

    // The function's timeout bounds the call from here; Lambda enforces its own (set at deploy) too.
    const abort = new AbortController();
    let timedOut = false;
    const cancelTimer = this.o.clock.setTimer(() => {
      timedOut = true;
      abort.abort();
    }, limits.timeoutMs);
    let res: InvokeCommandOutput;
    try {
      res = await this.client.send(new InvokeCommand({ FunctionName: name, InvocationType: 'RequestResponse', LogType: 'Tail', Payload: event }), { abortSignal: abort.signal });
    } catch (err) {
      if (timedOut) return fail(new SpillwayError('TIMEOUT', `The function ran longer than its ${limits.timeoutMs} ms timeout on the wall clock (Lambda burst tier) and the call was abandoned.`, { tier: 'lambda', timeoutMs: limits.timeoutMs }));
      const mapped = mapServiceError(err, this.o.defaultRetryAfterMs);
      if ((err as AwsErrorLike)?.name === 'ResourceNotFoundException') this.forget(target, name); // deleted behind our back: redeploy next time
      return fail(mapped);
    } finally {
      cancelTimer();
    }
    this.served++;
    metering.lambda.executedVersion = res.ExecutedVersion ?? null;
    const tail = res.LogResult ? Buffer.from(res.LogResult, 'base64').toString('utf8') : '';
    const report = parseReport(tail);
    metering.lambda.report = report;
    metering.logs = parseLogTail(tail);
    // Lambda returns the last 4 KB of the log: a tail that long probably lost its beginning.
    metering.logsTruncated = Buffer.byteLength(tail) >= 4000;

    let parsed: unknown;
    try {
      const text = res.Payload ? Buffer.from(res.Payload).toString('utf8') : '';
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (res.FunctionError) {
      metering.coldStart = deployedNow || (report?.initDurationMs ?? null) !== null;
      if (metering.coldStart) this.coldStarts++;
      const p = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as { errorType?: unknown; errorMessage?: unknown; trace?: unknown };
      return fail(mapFunctionError(p, report, limits.timeoutMs, tail));
    }
    if (!isAdapterResult(parsed)) {
      return fail(new SpillwayError('BAD_RESPONSE', `The Lambda ${name} answered a payload that is not the Spillway adapter's ({ status, headers, bodyBase64 }); was the function changed outside Spillway?`, { tier: 'lambda' }));
    }
    metering.cpuUs = typeof parsed.cpuUs === 'number' && Number.isFinite(parsed.cpuUs) ? Math.max(0, Math.round(parsed.cpuUs)) : 0;
    metering.coldStart = parsed.coldStart === true || deployedNow;
    if (metering.coldStart) {
      this.coldStarts++;
      metering.coldStartUs = deployUs + Math.round((report?.initDurationMs ?? 0) * 1000);
    }
    return {
      type: 'response',
      status: parsed.status,
      headers: parsed.headers,
      body: parsed.bodyBase64 === null ? null : new Uint8Array(Buffer.from(parsed.bodyBase64, 'base64')),
      stream: null,
    };
  }

  /* ---------------------------------------------------------------- deploy */

  private key(target: Pick<InvocationTarget, 'functionId' | 'versionId'>): string {
    return `${target.functionId}@${target.versionId}`;
  }

  private forget(target: InvocationTarget, name: string): void {
    const key = this.key(target);
    if (this.deployments.get(key)?.name === name) this.deployments.delete(key);
  }

  /** Makes sure the version's Lambda exists and is Active; concurrent callers share one deploy. Resolves true for the caller whose call found no deployment. */
  private async ensureDeployed(name: string, target: InvocationTarget, limits: InvocationLimits): Promise<boolean> {
    const key = this.key(target);
    const existing = this.deployments.get(key);
    if (existing) {
      await existing.promise;
      return false;
    }
    const deployment: Deployment = { functionId: target.functionId, name, ready: false, promise: Promise.resolve() };
    deployment.promise = this.deploy(name, target, limits).then(
      () => {
        deployment.ready = true;
      },
      (err: unknown) => {
        // A failed deploy is not remembered: the next call tries again.
        if (this.deployments.get(key) === deployment) this.deployments.delete(key);
        throw err;
      },
    );
    this.deployments.set(key, deployment);
    await deployment.promise;
    return true;
  }

  private async deploy(name: string, target: InvocationTarget, limits: InvocationLimits): Promise<void> {
    let found: { Configuration?: FunctionConfiguration; Tags?: Record<string, string> } | null;
    try {
      found = await this.client.send(new GetFunctionCommand({ FunctionName: name }));
    } catch (err) {
      if ((err as AwsErrorLike)?.name !== 'ResourceNotFoundException') throw mapServiceError(err, this.o.defaultRetryAfterMs);
      found = null;
    }
    if (found) {
      const state = found.Configuration?.State;
      if (state === 'Failed') throw this.failedState(name, found.Configuration);
      if (found.Tags?.['spillway:adapter'] !== undefined && found.Tags['spillway:adapter'] !== ADAPTER_HASH) {
        // Deployed by another Spillway release: same bundle, older adapter.
        await this.waitFor(name, (c) => c.State === 'Active' && c.LastUpdateStatus !== 'InProgress');
        const zip = await this.zip(target);
        await this.send(() => this.client.send(new UpdateFunctionCodeCommand({ FunctionName: name, ZipFile: zip })));
        await this.waitFor(name, (c) => c.State === 'Active' && c.LastUpdateStatus !== 'InProgress');
        return;
      }
      if (state === 'Pending' || found.Configuration?.LastUpdateStatus === 'InProgress') await this.waitFor(name, (c) => c.State === 'Active' && c.LastUpdateStatus !== 'InProgress');
      return;
    }
    const zip = await this.zip(target);
    let created: FunctionConfiguration | null = null;
    try {
      created = await this.client.send(
        new CreateFunctionCommand({
          FunctionName: name,
          Description: `Spillway burst tier: function ${target.name} (${target.functionId}), version ${target.versionId}`.slice(0, 256),
          Runtime: this.o.runtime as never,
          Role: this.o.roleArn,
          Handler: 'index.handler',
          Code: { ZipFile: zip },
          PackageType: 'Zip',
          MemorySize: this.o.memoryMb,
          Architectures: [this.o.architecture],
          // Lambda's own timeout (whole seconds, 1–900); the tier abandons the call at limits.timeoutMs as well.
          Timeout: Math.min(900, Math.max(1, Math.ceil(limits.timeoutMs / 1000))),
          Tags: {
            'spillway:function-id': target.functionId,
            'spillway:version-id': target.versionId,
            'spillway:function-name': target.name.slice(0, 256),
            'spillway:adapter': ADAPTER_HASH,
          },
        }),
      );
    } catch (err) {
      // Another Spillway node created it first: wait for theirs.
      if ((err as AwsErrorLike)?.name !== 'ResourceConflictException') throw mapServiceError(err, this.o.defaultRetryAfterMs);
    }
    if (created?.State === 'Active') return;
    await this.waitFor(name, (c) => c.State === 'Active' && c.LastUpdateStatus !== 'InProgress');
  }

  /** One AWS call, its failure mapped to the catalogue. */
  private async send<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw mapServiceError(err, this.o.defaultRetryAfterMs);
    }
  }

  private async zip(target: InvocationTarget): Promise<Uint8Array> {
    let code: string;
    try {
      code = await target.bundle();
    } catch (err) {
      throw new SpillwayError('BURST_UNAVAILABLE', `The bundle of version ${target.versionId} could not be read for the Lambda deploy: ${(err as Error)?.message ?? String(err)}`, { tier: 'lambda', retryAfterMs: this.o.defaultRetryAfterMs });
    }
    const zip = buildLambdaZip(target, code);
    if (zip.byteLength > LAMBDA_MAX_ZIP_BYTES) {
      throw new SpillwayError('BURST_UNAVAILABLE', `The Lambda deployment zip of version ${target.versionId} is ${zip.byteLength} bytes, over the 50 MB Lambda accepts in a direct upload.`, { tier: 'lambda', retryAfterMs: 60_000 });
    }
    return zip;
  }

  private failedState(name: string, c: FunctionConfiguration | undefined): SpillwayError {
    return new SpillwayError('BURST_UNAVAILABLE', `The Lambda function ${name} is in state Failed (${c?.StateReasonCode ?? 'no reason code'}: ${c?.StateReason ?? 'no reason given'}).`, {
      tier: 'lambda',
      retryAfterMs: 60_000,
      stateReasonCode: c?.StateReasonCode,
    });
  }

  /** Polls GetFunctionConfiguration on the clock until `done`, a Failed state, or activeTimeoutMs. */
  private async waitFor(name: string, done: (c: FunctionConfiguration) => boolean): Promise<void> {
    const deadline = this.o.clock.now() + this.o.activeTimeoutMs;
    for (;;) {
      const c = await this.send(() => this.client.send(new GetFunctionConfigurationCommand({ FunctionName: name })));
      if (c.State === 'Failed' || c.LastUpdateStatus === 'Failed') throw this.failedState(name, c);
      if (done(c)) return;
      if (this.o.clock.now() >= deadline) {
        throw new SpillwayError('BURST_UNAVAILABLE', `The Lambda function ${name} did not become Active within ${this.o.activeTimeoutMs} ms (state ${c.State ?? '?'}, last update ${c.LastUpdateStatus ?? '?'}).`, {
          tier: 'lambda',
          retryAfterMs: this.o.pollIntervalMs * 5,
        });
      }
      if (this.closed) throw new SpillwayError('BURST_UNAVAILABLE', 'The Lambda burst tier is closed (the server is stopping).', { tier: 'lambda', retryAfterMs: this.o.defaultRetryAfterMs });
      await new Promise<void>((resolve) => this.o.clock.setTimer(resolve, this.o.pollIntervalMs));
    }
  }
}

/** The tier from the server's settings (SPILLWAY_LAMBDA_*); the platform wires it in when SPILLWAY_BURST_TIER=lambda. */
export function createLambdaTier(config: Config, clock: Clock, overrides: Partial<LambdaTierOptions> = {}): LambdaTier {
  return new LambdaTier({
    region: config.SPILLWAY_LAMBDA_REGION,
    roleArn: config.SPILLWAY_LAMBDA_ROLE_ARN,
    endpoint: config.SPILLWAY_LAMBDA_ENDPOINT,
    prefix: config.SPILLWAY_LAMBDA_FUNCTION_PREFIX,
    memoryMb: config.SPILLWAY_LAMBDA_MEMORY_MB,
    architecture: config.SPILLWAY_LAMBDA_ARCHITECTURE,
    runtime: config.SPILLWAY_LAMBDA_RUNTIME,
    clock,
    ...overrides,
  });
}

/** Codes this tier can answer with, for docs and tests. */
export const LAMBDA_TIER_ERROR_CODES: readonly ErrorCode[] = ['BURST_UNAVAILABLE', 'PAYLOAD_TOO_LARGE', 'FUNCTION_ERROR', 'BAD_RESPONSE', 'OUT_OF_MEMORY', 'TIMEOUT'];
