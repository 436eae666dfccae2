import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DEFAULT_CAPACITY_POLICY, loadPolicy, PolicyError, resolvePolicy } from '../../src/capacity/policy.js';

/** The problems a policy is rejected with (fails the test if it is accepted). */
function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PolicyError, `expected a PolicyError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('the policy was accepted');
}

describe('capacity policy defaults are the seeds\' values', () => {
  const p = DEFAULT_CAPACITY_POLICY;

  it('seed 000 §5.1: scale up > 75, spillover > 85, recover < 70 for 5 min, scale down < 70 for 15 min', () => {
    assert.deepEqual(p.spillover.scaleUpAbovePct, { cpu: 75, memory: 75 });
    assert.deepEqual(p.spillover.spilloverAbovePct, { cpu: 85, memory: 85 });
    assert.deepEqual(p.spillover.recoverBelowPct, { cpu: 70, memory: 70 });
    assert.equal(p.spillover.spilloverOffAfterMs, 5 * 60_000);
    assert.equal(p.spillover.scaleDownAfterMs, 15 * 60_000);
  });

  it('seed 000 §5.2: weights 100/0 normal, 70/30 spillover; §4.1: 2 always-on (minimum) workers', () => {
    assert.deepEqual(p.spillover.weights, { normal: { baseline: 100, burst: 0 }, spillover: { baseline: 70, burst: 30 } });
    assert.equal(p.baseline.minWorkers, 2);
  });

  it('seed 001: executions scale up above 10 pending, down below 3, every 30 s, 1..10 instances', () => {
    assert.equal(p.executions.minReplicas, 1);
    assert.equal(p.executions.maxReplicas, 10);
    assert.equal(p.executions.evaluateEveryMs, 30_000);
    assert.deepEqual(p.executions.scaleUp, [{ metric: 'queue_depth', threshold: 10, step: 1, cooldownMs: 30_000 }]);
    assert.deepEqual(p.executions.scaleDown, [{ metric: 'queue_depth', threshold: 3, step: 1, cooldownMs: 30_000 }]);
  });

  it('seed 003: container pool 2..100 and microVM pool 1..50 with the seed\'s steps and cooldowns', () => {
    const c = p.pools.container!;
    assert.deepEqual([c.minReplicas, c.maxReplicas], [2, 100]);
    assert.deepEqual(
      c.scaleUp.map((r) => [r.metric, r.threshold, r.step, r.cooldownMs]),
      [['queue_depth', 10, 2, 30_000], ['p95_latency_ms', 5000, 5, 60_000]],
    );
    assert.deepEqual(
      c.scaleDown.map((r) => [r.metric, r.threshold, r.step, r.cooldownMs]),
      [['queue_depth', 2, 1, 300_000], ['worker_idle_time_ms', 300_000, 1, 120_000]],
    );
    const m = p.pools.microvm!;
    assert.deepEqual([m.minReplicas, m.maxReplicas], [1, 50]);
    assert.deepEqual(m.scaleUp, [{ metric: 'queue_depth', threshold: 5, step: 1, cooldownMs: 60_000 }]);
    assert.deepEqual(m.scaleDown, [{ metric: 'queue_depth', threshold: 0, step: 1, cooldownMs: 600_000 }]);
  });

  it('seed 003 backpressure: circuit breaker after 5 failures, half-open after 30 s', () => {
    assert.equal(p.backpressure.circuitBreaker.consecutiveFailures, 5);
    assert.equal(p.backpressure.circuitBreaker.halfOpenAfterMs, 30_000);
  });

  it('resolvePolicy({}) is the defaults, and resolving does not change them', () => {
    const before = structuredClone(DEFAULT_CAPACITY_POLICY);
    const resolved = resolvePolicy({});
    assert.deepEqual(resolved, DEFAULT_CAPACITY_POLICY);
    resolved.spillover.scaleUpAbovePct.cpu = 1;
    assert.deepEqual(DEFAULT_CAPACITY_POLICY, before);
  });
});

describe('capacity policy overrides', () => {
  it('merge deeply: one nested field changes, its siblings keep their defaults', () => {
    const p = resolvePolicy({ spillover: { scaleUpAbovePct: { cpu: 60 } }, baseline: { maxWorkers: 8 } });
    assert.deepEqual(p.spillover.scaleUpAbovePct, { cpu: 60, memory: 75 });
    assert.equal(p.spillover.spilloverAbovePct.cpu, 85);
    assert.equal(p.baseline.maxWorkers, 8);
    assert.equal(p.baseline.minWorkers, 2);
  });

  it('replace arrays whole, and add pools next to the defaults', () => {
    const rule = { metric: 'p95_latency_ms' as const, threshold: 800, step: 3, cooldownMs: 10_000 };
    const p = resolvePolicy({ executions: { scaleUp: [rule] }, pools: { trusted: { minReplicas: 0, maxReplicas: 5, evaluateEveryMs: 1000, scaleUp: [], scaleDown: [] } } });
    assert.deepEqual(p.executions.scaleUp, [rule]);
    assert.equal(p.executions.scaleDown[0]!.threshold, 3, 'the untouched array keeps its default');
    assert.deepEqual(Object.keys(p.pools).sort(), ['container', 'microvm', 'trusted']);
  });
});

describe('capacity policy validation names each field', () => {
  it('reports every bad field at once, each by its path', () => {
    const problems = problemsOf(() =>
      resolvePolicy({ spillover: { scaleUpAbovePct: { cpu: 140 }, sampleIntervalMs: 5 }, baseline: { cpuCoresPerWorker: 0 }, executions: { scaleUp: [{ metric: 'disk', threshold: 1, step: 1, cooldownMs: 0 }] } }),
    );
    assert.equal(problems.length, 4, problems.join('\n'));
    for (const path of ['spillover.scaleUpAbovePct.cpu:', 'spillover.sampleIntervalMs:', 'baseline.cpuCoresPerWorker:', 'executions.scaleUp.0.metric:']) {
      assert.ok(problems.some((p) => p.startsWith(path)), `no problem names ${path}: ${problems.join(' | ')}`);
    }
  });

  it('rejects unknown keys, naming where they are', () => {
    const problems = problemsOf(() => resolvePolicy({ spillover: { scaleUpAbovePercent: 80 } }));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^spillover: .*scaleUpAbovePercent/);
  });

  it('checks the cross-field rules: weights sum to 100, min ≤ max, recover ≤ spillover on both metrics', () => {
    assert.match(problemsOf(() => resolvePolicy({ spillover: { weights: { spillover: { baseline: 70, burst: 20 } } } }))[0]!, /^spillover\.weights\.spillover: weights must sum to 100 \(got 70 \+ 20\)/);
    assert.match(problemsOf(() => resolvePolicy({ baseline: { minWorkers: 5, maxWorkers: 4 } }))[0]!, /^baseline\.minWorkers: must be at most baseline\.maxWorkers/);
    assert.match(problemsOf(() => resolvePolicy({ executions: { minReplicas: 11 } }))[0]!, /^executions\.minReplicas: must be at most maxReplicas/);
    assert.match(problemsOf(() => resolvePolicy({ pools: { microvm: { minReplicas: 60 } } }))[0]!, /^pools\.microvm\.minReplicas: must be at most maxReplicas/);
    assert.match(problemsOf(() => resolvePolicy({ spillover: { recoverBelowPct: { memory: 90 } } }))[0]!, /^spillover\.recoverBelowPct\.memory: must not be above spilloverAbovePct\.memory/);
    assert.match(problemsOf(() => resolvePolicy({ spillover: { recoverBelowPct: { cpu: 90 } } }))[0]!, /^spillover\.recoverBelowPct\.cpu: must not be above spilloverAbovePct\.cpu/);
  });

  it('rejects a policy that is not an object', () => {
    for (const bad of [null, 5, 'policy', [1, 2]]) {
      assert.deepEqual(problemsOf(() => resolvePolicy(bad)), ['the policy must be a JSON object'], `for ${JSON.stringify(bad)}`);
    }
  });
});

describe('capacity policy files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-policy-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('no file means the defaults; a file is merged over them', () => {
    assert.deepEqual(loadPolicy(undefined), DEFAULT_CAPACITY_POLICY);
    const p = loadPolicy(file('ok.json', JSON.stringify({ spillover: { spilloverOffAfterMs: 120_000 } })));
    assert.equal(p.spillover.spilloverOffAfterMs, 120_000);
    assert.equal(p.spillover.scaleDownAfterMs, 900_000);
  });

  it('a file that is not JSON is rejected, naming the file', () => {
    const path = file('bad.json', '{ spillover: ');
    const [problem] = problemsOf(() => loadPolicy(path));
    assert.ok(problem!.startsWith(`${path} is not valid JSON:`), problem);
  });

  it('a JSON file that is not an object is rejected', () => {
    assert.deepEqual(problemsOf(() => loadPolicy(file('array.json', '[{"spillover": {}}]'))), ['the policy must be a JSON object']);
  });

  it('a missing file is rejected, naming it', () => {
    const path = join(dir, 'nope.json');
    assert.match(problemsOf(() => loadPolicy(path))[0]!, new RegExp(`^cannot read ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
  });
});
