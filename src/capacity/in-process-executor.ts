/**
 * Baseline worker 0: the server's own isolate runtime, reached without any hop. A single-process
 * deployment is exactly this worker.
 */
import type { FunctionRuntime } from '../runtime/function-runtime.js';
import type { HttpRequestPayload, InvocationHandle, InvocationLimits } from '../runtime/types.js';
import { PressureGauge } from './pressure.js';
import type { Executor, InvocationTarget } from './types.js';

export class InProcessExecutor implements Executor {
  readonly tier = 'baseline' as const;
  private active = 0;

  private readonly gauge: PressureGauge | null;

  constructor(
    readonly id: string,
    private readonly runtime: FunctionRuntime,
    measurePressure = true,
  ) {
    this.gauge = measurePressure ? new PressureGauge(runtime) : null;
  }

  get inFlight(): number {
    return this.active;
  }

  get pressure(): number {
    return this.gauge?.value ?? 0;
  }

  close(): void {
    this.gauge?.stop();
  }

  invoke(target: InvocationTarget, mode: 'http', payload: HttpRequestPayload, limits: InvocationLimits): Promise<InvocationHandle>;
  invoke(target: InvocationTarget, mode: 'call', payload: { input: unknown }, limits: InvocationLimits): Promise<InvocationHandle>;
  async invoke(target: InvocationTarget, mode: 'http' | 'call', payload: HttpRequestPayload | { input: unknown }, limits: InvocationLimits): Promise<InvocationHandle> {
    this.active++;
    const handle =
      mode === 'http' ? await this.runtime.invoke(target, 'http', payload as HttpRequestPayload, limits) : await this.runtime.invoke(target, 'call', payload as { input: unknown }, limits);
    void handle.metering.then(() => this.active--);
    return handle;
  }
}
