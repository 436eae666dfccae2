/**
 * Where InvocationRecorder writes on SQLite: a worker thread with its own connection to the same
 * database (./record-writer-worker.ts), so the inserts, their JSON encoding and the commit's
 * fsync run off Node's main thread. What stays on the main thread is one structured clone of each
 * slice of records. `insertExecutions` resolves when the slice is committed, so after
 * `recorder.flush()` the main connection reads every record (WAL).
 */
import { Worker } from 'node:worker_threads';
import type { ExecutionRecord } from '../storage/types.js';
import type { WriterReply, WriterRequest } from './record-writer-worker.js';

export interface RecordSink {
  insertExecutions(records: ExecutionRecord[]): Promise<void>;
}

export class WorkerRecordSink implements RecordSink {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  private failure: Error | null = null;
  private closed: Promise<void> | null = null;

  constructor(path: string) {
    // The writer is TypeScript, like the rest of src/: a worker thread does not inherit the main
    // thread's tsx loader (Node 20), so the worker registers tsx before importing it.
    const entry = new URL('./record-writer-worker.ts', import.meta.url).href;
    const tsxApi = import.meta.resolve('tsx/esm/api');
    const bootstrap = `import(${JSON.stringify(tsxApi)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`;
    this.worker = new Worker(bootstrap, { eval: true, workerData: { path } });
    // Idle, it keeps nothing alive; close() ends it.
    this.worker.unref();
    this.worker.on('message', (reply: WriterReply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) this.worker.unref();
      if (reply.ok) waiter.resolve();
      else waiter.reject(new Error(`recording invocations (worker thread): ${reply.error}`));
    });
    const fail = (err: Error) => {
      this.failure ??= err;
      for (const waiter of this.pending.values()) waiter.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the record writer thread exited (code ${code})`)));
  }

  insertExecutions(records: ExecutionRecord[]): Promise<void> {
    return this.request({ id: 0, records });
  }

  close(): Promise<void> {
    this.closed ??= this.failure ? Promise.resolve() : this.request({ id: 0, close: true }).catch(() => {});
    return this.closed;
  }

  private request(msg: WriterRequest): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    msg.id = id;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Kept alive while a write is outstanding, so a process that is ending still finishes it.
      this.worker.ref();
      this.worker.postMessage(msg);
    });
  }
}
