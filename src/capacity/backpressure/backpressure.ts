/**
 * The backpressure layer in one object (docs/backpressure.md): the token buckets, the circuit
 * breakers (per function, per downstream origin, and for the burst tier), the load shedder and the
 * queue-read policy, with the admission checks the API routes and the execution worker call. Each
 * refusal is a SpillwayError carrying `details.retryAfterMs`, which the error handler turns into a
 * `Retry-After` header.
 */
import type { Clock } from '../../core/clock.js';
import { FUNCTION_FAULT_CODES, SpillwayError, type ErrorCode } from '../../core/errors.js';
import type { BackpressurePolicy } from '../policy.js';
import { BreakerRegistry, type CircuitBreaker } from './circuit-breaker.js';
import { clientKey, describeClientKey, type ClientRequestLike } from './client-key.js';
import { LoadShedder, type Priority } from './load-shedder.js';
import { QueueReadPacer } from './read-pacer.js';
import { TokenBucketLimiter } from './token-bucket.js';

export interface BackpressureOptions {
  policy: BackpressurePolicy;
  clock: Clock;
  /** Executions waiting in the durable queue (ready or delayed, not in flight). */
  queueDepth: () => Promise<number>;
  onError?: (err: unknown, context: string) => void;
}

/** The function a check is about: its id keys the breaker, its name goes in messages. */
export interface FunctionRef {
  id: string;
  name: string;
}

/** A call admitted past the function's breaker; report how it ended exactly once. */
export interface InvocationPermit {
  /** `null` for success (any Response, whatever its status), else the error code it ended with. */
  report(errorCode: ErrorCode | null): void;
  /** The call ended without an outcome to count (it never started, or a platform fault). */
  release(): void;
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

export class Backpressure {
  readonly buckets: TokenBucketLimiter;
  /** All breakers by key: `fn:<id>`, `downstream:<origin>`, `burst:<kind>`. */
  readonly breakers: BreakerRegistry;
  readonly shedder: LoadShedder;

  constructor(private readonly o: BackpressureOptions) {
    this.buckets = new TokenBucketLimiter(o.policy.tokenBucket, o.clock);
    this.breakers = new BreakerRegistry(o.policy.circuitBreaker, o.clock);
    this.shedder = new LoadShedder({
      policy: o.policy.loadShedding,
      clock: o.clock,
      depth: o.queueDepth,
      onError: (err) => o.onError?.(err, 'reading the queue depth for load shedding failed'),
    });
  }

  get policy(): BackpressurePolicy {
    return this.o.policy;
  }

  /** Spends a token of the request's client bucket, or throws RATE_LIMITED (429). */
  rateLimit(request: ClientRequestLike): void {
    const key = clientKey(request);
    const taken = this.buckets.take(key);
    if (taken.ok) return;
    const { burst, refillPerSecond } = this.o.policy.tokenBucket;
    throw new SpillwayError(
      'RATE_LIMITED',
      `Too many requests from ${describeClientKey(key)}: at most ${burst} at once, refilled at ${refillPerSecond} per second. Wait ${seconds(taken.retryAfterMs)} s (the Retry-After header) before sending again, and spread requests out.`,
      { retryAfterMs: taken.retryAfterMs },
    );
  }

  functionBreaker(functionId: string): CircuitBreaker {
    return this.breakers.get(`fn:${functionId}`);
  }

  /** The breaker of an outbound origin (`scheme://host:port`), for the fetch capability. */
  downstream(origin: string): CircuitBreaker {
    return this.breakers.get(`downstream:${origin}`);
  }

  /**
   * The pre-check of a synchronous invocation (`/fn/:name/*`): the client's bucket when the policy
   * limits invocations, then the function's breaker (which, half-open, admits this call as its
   * trial). Throws RATE_LIMITED or CIRCUIT_OPEN; otherwise the permit to report the outcome on.
   */
  admitInvocation(fn: FunctionRef, request: ClientRequestLike): InvocationPermit {
    if (this.o.policy.tokenBucket.limitInvocations) this.rateLimit(request);
    const breaker = this.functionBreaker(fn.id);
    if (!breaker.allow()) throw circuitOpen(fn, breaker);
    let done = false;
    return {
      report: (code) => {
        if (done) return;
        done = true;
        if (code === null) breaker.success();
        else if (FUNCTION_FAULT_CODES.has(code)) breaker.failure();
        else breaker.release();
      },
      release: () => {
        if (done) return;
        done = true;
        breaker.release();
      },
    };
  }

  /**
   * The pre-check of an asynchronous submission, after the rate limit: refused while the
   * function's circuit is open (until it half-opens; the trial itself is taken by the worker when
   * the job runs), then by load shedding on the queue depth. Throws CIRCUIT_OPEN or LOAD_SHED.
   */
  async admitSubmission(fn: FunctionRef, priority: Priority): Promise<void> {
    const breaker = this.breakers.peek(`fn:${fn.id}`);
    if (breaker?.state === 'open') throw circuitOpen(fn, breaker);
    const decision = await this.shedder.check(priority);
    if (decision.ok) return;
    const { shedLowAbove, shedNormalAbove, resumeBelow } = this.o.policy.loadShedding;
    throw new SpillwayError(
      'LOAD_SHED',
      `The execution queue holds ${decision.depth} pending executions, so ${decision.level === 'low' ? `"low" priority submissions (above ${shedLowAbove})` : `"low" and "normal" priority submissions (above ${shedNormalAbove})`} are refused until it is back below ${resumeBelow}. Retry after ${seconds(decision.retryAfterMs)} s, or submit with "priority": "high" for work that must not be shed.`,
      { retryAfterMs: decision.retryAfterMs, queueDepth: decision.depth, priority },
    );
  }

  /** A new version of the function was deployed: the failures were probably the old code's. */
  functionDeployed(functionId: string): void {
    this.breakers.peek(`fn:${functionId}`)?.reset();
  }

  functionDeleted(functionId: string): void {
    this.breakers.delete(`fn:${functionId}`);
  }

  /** A fresh pacer for one queue-reading loop. */
  readPacer(): QueueReadPacer {
    return new QueueReadPacer(this.o.policy.queueReads);
  }
}

function circuitOpen(fn: FunctionRef, breaker: CircuitBreaker): SpillwayError {
  const retryAfterMs = breaker.retryAfterMs;
  const why =
    breaker.state === 'open'
      ? `its last calls failed and its circuit breaker is open; it half-opens in ${seconds(retryAfterMs)} s and then lets one trial call through`
      : 'its circuit breaker is half-open and a trial call is running; its outcome decides whether calls resume';
  return new SpillwayError(
    'CIRCUIT_OPEN',
    `Function "${fn.name}" is not being called: ${why}. Check its recent executions for the error, fix or redeploy it (a new version closes the circuit), or retry after ${seconds(retryAfterMs)} s.`,
    { retryAfterMs, functionId: fn.id, state: breaker.state },
  );
}
