/**
 * A few isolates kept ready with the guest runtime loaded (and its Fetch API classes already
 * initialised), so the first call of a new function version only has to compile and run that
 * version's bundle. The pool holds isolates of the default memory limit; a function with another
 * limit starts its isolate from scratch. An isolate leaves the pool for exactly one function
 * version and is never returned, so no function's code or globals ever meet another's.
 *
 * The pool refills in the background, one isolate at a time, once the call that took an isolate
 * has answered (FunctionRuntime.invoke). Under a burst of
 * new versions it runs dry and cold starts fall back to a full start (counted in `stats`).
 */
import type { GuestCode } from './guest-code.js';
import type { HostApi } from './host-api.js';
import type { IsolatedVM } from './ivm.js';
import { IsolateHost, type PreparedIsolate } from './isolate-host.js';

export interface IsolatePoolOptions {
  /** Isolates kept ready; 0 turns the pool off. */
  size: number;
  memoryLimitMb: number;
  guest: () => Promise<GuestCode>;
  hostApi: HostApi | undefined;
}

/** Guest code run in a pooled isolate so the lazily loaded classes every handler uses are ready. */
const WARM_UP = `void new Response('warm', { headers: { 'content-type': 'text/plain' } }).headers.get('content-type'); void new Request('http://warm.invalid/'); undefined;`;

/**
 * Runs the guest's request path once in a prepared isolate: the lazily loaded classes initialise
 * and V8 compiles the functions a first request needs, so the first real call does not pay for it.
 * The warm-up request reaches no handler (none is loaded yet) and leaves nothing behind: its
 * invocation ends with an error that is drained and dropped.
 */
async function warmUp(prepared: PreparedIsolate): Promise<void> {
  await prepared.context.eval(WARM_UP, { timeout: 1000 });
  const spw = (await prepared.context.global.get('__spw', { reference: true })) as IsolatedVM.Reference<Record<string, unknown>>;
  const run = (await spw.get('run', { reference: true })) as IsolatedVM.Reference<(items: unknown[], budget: number, pipelined: boolean, opsInResult: boolean) => Promise<unknown>>;
  const drain = (await spw.get('drain', { reference: true })) as IsolatedVM.Reference<() => unknown>;
  try {
    const request = { method: 'POST', url: 'http://warm.invalid/path?q=1', headers: [['content-type', 'application/json'], ['accept', '*/*']], body: '{}' };
    // Operations stay in the guest (opsInResult false: nothing to copy back) and `drain` drops them.
    await run.apply(undefined, [[['start', 'warm-up', 'http', request]], 20, false, false], { arguments: { copy: true }, result: { copy: true, promise: true }, timeout: 1000 });
    drain.applySync(undefined, [], { result: { copy: true }, timeout: 1000 });
  } finally {
    run.release();
    drain.release();
    spw.release();
  }
}

export class IsolatePool {
  private readonly ready: PreparedIsolate[] = [];
  private filling: Promise<void> | null = null;
  private closed = false;
  hits = 0;
  misses = 0;

  constructor(private readonly options: IsolatePoolOptions) {}

  /** Starts filling the pool (or joins the fill under way); resolves when it is full. */
  fill(): Promise<void> {
    if (this.closed || this.options.size <= 0) return Promise.resolve();
    this.filling ??= this.refill().finally(() => (this.filling = null));
    return this.filling;
  }

  private async refill(): Promise<void> {
    while (!this.closed && this.ready.length < this.options.size) {
      const prepared = await IsolateHost.prepare(this.options.memoryLimitMb, await this.options.guest(), this.options.hostApi);
      try {
        await warmUp(prepared);
      } catch (err) {
        prepared.isolate.dispose();
        throw err;
      }
      if (this.closed) prepared.isolate.dispose();
      else this.ready.push(prepared);
    }
  }

  /** A ready isolate for a function with this memory limit, or null (the caller starts its own). */
  take(memoryLimitMb: number): PreparedIsolate | null {
    if (this.options.size <= 0 || memoryLimitMb !== this.options.memoryLimitMb) return null;
    let prepared: PreparedIsolate | undefined;
    while ((prepared = this.ready.shift()) && prepared.isolate.isDisposed);
    if (prepared) this.hits++;
    else this.misses++;
    // The caller refills (fill()) once the call that took it has answered (FunctionRuntime.invoke).
    return prepared ?? null;
  }

  get size(): number {
    return this.ready.length;
  }

  close(): void {
    this.closed = true;
    for (const p of this.ready.splice(0)) if (!p.isolate.isDisposed) p.isolate.dispose();
  }
}
