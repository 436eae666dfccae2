/**
 * The worker thread behind WorkerRecordSink (./worker-record-sink.ts): its own better-sqlite3
 * connection to the platform's database (WAL: the main thread's connection reads what it
 * commits), writing batches of HTTP invocation records off Node's main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteMetadataStore } from '../storage/sqlite/sqlite-metadata-store.js';
import type { ExecutionRecord } from '../storage/types.js';

export type WriterRequest = { id: number; records: ExecutionRecord[] } | { id: number; close: true };
export type WriterReply = { id: number; ok: true } | { id: number; ok: false; error: string };

const store = new SqliteMetadataStore({ path: (workerData as { path: string }).path });
const port = parentPort!;

port.on('message', async (msg: WriterRequest) => {
  let reply: WriterReply;
  try {
    if ('close' in msg) {
      await store.close();
      port.postMessage({ id: msg.id, ok: true } satisfies WriterReply);
      port.close();
      return;
    }
    await store.insertExecutions(msg.records);
    reply = { id: msg.id, ok: true };
  } catch (err) {
    reply = { id: msg.id, ok: false, error: String((err as Error)?.stack ?? err) };
  }
  port.postMessage(reply);
});
