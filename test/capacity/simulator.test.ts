import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DEFAULT_CAPACITY_POLICY, resolvePolicy } from '../../src/capacity/policy.js';
import { renderChart } from '../../src/capacity/simulator/chart.js';
import { baselineTick, DEFAULT_MODEL, erlangC } from '../../src/capacity/simulator/model.js';
import { simulate, type SimulationSample } from '../../src/capacity/simulator/run.js';
import { diurnalTrace, flashCrowdTrace, loadTrace, parseTrace, steadyTrace, traceFromPoints, TraceError } from '../../src/capacity/simulator/traces.js';

const s = DEFAULT_CAPACITY_POLICY.spillover;
const intervalS = s.sampleIntervalMs / 1000;
const high = (x: SimulationSample) => x.cpuPct >= s.recoverBelowPct.cpu || x.memoryPct >= s.recoverBelowPct.memory;
const at = (samples: SimulationSample[], t: number) => {
  const found = samples.find((x) => x.t === t);
  assert.ok(found, `no sample at t=${t}`);
  return found;
};

describe('simulator: flash crowd (20× within 10 s) through the real SpilloverController', () => {
  const { samples, events, summary } = simulate({ trace: flashCrowdTrace() });
  const of = (action: string) => events.filter((e) => e.action === action);

  it('turns spillover on at the first sample above 85%, not before', () => {
    const first = samples.find((x) => x.cpuPct > s.spilloverAbovePct.cpu || x.memoryPct > s.spilloverAbovePct.memory)!;
    assert.equal(first.t, 610, 'the interval holding the ramp (10:00 to 10:10)');
    assert.equal(of('spillover_on').length, 1);
    assert.equal(of('spillover_on')[0]!.t, first.t);
    assert.equal(at(samples, first.t - intervalS).cpuPct, 25, 'the sample before: 50 req/s × 10 ms on 2 cores');
    assert.ok(samples.filter((x) => x.t > first.t).every((x) => x.t > of('spillover_off')[0]!.t || x.spillover), 'on until spillover_off');
  });

  it('turns spillover off exactly spilloverOffAfterMs after the first sample of the final below-70 run (one interval after the last ≥70% sample)', () => {
    const [off] = of('spillover_off');
    assert.ok(off);
    const lastHigh = samples.filter((x) => x.t < off.t && high(x)).at(-1)!;
    const windowStart = lastHigh.t + intervalS;
    assert.equal(off.t, windowStart + s.spilloverOffAfterMs / 1000);
    assert.equal(off.t - lastHigh.t, (s.spilloverOffAfterMs + s.sampleIntervalMs) / 1000);
    assert.ok(samples.filter((x) => x.t >= windowStart && x.t <= off.t).every((x) => !high(x)));
  });

  it('scales up at the first sample above 75%, again after the 60 s cooldown, and stops at maxWorkers', () => {
    const ups = of('scale_up');
    assert.deepEqual(ups.map((e) => [e.t, e.instanceCount]), [[610, 3], [670, 4]]);
    assert.ok(at(samples, 670 - intervalS).cpuPct > s.scaleUpAbovePct.cpu, 'still hot 10 s before: held back only by the cooldown');
    assert.equal(summary.workers.max, DEFAULT_CAPACITY_POLICY.baseline.maxWorkers);
  });

  it('scales down once the baseline has been below 70% for 15 min, one worker per further 15 min, back to minWorkers', () => {
    const downs = of('scale_down');
    const lastHigh = samples.filter((x) => high(x)).at(-1)!;
    const windowStart = lastHigh.t + intervalS;
    assert.deepEqual(downs.map((e) => [e.t, e.instanceCount]), [
      [windowStart + s.scaleDownAfterMs / 1000, 3],
      [windowStart + (2 * s.scaleDownAfterMs) / 1000, 2],
    ]);
    assert.equal(samples.at(-1)!.workers, DEFAULT_CAPACITY_POLICY.baseline.minWorkers);
  });

  it('reports what the crowd cost: burst requests, cold starts, refused requests, and the all-Lambda comparison', () => {
    assert.ok(summary.requests.burst > 0);
    assert.ok(summary.coldStarts > 0);
    assert.equal(summary.requests.total, summary.requests.baseline + summary.requests.burst);
    assert.ok(summary.costUsd.total < summary.costUsd.lambdaOnly);
    assert.equal(summary.events.length, events.length);
  });

  it('is deterministic', () => {
    assert.deepEqual(simulate({ trace: flashCrowdTrace() }).events, events);
  });
});

describe('simulator: steady and diurnal', () => {
  it('steady low load makes no events and costs exactly the baseline (2 workers × $0.0395/h × 2 h)', () => {
    const { events, summary } = simulate({ trace: steadyTrace() });
    assert.deepEqual(events, []);
    assert.equal(summary.costUsd.total, 0.158);
    assert.equal(summary.requests.burst, 0);
    assert.deepEqual(summary.workers, { min: 2, max: 2 });
  });

  it('replays 24 h in well under a few seconds', () => {
    const started = performance.now();
    const { samples } = simulate({ trace: diurnalTrace() });
    assert.equal(samples.length, 8640);
    assert.ok(performance.now() - started < 3000, `took ${performance.now() - started} ms`);
  });

  it('diurnal: the seeds\' rule flaps at the peak; projectScaleDown keeps the third worker instead', () => {
    const seeds = simulate({ trace: diurnalTrace() }).events;
    const projected = simulate({ trace: diurnalTrace(), policy: resolvePolicy({ spillover: { projectScaleDown: true } }) }).events;
    assert.ok(seeds.filter((e) => e.action === 'scale_down').length > 10);
    assert.ok(seeds.some((e) => e.action === 'spillover_on'));
    assert.deepEqual(projected.map((e) => [e.action, e.instanceCount]), [['scale_up', 3], ['scale_down', 2]]);
  });
});

describe('simulator: model', () => {
  it('Erlang C matches known values and the baseline figures follow seed 000 §8.2 (100 req/s × 10 ms = 1 core)', () => {
    assert.equal(erlangC(1, 0.5), 0.5, 'M/M/1: P(wait) = ρ');
    assert.ok(Math.abs(erlangC(2, 1) - 1 / 3) < 1e-12, 'M/M/2 at a = 1: 1/3');
    const tick = baselineTick({ rps: 100, workers: 2, cpuCoresPerWorker: 1, memoryMbPerWorker: 2048, backlog: 0, dtS: 10, maxQueueWaitMs: 10_000 }, DEFAULT_MODEL);
    assert.equal(tick.cpuPct, 50);
    assert.equal(tick.rejected, 0);
    assert.ok(tick.p99Ms > 200 && tick.p99Ms < 250, `p99 ${tick.p99Ms}`);
  });

  it('an overloaded baseline queues up to maxQueueWaitMs of work and refuses the rest', () => {
    const tick = baselineTick({ rps: 500, workers: 2, cpuCoresPerWorker: 1, memoryMbPerWorker: 2048, backlog: 0, dtS: 10, maxQueueWaitMs: 10_000 }, DEFAULT_MODEL);
    assert.equal(tick.cpuPct, 250);
    assert.equal(tick.backlog, 2000, '10 s of work at 200 req/s');
    assert.equal(tick.rejected, 5000 - 2000 - 2000);
    assert.equal(tick.p99Ms, 10_200);
  });
});

describe('simulator: traces', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-trace-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('reads recorded traces as JSON or CSV (header optional) and interpolates between points', () => {
    const json = loadTrace(file('rec.json', JSON.stringify([{ t: 100, rps: 10 }, { t: 160, rps: 70 }])));
    const csv = loadTrace(file('rec.csv', '# exported from the load balancer\nt,rps\n100,10\n160,70\n'));
    for (const trace of [json, csv]) {
      assert.equal(trace.durationS, 60);
      assert.equal(trace.rpsAt(0), 10);
      assert.equal(trace.rpsAt(30), 40);
      assert.equal(trace.rpsAt(60), 70);
    }
    assert.equal(json.name, 'rec');
  });

  it('rejects bad trace files with a message naming the file, the place and the problem', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['empty.json', '', /empty\.json: the file is empty/],
      ['obj.json', '{"t": 1}', /obj\.json: expected a JSON array of \{"t": seconds, "rps": number\}, got object/],
      ['broken.json', '[{"t": 0, "rps": 1},', /broken\.json: not valid JSON/],
      ['neg.json', '[{"t": 0, "rps": 1}, {"t": 10, "rps": -5}]', /neg\.json: \[1\]: rps must be a finite number ≥ 0, got -5/],
      ['order.json', '[{"t": 0, "rps": 1}, {"t": 0, "rps": 2}]', /order\.json: \[1\]: t must increase, got 0 after 0/],
      ['one.json', '[{"t": 0, "rps": 1}]', /one\.json: has 1 point\(s\); a trace needs at least 2/],
      ['item.json', '[{"t": 0, "rps": 1}, 5]', /item\.json: \[1\] must be an object/],
      ['bad.csv', 't,rps\n0,1\n10,lots\n', /bad\.csv: line 3: rps must be a finite number ≥ 0, got "lots"/],
      ['cols.csv', '0,1\n10,2,3\n', /cols\.csv: line 2: expected "t,rps"/],
    ];
    for (const [name, text, message] of cases) {
      const path = file(name, text);
      assert.throws(() => loadTrace(path), (err: unknown) => err instanceof TraceError && message.test(err.message), name);
    }
    assert.throws(() => loadTrace(join(dir, 'missing.csv')), /missing\.csv: not a built-in trace \(steady, diurnal, flash-crowd\) and not a readable file \(ENOENT\)/);
    assert.throws(() => loadTrace('constructor'), /not a built-in trace/);
    assert.throws(() => simulate({ trace: loadTrace(file('short.csv', '0,1\n5,1\n')) }), /short: lasts 5 s, shorter than one sampling interval \(10 s\)/);
    assert.throws(() => parseTrace('x', '0,1\n' + String(40 * 86400) + ',1'), /lasts 3456000 s; at most 2678400 s/);
  });

  it('npm run simulate rejects a bad trace file with exit code 2 and the message', () => {
    const path = file('cli-bad.csv', '0,1\nten,2\n');
    const run = spawnSync(process.execPath, ['--no-node-snapshot', '--import', 'tsx', 'scripts/simulate.ts', path], { encoding: 'utf8' });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /^simulate: .*cli-bad\.csv: line 2: t must be a finite number of seconds ≥ 0, got "ten"/);
    assert.equal(run.stdout, '');
  });

  it('charts a run as one SVG with every panel', async () => {
    const trace = traceFromPoints('mini', [{ t: 0, rps: 50 }, { t: 600, rps: 50 }, { t: 610, rps: 400 }, { t: 1800, rps: 400 }]);
    const result = simulate({ trace });
    const svg = await renderChart(result, DEFAULT_CAPACITY_POLICY, 'mini');
    assert.ok(svg.startsWith('<svg'));
    for (const title of ['Load (requests/s)', 'Baseline workers', 'Burst tier', 'Baseline utilisation', 'p99 latency', 'Spend rate']) assert.ok(svg.includes(title), title);
  });
});
