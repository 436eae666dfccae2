/**
 * Runs queued executions: receives jobs from the durable queue, runs each in the function's warm
 * isolate, records the outcome with its CPU, wall time and cost, and either acks, schedules a
 * retry with exponential backoff (seed 001: 2 s, 4 s, 8 s), or moves the execution to the
 * dead-letter list once its retries are spent.
 *
 * Crash safety: every state change is written before the job is acked, and jobs carry their
 * attempt number, so a job delivered again after a crash (its lease lapsed) either resumes an
 * interrupted attempt or is recognised as stale and dropped. Nothing is lost; an attempt cut
 * short by a platform crash does not count against the function's retries.
 */
import { FUNCTION_FAULT_CODES, SpillwayError, type ErrorCode } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import type { PlatformEvents } from '../core/events.js';
import type { FunctionService } from '../functions/function-service.js';
import type { JobQueue, Delivery } from '../queue/types.js';
import type { FunctionRuntime } from '../runtime/function-runtime.js';
import type { ExecutionError, ExecutionRecord, MetadataStore } from '../storage/types.js';
import { computeCost, retryDelayMs, type Tier } from './cost.js';

export interface ExecutionWorkerOptions {
  store: MetadataStore;
  queue: JobQueue;
  functions: FunctionService;
  runtime: FunctionRuntime;
  events: PlatformEvents;
  clock: Clock;
  concurrency: number;
  leaseMs: number;
  retryBaseDelayMs: number;
  instanceId: string;
  onError: (err: unknown, context: string) => void;
}

/** How many times an attempt may be cut short by platform restarts before the execution fails. */
const MAX_INTERRUPTIONS = 3;

export class ExecutionWorker {
  private running = false;
  private loop: Promise<void> | null = null;
  private readonly active = new Set<Promise<void>>();
  private slotFreed: (() => void) | null = null;

  constructor(private readonly o: ExecutionWorkerOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops taking jobs and waits for the ones running (their jobs are acked or left to be redelivered). */
  async stop(): Promise<void> {
    this.running = false;
    this.slotFreed?.();
    await this.loop;
    await Promise.allSettled([...this.active]);
  }

  get activeCount(): number {
    return this.active.size;
  }

  private async run(): Promise<void> {
    let backoffMs = 100;
    while (this.running) {
      const free = this.o.concurrency - this.active.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        continue;
      }
      let deliveries: Delivery[];
      try {
        deliveries = await this.o.queue.receive({ max: Math.min(free, 64), leaseMs: this.o.leaseMs, waitMs: 1000 });
        backoffMs = 100;
      } catch (err) {
        if (!this.running) break;
        this.o.onError(err, 'queue receive failed');
        await new Promise((r) => setTimeout(r, backoffMs));
        backoffMs = Math.min(backoffMs * 2, 30_000);
        continue;
      }
      for (const delivery of deliveries) {
        const task = this.process(delivery).catch((err) => this.o.onError(err, `execution ${delivery.message.executionId} failed in the worker`));
        this.active.add(task);
        void task.finally(() => {
          this.active.delete(task);
          const wake = this.slotFreed;
          this.slotFreed = null;
          wake?.();
        });
      }
    }
  }

  private async process(delivery: Delivery): Promise<void> {
    const { store, queue } = this.o;
    const { executionId, attempt } = delivery.message;
    const execution = await store.getExecution(executionId);
    if (!execution || execution.status === 'completed' || execution.status === 'failed' || attempt < execution.retryCount) {
      await queue.ack(delivery); // finished, or a stale duplicate of an earlier attempt
      return;
    }
    const logs: ExecutionRecord['logs'] = [];
    if (execution.status === 'running' && execution.retryCount === attempt) {
      if (delivery.deliveries > MAX_INTERRUPTIONS + 1) {
        await this.finishFailed(delivery, execution, platformError('INTERNAL', `The execution was interrupted by ${delivery.deliveries - 1} platform restarts and was given up.`), logs);
        return;
      }
      logs.push({ level: 'warn', message: `[spillway] attempt ${attempt + 1} was interrupted by a platform restart; running it again`, atMs: 0 });
    }
    execution.retryCount = attempt;

    const fn = await store.getFunction(execution.functionId);
    if (!fn) {
      await this.finishFailed(delivery, execution, platformError('FUNCTION_NOT_FOUND', 'The function was deleted before the execution ran.'), logs);
      return;
    }
    const version = await store.getVersion(fn.id, execution.versionId).then((v) => v ?? this.o.functions.currentVersion(fn));

    execution.status = 'running';
    execution.startTime = new Date(this.o.clock.now()).toISOString();
    execution.instanceId = this.o.instanceId;
    execution.nextAttemptAt = null;
    await store.updateExecution(execution);
    this.o.events.emit('execution_started', { executionId, functionId: fn.id, status: 'running', attempt });

    const heartbeat = setInterval(() => void queue.extend(delivery, this.o.leaseMs).catch((err) => this.o.onError(err, 'lease extend failed')), Math.max(50, this.o.leaseMs / 3));
    let outcome;
    let metering;
    try {
      const handle = await this.o.runtime.invoke(
        { functionId: fn.id, versionId: version.id, memoryLimitMb: fn.config.memoryLimitMb, plainParams: version.plainParams },
        'call',
        { input: execution.input },
        { timeoutMs: fn.config.timeout, cpuLimitMs: fn.config.cpuLimitMs },
      );
      [outcome, metering] = await Promise.all([handle.outcome, handle.metering]);
    } finally {
      clearInterval(heartbeat);
    }

    execution.endTime = new Date(this.o.clock.now()).toISOString();
    execution.cpuUs = metering.cpuUs;
    execution.wallUs = metering.wallUs;
    execution.duration = Math.round(metering.wallUs / 100) / 10;
    execution.coldStart = metering.coldStart;
    execution.logs = logs.concat(metering.logs);
    const error = outcome.type === 'error' ? outcome.error : metering.error;
    if (outcome.type === 'result' && !error) {
      execution.output = outcome.json === undefined ? null : JSON.parse(outcome.json);
      execution.outputBytes = outcome.json === undefined ? 0 : Buffer.byteLength(outcome.json);
    }
    execution.cost = computeCost({
      tier: fn.tier as Tier,
      cpuUs: metering.cpuUs,
      wallUs: metering.wallUs,
      retryCount: execution.retryCount,
      coldStart: metering.coldStart,
      inputBytes: execution.inputBytes,
      outputBytes: execution.outputBytes,
    });

    if (!error) {
      execution.status = 'completed';
      execution.error = null;
      await store.updateExecution(execution);
      await queue.ack(delivery);
      this.emitCompleted(execution, metering.coldStartUs);
      return;
    }
    const failure = toExecutionError(error);
    if (execution.retryCount < execution.maxRetries) {
      const nextRetry = execution.retryCount + 1;
      const delayMs = retryDelayMs(nextRetry, this.o.retryBaseDelayMs);
      // Enqueue before recording, so a crash in between leaves an extra job, never a lost one.
      await queue.enqueue({ executionId, attempt: nextRetry }, { delayMs });
      execution.status = 'pending';
      execution.error = failure;
      execution.retryCount = nextRetry;
      execution.nextAttemptAt = new Date(this.o.clock.now() + delayMs).toISOString();
      await store.updateExecution(execution);
      await queue.ack(delivery);
      this.emitCompleted(execution, metering.coldStartUs);
      return;
    }
    await this.finishFailed(delivery, execution, failure, execution.logs);
  }

  private async finishFailed(delivery: Delivery, execution: ExecutionRecord, error: ExecutionError, logs: ExecutionRecord['logs']): Promise<void> {
    const deadLetterId = `dl_${execution.id.replace(/^ex_/, '')}`;
    if (!(await this.o.store.getDeadLetter(deadLetterId))) {
      await this.o.store.addDeadLetter({
        id: deadLetterId,
        executionId: execution.id,
        functionId: execution.functionId,
        error,
        attempts: execution.retryCount + 1,
        createdAt: new Date(this.o.clock.now()).toISOString(),
        replayExecutionId: null,
        replayedAt: null,
      });
    }
    execution.status = 'failed';
    execution.error = error;
    execution.logs = logs;
    execution.endTime ??= new Date(this.o.clock.now()).toISOString();
    await this.o.store.updateExecution(execution);
    await this.o.queue.ack(delivery);
    this.emitCompleted(execution);
  }

  private emitCompleted(execution: ExecutionRecord, coldStartUs = 0): void {
    this.o.events.emit('execution_completed', {
      executionId: execution.id,
      functionId: execution.functionId,
      status: execution.status as 'completed' | 'failed' | 'pending',
      duration: execution.duration,
      cpuUs: execution.cpuUs,
      output: execution.output,
      error: execution.error ? { code: execution.error.code, message: execution.error.message } : null,
      cost: execution.cost ? { totalCost: execution.cost.totalCost, tier: execution.cost.tier } : null,
      trigger: 'async',
      wallUs: execution.wallUs,
      coldStart: execution.coldStart,
      coldStartUs,
    });
  }
}

export function toExecutionError(error: SpillwayError): ExecutionError {
  const stack = typeof error.details?.stack === 'string' ? error.details.stack : undefined;
  return { code: error.code, message: error.message, functionFault: FUNCTION_FAULT_CODES.has(error.code), ...(stack ? { stack } : {}) };
}

function platformError(code: ErrorCode, message: string): ExecutionError {
  return { code, message, functionFault: false };
}
