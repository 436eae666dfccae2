import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolvePolicy, type CapacityPolicyOverrides } from '../../src/capacity/policy.js';
import { SpilloverController, type UtilisationSample } from '../../src/capacity/spillover-controller.js';
import type { ScalingEventInput } from '../../src/capacity/types.js';
import { ManualClock } from '../../src/core/clock.js';

const SEC = 1000;
const MIN = 60 * SEC;

/** A controller on a ManualClock with the default (seed) policy, overridable; records onEvent. */
function setup(overrides: CapacityPolicyOverrides = {}, initialWorkers?: number) {
  const policy = resolvePolicy(overrides);
  const clock = new ManualClock();
  const seen: ScalingEventInput[] = [];
  const controller = new SpilloverController({ spillover: policy.spillover, baseline: policy.baseline, clock, ...(initialWorkers === undefined ? {} : { initialWorkers }), onEvent: (e) => seen.push(e) });
  const at = (cpuPct: number, memoryPct = 10) => controller.observe({ cpuPct, memoryPct });
  /** Observes `sample` every `stepMs` for `durationMs` (first sample now), returning all events. */
  const hold = (sample: UtilisationSample, durationMs: number, stepMs = 10 * SEC) => {
    const out: ScalingEventInput[] = [];
    for (let t = 0; t < durationMs; t += stepMs) {
      out.push(...controller.observe(sample));
      clock.advance(stepMs);
    }
    return out;
  };
  return { policy, clock, controller, seen, at, hold };
}

const actions = (events: ScalingEventInput[]) => events.map((e) => e.action);

describe('SpilloverController: spillover on', () => {
  it('starts normal with the normal weights and the minimum workers', () => {
    const { controller } = setup();
    assert.deepEqual(controller.state, { mode: 'normal', weights: { baseline: 100, burst: 0 }, baselineWorkers: 2 });
  });

  it('85% does not trigger spillover; 85.1% does, at the first such sample, with the spillover weights', () => {
    const { controller, at, clock } = setup({ spillover: { scaleUpAbovePct: { cpu: 95, memory: 95 } } });
    assert.deepEqual(at(85), []);
    assert.equal(controller.state.mode, 'normal');
    clock.advance(10 * SEC);
    const events = at(85.1);
    assert.deepEqual(events, [
      { functionId: null, action: 'spillover_on', instanceCount: 2, reason: 'CPU 85.1% > 85% for 1 sample', tier: 'burst', metric: 'cpu_pct', value: 85.1, threshold: 85 },
    ]);
    assert.deepEqual(controller.state.weights, { baseline: 70, burst: 30 });
    assert.equal(controller.state.mode, 'spillover');
    assert.deepEqual(at(94), [], 'already on: no second spillover_on');
  });

  it('memory alone triggers it too, and the event names memory', () => {
    const { at } = setup({ spillover: { scaleUpAbovePct: { cpu: 95, memory: 95 } } });
    assert.deepEqual(at(10, 85), []);
    const [e] = at(10, 85.5);
    assert.equal(e!.action, 'spillover_on');
    assert.equal(e!.metric, 'memory_pct');
    assert.equal(e!.value, 85.5);
    assert.equal(e!.reason, 'Memory 85.5% > 85% for 1 sample');
  });

  it('one sample above 85 scales up first, then spills over; onEvent sees the same events in order', () => {
    const { at, seen } = setup();
    const events = at(91);
    assert.deepEqual(actions(events), ['scale_up', 'spillover_on']);
    assert.deepEqual(seen, events);
    assert.equal(events[0]!.tier, 'baseline');
    assert.equal(events[0]!.reason, 'CPU 91% > 75% for 1 sample');
    assert.equal(events[1]!.instanceCount, 3, 'instanceCount is the baseline after the change');
  });
});

describe('SpilloverController: spillover off', () => {
  it('turns off at exactly 5:00 of samples both below 70 (4:59 is not enough), counted from the first below-70 sample', () => {
    const { at, clock, controller } = setup({ spillover: { scaleUpAbovePct: { cpu: 95, memory: 95 } } });
    at(90);
    clock.advance(10 * SEC);
    assert.deepEqual(at(69.9, 69.9), [], 'the first below-70 sample starts the window');
    clock.advance(4 * MIN + 59 * SEC);
    assert.deepEqual(at(50, 50), [], '4:59 into the window');
    assert.equal(controller.state.mode, 'spillover');
    clock.advance(1 * SEC);
    const events = at(50, 60);
    assert.deepEqual(events, [
      { functionId: null, action: 'spillover_off', instanceCount: 2, reason: 'CPU and memory below 70% for 5 min', tier: 'burst', metric: 'memory_pct', value: 60, threshold: 70 },
    ]);
    assert.deepEqual(controller.state.weights, { baseline: 100, burst: 0 });
  });

  it('70 on either metric is not below 70: one such sample restarts the window', () => {
    const { at, clock, hold, controller } = setup({ spillover: { scaleUpAbovePct: { cpu: 95, memory: 95 } } });
    at(90);
    clock.advance(10 * SEC);
    assert.deepEqual(hold({ cpuPct: 40, memoryPct: 40 }, 4 * MIN), []);
    assert.deepEqual(at(40, 70), [], 'memory exactly 70 breaks the run');
    clock.advance(10 * SEC);
    assert.deepEqual(hold({ cpuPct: 40, memoryPct: 40 }, 5 * MIN), [], 'the window restarted at the first sample after the 70');
    assert.equal(controller.state.mode, 'spillover');
    assert.deepEqual(actions(at(40, 40)), ['spillover_off'], 'exactly 5:00 after the restart');
  });

  it('a sample between 70 and 85 keeps spillover on and restarts the window', () => {
    const { at, clock, hold } = setup({ spillover: { scaleUpAbovePct: { cpu: 95, memory: 95 } } });
    at(90);
    clock.advance(10 * SEC);
    hold({ cpuPct: 30, memoryPct: 30 }, 4 * MIN + 50 * SEC);
    assert.deepEqual(at(75), []);
    clock.advance(10 * SEC);
    assert.deepEqual(hold({ cpuPct: 30, memoryPct: 30 }, 5 * MIN), []);
    assert.deepEqual(actions(at(30, 30)), ['spillover_off']);
  });
});

describe('SpilloverController: scale up', () => {
  it('75% does not scale up; 75.1% does, by scaleUpStep', () => {
    const { at, clock, controller } = setup();
    assert.deepEqual(at(75, 75), []);
    clock.advance(10 * SEC);
    const [e] = at(75.1);
    assert.deepEqual(e, { functionId: null, action: 'scale_up', instanceCount: 3, reason: 'CPU 75.1% > 75% for 1 sample', tier: 'baseline', metric: 'cpu_pct', value: 75.1, threshold: 75 });
    assert.equal(controller.state.baselineWorkers, 3);
  });

  it('waits scaleUpCooldownMs between scale-ups (59 s no, 60 s yes)', () => {
    const { at, clock, controller } = setup();
    assert.deepEqual(actions(at(80)), ['scale_up']);
    clock.advance(59 * SEC);
    assert.deepEqual(at(80), []);
    clock.advance(1 * SEC);
    assert.deepEqual(actions(at(80)), ['scale_up']);
    assert.equal(controller.state.baselineWorkers, 4);
  });

  it('stops at baseline.maxWorkers, and a step never overshoots it', () => {
    const { at, clock, controller } = setup({ spillover: { scaleUpStep: 3 } });
    const [e] = at(80);
    assert.equal(e!.instanceCount, 4, '2 + 3 clamped to the maximum 4');
    clock.advance(10 * MIN);
    assert.deepEqual(at(80), [], 'at the maximum: no event');
    assert.equal(controller.state.baselineWorkers, 4);
  });

  it('shows enough decimals that the value reads as above the threshold', () => {
    const { at } = setup();
    assert.equal(at(75.04)[0]!.reason, 'CPU 75.04% > 75% for 1 sample');
  });

  it('names the metric further above its threshold when both cross', () => {
    const { at } = setup();
    const [e] = at(76, 90);
    assert.equal(e!.metric, 'memory_pct');
    assert.equal(e!.reason, 'Memory 90% > 75% for 1 sample');
  });
});

describe('SpilloverController: scale down', () => {
  it('scales down after exactly 15:00 below 70 (14:59 is not enough), then waits another 15:00, never below the minimum', () => {
    const { at, clock, hold, controller } = setup({}, 4);
    assert.deepEqual(hold({ cpuPct: 20, memoryPct: 20 }, 15 * MIN, 1 * SEC), [], 'a sample every second from 0:00 to 14:59');
    const [e] = at(20, 30);
    assert.deepEqual(e, { functionId: null, action: 'scale_down', instanceCount: 3, reason: 'CPU and memory below 70% for 15 min', tier: 'baseline', metric: 'memory_pct', value: 30, threshold: 70 });
    clock.advance(1 * SEC);
    assert.deepEqual(hold({ cpuPct: 20, memoryPct: 20 }, 15 * MIN - 1 * SEC, 1 * SEC), [], 'the window restarted at the scale-down: 0:01 to 14:59 after it');
    assert.deepEqual(actions(at(20, 20)), ['scale_down']);
    assert.equal(controller.state.baselineWorkers, 2);
    clock.advance(15 * MIN);
    assert.deepEqual(at(20, 20), [], 'at minWorkers');
    assert.equal(controller.state.baselineWorkers, 2);
  });

  it('a scale-down step never takes the baseline below minWorkers', () => {
    const { hold, at, controller } = setup({ spillover: { scaleDownStep: 3 } }, 4);
    hold({ cpuPct: 10, memoryPct: 10 }, 15 * MIN);
    const [e] = at(10, 10);
    assert.equal(e!.instanceCount, 2, '4 − 3 clamped to the minimum 2');
    assert.equal(controller.state.baselineWorkers, 2);
  });

  it('a single sample at 70 restarts the scale-down window', () => {
    const { at, clock, hold } = setup({}, 3);
    hold({ cpuPct: 20, memoryPct: 20 }, 14 * MIN);
    assert.deepEqual(at(70, 20), []);
    clock.advance(10 * SEC);
    assert.deepEqual(hold({ cpuPct: 20, memoryPct: 20 }, 15 * MIN), []);
    assert.deepEqual(actions(at(20, 20)), ['scale_down']);
  });

  it('projectScaleDown (opt-in) holds a scale-down the smaller baseline could not take, and allows it once it fits', () => {
    const seeds = setup({}, 3);
    seeds.hold({ cpuPct: 60, memoryPct: 20 }, 15 * MIN);
    assert.deepEqual(actions(seeds.at(60, 20)), ['scale_down'], 'the seeds\' rule: 60% on 3 workers shrinks to 90% on 2');
    const projected = setup({ spillover: { projectScaleDown: true } }, 3);
    projected.hold({ cpuPct: 60, memoryPct: 20 }, 15 * MIN);
    assert.deepEqual(projected.at(60, 20), [], '60 × 3/2 = 90 > 75');
    projected.clock.advance(10 * SEC);
    assert.deepEqual(projected.at(20, 51), [], 'memory 51 × 3/2 = 76.5 > 75');
    projected.clock.advance(10 * SEC);
    assert.deepEqual(actions(projected.at(50, 50)), ['scale_down'], '50 × 3/2 = 75, not above 75');
    assert.equal(projected.controller.state.baselineWorkers, 2);
  });

  it('turns spillover off before scaling down when both windows end on the same sample', () => {
    const { at, clock } = setup({ spillover: { spilloverOffAfterMs: 15 * MIN, scaleUpAbovePct: { cpu: 95, memory: 95 } } }, 3);
    at(90);
    clock.advance(10 * SEC);
    at(10, 10);
    clock.advance(15 * MIN);
    assert.deepEqual(actions(at(10, 10)), ['spillover_off', 'scale_down']);
  });
});

describe('SpilloverController: bad input and setWorkers', () => {
  it('rejects NaN, negative, infinite and missing samples with a TypeError naming the field, changing nothing', () => {
    const { controller, at, clock, seen } = setup();
    at(90);
    const before = controller.state;
    const bad: Array<[unknown, RegExp]> = [
      [{ cpuPct: Number.NaN, memoryPct: 10 }, /sample\.cpuPct: got NaN/],
      [{ cpuPct: 10, memoryPct: -1 }, /sample\.memoryPct: got -1/],
      [{ cpuPct: Infinity, memoryPct: 10 }, /sample\.cpuPct: got Infinity/],
      [{ cpuPct: '90', memoryPct: 10 }, /sample\.cpuPct: got "90"/],
      [{ memoryPct: 10 }, /sample\.cpuPct: got undefined/],
      [null, /sample: got null/],
    ];
    clock.advance(10 * MIN);
    for (const [sample, message] of bad) {
      assert.throws(() => controller.observe(sample as UtilisationSample), (err: unknown) => err instanceof TypeError && message.test(err.message));
    }
    assert.deepEqual(controller.state, before);
    assert.equal(seen.length, 2, 'no events from rejected samples');
    // A rejected sample does not break a recovery window either.
    at(10, 10);
    clock.advance(5 * MIN);
    assert.deepEqual(actions(at(10, 10)), ['spillover_off']);
  });

  it('setWorkers adopts the real size (no event), and the controller scales from there', () => {
    const { controller, at } = setup();
    controller.setWorkers(1);
    assert.equal(controller.state.baselineWorkers, 1);
    const [e] = at(80);
    assert.equal(e!.instanceCount, 2);
    assert.throws(() => controller.setWorkers(1.5), /setWorkers\(n\): got 1.5, must be an integer ≥ 0/);
    assert.throws(() => controller.setWorkers(-1), TypeError);
    assert.equal(controller.state.baselineWorkers, 2);
  });

  it('rejects a bad initialWorkers', () => {
    const policy = resolvePolicy({});
    assert.throws(() => new SpilloverController({ spillover: policy.spillover, baseline: policy.baseline, clock: new ManualClock(), initialWorkers: Number.NaN }), /initialWorkers: got NaN/);
  });

  it('state is a copy: changing it changes nothing', () => {
    const { controller } = setup();
    const s = controller.state;
    s.weights.burst = 50;
    s.baselineWorkers = 9;
    assert.deepEqual(controller.state, { mode: 'normal', weights: { baseline: 100, burst: 0 }, baselineWorkers: 2 });
  });
});
