import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeCost, determineTier, retryDelayMs } from '../../src/executions/cost.js';

describe('seed 001 cost model', () => {
  it('determineTier follows the seed code at every boundary', () => {
    assert.equal(determineTier(100, 30000), 'basic');
    assert.equal(determineTier(101, 30000), 'standard');
    assert.equal(determineTier(5000, 60000), 'standard');
    assert.equal(determineTier(5001, 30000), 'premium');
    assert.equal(determineTier(50, 60001), 'premium', 'a timeout over 60 s is premium even for tiny code');
    assert.equal(determineTier(10000, 120000), 'premium');
    assert.equal(determineTier(10001, 1000), 'enterprise');
    assert.equal(determineTier(10, 120001), 'enterprise');
  });

  it('bills CPU time in 100 ms units at the tier price, and keeps what wall-clock billing would cost', () => {
    const cost = computeCost({ tier: 'standard', cpuUs: 10_000, wallUs: 200_000, retryCount: 0, coldStart: false, inputBytes: 0, outputBytes: 0 });
    assert.equal(cost.billedDurationMs, 100);
    assert.equal(cost.baseCost, 0.0003);
    assert.equal(cost.totalCost, 0.0003);
    assert.equal(cost.wallClockCost, 0.0006, '200 ms of wall time is two units');
    const heavy = computeCost({ tier: 'premium', cpuUs: 250_001, wallUs: 250_001, retryCount: 0, coldStart: false, inputBytes: 0, outputBytes: 0 });
    assert.equal(heavy.baseCost, 0.0024, 'ceil(250.001 / 100) = 3 units × $0.0008');
  });

  it('adds cold start, retries and data transfer as the seed formula says', () => {
    const cost = computeCost({ tier: 'basic', cpuUs: 1, wallUs: 1, retryCount: 3, coldStart: true, inputBytes: 1024, outputBytes: 1024 });
    assert.equal(cost.coldStartCost, 0.00005);
    assert.equal(cost.retryCost, 0.00006);
    assert.equal(cost.dataTransferCost, 0.000002);
    assert.equal(cost.totalCost, 0.0001 + 0.00005 + 0.00006 + 0.000002);
    assert.deepEqual(cost.resourceUsage, { memoryMB: 128, cpuCores: 0.1 });
  });

  it('backs off 2 s, 4 s, 8 s at the default base', () => {
    assert.deepEqual([1, 2, 3].map((n) => retryDelayMs(n)), [2000, 4000, 8000]);
    assert.deepEqual([1, 2, 3].map((n) => retryDelayMs(n, 10)), [10, 20, 40]);
  });
});
