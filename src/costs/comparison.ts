/**
 * The cost comparison (issue 6): what a workload costs on a wall-clock-billed serverless tier
 * (Lambda-style), on a fixed baseline fleet (Fargate-style), and on Spillway's hybrid (a fixed
 * baseline plus a wall-billed burst tier for what spills over). Three parts:
 *   (a) seed 000 §8 reproduced from its own inputs (break-even 15.3 req/s, $742.46 vs $113.76);
 *   (b) seed 004's "Cost Model Comparison" recomputed from its prices, next to its stated figures,
 *       with the error factor where they differ (its Lambda price is per ms, not per MB-second);
 *   (c) a projection of any workload onto the three options, cheapest flagged.
 * Pure: every price and workload figure is an input; the seeds' values are the named defaults.
 * docs/costs.md ("The comparison") explains the formulas and each seed error.
 */

/** One figure: what the inputs give, what the seed printed, and how far apart they are. */
export interface CheckedFigure {
  value: number;
  /** The seed's printed figure, or null when it printed none. */
  stated: number | null;
  /** value / stated (null without a stated figure): 1.8 means the seed is 1.8× too low. */
  errorFactor: number | null;
  /** True when value is within `AGREEMENT_TOLERANCE` of the stated figure (rounding, not an error). */
  agrees: boolean | null;
}

/** Seed figures are printed to 2–3 significant digits; within 1% is rounding, beyond it an error. */
export const AGREEMENT_TOLERANCE = 0.01;

export function checked(value: number, stated: number | null): CheckedFigure {
  if (stated === null) return { value, stated, errorFactor: null, agrees: null };
  const errorFactor = stated === 0 ? (value === 0 ? 1 : Infinity) : value / stated;
  return { value, stated, errorFactor, agrees: Math.abs(errorFactor - 1) <= AGREEMENT_TOLERANCE };
}

const SECONDS_PER_HOUR = 3600;
const HOURS_PER_DAY = 24;

// ---------------------------------------------------------------------------------------------
// (a) Seed 000 §8
// ---------------------------------------------------------------------------------------------

export interface Seed000Inputs {
  /** Seed 000 l.183: "2 Tasks × (2 vCPU + 4GB RAM) on ARM64". */
  baselineTasks: number;
  vcpuPerTask: number;
  memoryGbPerTask: number;
  /**
   * Fargate Linux/ARM prices per vCPU-hour and GB-hour. The seed gives only the total (l.184,
   * "~$0.158 / hour"); AWS's us-east-1 ARM prices ($0.03238, $0.00356) give exactly
   * 2 × (2 × 0.03238 + 4 × 0.00356) = $0.158.
   */
  pricePerVcpuHourUsd: number;
  pricePerGbHourUsd: number;
  /** Seed 000 l.186: "1GB RAM, 200ms duration". */
  lambdaMemoryGb: number;
  lambdaDurationS: number;
  /**
   * Lambda ARM price per GB-second. The seed gives only the per-request total (l.187,
   * "~$0.00000287"); AWS's ARM price $0.0000133334 gives 1 × 0.2 × 0.0000133334 + 0.0000002 =
   * $0.00000286668 ≈ $0.00000287.
   */
  lambdaPricePerGbSecondUsd: number;
  /** $0.20 per million requests (AWS's price; part of the seed's $0.00000287). */
  lambdaPricePerRequestUsd: number;
  /** Seed 000 l.194: "100 requests/sec, 200ms total latency, but only 10ms actual CPU time". */
  requestsPerSecond: number;
  cpuMsPerRequest: number;
  /**
   * The seed's month: 30 days = 720 h. $113.76 = $0.158 × 720 exactly, and the Lambda figure
   * comes out at $743.04 (0.08% from the printed $742.46); 730 h would give $115.34 and $753.36.
   */
  hoursPerMonth: number;
}

export const SEED_000_DEFAULTS: Readonly<Seed000Inputs> = Object.freeze({
  baselineTasks: 2,
  vcpuPerTask: 2,
  memoryGbPerTask: 4,
  pricePerVcpuHourUsd: 0.03238,
  pricePerGbHourUsd: 0.00356,
  lambdaMemoryGb: 1,
  lambdaDurationS: 0.2,
  lambdaPricePerGbSecondUsd: 0.0000133334,
  lambdaPricePerRequestUsd: 0.0000002,
  requestsPerSecond: 100,
  cpuMsPerRequest: 10,
  hoursPerMonth: 720,
});

/** The figures seed 000 §8 prints (l.184, 187, 189, 199, 204, 205, 209, 210). */
export const SEED_000_STATED = Object.freeze({
  baselineHourlyUsd: 0.158,
  lambdaPerRequestUsd: 0.00000287,
  breakEvenRequestsPerSecond: 15.3,
  lambdaMonthlyUsd: 742.46,
  baselineMonthlyUsd: 113.76,
  baselineUtilisationPct: 25,
  savingsMonthlyUsd: 628.7,
  savingsPct: 84.7,
});

export interface Seed000Result {
  inputs: Seed000Inputs;
  lambdaPerRequest: { computeUsd: number; requestUsd: number; totalUsd: CheckedFigure };
  baselineHourlyUsd: CheckedFigure;
  /** baseline hourly / (per-request × 3600): the sustained rate above which the baseline is cheaper. */
  breakEvenRequestsPerSecond: CheckedFigure;
  /** At `requestsPerSecond` for one month of `hoursPerMonth`. */
  lambdaMonthlyUsd: CheckedFigure;
  baselineMonthlyUsd: CheckedFigure;
  /** requests/s × CPU s per request ÷ baseline vCPUs. */
  baselineUtilisationPct: CheckedFigure;
  savingsMonthlyUsd: CheckedFigure;
  savingsPct: CheckedFigure;
}

export function seed000(overrides: Partial<Seed000Inputs> = {}): Seed000Result {
  const i: Seed000Inputs = { ...SEED_000_DEFAULTS, ...overrides };
  const s = SEED_000_STATED;
  const defaults = sameAsDefaults(i, SEED_000_DEFAULTS);
  const st = (v: number) => (defaults ? v : null);
  const computeUsd = i.lambdaMemoryGb * i.lambdaDurationS * i.lambdaPricePerGbSecondUsd;
  const perRequest = computeUsd + i.lambdaPricePerRequestUsd;
  const baselineHourly = i.baselineTasks * (i.vcpuPerTask * i.pricePerVcpuHourUsd + i.memoryGbPerTask * i.pricePerGbHourUsd);
  const breakEven = perRequest > 0 ? baselineHourly / (perRequest * SECONDS_PER_HOUR) : Infinity;
  const lambdaMonthly = i.requestsPerSecond * SECONDS_PER_HOUR * i.hoursPerMonth * perRequest;
  const baselineMonthly = baselineHourly * i.hoursPerMonth;
  const vcpus = i.baselineTasks * i.vcpuPerTask;
  const utilisation = vcpus > 0 ? ((i.requestsPerSecond * i.cpuMsPerRequest) / 1000 / vcpus) * 100 : Infinity;
  const savings = lambdaMonthly - baselineMonthly;
  return {
    inputs: i,
    lambdaPerRequest: { computeUsd, requestUsd: i.lambdaPricePerRequestUsd, totalUsd: checked(perRequest, st(s.lambdaPerRequestUsd)) },
    baselineHourlyUsd: checked(baselineHourly, st(s.baselineHourlyUsd)),
    breakEvenRequestsPerSecond: checked(breakEven, st(s.breakEvenRequestsPerSecond)),
    lambdaMonthlyUsd: checked(lambdaMonthly, st(s.lambdaMonthlyUsd)),
    baselineMonthlyUsd: checked(baselineMonthly, st(s.baselineMonthlyUsd)),
    baselineUtilisationPct: checked(utilisation, st(s.baselineUtilisationPct)),
    savingsMonthlyUsd: checked(savings, st(s.savingsMonthlyUsd)),
    savingsPct: checked(lambdaMonthly > 0 ? (savings / lambdaMonthly) * 100 : 0, st(s.savingsPct)),
  };
}

/**
 * Stated figures only mean something for the seed's own prices; when a price is overridden they
 * are dropped (stated: null). Lists (seed 004's volumes) may change: each volume is looked up.
 */
function sameAsDefaults<T extends object>(inputs: T, defaults: T): boolean {
  return (Object.keys(defaults) as Array<keyof T>).every((k) => typeof defaults[k] !== 'number' || inputs[k] === defaults[k]);
}

// ---------------------------------------------------------------------------------------------
// (b) Seed 004 "Cost Model Comparison"
// ---------------------------------------------------------------------------------------------

export interface Seed004Inputs {
  /** Seed 004 l.177–178: "Memory: 512MB", "Duration: 200ms average". */
  lambdaMemoryMb: number;
  lambdaDurationMs: number;
  /**
   * Seed 004 l.181: "$0.0000000083". This is AWS's Lambda price per **millisecond** for a 512 MB
   * function (= $0.0000166667 per GB-s × 0.5 GB ÷ 1000), not a price per MB-second as the seed's
   * formula uses it. Read as per MB-second it would mean $0.0000085 per GB-second, half of
   * Lambda's GB-second price.
   */
  lambdaPricePerMsUsd: number;
  /** The memory size `lambdaPricePerMsUsd` is quoted for (512 MB). */
  lambdaPriceMemoryMb: number;
  /** Seed 004 l.182: "Request: $0.0000002". */
  lambdaPricePerRequestUsd: number;
  /** Seed 004 l.196: "512MB RAM, 0.25 vCPU". */
  fargateVcpuPerTask: number;
  fargateMemoryGbPerTask: number;
  /** Seed 004 l.199–200: "$0.04656" per vCPU-hour, "$0.00511" per GB-hour (London). */
  fargatePricePerVcpuHourUsd: number;
  fargatePricePerGbHourUsd: number;
  /** Seed 004 l.204: "730 hours". Days per month are 730 / 24 = 30.42 throughout. */
  hoursPerMonth: number;
  /** Seed 004 l.207–208: "2 tasks (baseline)", "Peak 5 tasks for 4 hours/day". */
  baselineTasks: number;
  peakTasks: number;
  peakHoursPerDay: number;
  /** Seed 004 l.186–190: the monthly volumes of its table. */
  monthlyVolumes: readonly number[];
}

export const SEED_004_DEFAULTS: Readonly<Seed004Inputs> = Object.freeze({
  lambdaMemoryMb: 512,
  lambdaDurationMs: 200,
  lambdaPricePerMsUsd: 0.0000000083,
  lambdaPriceMemoryMb: 512,
  lambdaPricePerRequestUsd: 0.0000002,
  fargateVcpuPerTask: 0.25,
  fargateMemoryGbPerTask: 0.5,
  fargatePricePerVcpuHourUsd: 0.04656,
  fargatePricePerGbHourUsd: 0.00511,
  hoursPerMonth: 730,
  baselineTasks: 2,
  peakTasks: 5,
  peakHoursPerDay: 4,
  monthlyVolumes: Object.freeze([1_000, 10_000, 100_000, 1_000_000, 10_000_000]),
});

/** What seed 004 prints (l.181–221). */
export const SEED_004_STATED = Object.freeze({
  lambdaComputeUsd: 0.000000836,
  lambdaPerRequestUsd: 0.000001036,
  monthly: Object.freeze({ 1_000: 0.001, 10_000: 0.01, 100_000: 0.1, 1_000_000: 1.03, 10_000_000: 10.36 }) as Readonly<Record<number, number>>,
  fargateVcpuHourUsd: 0.01164,
  fargateMemoryHourUsd: 0.00256,
  fargateTaskHourUsd: 0.0142,
  fargateOneTaskMonthlyUsd: 10.37,
  fargateTwoTasksMonthlyUsd: 20.74,
  fargatePeakExtraMonthlyUsd: 17.04,
  fargateScalingTotalMonthlyUsd: 37.78,
  breakEvenOneTaskPerDay: 10_000,
  breakEvenOneTaskPerMonth: 300_000,
  breakEvenTwoTasksPerDay: 20_000,
  breakEvenTwoTasksPerMonth: 600_000,
});

export interface Seed004BreakEven {
  tasks: number;
  fargateMonthlyUsd: number;
  /** Requests a month at which Lambda costs as much as the tasks, at the corrected per-request price. */
  perMonth: CheckedFigure;
  perDay: CheckedFigure;
  /** The same with the seed's own (wrong) $0.000001036 per request: the seed's arithmetic alone. */
  atStatedPricePerMonth: CheckedFigure;
  atStatedPricePerDay: CheckedFigure;
}

export interface Seed004Result {
  inputs: Seed004Inputs & { monthlyVolumes: number[] };
  lambda: {
    /** The seed's formula as written (MB × s × price): 512 × 0.2 × 0.0000000083. */
    computeAsWrittenUsd: CheckedFigure;
    /** Duration in ms × the per-ms price for this memory size. */
    computeUsd: CheckedFigure;
    requestUsd: number;
    perRequestUsd: CheckedFigure;
    /** The implied price per GB-second (per-ms price × 1000 ÷ GB). */
    impliedPricePerGbSecondUsd: number;
    monthly: Array<{ requests: number; usd: CheckedFigure; atStatedPriceUsd: number }>;
  };
  fargate: {
    vcpuHourUsd: CheckedFigure;
    memoryHourUsd: CheckedFigure;
    taskHourUsd: CheckedFigure;
    oneTaskMonthlyUsd: CheckedFigure;
    baselineMonthlyUsd: CheckedFigure;
    /** (peakTasks − baselineTasks) extra tasks × peakHoursPerDay × days per month. */
    peakExtraTaskHours: number;
    peakExtraMonthlyUsd: CheckedFigure;
    scalingTotalMonthlyUsd: CheckedFigure;
  };
  breakEven: Seed004BreakEven[];
  /** The seed's rule of thumb (l.224–226) tested at its own volumes. */
  ruleOfThumb: Array<{ requestsPerDay: number; lambdaMonthlyUsd: number; fargateOneTaskMonthlyUsd: number; cheaper: 'lambda' | 'fargate'; seedSays: 'lambda' | 'fargate' }>;
}

export function seed004(overrides: Partial<Seed004Inputs> = {}): Seed004Result {
  const i: Seed004Inputs = { ...SEED_004_DEFAULTS, ...overrides };
  const s = SEED_004_STATED;
  const defaults = sameAsDefaults(i, SEED_004_DEFAULTS);
  const st = (v: number) => (defaults ? v : null);
  const daysPerMonth = i.hoursPerMonth / HOURS_PER_DAY;

  const computeAsWritten = i.lambdaMemoryMb * (i.lambdaDurationMs / 1000) * i.lambdaPricePerMsUsd;
  const compute = i.lambdaDurationMs * i.lambdaPricePerMsUsd * (i.lambdaMemoryMb / i.lambdaPriceMemoryMb);
  const perRequest = compute + i.lambdaPricePerRequestUsd;
  const monthly = i.monthlyVolumes.map((requests) => ({
    requests,
    usd: checked(requests * perRequest, defaults && s.monthly[requests] !== undefined ? s.monthly[requests]! : null),
    atStatedPriceUsd: requests * s.lambdaPerRequestUsd,
  }));

  const vcpuHour = i.fargateVcpuPerTask * i.fargatePricePerVcpuHourUsd;
  const memoryHour = i.fargateMemoryGbPerTask * i.fargatePricePerGbHourUsd;
  const taskHour = vcpuHour + memoryHour;
  const oneTask = taskHour * i.hoursPerMonth;
  const peakExtraTaskHours = Math.max(0, i.peakTasks - i.baselineTasks) * i.peakHoursPerDay * daysPerMonth;
  const peakExtra = peakExtraTaskHours * taskHour;

  const breakEven = [1, 2].map((tasks): Seed004BreakEven => {
    const fargateMonthly = tasks * oneTask;
    const perMonth = perRequest > 0 ? fargateMonthly / perRequest : Infinity;
    const atStated = fargateMonthly / s.lambdaPerRequestUsd;
    const statedMonth = tasks === 1 ? s.breakEvenOneTaskPerMonth : s.breakEvenTwoTasksPerMonth;
    const statedDay = tasks === 1 ? s.breakEvenOneTaskPerDay : s.breakEvenTwoTasksPerDay;
    return {
      tasks,
      fargateMonthlyUsd: fargateMonthly,
      perMonth: checked(perMonth, st(statedMonth)),
      perDay: checked(perMonth / daysPerMonth, st(statedDay)),
      atStatedPricePerMonth: checked(atStated, st(statedMonth)),
      atStatedPricePerDay: checked(atStated / daysPerMonth, st(statedDay)),
    };
  });

  const ruleOfThumb = [
    { requestsPerDay: 5_000, seedSays: 'lambda' as const },
    { requestsPerDay: 10_000, seedSays: 'fargate' as const },
    { requestsPerDay: 100_000, seedSays: 'fargate' as const },
  ].map(({ requestsPerDay, seedSays }) => {
    const lambdaMonthly = requestsPerDay * daysPerMonth * perRequest;
    return { requestsPerDay, lambdaMonthlyUsd: lambdaMonthly, fargateOneTaskMonthlyUsd: oneTask, cheaper: lambdaMonthly < oneTask ? ('lambda' as const) : ('fargate' as const), seedSays };
  });

  return {
    inputs: { ...i, monthlyVolumes: [...i.monthlyVolumes] },
    lambda: {
      computeAsWrittenUsd: checked(computeAsWritten, st(s.lambdaComputeUsd)),
      computeUsd: checked(compute, st(s.lambdaComputeUsd)),
      requestUsd: i.lambdaPricePerRequestUsd,
      perRequestUsd: checked(perRequest, st(s.lambdaPerRequestUsd)),
      impliedPricePerGbSecondUsd: (i.lambdaPricePerMsUsd * 1000) / (i.lambdaPriceMemoryMb / 1024),
      monthly,
    },
    fargate: {
      vcpuHourUsd: checked(vcpuHour, st(s.fargateVcpuHourUsd)),
      memoryHourUsd: checked(memoryHour, st(s.fargateMemoryHourUsd)),
      taskHourUsd: checked(taskHour, st(s.fargateTaskHourUsd)),
      oneTaskMonthlyUsd: checked(oneTask, st(s.fargateOneTaskMonthlyUsd)),
      baselineMonthlyUsd: checked(i.baselineTasks * oneTask, st(s.fargateTwoTasksMonthlyUsd)),
      peakExtraTaskHours,
      peakExtraMonthlyUsd: checked(peakExtra, st(s.fargatePeakExtraMonthlyUsd)),
      scalingTotalMonthlyUsd: checked(i.baselineTasks * oneTask + peakExtra, st(s.fargateScalingTotalMonthlyUsd)),
    },
    breakEven,
    ruleOfThumb,
  };
}

// ---------------------------------------------------------------------------------------------
// (c) Projection of a workload onto three options
// ---------------------------------------------------------------------------------------------

export interface Workload {
  callsPerSecond: number;
  cpuMsPerCall: number;
  wallMsPerCall: number;
  /** Memory a serverless tier would be configured with, MB (Lambda bills GB-s of this). */
  memoryMb: number;
}

/** Seed 000 §8.2's workload (l.194) with its 1 GB Lambda (l.186). */
export const SEED_000_WORKLOAD: Readonly<Workload> = Object.freeze({ callsPerSecond: 100, cpuMsPerCall: 10, wallMsPerCall: 200, memoryMb: 1024 });

export interface ProjectionPrices {
  serverless: {
    /** Seed 000's Lambda (ARM): $0.0000133334 per GB-second of wall time. */
    pricePerGbSecondUsd: number;
    pricePerRequestUsd: number;
  };
  baseline: {
    /** Seed 000's task: 2 vCPU + 4 GB ARM at $0.03238 / vCPU-h and $0.00356 / GB-h ($0.079 / h). */
    vcpuPerTask: number;
    memoryGbPerTask: number;
    pricePerVcpuHourUsd: number;
    pricePerGbHourUsd: number;
    /** Seed 000: 2 tasks always on (l.183). */
    minTasks: number;
    /** A fixed fleet is sized so steady load stays at its scale-up threshold: seed 000 §5.1, CPU > 75% (l.106). */
    targetUtilisation: number;
  };
  spillway: {
    /** Load above this share of the baseline's vCPUs spills to the burst tier: seed 000 §5.1, CPU > 85% (l.107). */
    spillAboveUtilisation: number;
  };
  /** Seed 000's month (30 days), so the seed's workload projects onto §8's own figures. */
  hoursPerMonth: number;
}

export const PROJECTION_DEFAULTS: Readonly<ProjectionPrices> = Object.freeze({
  serverless: Object.freeze({ pricePerGbSecondUsd: SEED_000_DEFAULTS.lambdaPricePerGbSecondUsd, pricePerRequestUsd: SEED_000_DEFAULTS.lambdaPricePerRequestUsd }),
  baseline: Object.freeze({
    vcpuPerTask: SEED_000_DEFAULTS.vcpuPerTask,
    memoryGbPerTask: SEED_000_DEFAULTS.memoryGbPerTask,
    pricePerVcpuHourUsd: SEED_000_DEFAULTS.pricePerVcpuHourUsd,
    pricePerGbHourUsd: SEED_000_DEFAULTS.pricePerGbHourUsd,
    minTasks: SEED_000_DEFAULTS.baselineTasks,
    targetUtilisation: 0.75,
  }),
  spillway: Object.freeze({ spillAboveUtilisation: 0.85 }),
  hoursPerMonth: SEED_000_DEFAULTS.hoursPerMonth,
});

export type ProjectionPriceOverrides = {
  [K in keyof ProjectionPrices]?: ProjectionPrices[K] extends object ? Partial<ProjectionPrices[K]> : ProjectionPrices[K];
};

export function mergeProjectionPrices(overrides: ProjectionPriceOverrides = {}): ProjectionPrices {
  const d = PROJECTION_DEFAULTS;
  return {
    serverless: { ...d.serverless, ...overrides.serverless },
    baseline: { ...d.baseline, ...overrides.baseline },
    spillway: { ...d.spillway, ...overrides.spillway },
    hoursPerMonth: overrides.hoursPerMonth ?? d.hoursPerMonth,
  };
}

export type OptionName = 'serverless' | 'fixed-baseline' | 'spillway';

export interface ProjectedOption {
  name: OptionName;
  monthlyUsd: number;
  cheapest: boolean;
}

export interface Projection {
  workload: Workload;
  prices: ProjectionPrices;
  /** vCPUs of CPU work the workload needs on average: calls/s × CPU s per call. */
  cpuLoadVcpus: number;
  /** Calls in flight on average (Little's law: calls/s × wall s). */
  concurrentCalls: number;
  serverless: ProjectedOption & { perCallUsd: number; billedMsPerCall: number };
  fixedBaseline: ProjectedOption & { tasks: number; utilisationPct: number; taskHourUsd: number };
  spillway: ProjectedOption & {
    baselineTasks: number;
    /** Of the baseline's vCPUs, what the part of the load it serves uses. */
    baselineUtilisationPct: number;
    burstCallsPerSecond: number;
    burstShare: number;
    baselineMonthlyUsd: number;
    burstMonthlyUsd: number;
    /**
     * Calls per second (at this workload's CPU, wall and memory per call) above which Spillway is
     * cheaper than the serverless tier: baseline monthly ÷ (seconds per month × serverless cost per
     * call). Null when that rate would already spill: above the spill point both grow by the same
     * serverless price per call, so if Spillway is not cheaper by then it never is.
     */
    breakEvenCallsPerSecond: number | null;
  };
  cheapest: OptionName[];
}

/**
 * Projects a steady workload onto the three options, for one month of `hoursPerMonth`:
 * - serverless: every call billed memory GB × max(wall, CPU) s × price per GB-s + per-request price;
 * - fixed baseline: tasks = max(minTasks, ceil(cpu load / (vCPU per task × target utilisation))),
 *   each at vCPU × price + GB × price per hour;
 * - Spillway: the minimum baseline serves calls until its CPU reaches `spillAboveUtilisation`; the
 *   calls above that go to a burst tier billed exactly like the serverless tier.
 */
export function project(workload: Workload, prices: ProjectionPrices = mergeProjectionPrices()): Projection {
  const w = workload;
  const p = prices;
  const secondsPerMonth = p.hoursPerMonth * SECONDS_PER_HOUR;
  const cpuS = w.cpuMsPerCall / 1000;
  const cpuLoad = w.callsPerSecond * cpuS;

  const billedMs = Math.max(w.wallMsPerCall, w.cpuMsPerCall);
  const perCall = (w.memoryMb / 1024) * (billedMs / 1000) * p.serverless.pricePerGbSecondUsd + p.serverless.pricePerRequestUsd;
  const serverlessMonthly = w.callsPerSecond * secondsPerMonth * perCall;

  const b = p.baseline;
  const taskHour = b.vcpuPerTask * b.pricePerVcpuHourUsd + b.memoryGbPerTask * b.pricePerGbHourUsd;
  const tasks = Math.max(b.minTasks, Math.ceil(cpuLoad / (b.vcpuPerTask * b.targetUtilisation) - 1e-9));
  const fixedMonthly = tasks * taskHour * p.hoursPerMonth;

  const baselineVcpus = b.minTasks * b.vcpuPerTask;
  const baselineLimit = baselineVcpus * p.spillway.spillAboveUtilisation;
  const servedLoad = Math.min(cpuLoad, baselineLimit);
  const burstCalls = cpuLoad > baselineLimit ? w.callsPerSecond - baselineLimit / cpuS : 0;
  const spillwayBaseline = b.minTasks * taskHour * p.hoursPerMonth;
  const spillwayBurst = burstCalls * secondsPerMonth * perCall;
  const spillPointCalls = cpuS > 0 ? baselineLimit / cpuS : Infinity;
  const breakEvenCalls = perCall > 0 ? spillwayBaseline / (secondsPerMonth * perCall) : Infinity;

  const totals: Array<[OptionName, number]> = [
    ['serverless', serverlessMonthly],
    ['fixed-baseline', fixedMonthly],
    ['spillway', spillwayBaseline + spillwayBurst],
  ];
  const min = Math.min(...totals.map(([, v]) => v));
  const isCheapest = (v: number) => v <= min * (1 + 1e-12) + 1e-12;
  const cheapest = totals.filter(([, v]) => isCheapest(v)).map(([n]) => n);

  return {
    workload: { ...w },
    prices: p,
    cpuLoadVcpus: cpuLoad,
    concurrentCalls: w.callsPerSecond * (w.wallMsPerCall / 1000),
    serverless: { name: 'serverless', monthlyUsd: serverlessMonthly, cheapest: isCheapest(serverlessMonthly), perCallUsd: perCall, billedMsPerCall: billedMs },
    fixedBaseline: {
      name: 'fixed-baseline',
      monthlyUsd: fixedMonthly,
      cheapest: isCheapest(fixedMonthly),
      tasks,
      utilisationPct: tasks > 0 ? (cpuLoad / (tasks * b.vcpuPerTask)) * 100 : 0,
      taskHourUsd: taskHour,
    },
    spillway: {
      name: 'spillway',
      monthlyUsd: spillwayBaseline + spillwayBurst,
      cheapest: isCheapest(spillwayBaseline + spillwayBurst),
      baselineTasks: b.minTasks,
      baselineUtilisationPct: baselineVcpus > 0 ? (servedLoad / baselineVcpus) * 100 : 0,
      burstCallsPerSecond: burstCalls,
      burstShare: w.callsPerSecond > 0 ? burstCalls / w.callsPerSecond : 0,
      baselineMonthlyUsd: spillwayBaseline,
      burstMonthlyUsd: spillwayBurst,
      breakEvenCallsPerSecond: breakEvenCalls <= spillPointCalls && Number.isFinite(breakEvenCalls) ? breakEvenCalls : null,
    },
    cheapest,
  };
}
