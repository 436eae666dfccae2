/**
 * The analytics binding, host side: `track(name, properties)` events, stored per function in the
 * metadata store (table `analytics_events`) and read back through
 * `GET /api/functions/:id/analytics`. Guest code reaches it as `Platform.analytics` and
 * `env.ANALYTICS` (src/runtime/guest/bindings.ts).
 *
 * Events are buffered and written in batches (like InvocationRecorder), so tracking costs the
 * invocation no database round trip: `track()` resolves once the event is accepted, and the batch
 * is stored within `intervalMs`. A crash loses at most that window of events. Reads through the
 * sink flush it first, so the API sees every event this node accepted.
 *
 * Limits are checked here (the guest checks too, for early errors; `hostCall` is reachable from
 * user code, so the host never trusts it), including the per-invocation event cap, counted by the
 * invocation's id and forgotten when the invocation ends.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../core/clock.js';
import type { AnalyticsEventRecord, AnalyticsQuery, MetadataStore } from '../../storage/types.js';
import type { HostApi } from '../host-api.js';

/** The binding's limits, documented in docs/handler-contract.md ("Platform bindings"). */
export const ANALYTICS_LIMITS = Object.freeze({
  /** Event names, UTF-8 bytes. */
  maxNameBytes: 128,
  /** An event's properties, bytes of their JSON. */
  maxPropertiesBytes: 16 * 1024,
  /** Events one invocation may track (Workers Analytics Engine's writeDataPoint cap). */
  maxEventsPerInvocation: 250,
  /** Events waiting to be stored before track() refuses more (the database is not keeping up). */
  maxBufferedEvents: 20_000,
});

/** The `env` description of the binding, handed to the guest's `load`. */
export const ANALYTICS_BINDING = Object.freeze({ type: 'analytics', limits: ANALYTICS_LIMITS });

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export interface AnalyticsSinkOptions {
  store: MetadataStore;
  clock: Clock;
  /** A batch that could not be stored (its events are dropped, as InvocationRecorder drops records). */
  onError: (err: unknown) => void;
  /** How often buffered events are written, ms (default 250). */
  intervalMs?: number;
  /** Buffered events that trigger a write at once (default 1000). */
  maxBatch?: number;
}

export class AnalyticsSink {
  private readonly store: MetadataStore;
  private readonly clock: Clock;
  private readonly onError: (err: unknown) => void;
  private readonly maxBatch: number;
  private readonly timer: NodeJS.Timeout;
  private buffer: AnalyticsEventRecord[] = [];
  /** Events being written by the flush in progress (counted against maxBufferedEvents). */
  private inFlight = 0;
  private flushing: Promise<void> = Promise.resolve();

  constructor(options: AnalyticsSinkOptions) {
    this.store = options.store;
    this.clock = options.clock;
    this.onError = options.onError;
    this.maxBatch = options.maxBatch ?? 1000;
    this.timer = setInterval(() => void this.flush(), options.intervalMs ?? 250);
    this.timer.unref();
  }

  /** Validates and buffers one event; it is stored with the next batch. */
  track(functionId: string, name: unknown, properties: unknown): AnalyticsEventRecord {
    const event: AnalyticsEventRecord = {
      id: `ev_${randomUUID().replace(/-/g, '')}`,
      functionId,
      name: checkName(name),
      properties: checkProperties(properties),
      createdAt: new Date(this.clock.now()).toISOString(),
    };
    if (this.buffer.length + this.inFlight >= ANALYTICS_LIMITS.maxBufferedEvents) {
      throw new RangeError(`${ANALYTICS_LIMITS.maxBufferedEvents} analytics events are waiting to be stored; this one was not accepted`);
    }
    this.buffer.push(event);
    if (this.buffer.length >= this.maxBatch) void this.flush();
    return event;
  }

  /** Stored events of one function, newest first; flushes this node's buffer first. */
  async list(query: AnalyticsQuery): Promise<AnalyticsEventRecord[]> {
    await this.flush();
    return this.store.listAnalyticsEvents(query);
  }

  /** Writes everything buffered so far; resolves when it is stored (or its failure reported). */
  flush(): Promise<void> {
    const batch = this.buffer;
    this.buffer = [];
    this.inFlight += batch.length;
    this.flushing = this.flushing.then(async () => {
      if (batch.length === 0) return;
      try {
        await this.store.insertAnalyticsEvents(batch);
      } catch (err) {
        this.onError(err);
      } finally {
        this.inFlight -= batch.length;
      }
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}

function checkName(name: unknown): string {
  if (typeof name !== 'string') throw invalid(`name: got ${typeof name === 'object' ? (name === null ? 'null' : 'an object') : typeof name}, must be a string`);
  if (name.length === 0) throw invalid('name: must not be empty');
  if (name.includes('\u0000') || LONE_SURROGATE.test(name)) throw invalid('name: must be well-formed text without U+0000');
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > ANALYTICS_LIMITS.maxNameBytes) throw new RangeError(`name: got ${bytes} bytes, must be at most ${ANALYTICS_LIMITS.maxNameBytes} bytes (UTF-8)`);
  return name;
}

/** Properties arrive as the JSON text the guest serialised (or nothing, for none). */
function checkProperties(properties: unknown): Record<string, unknown> {
  if (properties === undefined || properties === null) return {};
  if (typeof properties !== 'string') throw invalid('properties: must arrive as JSON text');
  const bytes = Buffer.byteLength(properties, 'utf8');
  if (bytes > ANALYTICS_LIMITS.maxPropertiesBytes) {
    throw new RangeError(`properties: got ${bytes} bytes of JSON, must be at most ${ANALYTICS_LIMITS.maxPropertiesBytes} bytes`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(properties);
  } catch {
    throw invalid('properties: not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid('properties: must be a plain object, like { userId: 7 }');
  return parsed as Record<string, unknown>;
}

function invalid(message: string): TypeError {
  return new TypeError(message);
}

/** The host method behind `Platform.analytics.track` and `env.ANALYTICS`: `analytics.track`. */
export function analyticsHostApi(sink: AnalyticsSink): Partial<HostApi> {
  const counts = new Map<string, number>();
  return {
    async: {
      'analytics.track': async (args, ctx) => {
        const { name, properties } = (args ?? {}) as { name?: unknown; properties?: unknown };
        const seen = counts.get(ctx.invocationId) ?? 0;
        if (seen >= ANALYTICS_LIMITS.maxEventsPerInvocation) {
          throw new RangeError(`more than ${ANALYTICS_LIMITS.maxEventsPerInvocation} events in one invocation; this one was not tracked`);
        }
        sink.track(ctx.functionId, name, properties);
        if (ctx.signal.aborted) return null;
        if (seen === 0) ctx.signal.addEventListener('abort', () => counts.delete(ctx.invocationId), { once: true });
        counts.set(ctx.invocationId, seen + 1);
        return null;
      },
    },
  };
}
