/**
 * Request shapes of the cost comparison (`/api/costs/comparison`), validated with zod: the window
 * of metered executions to measure, and overrides for every price and workload figure of
 * src/costs/comparison.ts. Every number must be finite and at least 0 (some strictly positive or at
 * most 1); unknown fields are refused so a misspelt price is not silently ignored.
 */
import { z } from 'zod';

export const COMPARISON_WINDOWS = Object.freeze({ '1h': 3_600, '24h': 86_400, '7d': 604_800 });
export type ComparisonWindow = keyof typeof COMPARISON_WINDOWS;

const windowSchema = z.enum(['1h', '24h', '7d'], { errorMap: () => ({ message: 'must be one of 1h, 24h, 7d' }) });

const amount = (unit: string) =>
  z
    .number({ invalid_type_error: `must be a number (${unit})`, required_error: 'is required' })
    .finite(`must be a finite number (${unit})`)
    .nonnegative(`must be 0 or more (${unit})`);
const positive = (unit: string) => amount(unit).positive(`must be more than 0 (${unit})`);
const share = (what: string) => positive(what).max(1, `must be at most 1 (${what})`);
const count = (unit: string, max: number) => amount(unit).int(`must be a whole number of ${unit}`).max(max, `must be at most ${max} ${unit}`);
const hoursPerMonth = positive('hours').max(744, 'must be at most 744 (hours in a 31-day month)');

export const workloadOverridesSchema = z
  .object({
    callsPerSecond: amount('calls per second'),
    cpuMsPerCall: amount('ms'),
    wallMsPerCall: amount('ms'),
    memoryMb: positive('MB').max(10_240, 'must be at most 10240 (MB)'),
  })
  .partial()
  .strict();

export const projectionOverridesSchema = z
  .object({
    serverless: z.object({ pricePerGbSecondUsd: amount('USD per GB-second'), pricePerRequestUsd: amount('USD per request') }).partial().strict(),
    baseline: z
      .object({
        vcpuPerTask: positive('vCPU'),
        memoryGbPerTask: amount('GB'),
        pricePerVcpuHourUsd: amount('USD per vCPU-hour'),
        pricePerGbHourUsd: amount('USD per GB-hour'),
        minTasks: count('tasks', 10_000),
        targetUtilisation: share('a share of the vCPUs, 0 to 1'),
      })
      .partial()
      .strict(),
    spillway: z.object({ spillAboveUtilisation: share('a share of the baseline vCPUs, 0 to 1') }).partial().strict(),
    hoursPerMonth,
  })
  .partial()
  .strict();

export const seed000OverridesSchema = z
  .object({
    baselineTasks: count('tasks', 10_000),
    vcpuPerTask: positive('vCPU'),
    memoryGbPerTask: amount('GB'),
    pricePerVcpuHourUsd: amount('USD per vCPU-hour'),
    pricePerGbHourUsd: amount('USD per GB-hour'),
    lambdaMemoryGb: positive('GB'),
    lambdaDurationS: amount('s'),
    lambdaPricePerGbSecondUsd: amount('USD per GB-second'),
    lambdaPricePerRequestUsd: amount('USD per request'),
    requestsPerSecond: amount('requests per second'),
    cpuMsPerRequest: amount('ms'),
    hoursPerMonth,
  })
  .partial()
  .strict();

export const seed004OverridesSchema = z
  .object({
    lambdaMemoryMb: positive('MB'),
    lambdaDurationMs: amount('ms'),
    lambdaPricePerMsUsd: amount('USD per ms'),
    lambdaPriceMemoryMb: positive('MB'),
    lambdaPricePerRequestUsd: amount('USD per request'),
    fargateVcpuPerTask: positive('vCPU'),
    fargateMemoryGbPerTask: amount('GB'),
    fargatePricePerVcpuHourUsd: amount('USD per vCPU-hour'),
    fargatePricePerGbHourUsd: amount('USD per GB-hour'),
    hoursPerMonth,
    baselineTasks: count('tasks', 10_000),
    peakTasks: count('tasks', 10_000),
    peakHoursPerDay: amount('hours').max(24, 'must be at most 24 (hours)'),
    monthlyVolumes: z.array(amount('requests'), { invalid_type_error: 'must be an array of request counts' }).min(1, 'must list at least one volume').max(20, 'must list at most 20 volumes'),
  })
  .partial()
  .strict();

export const comparisonQuerySchema = z.object({ window: windowSchema.default('24h') }).strict();

export const comparisonBodySchema = z
  .object({
    window: windowSchema.default('24h'),
    workload: workloadOverridesSchema.default({}),
    projection: projectionOverridesSchema.default({}),
    seed000: seed000OverridesSchema.default({}),
    seed004: seed004OverridesSchema.default({}),
  })
  .strict();

export type ComparisonBody = z.output<typeof comparisonBodySchema>;
