/**
 * The cost comparison's arithmetic: seed 000 §8 reproduced within 1% from its inputs, seed 004
 * recomputed exactly from its prices with its errors measured, and the projection's sanity
 * (monotone in CPU per call, zero traffic costs only the baseline, the cheapest flagged).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PROJECTION_DEFAULTS, SEED_000_WORKLOAD, checked, mergeProjectionPrices, project, seed000, seed004, type Workload } from '../../src/costs/comparison.js';

/** |actual / expected − 1| ≤ tolerance. */
function near(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual / expected - 1) <= tolerance, `${what}: got ${actual}, expected ${expected} within ${tolerance * 100}%`);
}
const exact = (actual: number, expected: number, what: string) => near(actual, expected, 1e-12, what);

describe('seed 000 §8 reproduced from its inputs', () => {
  const r = seed000();

  it('prices a 1 GB, 200 ms Lambda call at ≈ $0.00000287 from GB-seconds', () => {
    exact(r.lambdaPerRequest.computeUsd, 1 * 0.2 * 0.0000133334, 'compute');
    exact(r.lambdaPerRequest.totalUsd.value, 0.00000286668, 'per request');
    near(r.lambdaPerRequest.totalUsd.value, 0.00000287, 0.01, 'vs the seed');
    assert.equal(r.lambdaPerRequest.totalUsd.agrees, true);
  });

  it('prices the baseline (2 × (2 vCPU + 4 GB) ARM) at $0.158 an hour', () => {
    exact(r.baselineHourlyUsd.value, 0.158, 'baseline hourly');
  });

  it('breaks even at ≈ 15.3 requests per second', () => {
    near(r.breakEvenRequestsPerSecond.value, 15.3, 0.01, 'break-even');
    exact(r.breakEvenRequestsPerSecond.value, 0.158 / (0.00000286668 * 3600), 'break-even formula');
  });

  it('at 100 req/s: ≈ $742 on Lambda vs ≈ $114 for the baseline a month, ≈ 85% saved, 25% utilisation', () => {
    near(r.lambdaMonthlyUsd.value, 742.46, 0.01, 'Lambda monthly');
    near(r.baselineMonthlyUsd.value, 113.76, 0.01, 'baseline monthly');
    near(r.savingsMonthlyUsd.value, 628.7, 0.01, 'savings');
    near(r.savingsPct.value, 84.7, 0.01, 'savings %');
    exact(r.baselineUtilisationPct.value, 25, 'utilisation');
    for (const f of [r.lambdaMonthlyUsd, r.baselineMonthlyUsd, r.savingsMonthlyUsd, r.savingsPct, r.breakEvenRequestsPerSecond]) assert.equal(f.agrees, true);
  });

  it('uses a 30-day month: $113.76 is exactly 0.158 × 720; 730 h would miss both figures by more', () => {
    assert.equal(r.inputs.hoursPerMonth, 720);
    exact(r.baselineMonthlyUsd.value, 0.158 * 720, '720 h');
    exact(r.lambdaMonthlyUsd.value, 743.043456, 'Lambda at 720 h');
    const at730 = seed000({ hoursPerMonth: 730 });
    assert.ok(Math.abs(at730.lambdaMonthlyUsd.value - 742.46) > Math.abs(r.lambdaMonthlyUsd.value - 742.46));
    near(at730.baselineMonthlyUsd.value, 115.34, 1e-9, 'baseline at 730 h');
  });

  it('drops the stated figures once an input is overridden', () => {
    const o = seed000({ requestsPerSecond: 50 });
    assert.equal(o.lambdaMonthlyUsd.stated, null);
    exact(o.lambdaMonthlyUsd.value, r.lambdaMonthlyUsd.value / 2, 'half the traffic');
  });
});

describe('seed 004 recomputed from its prices', () => {
  const r = seed004();
  const days = 730 / 24;

  it('Lambda: $0.0000000083 is per ms at 512 MB, so a 200 ms call costs $0.00000186, not $0.000001036 (×1.80)', () => {
    exact(r.lambda.computeAsWrittenUsd.value, 512 * 0.2 * 0.0000000083, 'the formula as written');
    exact(r.lambda.computeAsWrittenUsd.value, 0.00000084992, 'as written');
    assert.equal(r.lambda.computeAsWrittenUsd.agrees, false, 'the seed also mis-multiplied its own formula (8.4992e-7, not 8.36e-7)');
    exact(r.lambda.computeUsd.value, 0.00000166, 'compute');
    exact(r.lambda.perRequestUsd.value, 0.00000186, 'per request');
    exact(r.lambda.perRequestUsd.errorFactor!, 0.00000186 / 0.000001036, 'error factor');
    near(r.lambda.perRequestUsd.errorFactor!, 1.795, 0.001, 'error factor ≈ 1.8');
    near(r.lambda.impliedPricePerGbSecondUsd, 0.0000166, 1e-12, 'implied GB-s price (Lambda x86 is $0.0000166667)');
  });

  it('the monthly table, at the corrected price and at the seed’s own', () => {
    const byVolume = new Map(r.lambda.monthly.map((m) => [m.requests, m]));
    for (const [n, stated] of [[1_000, 0.001], [10_000, 0.01], [100_000, 0.1], [1_000_000, 1.03], [10_000_000, 10.36]] as const) {
      const row = byVolume.get(n)!;
      exact(row.usd.value, n * 0.00000186, `${n} corrected`);
      assert.equal(row.usd.stated, stated);
      assert.equal(row.usd.agrees, false);
      exact(row.atStatedPriceUsd, n * 0.000001036, `${n} at the seed's price`);
    }
    exact(byVolume.get(10_000_000)!.usd.value, 18.6, '10M a month');
  });

  it('Fargate: $0.014195 a task-hour, $10.36 a month for 1 task and $20.72 for 2 (the seed rounds to $0.0142, $10.37, $20.74)', () => {
    exact(r.fargate.vcpuHourUsd.value, 0.01164, 'vCPU');
    exact(r.fargate.memoryHourUsd.value, 0.002555, 'memory');
    exact(r.fargate.taskHourUsd.value, 0.014195, 'task-hour');
    exact(r.fargate.oneTaskMonthlyUsd.value, 10.36235, '1 task');
    exact(r.fargate.baselineMonthlyUsd.value, 20.7247, '2 tasks');
    for (const f of [r.fargate.vcpuHourUsd, r.fargate.memoryHourUsd, r.fargate.taskHourUsd, r.fargate.oneTaskMonthlyUsd, r.fargate.baselineMonthlyUsd]) assert.equal(f.agrees, true);
  });

  it('the scaling scenario: 3 extra tasks × 4 h × 30.42 days = 365 task-hours = $5.18, not $17.04 (3.3× too high)', () => {
    exact(r.fargate.peakExtraTaskHours, 3 * 4 * days, 'task-hours');
    exact(r.fargate.peakExtraTaskHours, 365, 'task-hours');
    exact(r.fargate.peakExtraMonthlyUsd.value, 365 * 0.014195, 'peak extra');
    near(1 / r.fargate.peakExtraMonthlyUsd.errorFactor!, 3.29, 0.01, 'seed overstates by');
    exact(r.fargate.scalingTotalMonthlyUsd.value, 20.7247 + 5.181175, 'total');
    assert.equal(r.fargate.scalingTotalMonthlyUsd.agrees, false);
  });

  it('break-even: ≈ 10 M requests a month for 1 task at the seed’s own price (33× its 300K), 5.57 M at the corrected one (18.6×)', () => {
    const [one, two] = r.breakEven;
    exact(one!.atStatedPricePerMonth.value, 10.36235 / 0.000001036, '1 task, seed price');
    near(one!.atStatedPricePerMonth.value, 10_000_000, 0.001, '≈ 10 M');
    near(one!.atStatedPricePerMonth.errorFactor!, 33.3, 0.01, '×33');
    exact(one!.atStatedPricePerDay.value, 10.36235 / 0.000001036 / days, '1 task per day');
    exact(one!.perMonth.value, 10.36235 / 0.00000186, '1 task, corrected');
    near(one!.perMonth.value, 5_571_156, 1e-6, '5.57 M');
    near(one!.perDay.value, 183_161, 1e-5, '183 K a day');
    near(one!.perMonth.errorFactor!, 18.57, 0.001, '×18.6');
    exact(two!.perMonth.value, 2 * one!.perMonth.value, '2 tasks');
    exact(two!.atStatedPricePerMonth.value, 20.7247 / 0.000001036, '2 tasks, seed price');
    near(two!.atStatedPricePerMonth.errorFactor!, 33.3, 0.01, '2 tasks ×33');
  });

  it('the rule of thumb is wrong at 10K and 100K requests a day: Lambda is still cheaper than one task', () => {
    const at = new Map(r.ruleOfThumb.map((x) => [x.requestsPerDay, x]));
    assert.equal(at.get(5_000)!.cheaper, 'lambda');
    assert.equal(at.get(10_000)!.cheaper, 'lambda');
    assert.equal(at.get(10_000)!.seedSays, 'fargate');
    assert.equal(at.get(100_000)!.cheaper, 'lambda');
    exact(at.get(100_000)!.lambdaMonthlyUsd, 100_000 * days * 0.00000186, '100K/day on Lambda');
  });
});

describe('checked figures', () => {
  it('agree within 1%, and carry value / stated', () => {
    assert.deepEqual(checked(1.005, 1), { value: 1.005, stated: 1, errorFactor: 1.005, agrees: true });
    assert.equal(checked(2, 1).agrees, false);
    assert.deepEqual(checked(3, null), { value: 3, stated: null, errorFactor: null, agrees: null });
  });
});

describe('projection onto serverless, a fixed baseline and Spillway', () => {
  it('the seed 000 workload with the defaults lands on §8’s own figures, baseline and Spillway tied cheapest', () => {
    const p = project(SEED_000_WORKLOAD);
    exact(p.serverless.monthlyUsd, seed000().lambdaMonthlyUsd.value, 'serverless = §8 Lambda');
    exact(p.spillway.monthlyUsd, 113.76, 'Spillway = §8 baseline');
    assert.equal(p.fixedBaseline.tasks, 2);
    assert.equal(p.spillway.burstCallsPerSecond, 0);
    assert.deepEqual(p.cheapest, ['fixed-baseline', 'spillway']);
    assert.equal(p.serverless.cheapest, false);
  });

  it('gives the rate above which Spillway beats the serverless tier (seed 000: ≈ 15.3 calls/s), or null if it spills first', () => {
    const p = project(SEED_000_WORKLOAD);
    exact(p.spillway.breakEvenCallsPerSecond!, seed000().breakEvenRequestsPerSecond.value, 'same as §8.1');
    const at = (rps: number) => project({ ...SEED_000_WORKLOAD, callsPerSecond: rps });
    assert.equal(at(15).cheapest.includes('serverless'), true);
    assert.equal(at(16).cheapest.includes('spillway'), true);
    // 1 s of CPU per call at 128 MB: the baseline spills above 3.4 calls/s, while the serverless
    // tier costs as much as the baseline only at 23.5 calls/s; past the spill point both grow alike.
    const heavy: Workload = { callsPerSecond: 1, cpuMsPerCall: 1000, wallMsPerCall: 1000, memoryMb: 128 };
    assert.equal(project(heavy).spillway.breakEvenCallsPerSecond, null);
    for (const rps of [1, 2, 3.4, 10, 100, 1000]) {
      const q = project({ ...heavy, callsPerSecond: rps });
      assert.ok(q.spillway.monthlyUsd > q.serverless.monthlyUsd, `${rps}/s`);
    }
  });

  it('zero traffic costs only the baseline (and nothing on the serverless tier)', () => {
    const p = project({ callsPerSecond: 0, cpuMsPerCall: 50, wallMsPerCall: 500, memoryMb: 512 });
    assert.equal(p.serverless.monthlyUsd, 0);
    exact(p.spillway.monthlyUsd, 2 * 0.079 * 720, 'Spillway');
    assert.equal(p.spillway.burstMonthlyUsd, 0);
    exact(p.fixedBaseline.monthlyUsd, 2 * 0.079 * 720, 'fixed');
    assert.deepEqual(p.cheapest, ['serverless']);
  });

  it('more CPU per call never makes any option cheaper', () => {
    for (const callsPerSecond of [0.01, 5, 100, 400, 2000]) {
      let last: ReturnType<typeof project> | undefined;
      for (let cpu = 0; cpu <= 400; cpu += 2.5) {
        const p = project({ callsPerSecond, cpuMsPerCall: cpu, wallMsPerCall: 200, memoryMb: 1024 });
        if (last) {
          assert.ok(p.spillway.monthlyUsd >= last.spillway.monthlyUsd - 1e-9, `Spillway at ${callsPerSecond}/s, ${cpu} ms`);
          assert.ok(p.fixedBaseline.monthlyUsd >= last.fixedBaseline.monthlyUsd - 1e-9, `fixed at ${callsPerSecond}/s, ${cpu} ms`);
          assert.ok(p.serverless.monthlyUsd >= last.serverless.monthlyUsd - 1e-9, `serverless at ${callsPerSecond}/s, ${cpu} ms`);
        }
        last = p;
      }
    }
  });

  it('more traffic never makes any option cheaper', () => {
    let last: ReturnType<typeof project> | undefined;
    for (let rps = 0; rps <= 5000; rps += 25) {
      const p = project({ callsPerSecond: rps, cpuMsPerCall: 10, wallMsPerCall: 200, memoryMb: 1024 });
      if (last) for (const k of ['serverless', 'fixedBaseline', 'spillway'] as const) assert.ok(p[k].monthlyUsd >= last[k].monthlyUsd - 1e-9, `${k} at ${rps}/s`);
      last = p;
    }
  });

  it('Spillway spills only the load above 85% of the baseline, billed like the serverless tier', () => {
    // 4 baseline vCPUs × 0.85 = 3.4 vCPUs; 500 calls/s × 10 ms = 5 vCPUs → 340 calls/s stay, 160 burst.
    const w: Workload = { callsPerSecond: 500, cpuMsPerCall: 10, wallMsPerCall: 200, memoryMb: 1024 };
    const p = project(w);
    near(p.spillway.burstCallsPerSecond, 160, 1e-9, 'burst calls');
    near(p.spillway.burstShare, 0.32, 1e-9, 'burst share');
    near(p.spillway.baselineUtilisationPct, 85, 1e-9, 'baseline utilisation');
    exact(p.spillway.burstMonthlyUsd, 160 * 720 * 3600 * p.serverless.perCallUsd, 'burst billed per call like serverless');
    // A fixed fleet at 75%: ceil(5 / 1.5) = 4 tasks.
    assert.equal(p.fixedBaseline.tasks, 4);
    exact(p.fixedBaseline.monthlyUsd, 4 * 0.079 * 720, 'fixed');
    assert.deepEqual(p.cheapest, ['fixed-baseline']);
  });

  it('bills max(wall, CPU) on the serverless tier and takes every price as an input', () => {
    const p = project({ callsPerSecond: 1, cpuMsPerCall: 30, wallMsPerCall: 20, memoryMb: 2048 }, mergeProjectionPrices({ serverless: { pricePerGbSecondUsd: 1, pricePerRequestUsd: 0 }, hoursPerMonth: 1 }));
    assert.equal(p.serverless.billedMsPerCall, 30);
    exact(p.serverless.perCallUsd, 2 * 0.03, 'per call');
    exact(p.serverless.monthlyUsd, 3600 * 0.06, 'one hour');
    assert.equal(p.prices.baseline.minTasks, PROJECTION_DEFAULTS.baseline.minTasks);
  });
});
