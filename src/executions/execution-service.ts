/**
 * Asynchronous executions (seed 001): submit puts a `pending` record and a job on the durable
 * queue and answers at once; the ExecutionWorker runs it. Also the read side (get, list), the
 * dead-letter list and its replay, and the batched recording of synchronous HTTP invocations so
 * they show up in the same history with their CPU, wall time and cost.
 */
import { SpillwayError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Clock } from '../core/clock.js';
import type { PlatformEvents } from '../core/events.js';
import type { JobQueue } from '../queue/types.js';
import type { DeadLetterRecord, ExecutionQuery, ExecutionRecord, FunctionRecord, MetadataStore } from '../storage/types.js';

export class ExecutionService {
  constructor(
    private readonly store: MetadataStore,
    private readonly queue: JobQueue,
    private readonly clock: Clock,
  ) {}

  async submit(fn: FunctionRecord, input: unknown, replayOf: string | null = null): Promise<ExecutionRecord> {
    if (fn.status !== 'active') {
      throw new SpillwayError('FUNCTION_INACTIVE', `Function "${fn.name}" is inactive; set its status to "active" to run it.`, { functionId: fn.id });
    }
    const inputJson = JSON.stringify(input ?? null);
    const execution: ExecutionRecord = {
      id: newId('ex'),
      functionId: fn.id,
      versionId: fn.currentVersion,
      trigger: 'async',
      input: input ?? null,
      output: null,
      status: 'pending',
      error: null,
      retryCount: 0,
      maxRetries: fn.config.retryCount,
      createdAt: new Date(this.clock.now()).toISOString(),
      startTime: null,
      endTime: null,
      duration: null,
      cpuUs: null,
      wallUs: null,
      coldStart: false,
      instanceId: null,
      logs: [],
      cost: null,
      nextAttemptAt: null,
      inputBytes: Buffer.byteLength(inputJson),
      outputBytes: 0,
      replayOf,
    };
    await this.store.createExecution(execution);
    await this.queue.enqueue({ executionId: execution.id, attempt: 0 });
    return execution;
  }

  async get(id: string): Promise<ExecutionRecord> {
    const execution = await this.store.getExecution(id);
    if (!execution) throw new SpillwayError('EXECUTION_NOT_FOUND', `No execution has the id "${id}".`, { executionId: id });
    return execution;
  }

  list(query: ExecutionQuery): Promise<ExecutionRecord[]> {
    return this.store.listExecutions(query);
  }

  listDeadLetters(limit?: number): Promise<DeadLetterRecord[]> {
    return this.store.listDeadLetters(limit);
  }

  /** Runs a dead-lettered execution again as a new execution with the same input. */
  async replay(deadLetterId: string, resolveFunction: (id: string) => Promise<FunctionRecord>): Promise<ExecutionRecord> {
    const entry = await this.store.getDeadLetter(deadLetterId);
    if (!entry) throw new SpillwayError('DEAD_LETTER_NOT_FOUND', `No dead-letter entry has the id "${deadLetterId}".`);
    if (entry.replayExecutionId) {
      throw new SpillwayError('DEAD_LETTER_REPLAYED', `Dead-letter entry "${deadLetterId}" was already replayed as execution "${entry.replayExecutionId}".`, { replayExecutionId: entry.replayExecutionId });
    }
    const original = await this.get(entry.executionId);
    const fn = await resolveFunction(entry.functionId);
    const execution = await this.submit(fn, original.input, entry.id);
    if (!(await this.store.markDeadLetterReplayed(entry.id, execution.id, new Date(this.clock.now()).toISOString()))) {
      throw new SpillwayError('DEAD_LETTER_REPLAYED', `Dead-letter entry "${deadLetterId}" was replayed by another request at the same time.`);
    }
    return execution;
  }
}

/**
 * Buffers records of synchronous HTTP invocations and writes them in batches, so recording costs
 * the request path no database round trip.
 */
/** Records written per transaction when the recorder flushes. */
const FLUSH_SLICE = 100;

export class InvocationRecorder {
  private buffer: ExecutionRecord[] = [];
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: MetadataStore,
    private readonly onError: (err: unknown) => void,
    /** Where `invocation_recorded` goes (metrics), if anywhere. */
    private readonly events: PlatformEvents | null = null,
    private readonly intervalMs = 250,
    private readonly maxBuffer = 1000,
  ) {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  /** Buffers an HTTP invocation's record; `coldStartUs` is the isolate start time it paid (0 when warm). */
  record(execution: ExecutionRecord, coldStartUs = 0): void {
    this.buffer.push(execution);
    this.events?.emit('invocation_recorded', {
      executionId: execution.id,
      functionId: execution.functionId,
      trigger: 'http',
      status: execution.status === 'failed' ? 'failed' : 'completed',
      cpuUs: execution.cpuUs ?? 0,
      wallUs: execution.wallUs ?? 0,
      coldStart: execution.coldStart,
      coldStartUs,
      cost: execution.cost ? { totalCost: execution.cost.totalCost, wallClockCost: execution.cost.wallClockCost, tier: execution.cost.tier } : null,
    });
    if (this.buffer.length >= this.maxBuffer) void this.flush();
  }

  /** Writes everything buffered so far; resolves when it is stored. */
  flush(): Promise<void> {
    const batch = this.buffer;
    this.buffer = [];
    this.flushing = this.flushing.then(async () => {
      // In slices, yielding to the event loop between them: on SQLite an insert runs on the main
      // thread, and 1,000 rows at once (~13 ms) stalled every request in flight behind it.
      for (let at = 0; at < batch.length; at += FLUSH_SLICE) {
        if (at > 0) await new Promise((r) => setImmediate(r));
        try {
          await this.store.insertExecutions(batch.slice(at, at + FLUSH_SLICE));
        } catch (err) {
          this.onError(err);
        }
      }
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
