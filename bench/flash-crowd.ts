/**
 * A flash crowd against the running server, side by side in the same run: the warm baseline alone
 * (SPILLWAY_BURST_TIER=off) against the baseline with the local burst tier (spillover on at the
 * seed's 85% CPU, 70/30, plus overflow when the baseline is full). Each server is started fresh,
 * given the same handler and the same open-model load (a fixed arrival rate per phase, in its
 * own process, bench/lib/crowd.mjs: evenly spaced arrivals over undici, latency from each
 * request's scheduled time): a steady phase, a 20x rise within 10 s, a hold, and a return to steady.
 *
 *   node --no-node-snapshot --import tsx bench/flash-crowd.ts [--rate=30] [--factor=20] [--steady=10] [--ramp=10] [--hold=20] [--recover=10] [--cpu-iterations=300000] [--io-ms=20] [--rounds=1]
 *
 * Target (issue 5): with spillover, p99 during the crowd within 3x of the steady-state p99, and no
 * request failed for lack of capacity (no 503 NO_CAPACITY / BURST_UNAVAILABLE, no errors).
 *
 * The controller samples every second here (policy spillover.sampleIntervalMs = 1000) instead of
 * the default 10 s: a 40-second benchmark must see it act; docs/capacity.md says so.
 */
import { writeFile } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, deploy, fmtInt, markdownTable, numFlag, parseFlags, round, runCrowd, startSpillway, writeResults, type CrowdPhase, type CrowdPhaseResult } from './lib/common.js';

const args = parseFlags();
const RATE = numFlag(args, 'rate', 30);
const FACTOR = numFlag(args, 'factor', 20);
const STEADY_S = numFlag(args, 'steady', 10);
const RAMP_S = numFlag(args, 'ramp', 10);
const HOLD_S = numFlag(args, 'hold', 20);
const RECOVER_S = numFlag(args, 'recover', 10);
const CPU_ITERATIONS = numFlag(args, 'cpu-iterations', 300_000);
const IO_MS = numFlag(args, 'io-ms', 20);
const ROUNDS = numFlag(args, 'rounds', 1);

const HANDLER = `export default { async fetch() {
  let x = 0;
  for (let i = 0; i < ${CPU_ITERATIONS}; i++) x = (x * 31 + i) % 1000003;
  await new Promise((r) => setTimeout(r, ${IO_MS}));
  return new Response(String(x));
} }`;

const steps = 5;
const phases: CrowdPhase[] = [
  { name: 'steady', rate: RATE, durationS: STEADY_S },
  ...Array.from({ length: steps }, (_, i) => ({ name: `rise ${i + 1}/${steps}`, rate: Math.round(RATE + ((RATE * FACTOR - RATE) * (i + 1)) / steps), durationS: RAMP_S / steps })),
  { name: 'crowd', rate: RATE * FACTOR, durationS: HOLD_S },
  { name: 'recover', rate: RATE, durationS: RECOVER_S },
];

interface Variant {
  name: string;
  env: Record<string, string>;
}
const variants: Variant[] = [
  { name: 'baseline alone', env: { SPILLWAY_BURST_TIER: 'off' } },
  { name: 'baseline + burst tier', env: { SPILLWAY_BURST_TIER: 'local' } },
];

const policyDir = await mkdtemp(join(tmpdir(), 'spillway-crowd-'));
const policyFile = join(policyDir, 'policy.json');
// One baseline worker (the server) that does not grow during the run, so the comparison is the burst tier alone.
await writeFile(policyFile, JSON.stringify({ baseline: { minWorkers: 1, maxWorkers: 1 }, spillover: { sampleIntervalMs: 1000 }, burst: { maxWorkers: 2 } }));

interface Outcome {
  variant: string;
  round: number;
  phases: CrowdPhaseResult[];
  scaling: Array<{ action: string; reason: string; timestamp: string }>;
  meanCpuUs: number | null;
}

const t0 = Date.now();
const outcomes: Outcome[] = [];
console.error(`flash-crowd: ${RATE} -> ${RATE * FACTOR} req/s (${FACTOR}x in ${RAMP_S} s), handler ${CPU_ITERATIONS} loop iterations + ${IO_MS} ms await`);
for (let round_ = 1; round_ <= ROUNDS; round_++) {
  for (const v of variants) {
    const server = await startSpillway({ env: { ...v.env, SPILLWAY_BASELINE_WORKERS: '1', SPILLWAY_CAPACITY_POLICY: policyFile } });
    try {
      await deploy(server.base, 'crowd', HANDLER);
      for (let i = 0; i < 20; i++) await (await fetch(`${server.base}/fn/crowd/`)).text();
      console.error(`  ${v.name}, round ${round_}`);
      const result = await runCrowd({ url: `${server.base}/fn/crowd/`, phases, connections: 512 });
      const history = await api<Array<{ action: string; reason: string; timestamp: string }>>(server.base, 'GET', '/api/metrics/scaling-history?limit=100');
      const records = await api<Array<{ cpuUs: number | null }>>(server.base, 'GET', '/api/executions?trigger=http&limit=1000');
      const cpus = records.body.data.map((r) => r.cpuUs).filter((c): c is number => typeof c === 'number');
      outcomes.push({ variant: v.name, round: round_, phases: result, scaling: history.body.data.reverse(), meanCpuUs: cpus.length ? Math.round(cpus.reduce((a, b) => a + b, 0) / cpus.length) : null });
    } finally {
      await server.close();
    }
  }
}

const crowdPhases = (o: Outcome) => o.phases.filter((p) => p.name !== 'steady' && p.name !== 'recover');
const failures = (p: CrowdPhaseResult) => p.errors + p.timeouts + p.non2xx;
const summary = outcomes.map((o) => {
  const steady = o.phases.find((p) => p.name === 'steady')!;
  const crowd = crowdPhases(o);
  const crowdP99 = Math.max(...crowd.map((p) => p.latencyMs.p99));
  const tiers: Record<string, number> = {};
  for (const p of o.phases) for (const [k, n] of Object.entries(p.tiers)) tiers[k] = (tiers[k] ?? 0) + n;
  const statuses: Record<string, number> = {};
  for (const p of o.phases) for (const [k, n] of Object.entries(p.statuses)) statuses[k] = (statuses[k] ?? 0) + n;
  return {
    variant: o.variant,
    round: o.round,
    steadyP50: steady.latencyMs.p50,
    steadyP99: steady.latencyMs.p99,
    crowdP50: Math.max(...crowd.map((p) => p.latencyMs.p50)),
    crowdP99,
    ratio: round(crowdP99 / Math.max(1, steady.latencyMs.p99), 2),
    served: o.phases.reduce((n, p) => n + p.total, 0),
    failed: o.phases.reduce((n, p) => n + failures(p), 0),
    tiers,
    statuses,
    spilloverOnAt: o.scaling.find((e) => e.action === 'spillover_on')?.timestamp ?? null,
    events: o.scaling.map((e) => `${e.action} (${e.reason})`),
    meanCpuUs: o.meanCpuUs,
  };
});

const withBurst = summary.filter((s) => s.variant === 'baseline + burst tier');
const worstRatio = Math.max(...withBurst.map((s) => s.ratio));
const failedWithBurst = withBurst.reduce((n, s) => n + s.failed, 0);
const targets = {
  crowdP99Within3xOfSteady: { target: 3, actual: worstRatio, met: withBurst.length > 0 && worstRatio <= 3 },
  noneFailedWithSpillover: { target: 0, actual: failedWithBurst, met: withBurst.length > 0 && failedWithBurst === 0 },
};
const met = targets.crowdP99Within3xOfSteady.met && targets.noneFailedWithSpillover.met;
const markdown = [
  `### flash-crowd: ${RATE} -> ${RATE * FACTOR} req/s within ${RAMP_S} s, held ${HOLD_S} s (handler: ${CPU_ITERATIONS.toLocaleString('en')} loop iterations + a ${IO_MS} ms await)`,
  '',
  markdownTable(
    ['server', 'round', 'steady p50 / p99 ms', 'crowd p50 / p99 ms (worst phase)', 'crowd p99 / steady p99', 'requests', 'failed', 'by tier', 'mean CPU per call µs', 'scaling events'],
    summary.map((s) => [s.variant, s.round, `${s.steadyP50} / ${s.steadyP99}`, `${s.crowdP50} / ${s.crowdP99}`, `${s.ratio}x`, fmtInt(s.served), s.failed, Object.entries(s.tiers).map(([k, n]) => `${k} ${fmtInt(n)}`).join(', '), s.meanCpuUs ?? 'n/a', s.events.join('; ') || 'none']),
  ),
  '',
  'Per phase (offered rate, achieved rate, p50 / p99 ms, tiers):',
  '',
  markdownTable(
    ['server', 'phase', 'offered req/s', 'achieved req/s', 'p50 ms', 'p99 ms', 'failed', 'by tier'],
    outcomes.flatMap((o) => o.phases.map((p) => [o.variant, p.name, p.rate, fmtInt(p.reqPerSec), p.latencyMs.p50, p.latencyMs.p99, failures(p), Object.entries(p.tiers).map(([k, n]) => `${k} ${n}`).join(', ')])),
  ),
  '',
  `Target (with spillover: crowd p99 <= 3x steady p99, nothing failed for lack of capacity): **${met ? 'met' : 'MISSED'}**.`,
].join('\n');

writeResults('flash-crowd', { config: { rate: RATE, factor: FACTOR, steadyS: STEADY_S, rampS: RAMP_S, holdS: HOLD_S, recoverS: RECOVER_S, cpuIterations: CPU_ITERATIONS, ioMs: IO_MS, rounds: ROUNDS, handler: HANDLER }, summary, outcomes, targets, elapsedS: round((Date.now() - t0) / 1000, 1) }, markdown);
console.log(markdown);
