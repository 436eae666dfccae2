/**
 * `npm run simulate -- <trace> [--out docs/capacity/<trace>.svg] [--policy policy.json]`:
 * replays a load trace (steady, diurnal, flash-crowd, or a recorded file: JSON [{t, rps}] or CSV
 * `t,rps`) through the capacity model and the real SpilloverController, prints a JSON summary
 * (figures and every scaling event with its timestamp) and writes the chart as SVG: to --out, or
 * by default to docs/capacity/<trace name>.svg.
 * --policy merges a capacity policy file over the defaults, as SPILLWAY_CAPACITY_POLICY does.
 * docs/capacity-simulation.md describes the model and the traces.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadPolicy, PolicyError } from '../src/capacity/policy.js';
import { renderChart } from '../src/capacity/simulator/chart.js';
import { simulate } from '../src/capacity/simulator/run.js';
import { BUILT_IN_TRACES, loadTrace, TraceError } from '../src/capacity/simulator/traces.js';

const USAGE = `usage: npm run simulate -- <${Object.keys(BUILT_IN_TRACES).join('|')}|trace.json|trace.csv> [--out chart.svg] [--policy policy.json]`;

function parseArgs(argv: string[]): { trace: string; out?: string; policy?: string } {
  let trace: string | undefined;
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    const m = /^--(out|policy)(?:=(.*))?$/.exec(arg);
    if (m) {
      const value = m[2] ?? argv[++i];
      if (!value) throw new TraceError(`--${m[1]} needs a value\n${USAGE}`);
      flags[m[1]!] = value;
    } else if (arg.startsWith('--')) {
      throw new TraceError(`unknown option ${arg}\n${USAGE}`);
    } else if (trace === undefined) {
      trace = arg;
    } else {
      throw new TraceError(`one trace at a time (got ${trace} and ${arg})\n${USAGE}`);
    }
  }
  if (!trace) throw new TraceError(`no trace given\n${USAGE}`);
  return { trace, ...(flags.out ? { out: flags.out } : {}), ...(flags.policy ? { policy: flags.policy } : {}) };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const policy = loadPolicy(args.policy);
  const trace = loadTrace(args.trace);
  const result = simulate({ trace, policy });
  args.out ??= join('docs', 'capacity', `${trace.name.replace(/[^A-Za-z0-9_.-]+/g, '-')}.svg`);
  {
    const s = result.summary;
    const title = `${trace.name}: ${s.requests.total.toLocaleString('en-US')} requests, ${s.events.length} scaling events, $${s.costUsd.total.toFixed(2)} (all-Lambda $${s.costUsd.lambdaOnly.toFixed(2)})`;
    const svg = await renderChart(result, policy, title);
    mkdirSync(dirname(args.out), { recursive: true });
    writeFileSync(args.out, svg);
  }
  console.log(JSON.stringify({ ...result.summary, chart: args.out }, null, 2));
}

main().catch((err: unknown) => {
  if (err instanceof TraceError || err instanceof PolicyError) {
    console.error(`simulate: ${err.message}`);
    process.exit(2);
  }
  console.error(err);
  process.exit(1);
});
