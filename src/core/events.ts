/**
 * In-process platform events (executions, scaling, load tests), for live listeners
 * such as the WebSocket feed. Emitting never waits on a listener.
 */
import { EventEmitter } from 'node:events';
import type { LoadTestProgress, LoadTestResult, LoadTestStatus } from '../loadtest/types.js';
import type { ScalingEventRecord } from '../storage/types.js';

export interface PlatformEventMap {
  scaling_event: ScalingEventRecord;
  execution_started: { executionId: string; functionId: string; status: 'running'; attempt: number };
  execution_completed: {
    executionId: string;
    functionId: string;
    status: 'completed' | 'failed' | 'pending';
    duration: number | null;
    cpuUs: number | null;
    output?: unknown;
    error?: { code: string; message: string } | null;
    cost: { totalCost: number; tier: string } | null;
    /** Metering of the attempt (absent when it never ran, e.g. its function was deleted). */
    trigger?: 'async';
    wallUs?: number | null;
    coldStart?: boolean;
    coldStartUs?: number;
  };
  /** An HTTP invocation handed to the InvocationRecorder (its record is stored within the next flush). */
  invocation_recorded: {
    executionId: string;
    functionId: string;
    trigger: 'http';
    status: 'completed' | 'failed';
    cpuUs: number;
    wallUs: number;
    coldStart: boolean;
    coldStartUs: number;
    cost: { totalCost: number; wallClockCost: number; tier: string } | null;
  };
  /** About once a second while a load test runs (docs/load-tester.md). */
  load_test_progress: LoadTestProgress & { id: string; functionId: string; functionName: string };
  /** A load test ended: completed, failed or cancelled (a cancelled one still has the result of what ran). */
  load_test_completed: { id: string; functionId: string; functionName: string; status: Exclude<LoadTestStatus, 'running'>; result: LoadTestResult | null; error: string | null };
}

export class PlatformEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }
  emit<K extends keyof PlatformEventMap>(type: K, data: PlatformEventMap[K]): void {
    this.emitter.emit(type, data);
  }
  on<K extends keyof PlatformEventMap>(type: K, listener: (data: PlatformEventMap[K]) => void): () => void {
    this.emitter.on(type, listener);
    return () => this.emitter.off(type, listener);
  }
  /** Resolves with the first event of `type` matching `predicate`. */
  once<K extends keyof PlatformEventMap>(type: K, predicate: (data: PlatformEventMap[K]) => boolean = () => true): Promise<PlatformEventMap[K]> {
    return new Promise((resolve) => {
      const off = this.on(type, (data) => {
        if (predicate(data)) {
          off();
          resolve(data);
        }
      });
    });
  }
}
