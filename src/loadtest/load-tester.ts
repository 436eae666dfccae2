/**
 * The load tester (docs/load-tester.md): runs autocannon in a child process (runner.mjs) against
 * the server's own `/fn/<name>/<path>`, one test at a time, reports progress every second on the
 * platform events, and at the end adds what the server recorded about the calls it made (cold
 * starts, CPU and wall time, cost) by reading the execution records whose ids came back in the
 * responses' `x-spillway-execution-id` header.
 *
 * The server must tell it where it listens (`listening()`, from the server's onListen hook): the
 * configured PORT may be 0, and only the listening socket knows the real one. Recent tests are
 * kept in memory (at most MAX_KEPT): they are a tool's output, not billing history; the calls
 * themselves are in the execution history like any others.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Clock } from '../core/clock.js';
import { SpillwayError } from '../core/errors.js';
import type { PlatformEvents } from '../core/events.js';
import { newId } from '../core/ids.js';
import type { InvocationRecorder } from '../executions/execution-service.js';
import type { FunctionService } from '../functions/function-service.js';
import type { MetadataStore } from '../storage/types.js';
import type { ExecutionTotals, LoadGeneratorSummary, LoadTestOptions, LoadTestView, RunnerMessage, RunnerOptions } from './types.js';

/** Finished tests kept for `GET /api/load-tests` (the running one is always kept). */
export const MAX_KEPT = 20;
/** A counted test (`requests`) still stops after this long. */
const MAX_COUNTED_S = 60;
/** How long a cancelled load generator gets to report before it is killed. */
const STOP_GRACE_MS = 5000;
/** Records read by id at once; reads yield to the event loop between batches. */
const READ_BATCH = 64;
/** A record is written when its call's metering settles, which can be after the response (waitUntil): look again this many times. */
const RECORD_ROUNDS = 10;
const RECORD_ROUND_MS = 250;
/** The client key the load generator's requests carry, so token buckets count it as one client of its own. */
export const LOAD_TEST_API_KEY = 'loadtest';

const RUNNER = fileURLToPath(new URL('./runner.mjs', import.meta.url));

export interface LoadTesterOptions {
  functions: Pick<FunctionService, 'resolve'>;
  store: Pick<MetadataStore, 'getExecution'>;
  recorder: Pick<InvocationRecorder, 'flush'>;
  events: PlatformEvents;
  clock: Clock;
}

interface LoadTest {
  view: LoadTestView;
  child: ChildProcess | null;
  cancelRequested: boolean;
  /** Settles when the test has its final status and result. */
  done: Promise<void>;
}

/** The base URL the server can reach itself at, from its listening address. */
export function selfUrl(address: AddressInfo | string | null): string | null {
  if (address === null || typeof address === 'string') return null;
  const host = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

export class LoadTester {
  private base: string | null = null;
  private readonly tests = new Map<string, LoadTest>();
  private running: LoadTest | null = null;
  private closing: Promise<void> | null = null;

  constructor(private readonly deps: LoadTesterOptions) {}

  /** Where the server listens: the load generator calls this address's `/fn/` routes. */
  listening(address: AddressInfo | string | null): void {
    this.base = selfUrl(address);
  }

  /** Starts a test; throws 404 / 409 before anything runs. */
  async start(options: LoadTestOptions): Promise<LoadTestView> {
    const fn = await this.deps.functions.resolve(options.function);
    if (fn.status !== 'active') throw new SpillwayError('FUNCTION_INACTIVE', `Function "${fn.name}" is inactive; set its status to "active" before load testing it.`, { functionId: fn.id });
    if (this.closing) throw new SpillwayError('INTERNAL', 'The server is shutting down; no new load tests start.');
    if (this.running) {
      const r = this.running.view;
      const elapsed = r.progress ? `, ${Math.round(r.progress.elapsedS)} s in` : '';
      throw new SpillwayError('LOAD_TEST_RUNNING', `Load test ${r.id} is running against "${r.functionName}" (started ${r.startedAt}${elapsed}); one test runs at a time: wait for it, or cancel it with DELETE /api/load-tests/${r.id}.`, { runningId: r.id });
    }
    if (!this.base) throw new SpillwayError('INTERNAL', 'The server is not listening on a TCP port, so the load tester has nothing to call.');

    const url = `${this.base}/fn/${encodeURIComponent(fn.name)}${options.path}`;
    const amount = options.requests;
    const runner: RunnerOptions = {
      url,
      // autocannon needs at least one request per connection.
      connections: amount === undefined ? options.concurrency : Math.min(options.concurrency, amount),
      ...(amount === undefined ? { durationS: options.durationS } : { amount }),
      maxDurationS: MAX_COUNTED_S,
      ...(options.rate === undefined ? {} : { rate: options.rate }),
      method: options.method,
      ...(options.body === undefined ? {} : { body: options.body }),
      headers: { ...options.headers, 'x-api-key': LOAD_TEST_API_KEY },
      // A call may run for the function's whole timeout; past that (plus a margin) the client gives up.
      timeoutS: Math.min(Math.ceil(fn.config.timeout / 1000) + 5, 120),
    };
    const test: LoadTest = {
      view: {
        id: newId('lt'),
        status: 'running',
        functionId: fn.id,
        functionName: fn.name,
        options,
        url,
        startedAt: new Date(this.deps.clock.now()).toISOString(),
        finishedAt: null,
        progress: null,
        result: null,
        error: null,
      },
      child: null,
      cancelRequested: false,
      done: Promise.resolve(),
    };
    this.running = test;
    this.keep(test);
    test.done = this.run(test, runner);
    return this.snapshot(test);
  }

  get(id: string): LoadTestView {
    return this.snapshot(this.find(id));
  }

  /** The load generator's process id while the test runs (for operators and tests: it must be gone after a cancel). */
  processId(id: string): number | null {
    return this.find(id).child?.pid ?? null;
  }

  /** Recent tests, newest first. */
  list(): LoadTestView[] {
    return [...this.tests.values()].reverse().map((t) => this.snapshot(t));
  }

  /** Stops a running test and resolves once its load generator has exited and its result is in; a finished test is returned as it is. */
  async cancel(id: string): Promise<LoadTestView> {
    const test = this.find(id);
    if (test.view.status === 'running') {
      this.stop(test);
      await test.done;
    }
    return this.snapshot(test);
  }

  /** Stops a running test (with its result) and refuses new ones. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const test = this.running;
      if (test) {
        this.stop(test);
        await test.done;
      }
    })();
    return this.closing;
  }

  private find(id: string): LoadTest {
    const test = this.tests.get(id);
    if (!test) throw new SpillwayError('LOAD_TEST_NOT_FOUND', `No load test has the id "${id}"; the last ${MAX_KEPT} are kept (list them with GET /api/load-tests), and none survive a restart.`, { id });
    return test;
  }

  private keep(test: LoadTest): void {
    this.tests.set(test.view.id, test);
    for (const [id, t] of this.tests) {
      if (this.tests.size <= MAX_KEPT) break;
      if (t !== this.running) this.tests.delete(id);
    }
  }

  private snapshot(test: LoadTest): LoadTestView {
    return structuredClone(test.view);
  }

  /** Asks a running load generator to stop; once it has exited (the result is being summed) there is nothing to stop. */
  private stop(test: LoadTest): void {
    const child = test.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    test.cancelRequested = true;
    if (child.connected) child.send({ type: 'stop' });
    else child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    timer.unref();
    child.once('exit', () => clearTimeout(timer));
  }

  private async run(test: LoadTest, runner: RunnerOptions): Promise<void> {
    const { view } = test;
    let summary: (LoadGeneratorSummary & { executionIds: string[] }) | null = null;
    let failure: string | null = null;
    try {
      const outcome = await this.generate(test, runner);
      summary = outcome.summary;
      failure = outcome.failure;
      if (summary) {
        const { executionIds, ...measured } = summary;
        view.result = { ...measured, executions: await this.totals(executionIds) };
      }
    } catch (err) {
      failure = `the load test failed: ${(err as Error).message}`;
    }
    const status = test.cancelRequested ? 'cancelled' : failure !== null || !summary ? 'failed' : 'completed';
    view.status = status;
    view.error = status === 'failed' ? (failure ?? 'the load generator stopped without a result') : null;
    view.finishedAt = new Date(this.deps.clock.now()).toISOString();
    if (this.running === test) this.running = null;
    this.deps.events.emit('load_test_completed', { id: view.id, functionId: view.functionId, functionName: view.functionName, status, result: view.result, error: view.error });
  }

  /** Runs the load generator to its end: its summary, or why there is none. */
  private generate(test: LoadTest, runner: RunnerOptions): Promise<{ summary: (LoadGeneratorSummary & { executionIds: string[] }) | null; failure: string | null }> {
    return new Promise((resolve) => {
      let summary: (LoadGeneratorSummary & { executionIds: string[] }) | null = null;
      let failure: string | null = null;
      let stderr = '';
      // No tsx, no inherited flags: the runner is plain JavaScript and should start fast.
      const child = fork(RUNNER, [JSON.stringify(runner)], { execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'json' });
      test.child = child;
      let settled = false;
      const finish = () => {
        if (settled) return;
        settled = true;
        test.child = null;
        resolve({ summary, failure });
      };
      child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
      child.on('message', (message: RunnerMessage) => {
        if (message.type === 'progress') {
          const { type: _, ...progress } = message;
          test.view.progress = progress;
          this.deps.events.emit('load_test_progress', { id: test.view.id, functionId: test.view.functionId, functionName: test.view.functionName, ...progress });
        } else if (message.type === 'result') {
          const { type: _, ...rest } = message;
          summary = rest;
        } else if (message.type === 'failed') {
          failure = `autocannon failed: ${message.message}`;
        }
      });
      child.on('error', (err) => {
        failure ??= `the load generator could not run: ${err.message}`;
        // A process that never started emits no 'exit'.
        if (child.pid === undefined) finish();
      });
      child.on('exit', (code, signal) => {
        if (!summary && failure === null) failure = `the load generator exited (${signal ?? `code ${code}`}) without a result${stderr ? `: ${stderr.trim()}` : ''}`;
        finish();
      });
    });
  }

  /** Sums the execution records with these ids (see ExecutionTotals.source for why by id). */
  private async totals(ids: string[]): Promise<ExecutionTotals> {
    const totals: ExecutionTotals = { source: 'x-spillway-execution-id', records: 0, missing: 0, coldStarts: 0, cpuMs: 0, wallMs: 0, cpuToWall: null, costUsd: 0, wallClockCostUsd: 0, byStatus: {} };
    let missing = [...new Set(ids)];
    for (let round = 0; round < RECORD_ROUNDS && missing.length > 0; round++) {
      if (round > 0) await new Promise((r) => setTimeout(r, RECORD_ROUND_MS));
      // HTTP calls are recorded in batches: write what is buffered before reading.
      await this.deps.recorder.flush();
      const stillMissing: string[] = [];
      for (let at = 0; at < missing.length; at += READ_BATCH) {
        if (at > 0) await new Promise((r) => setImmediate(r));
        const batch = missing.slice(at, at + READ_BATCH);
        const records = await Promise.all(batch.map((id) => this.deps.store.getExecution(id)));
        records.forEach((rec, i) => {
          if (!rec) return void stillMissing.push(batch[i]!);
          totals.records++;
          if (rec.coldStart) totals.coldStarts++;
          totals.cpuMs += (rec.cpuUs ?? 0) / 1000;
          totals.wallMs += (rec.wallUs ?? 0) / 1000;
          totals.costUsd += rec.cost?.totalCost ?? 0;
          totals.wallClockCostUsd += rec.cost?.wallClockCost ?? 0;
          totals.byStatus[rec.status] = (totals.byStatus[rec.status] ?? 0) + 1;
        });
      }
      missing = stillMissing;
    }
    totals.missing = missing.length;
    totals.cpuMs = Math.round(totals.cpuMs * 1000) / 1000;
    totals.wallMs = Math.round(totals.wallMs * 1000) / 1000;
    totals.cpuToWall = totals.wallMs > 0 ? Math.round((totals.cpuMs / totals.wallMs) * 10_000) / 10_000 : null;
    return totals;
  }
}
