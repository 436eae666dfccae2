/**
 * The simulator's picture: one SVG with stacked panels over time (load, baseline workers with
 * the scaling events, the burst tier's weight and share, baseline CPU and memory against the
 * policy's thresholds, p99 latency, spend rate), drawn with vega-lite compiled to vega and
 * rendered headless (renderer 'none', no canvas needed).
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { CapacityPolicy } from '../policy.js';
import { SIMULATION_START_MS, type SimulationResult, type SimulationSample } from './run.js';

/** More points than this are averaged (or maxed) into buckets, so the SVG stays small. */
const MAX_POINTS = 720;
const WIDTH = 860;
const HEIGHT = 105;

type Row = Omit<SimulationSample, 'spillover'>;

/** Buckets of consecutive samples: means for rates and cost, maxima for the rest (a peak must stay visible). */
function downsample(samples: SimulationSample[]): Row[] {
  const size = Math.ceil(samples.length / MAX_POINTS);
  if (size <= 1) return samples;
  const out: Row[] = [];
  for (let i = 0; i < samples.length; i += size) {
    const group = samples.slice(i, i + size);
    const mean = (f: (s: SimulationSample) => number) => group.reduce((a, s) => a + f(s), 0) / group.length;
    const max = (f: (s: SimulationSample) => number) => Math.max(...group.map(f));
    out.push({
      t: group[group.length - 1]!.t,
      rps: mean((s) => s.rps),
      baselineRps: mean((s) => s.baselineRps),
      burstRps: mean((s) => s.burstRps),
      workers: max((s) => s.workers),
      readyWorkers: max((s) => s.readyWorkers),
      burstWeightPct: max((s) => s.burstWeightPct),
      burstSharePct: mean((s) => s.burstSharePct),
      cpuPct: max((s) => s.cpuPct),
      memoryPct: max((s) => s.memoryPct),
      p99Ms: max((s) => s.p99Ms),
      costPerHourUsd: mean((s) => s.costPerHourUsd),
      rejected: group.reduce((a, s) => a + s.rejected, 0),
      coldStarts: group.reduce((a, s) => a + s.coldStarts, 0),
    });
  }
  return out;
}

const round = (x: number, d = 2) => Number(x.toFixed(d));

/** The vega-lite spec of the chart (exported for tests and for anyone who wants another renderer). */
export function chartSpec(result: SimulationResult, policy: CapacityPolicy, title: string): TopLevelSpec {
  // Step series (workers, weights) change rarely and are drawn at full resolution (a 10 s dip must
  // show); the continuous ones are bucketed.
  const sampled = downsample(result.samples);
  const time = (t: number) => SIMULATION_START_MS + t * 1000;
  // Long format, one series per line; a point equal to both neighbours lies on a flat stretch and
  // is left out (lossless for straight and step lines, and it keeps flat hours from filling the SVG).
  const long = (pairs: Array<[string, (r: Row) => number, number?]>, source: Row[] = sampled) =>
    pairs.flatMap(([series, f, digits = 3]) => {
      const values = source.map((r) => round(f(r), digits));
      return source.flatMap((r, i) => (i > 0 && i < source.length - 1 && values[i] === values[i - 1] && values[i] === values[i + 1] ? [] : [{ time: time(r.t), series, value: values[i]! }]));
    });
  const events = result.events.map((e) => ({ time: time(e.t), action: e.action, instanceCount: e.instanceCount, reason: e.reason }));
  const s = policy.spillover;
  const thresholds = [
    { value: s.recoverBelowPct.cpu, label: `recover < ${s.recoverBelowPct.cpu}` },
    { value: s.scaleUpAbovePct.cpu, label: `scale up > ${s.scaleUpAbovePct.cpu}` },
    { value: s.spilloverAbovePct.cpu, label: `spillover > ${s.spilloverAbovePct.cpu}` },
  ];
  const utilMax = Math.max(100, ...sampled.map((r) => Math.max(r.cpuPct, r.memoryPct)));
  const utilTop = Math.min(150, Math.ceil(utilMax / 10) * 10);
  const x = { field: 'time', type: 'temporal' as const, scale: { type: 'utc' as const }, axis: { format: '%H:%M', title: null, labelOverlap: true } };
  const panel = (ytitle: string, layer: unknown[], extra: Record<string, unknown> = {}) => ({ width: WIDTH, height: HEIGHT, title: { text: ytitle, anchor: 'start', fontSize: 12 }, layer, ...extra });
  const line = (data: string, y: Record<string, unknown>, more: Record<string, unknown> = {}, mark: Record<string, unknown> = {}) => ({
    data: { name: data },
    mark: { type: 'line', strokeWidth: 1.5, clip: true, ...mark },
    encoding: { x, y, ...more },
  });
  const color = (domain: string[], range: string[], legendTitle: string | null = null) => ({ field: 'series', type: 'nominal', scale: { domain, range }, legend: { title: legendTitle, orient: 'right' } });

  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, anchor: 'start', fontSize: 14 },
    config: { font: 'sans-serif', view: { stroke: '#ddd' }, axis: { labelFontSize: 10, titleFontSize: 10 } },
    datasets: {
      load: long([['total', (r) => r.rps], ['to baseline', (r) => r.baselineRps], ['to burst', (r) => r.burstRps]]),
      burst: [...long([['weight (router)', (r) => r.burstWeightPct]], result.samples), ...long([['share served', (r) => r.burstSharePct]])],
      util: long([['CPU', (r) => r.cpuPct], ['memory', (r) => r.memoryPct]]),
      workers: long([['workers', (r) => r.workers]], result.samples),
      p99: long([['p99', (r) => r.p99Ms, 1]]),
      cost: long([['cost', (r) => r.costPerHourUsd, 4]]),
      events,
      thresholds,
    },
    vconcat: [
      panel('Load (requests/s)', [line('load', { field: 'value', type: 'quantitative', title: 'req/s' }, { color: color(['total', 'to baseline', 'to burst'], ['#333333', '#1f77b4', '#ff7f0e']) })]),
      panel('Baseline workers (▲ scale up, ▼ scale down, ● spillover on, ○ off)', [
        line('workers', { field: 'value', type: 'quantitative', title: 'workers', scale: { domainMin: 0, nice: true }, axis: { tickMinStep: 1 } }, {}, { interpolate: 'step-after', color: '#1f77b4' }),
        {
          data: { name: 'events' },
          mark: { type: 'point', size: 45, filled: true, opacity: 0.85 },
          encoding: {
            x,
            y: { field: 'instanceCount', type: 'quantitative' },
            shape: { field: 'action', type: 'nominal', scale: { domain: ['scale_up', 'scale_down', 'spillover_on', 'spillover_off'], range: ['triangle-up', 'triangle-down', 'circle', 'circle'] }, legend: { title: null, orient: 'right' } },
            color: { field: 'action', type: 'nominal', scale: { domain: ['scale_up', 'scale_down', 'spillover_on', 'spillover_off'], range: ['#2ca02c', '#d62728', '#ff7f0e', '#bbbbbb'] }, legend: { title: null, orient: 'right' } },
          },
        },
      ]),
      panel('Burst tier (% of requests)', [line('burst', { field: 'value', type: 'quantitative', title: '%', scale: { domain: [0, 100] } }, { color: color(['weight (router)', 'share served'], ['#ff7f0e', '#8c564b']) }, { interpolate: 'step-after' })]),
      panel(`Baseline utilisation (% of allotment${utilMax > utilTop ? `, clipped at ${utilTop}%` : ''})`, [
        { data: { name: 'thresholds' }, mark: { type: 'rule', strokeDash: [4, 3], color: '#999999' }, encoding: { y: { field: 'value', type: 'quantitative' } } },
        line('util', { field: 'value', type: 'quantitative', title: '%', scale: { domain: [0, utilTop] } }, { color: color(['CPU', 'memory'], ['#d62728', '#9467bd']) }),
      ]),
      panel('p99 latency (ms, log scale)', [line('p99', { field: 'value', type: 'quantitative', title: 'ms', scale: { type: 'log', nice: false } }, {}, { color: '#17becf' })]),
      panel('Spend rate (USD/hour: baseline workers + Lambda)', [line('cost', { field: 'value', type: 'quantitative', title: '$/h', scale: { domainMin: 0 } }, {}, { color: '#2ca02c' })]),
    ],
    resolve: { scale: { color: 'independent', shape: 'independent' } },
  } as unknown as TopLevelSpec;
}

/** Renders the chart as an SVG string. */
export async function renderChart(result: SimulationResult, policy: CapacityPolicy, title: string): Promise<string> {
  const vg = compile(chartSpec(result, policy, title)).spec;
  const view = new vega.View(vega.parse(vg), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
