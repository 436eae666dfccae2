/**
 * Seed 001's pricing: four tiers, `determineTier`, and the per-execution cost formula, with one
 * change that is Spillway's point (seed 000): the billed duration is CPU time, not wall time.
 * Every cost also carries what a wall-clock biller would have charged, so savings can be shown.
 * docs/costs.md explains each decision and where the seed's table and code disagree.
 */
import type { CostBreakdown } from '../storage/types.js';

export type Tier = 'basic' | 'standard' | 'premium' | 'enterprise';

export const TIERS: Readonly<Record<Tier, { pricePer100ms: number; memoryMB: number; cpuCores: number }>> = Object.freeze({
  basic: { pricePer100ms: 0.0001, memoryMB: 128, cpuCores: 0.1 },
  standard: { pricePer100ms: 0.0003, memoryMB: 512, cpuCores: 0.5 },
  premium: { pricePer100ms: 0.0008, memoryMB: 1024, cpuCores: 1.0 },
  enterprise: { pricePer100ms: 0.002, memoryMB: 2048, cpuCores: 2.0 },
});

export const COST_FACTORS = Object.freeze({
  coldStart: 0.00005,
  retry: 0.00002,
  scaling: 0.0001,
  /** Per KiB of input plus output. */
  dataTransfer: 0.000001,
  storage: 0.0001,
});

/**
 * Seed 001's determineTier, kept as written: its code (not its table) decides, because the code
 * gives every function a tier while the table leaves gaps (a 50-character function with a 90 s
 * timeout fits no row). The seed's `|| timeout > 60000` on the standard branch can never be true
 * there (premium already took it); it is dropped here without changing any result.
 */
export function determineTier(codeLength: number, timeoutMs = 30000): Tier {
  if (codeLength > 10000 || timeoutMs > 120000) return 'enterprise';
  if (codeLength > 5000 || timeoutMs > 60000) return 'premium';
  if (codeLength > 100) return 'standard';
  return 'basic';
}

export interface CostInput {
  tier: Tier;
  cpuUs: number;
  wallUs: number;
  /** Retries made before the attempt that finished (0 for the first attempt). */
  retryCount: number;
  /** Whether this attempt really started a cold isolate. */
  coldStart: boolean;
  inputBytes: number;
  outputBytes: number;
}

/** Rounds to whole 1e-12 dollars so sums of many tiny costs stay exact in JSON and SQL. */
function money(value: number): number {
  return Math.round(value * 1e12) / 1e12;
}

/**
 * totalCost = baseCost + coldStartCost + retryCost + dataTransferCost (seed 001), where
 * baseCost = ceil(cpuMs / 100) × pricePer100ms. Differences from the seed, on purpose:
 * - the duration is CPU time (seed 000), and a call that used any CPU bills at least one 100 ms unit;
 * - the cold-start charge applies when the attempt really cold-started an isolate, not on every
 *   first attempt as the seed's `retryCount === 0` test would have it.
 */
export function computeCost(input: CostInput): CostBreakdown {
  const tier = TIERS[input.tier];
  const cpuMs = input.cpuUs / 1000;
  const wallMs = input.wallUs / 1000;
  const units = (ms: number) => Math.max(1, Math.ceil(ms / 100));
  const baseCost = units(cpuMs) * tier.pricePer100ms;
  const coldStartCost = input.coldStart ? COST_FACTORS.coldStart : 0;
  const retryCost = input.retryCount * COST_FACTORS.retry;
  const dataTransferCost = ((input.inputBytes + input.outputBytes) / 1024) * COST_FACTORS.dataTransfer;
  const extras = coldStartCost + retryCost + dataTransferCost;
  return {
    tier: input.tier,
    billedDurationMs: units(cpuMs) * 100,
    baseCost: money(baseCost),
    coldStartCost: money(coldStartCost),
    retryCost: money(retryCost),
    dataTransferCost: money(dataTransferCost),
    totalCost: money(baseCost + extras),
    wallClockCost: money(units(wallMs) * tier.pricePer100ms + extras),
    resourceUsage: { memoryMB: tier.memoryMB, cpuCores: tier.cpuCores },
  };
}

/** Backoff before retry number `retry` (1-based): base × 2^(retry-1); seed 001: 2 s, 4 s, 8 s. */
export function retryDelayMs(retry: number, baseMs = 2000): number {
  return baseMs * 2 ** (retry - 1);
}
