/**
 * How close a worker is to saturation, right now: the larger of its event loop's utilisation and
 * its busiest isolate's (CPU its batches used over the window / the window's wall time). Both are
 * 0..1. An isolate runs one function version on one thread, so a version whose calls need more
 * than one core saturates its isolate before the process saturates; the event loop saturates first
 * for light handlers. The router spills a call to the burst tier when every baseline worker is
 * above `baseline.saturatedAbove`, which reacts within one window (250 ms), long before the
 * seed's controller (which samples every 10 s) turns spillover on.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { FunctionRuntime } from '../runtime/function-runtime.js';

export const PRESSURE_WINDOW_MS = 250;

export class PressureGauge {
  /** The latest reading, 0..1. */
  value = 0;
  private elu: EventLoopUtilization = performance.eventLoopUtilization();
  private cpu = new Map<string, number>();
  private atNs = process.hrtime.bigint();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly runtime: FunctionRuntime,
    onReading?: (value: number) => void,
  ) {
    this.cpu = runtime.isolateCpuNs();
    this.timer = setInterval(() => {
      this.value = this.read();
      onReading?.(this.value);
    }, PRESSURE_WINDOW_MS);
    this.timer.unref();
  }

  private read(): number {
    const now = process.hrtime.bigint();
    const wallNs = Number(now - this.atNs);
    this.atNs = now;
    const elu = performance.eventLoopUtilization(this.elu);
    this.elu = performance.eventLoopUtilization();
    const cpu = this.runtime.isolateCpuNs();
    let busiest = 0;
    for (const [key, ns] of cpu) busiest = Math.max(busiest, (ns - (this.cpu.get(key) ?? ns)) / wallNs);
    this.cpu = cpu;
    return Math.min(1, Math.max(elu.utilization, busiest));
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
