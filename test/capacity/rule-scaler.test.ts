import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_CAPACITY_POLICY, resolvePolicy, type RuleScalerPolicy } from '../../src/capacity/policy.js';
import { RuleScaler, type RuleMetrics } from '../../src/capacity/rule-scaler.js';
import type { ScalingEventInput } from '../../src/capacity/types.js';
import { ManualClock } from '../../src/core/clock.js';

const SEC = 1000;
const MIN = 60 * SEC;

function setup(policy: RuleScalerPolicy, name = 'executions', initialReplicas?: number) {
  const clock = new ManualClock();
  const seen: ScalingEventInput[] = [];
  const scaler = new RuleScaler({ name, policy, clock, ...(initialReplicas === undefined ? {} : { initialReplicas }), onEvent: (e) => seen.push(e) });
  return { clock, scaler, seen };
}
const executions = () => setup(DEFAULT_CAPACITY_POLICY.executions);
const container = (initial?: number) => setup(DEFAULT_CAPACITY_POLICY.pools.container!, 'container', initial);
const microvm = (initial?: number) => setup(DEFAULT_CAPACITY_POLICY.pools.microvm!, 'microvm', initial);
const actions = (events: ScalingEventInput[]) => events.map((e) => `${e.action} ${e.instanceCount}`);

describe('RuleScaler: seed 001 execution scaling (up above 10 pending, down below 3, 1..10)', () => {
  it('10 pending does not scale up; 11 does, by one, with the seed-style event', () => {
    const { scaler, clock } = executions();
    assert.equal(scaler.replicas, 1);
    assert.deepEqual(scaler.evaluate({ queue_depth: 10 }), []);
    clock.advance(30 * SEC);
    assert.deepEqual(scaler.evaluate({ queue_depth: 11 }), [
      { functionId: null, action: 'scale_up', instanceCount: 2, reason: 'Queue depth 11 > 10 (+1)', tier: 'executions', metric: 'queue_depth', value: 11, threshold: 10 },
    ]);
  });

  it('a rule waits its cooldown (29 s no, 30 s yes) and stops at maxReplicas', () => {
    const { scaler, clock, seen } = executions();
    scaler.evaluate({ queue_depth: 50 });
    clock.advance(29 * SEC);
    assert.deepEqual(scaler.evaluate({ queue_depth: 50 }), []);
    clock.advance(1 * SEC);
    assert.deepEqual(actions(scaler.evaluate({ queue_depth: 50 })), ['scale_up 3']);
    for (let i = 0; i < 20; i++) {
      clock.advance(30 * SEC);
      scaler.evaluate({ queue_depth: 50 });
    }
    assert.equal(scaler.replicas, 10);
    assert.equal(seen.length, 9, 'nine scale-ups from 1 to 10, none at the maximum');
  });

  it('3 pending does not scale down; 2 does; and never below minReplicas (0 pending at 1 replica: no event)', () => {
    const { scaler, clock } = setup(DEFAULT_CAPACITY_POLICY.executions, 'executions', 3);
    assert.deepEqual(scaler.evaluate({ queue_depth: 3 }), []);
    assert.deepEqual(actions(scaler.evaluate({ queue_depth: 2 })), ['scale_down 2']);
    clock.advance(30 * SEC);
    assert.deepEqual(actions(scaler.evaluate({ queue_depth: 0 })), ['scale_down 1']);
    clock.advance(30 * SEC);
    assert.deepEqual(scaler.evaluate({ queue_depth: 0 }), []);
    assert.equal(scaler.replicas, 1);
  });

  it('a scale-down waits its cooldown after any scale-up, so it never undoes a fresh one', () => {
    const { scaler, clock } = executions();
    scaler.evaluate({ queue_depth: 20 });
    clock.advance(29 * SEC);
    assert.deepEqual(scaler.evaluate({ queue_depth: 0 }), []);
    clock.advance(1 * SEC);
    assert.deepEqual(actions(scaler.evaluate({ queue_depth: 0 })), ['scale_down 1']);
  });
});

describe('RuleScaler: seed 003 pools', () => {
  it('container: when both scale-up rules hold, the larger step (+5 on p95 latency) wins; one change per evaluation', () => {
    const { scaler, clock } = container();
    const events = scaler.evaluate({ queue_depth: 50, p95_latency_ms: 6000 });
    assert.deepEqual(actions(events), ['scale_up 7']);
    assert.equal(events[0]!.reason, 'p95 latency 6000 ms > 5000 ms (+5)');
    clock.advance(30 * SEC);
    assert.deepEqual(actions(scaler.evaluate({ queue_depth: 50, p95_latency_ms: 6000 })), ['scale_up 9'], 'p95 rule cooling (60 s): the queue rule (+2) fires');
  });

  it('container: nothing scales down while a scale-up condition holds, even one cooling down or at the maximum', () => {
    const { scaler, clock } = container(10);
    assert.deepEqual(actions(scaler.evaluate({ queue_depth: 11 })), ['scale_up 12']);
    clock.advance(10 * SEC);
    assert.deepEqual(scaler.evaluate({ queue_depth: 11, worker_idle_time_ms: 10 * MIN }), [], 'queue rule cooling: no scale-down either');
    const full = container(100);
    assert.deepEqual(full.scaler.evaluate({ queue_depth: 11, worker_idle_time_ms: 10 * MIN }), []);
    assert.equal(full.scaler.replicas, 100);
  });

  it('container: worker idle time scales down at 5 min of idleness (4:59.999 no), by one', () => {
    const { scaler } = container(5);
    assert.deepEqual(scaler.evaluate({ worker_idle_time_ms: 5 * MIN - 1 }), []);
    const [e] = scaler.evaluate({ worker_idle_time_ms: 5 * MIN });
    assert.equal(e!.action, 'scale_down');
    assert.equal(e!.instanceCount, 4);
    assert.equal(e!.reason, 'Worker idle time 5 min ≥ 5 min (-1)');
  });

  it('container: queue depth 2 does not scale down, 1 does; the rule then cools for 300 s', () => {
    const { scaler, clock } = container(5);
    assert.deepEqual(scaler.evaluate({ queue_depth: 2 }), []);
    assert.deepEqual(actions(scaler.evaluate({ queue_depth: 1 })), ['scale_down 4']);
    clock.advance(299 * SEC);
    assert.deepEqual(scaler.evaluate({ queue_depth: 1 }), []);
    clock.advance(1 * SEC);
    assert.deepEqual(actions(scaler.evaluate({ queue_depth: 1 })), ['scale_down 3']);
  });

  it('microvm: threshold 0 means an empty queue: 0 scales down, 1 does not; 5 does not scale up, 6 does', () => {
    const { scaler, clock } = microvm(3);
    assert.deepEqual(scaler.evaluate({ queue_depth: 1 }), []);
    const [e] = scaler.evaluate({ queue_depth: 0 });
    assert.equal(e!.reason, 'Queue depth 0 = 0 (-1)');
    assert.equal(e!.instanceCount, 2);
    clock.advance(10 * MIN);
    assert.deepEqual(scaler.evaluate({ queue_depth: 5 }), []);
    assert.deepEqual(actions(scaler.evaluate({ queue_depth: 6 })), ['scale_up 3']);
  });

  it('a step larger than the room left is clamped to the limit', () => {
    const { scaler } = container(98);
    assert.deepEqual(actions(scaler.evaluate({ p95_latency_ms: 9000 })), ['scale_up 100']);
    const down = setup(resolvePolicy({ executions: { scaleDown: [{ metric: 'queue_depth', threshold: 3, step: 5, cooldownMs: 0 }] } }).executions, 'executions', 3);
    assert.deepEqual(actions(down.scaler.evaluate({ queue_depth: 0 })), ['scale_down 1']);
  });

  it('a rule whose metric is absent is skipped', () => {
    const { scaler } = container(5);
    assert.deepEqual(scaler.evaluate({ p95_latency_ms: 100 }), [], 'no queue depth, no idle time: nothing to scale down on');
    assert.deepEqual(scaler.evaluate({}), []);
  });
});

describe('RuleScaler: bad input', () => {
  it('rejects NaN, negative and unknown metrics with a TypeError naming the field, changing nothing', () => {
    const { scaler, seen } = executions();
    const bad: Array<[unknown, RegExp]> = [
      [{ queue_depth: Number.NaN }, /metrics\.queue_depth: got NaN/],
      [{ queue_depth: -1 }, /metrics\.queue_depth: got -1/],
      [{ queue_depth: 20, p95_latency_ms: '9' }, /metrics\.p95_latency_ms: got "9"/],
      [{ queue_length: 20 }, /metrics\.queue_length: unknown metric/],
      [{ queue_depth: 5n }, /metrics\.queue_depth: got 5, must be a finite number/],
      [null, /metrics: got null/],
    ];
    for (const [m, message] of bad) assert.throws(() => scaler.evaluate(m as RuleMetrics), (err: unknown) => err instanceof TypeError && message.test(err.message));
    assert.equal(scaler.replicas, 1);
    assert.equal(seen.length, 0);
    assert.deepEqual(actions(scaler.evaluate({ queue_depth: 20 })), ['scale_up 2'], 'no cooldown was started by a rejected evaluation');
  });

  it('rejects an initialReplicas outside [min, max]', () => {
    assert.throws(() => container(1), /initialReplicas: got 1, must be between minReplicas 2 and maxReplicas 100/);
    assert.throws(() => container(101), TypeError);
    assert.throws(() => container(2.5), /initialReplicas: got 2.5/);
  });
});

describe('RuleScaler.start', () => {
  it('reads and evaluates every evaluateEveryMs on the clock, until stopped', () => {
    const { scaler, clock, seen } = executions();
    let reads = 0;
    const stop = scaler.start(() => {
      reads++;
      return { queue_depth: 40 };
    });
    clock.advance(30 * SEC - 1);
    assert.equal(reads, 0);
    clock.advance(1);
    assert.equal(reads, 1);
    assert.equal(scaler.replicas, 2);
    clock.advance(90 * SEC);
    assert.equal(reads, 4);
    assert.equal(scaler.replicas, 5);
    stop();
    clock.advance(10 * MIN);
    assert.equal(reads, 4);
    assert.equal(seen.length, 4);
    const again = scaler.start(() => ({}));
    assert.throws(() => scaler.start(() => ({})), /executions scaler: start\(\) called while already started/);
    again();
  });

  it('evaluates an asynchronous read when it resolves, and keeps going after read errors', async () => {
    const errors: unknown[] = [];
    const clock = new ManualClock();
    const scaler = new RuleScaler({ name: 'executions', policy: DEFAULT_CAPACITY_POLICY.executions, clock, onError: (e) => errors.push(e) });
    let pending: Promise<RuleMetrics> | null = null;
    let n = 0;
    const stop = scaler.start(() => {
      n++;
      if (n === 2) throw new Error('queue unreachable');
      pending = Promise.resolve({ queue_depth: 40 });
      return pending;
    });
    clock.advance(30 * SEC);
    await pending;
    assert.equal(scaler.replicas, 2);
    clock.advance(30 * SEC);
    assert.equal(errors.length, 1);
    assert.match((errors[0] as Error).message, /queue unreachable/);
    clock.advance(30 * SEC);
    await pending;
    assert.equal(scaler.replicas, 3);
    assert.equal(n, 3);
    stop();
  });

  it('a read still pending at stop() neither evaluates nor keeps its loop alive after a restart', async () => {
    const clock = new ManualClock();
    const scaler = new RuleScaler({ name: 'executions', policy: DEFAULT_CAPACITY_POLICY.executions, clock });
    let release: (m: RuleMetrics) => void = () => {};
    const slow = new Promise<RuleMetrics>((resolve) => (release = resolve));
    const stopFirst = scaler.start(() => slow);
    clock.advance(30 * SEC);
    stopFirst();
    let reads = 0;
    const stopSecond = scaler.start(() => {
      reads++;
      return { queue_depth: 0 };
    });
    release({ queue_depth: 40 });
    await slow;
    assert.equal(scaler.replicas, 1, 'the stopped loop\'s read was dropped');
    clock.advance(30 * SEC);
    assert.equal(reads, 1, 'one loop only: the old one did not schedule itself again');
    stopSecond();
  });
});
