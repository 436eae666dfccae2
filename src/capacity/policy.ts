/**
 * The capacity policy: every threshold, window, step, cooldown and limit that decides how
 * Spillway scales and pushes back, as data in one format. The defaults are the seeds' values
 * (seed 000 §5 for the baseline and spillover, seed 001 for queue-driven execution scaling, seed
 * 003 for the sandbox pools and the backpressure patterns); an operator changes any of them with a
 * JSON file named by SPILLWAY_CAPACITY_POLICY, which is deep-merged over the defaults and
 * validated whole at start-up. docs/capacity.md documents each field.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const pct = z.number().min(0).max(100);
const ms = z.number().int().min(0).max(7 * 24 * 3_600_000);
const count = (max = 100_000) => z.number().int().min(0).max(max);

/** Seed 000 §5: the baseline/spillover controller. Utilisation is a percentage of the baseline's allotment. */
const spilloverSchema = z
  .object({
    /** How often the baseline's CPU and memory are sampled and the controller runs. */
    sampleIntervalMs: ms.min(100),
    /** Scale the baseline up when CPU or memory is above these. */
    scaleUpAbovePct: z.object({ cpu: pct, memory: pct }),
    /** Workers added per scale-up, and the least time between two scale-ups. */
    scaleUpStep: count(100).min(1),
    scaleUpCooldownMs: ms,
    /** Turn spillover on when CPU or memory is above these. */
    spilloverAbovePct: z.object({ cpu: pct, memory: pct }),
    /** Turn spillover off when CPU and memory have both stayed below `recoverBelowPct` for `spilloverOffAfterMs`. */
    recoverBelowPct: z.object({ cpu: pct, memory: pct }),
    spilloverOffAfterMs: ms,
    /** Scale the baseline down when both have stayed below `recoverBelowPct` for `scaleDownAfterMs`. */
    scaleDownAfterMs: ms,
    scaleDownStep: count(100).min(1),
    /**
     * Off (the seeds' rule) by default. When on, a scale-down also needs the utilisation projected
     * onto the smaller baseline (value × n / (n − step)) to stay at or below `scaleUpAbovePct`, so
     * the baseline does not shrink into an immediate scale-up (docs/capacity-simulation.md shows the
     * flapping the seeds' rule produces on a diurnal load).
     */
    projectScaleDown: z.boolean().optional(),
    /** Traffic weights (percent, summing to 100) in each mode. */
    weights: z.object({
      normal: z.object({ baseline: pct, burst: pct }),
      spillover: z.object({ baseline: pct, burst: pct }),
    }),
  })
  .strict();

const baselineSchema = z
  .object({
    /** Always-on workers (the server's own runtime counts as one). */
    minWorkers: count(64).min(1),
    maxWorkers: count(64).min(1),
    /** Invocations one worker holds at once; past this it takes no more (they overflow or wait). */
    maxInFlightPerWorker: count(1_000_000).min(1),
    /**
     * A worker whose saturation gauge (event loop or busiest isolate, over 250 ms; src/capacity/pressure.ts)
     * is at or above this counts as saturated: unpinned calls overflow to the burst tier when every
     * baseline worker is. Without a burst tier, saturated workers still take calls (they queue).
     */
    saturatedAbovePct: pct,
    /** CPU one worker is allotted, in cores (utilisation = CPU used / this), and memory, in MB. */
    cpuCoresPerWorker: z.number().positive().max(256),
    memoryMbPerWorker: count(1_048_576).min(16),
  })
  .strict();

const burstSchema = z
  .object({
    /** Burst workers (local processes) at most, and invocations each holds before another starts. */
    maxWorkers: count(1000),
    maxInFlightPerWorker: count(1_000_000).min(1),
    /** A burst worker with nothing in flight for this long is stopped (zero idle cost). */
    idleStopMs: ms,
    /** Requests waiting for any worker (baseline full, burst at its limit) before NO_CAPACITY. */
    maxQueued: count(1_000_000),
    /** How long a request may wait in that queue before NO_CAPACITY. */
    maxQueueWaitMs: ms,
  })
  .strict();

/** One scaling rule: when `metric` is above (scale-up rules) or below (scale-down rules) `threshold`, change replicas by `step`. */
const ruleSchema = z
  .object({
    metric: z.enum(['queue_depth', 'p95_latency_ms', 'worker_idle_time_ms', 'cpu_pct', 'memory_pct']),
    threshold: z.number().min(0),
    step: z.number().int().min(1).max(1000),
    cooldownMs: ms,
  })
  .strict();

/** Seed 001 (executions) and seed 003 (pools): replicas scaled by rules evaluated on a period. */
const ruleScalerSchema = z
  .object({
    minReplicas: count(10_000),
    maxReplicas: count(10_000).min(1),
    evaluateEveryMs: ms.min(100),
    scaleUp: z.array(ruleSchema),
    scaleDown: z.array(ruleSchema),
  })
  .strict();

/** Seed 003 "Backpressure patterns". */
const backpressureSchema = z
  .object({
    tokenBucket: z
      .object({
        /** Requests one API key or client IP may send at once, and tokens refilled per second. */
        burst: count(1_000_000).min(1),
        refillPerSecond: z.number().positive().max(1_000_000),
        /** What the buckets guard: async submissions (`POST /api/functions/:id/execute`) always; `/fn/` invocations only when true. */
        limitInvocations: z.boolean(),
        /** Buckets remembered at most (least recently used forgotten first; a forgotten bucket is full). */
        maxKeys: count(10_000_000).min(1),
      })
      .strict(),
    queueReads: z
      .object({
        batchSize: count(1000).min(1),
        /** Pause between reads while every read comes back full. */
        busyIntervalMs: ms,
        /** Exponential backoff on queue errors, from `errorBackoffMinMs` doubling to `errorBackoffMaxMs`. */
        errorBackoffMinMs: ms.min(1),
        errorBackoffMaxMs: ms.min(1),
      })
      .strict(),
    circuitBreaker: z
      .object({
        consecutiveFailures: count(1_000_000).min(1),
        halfOpenAfterMs: ms,
        halfOpenRequests: count(1000).min(1),
      })
      .strict(),
    loadShedding: z
      .object({
        /** Above this many pending executions, `low` priority is shed; above `shedNormalAbove`, `normal` too; `high` never. */
        shedLowAbove: count(100_000_000),
        shedNormalAbove: count(100_000_000),
        /** Shedding stops once the queue is back below this. */
        resumeBelow: count(100_000_000),
      })
      .strict(),
  })
  .strict();

export const CAPACITY_POLICY_SCHEMA = z
  .object({
    baseline: baselineSchema,
    spillover: spilloverSchema,
    burst: burstSchema,
    executions: ruleScalerSchema,
    pools: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/), ruleScalerSchema),
    backpressure: backpressureSchema,
  })
  .strict()
  .superRefine((p, ctx) => {
    const check = (ok: boolean, path: (string | number)[], message: string) => ok || ctx.addIssue({ code: z.ZodIssueCode.custom, path, message });
    check(p.baseline.minWorkers <= p.baseline.maxWorkers, ['baseline', 'minWorkers'], 'must be at most baseline.maxWorkers');
    for (const mode of ['normal', 'spillover'] as const) {
      const w = p.spillover.weights[mode];
      check(w.baseline + w.burst === 100, ['spillover', 'weights', mode], `weights must sum to 100 (got ${w.baseline} + ${w.burst})`);
    }
    for (const m of ['cpu', 'memory'] as const) {
      check(p.spillover.spilloverAbovePct[m] >= p.spillover.recoverBelowPct[m], ['spillover', 'recoverBelowPct', m], `must not be above spilloverAbovePct.${m}`);
    }
    check(p.backpressure.loadShedding.resumeBelow <= p.backpressure.loadShedding.shedLowAbove, ['backpressure', 'loadShedding', 'resumeBelow'], 'must be at most shedLowAbove');
    check(p.backpressure.loadShedding.shedLowAbove <= p.backpressure.loadShedding.shedNormalAbove, ['backpressure', 'loadShedding', 'shedNormalAbove'], 'must be at least shedLowAbove');
    check(p.backpressure.queueReads.errorBackoffMinMs <= p.backpressure.queueReads.errorBackoffMaxMs, ['backpressure', 'queueReads', 'errorBackoffMaxMs'], 'must be at least errorBackoffMinMs');
    const scalers: Array<[string[], z.infer<typeof ruleScalerSchema>]> = [[['executions'], p.executions], ...Object.entries(p.pools).map(([k, v]): [string[], z.infer<typeof ruleScalerSchema>] => [['pools', k], v])];
    for (const [path, s] of scalers) check(s.minReplicas <= s.maxReplicas, [...path, 'minReplicas'], 'must be at most maxReplicas');
  });

export type CapacityPolicy = z.infer<typeof CAPACITY_POLICY_SCHEMA>;
export type SpilloverPolicy = CapacityPolicy['spillover'];
export type BaselinePolicy = CapacityPolicy['baseline'];
export type BurstPolicy = CapacityPolicy['burst'];
export type RuleScalerPolicy = z.infer<typeof ruleScalerSchema>;
export type ScalingRule = z.infer<typeof ruleSchema>;
export type BackpressurePolicy = CapacityPolicy['backpressure'];

const MINUTE = 60_000;

/** The seeds' values. */
export const DEFAULT_CAPACITY_POLICY: CapacityPolicy = Object.freeze({
  baseline: { minWorkers: 2, maxWorkers: 4, maxInFlightPerWorker: 10_000, saturatedAbovePct: 90, cpuCoresPerWorker: 1, memoryMbPerWorker: 2048 },
  spillover: {
    sampleIntervalMs: 10_000,
    scaleUpAbovePct: { cpu: 75, memory: 75 },
    scaleUpStep: 1,
    scaleUpCooldownMs: MINUTE,
    spilloverAbovePct: { cpu: 85, memory: 85 },
    recoverBelowPct: { cpu: 70, memory: 70 },
    spilloverOffAfterMs: 5 * MINUTE,
    scaleDownAfterMs: 15 * MINUTE,
    scaleDownStep: 1,
    projectScaleDown: false,
    weights: { normal: { baseline: 100, burst: 0 }, spillover: { baseline: 70, burst: 30 } },
  },
  burst: { maxWorkers: 4, maxInFlightPerWorker: 10_000, idleStopMs: MINUTE, maxQueued: 10_000, maxQueueWaitMs: 10_000 },
  executions: {
    minReplicas: 1,
    maxReplicas: 10,
    evaluateEveryMs: 30_000,
    scaleUp: [{ metric: 'queue_depth', threshold: 10, step: 1, cooldownMs: 30_000 }],
    scaleDown: [{ metric: 'queue_depth', threshold: 3, step: 1, cooldownMs: 30_000 }],
  },
  pools: {
    container: {
      minReplicas: 2,
      maxReplicas: 100,
      evaluateEveryMs: 10_000,
      scaleUp: [
        { metric: 'queue_depth', threshold: 10, step: 2, cooldownMs: 30_000 },
        { metric: 'p95_latency_ms', threshold: 5000, step: 5, cooldownMs: 60_000 },
      ],
      scaleDown: [
        { metric: 'queue_depth', threshold: 2, step: 1, cooldownMs: 300_000 },
        { metric: 'worker_idle_time_ms', threshold: 300_000, step: 1, cooldownMs: 120_000 },
      ],
    },
    microvm: {
      minReplicas: 1,
      maxReplicas: 50,
      evaluateEveryMs: 10_000,
      scaleUp: [{ metric: 'queue_depth', threshold: 5, step: 1, cooldownMs: 60_000 }],
      scaleDown: [{ metric: 'queue_depth', threshold: 0, step: 1, cooldownMs: 600_000 }],
    },
  },
  backpressure: {
    tokenBucket: { burst: 10, refillPerSecond: 2, limitInvocations: false, maxKeys: 100_000 },
    queueReads: { batchSize: 5, busyIntervalMs: 100, errorBackoffMinMs: 100, errorBackoffMaxMs: 30_000 },
    circuitBreaker: { consecutiveFailures: 5, halfOpenAfterMs: 30_000, halfOpenRequests: 1 },
    loadShedding: { shedLowAbove: 1000, shedNormalAbove: 2000, resumeBelow: 500 },
  },
}) as CapacityPolicy;

type DeepPartial<T> = T extends Array<unknown> ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;
export type CapacityPolicyOverrides = DeepPartial<CapacityPolicy>;

export class PolicyError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid capacity policy:\n  ${problems.join('\n  ')}`);
  }
}

/** Objects merge key by key; arrays and scalars in `over` replace. */
function deepMerge(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (base && over && typeof base === 'object' && typeof over === 'object' && !Array.isArray(base) && !Array.isArray(over)) {
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(over as Record<string, unknown>)) out[k] = deepMerge((base as Record<string, unknown>)[k], v);
    return out;
  }
  return over;
}

/** The defaults with `overrides` merged over them, validated; throws PolicyError naming every problem. */
export function resolvePolicy(overrides: unknown = {}): CapacityPolicy {
  if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)) throw new PolicyError(['the policy must be a JSON object']);
  const parsed = CAPACITY_POLICY_SCHEMA.safeParse(deepMerge(structuredClone(DEFAULT_CAPACITY_POLICY), overrides));
  if (!parsed.success) throw new PolicyError(parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  return parsed.data;
}

/** Reads a policy file (JSON), merged over the defaults; no file means the defaults. */
export function loadPolicy(path: string | undefined): CapacityPolicy {
  if (!path) return resolvePolicy({});
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PolicyError([`cannot read ${path}: ${(err as Error).message}`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new PolicyError([`${path} is not valid JSON: ${(err as Error).message}`]);
  }
  return resolvePolicy(json);
}
