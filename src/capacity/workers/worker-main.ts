/**
 * A worker process: the same isolate runtime as the server (src/runtime-stack.ts), against the
 * same store and blob folder, driven over Node's IPC channel (./protocol.ts). Extra baseline
 * workers and local burst workers are these. It exits when the server goes away.
 */
import { FsBlobStore } from '../../blobs/fs/fs-blob-store.js';
import { systemClock } from '../../core/clock.js';
import { SpillwayError } from '../../core/errors.js';
import { createRuntimeStack, openStore, type RuntimeStack } from '../../runtime-stack.js';
import { BreakerRegistry } from '../backpressure/circuit-breaker.js';
import { loadPolicy } from '../policy.js';
import { PressureGauge } from '../pressure.js';
import type { InvocationHandle } from '../../runtime/types.js';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { FromWorker, ToWorker, WireError } from './protocol.js';

const send = (message: FromWorker) => {
  if (process.connected) process.send!(message);
};
const wireError = (err: SpillwayError): WireError => ({ code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) });

const startedAt = process.hrtime.bigint();
let stack: RuntimeStack | null = null;
let closeStores: (() => Promise<void>) | null = null;
const streams = new Map<number, Readable>();

async function init(message: Extract<ToWorker, { t: 'init' }>): Promise<void> {
  const { config } = message;
  const store = openStore(config);
  const blobs = new FsBlobStore(join(config.SPILLWAY_DATA_DIR, 'blobs'));
  const onError = (err: unknown, context: string) => console.error(JSON.stringify({ level: 'error', worker: message.workerId, msg: context, err: String((err as Error)?.stack ?? err) }));
  // Each process keeps its own breakers per outbound origin (docs/backpressure.md).
  const breakers = new BreakerRegistry(loadPolicy(config.SPILLWAY_CAPACITY_POLICY).backpressure.circuitBreaker, systemClock);
  stack = createRuntimeStack({ config, store, blobs, clock: systemClock, onError, downstreamBreaker: (origin) => breakers.get(`downstream:${origin}`) });
  closeStores = async () => {
    await store.close();
    await blobs.close();
  };
  let reported = 0;
  new PressureGauge(stack.runtime, (value) => {
    if (Math.abs(value - reported) < 0.05) return;
    reported = value;
    send({ t: 'pressure', value });
  });
  send({ t: 'ready', startUs: Math.round(Number(process.hrtime.bigint() - startedAt) / 1000) });
}

async function invoke(message: Extract<ToWorker, { t: 'invoke' }>): Promise<void> {
  const { id, target, limits } = message;
  const handle: InvocationHandle =
    message.mode === 'http' ? await stack!.runtime.invoke(target, 'http', message.payload, limits) : await stack!.runtime.invoke(target, 'call', message.payload, limits);
  const outcome = await handle.outcome;
  if (outcome.type === 'error') send({ t: 'outcome', id, outcome: { type: 'error', error: wireError(outcome.error) } });
  else if (outcome.type === 'result') send({ t: 'outcome', id, outcome });
  else {
    send({ t: 'outcome', id, outcome: { type: 'response', status: outcome.status, headers: outcome.headers, body: outcome.body, streamed: outcome.stream !== null } });
    const stream = outcome.stream;
    if (stream) {
      streams.set(id, stream);
      stream.on('data', (chunk: Buffer) => send({ t: 'chunk', id, data: new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength) }));
      stream.on('end', () => {
        streams.delete(id);
        send({ t: 'end', id });
      });
      stream.on('error', (err) => {
        streams.delete(id);
        send({ t: 'stream-error', id, error: err instanceof SpillwayError ? wireError(err) : { code: 'FUNCTION_ERROR', message: err.message } });
      });
    }
  }
  const m = await handle.metering;
  send({ t: 'metering', id, metering: { cpuUs: m.cpuUs, wallUs: m.wallUs, coldStart: m.coldStart, coldStartUs: m.coldStartUs, logs: m.logs, logsTruncated: m.logsTruncated, error: m.error ? wireError(m.error) : null } });
}

async function shutdown(code: number): Promise<never> {
  try {
    await stack?.close();
    await closeStores?.();
  } finally {
    process.exit(code);
  }
}

process.on('message', (message: ToWorker) => {
  switch (message.t) {
    case 'init':
      init(message).catch((err) => {
        send({ t: 'fatal', message: String((err as Error)?.message ?? err) });
        void shutdown(1);
      });
      break;
    case 'invoke':
      invoke(message).catch((err) => {
        const error = { code: 'INTERNAL' as const, message: `The worker failed the call: ${(err as Error)?.message ?? err}` };
        send({ t: 'outcome', id: message.id, outcome: { type: 'error', error } });
        send({ t: 'metering', id: message.id, metering: { cpuUs: 0, wallUs: 0, coldStart: false, coldStartUs: 0, logs: [], logsTruncated: false, error } });
      });
      break;
    case 'cancel':
      streams.get(message.id)?.destroy();
      streams.delete(message.id);
      break;
    case 'evict':
      stack?.runtime.evictFunction(message.functionId);
      break;
    case 'sample': {
      const cpu = process.cpuUsage();
      send({ t: 'sample', id: message.id, cpuUs: cpu.user + cpu.system, rssBytes: process.memoryUsage.rss() });
      break;
    }
    case 'shutdown':
      void shutdown(0);
      break;
  }
});
// The server went away (crashed or was killed): nothing left to serve.
process.on('disconnect', () => void shutdown(0));
