/**
 * Issue 3 §7: CPU and wall time are metered per invocation, even when hundreds interleave in one
 * isolate, and the per-invocation CPU adds up to what the isolate really used.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, deploy, startPlatform, type TestPlatform } from '../helpers/platform.js';

const BURN_THEN_WAIT = `export default async function handler(req) {
  const start = Date.now();
  let x = 0;
  // Integer arithmetic: the burn allocates nothing, so no garbage collection lands inside it.
  while (Date.now() - start < 20) x = (x * 31 + 7) | 0;
  await new Promise((resolve) => setTimeout(resolve, 200));
  return new Response(String(x));
}`;

describe('metering under interleaving', () => {
  let t: TestPlatform;
  before(async () => (t = await startPlatform()));
  after(async () => t.close());

  it('500 in flight, each ~20 ms CPU then a 200 ms timer: CPU within 25% of 20 ms, wall ≥ 220 ms, sums agree within 15%', async () => {
    const fn = await deploy(t.base, 'burner', BURN_THEN_WAIT, { timeout: 120_000 });
    const { version } = await t.platform.functions.resolveForInvoke('burner');
    const ref = { functionId: fn.id, versionId: version.id, memoryLimitMb: 128, plainParams: null };
    // Warm the isolate (start-up, JIT tiering of the handler) so that CPU is outside the measured window.
    for (let round = 0; round < 3; round++) {
      const warm = await Promise.all(Array.from({ length: 10 }, () => t.platform.runtime.invoke(ref, 'http', { method: 'GET', url: 'http://x/', headers: [], body: null }, { timeoutMs: 60_000, cpuLimitMs: 10_000 })));
      await Promise.all(warm.map((h) => h.metering));
    }
    const host = t.platform.runtime.warmHost(ref)!;
    const isolateCpuBefore = host.isolate.cpuTime;

    const handles = await Promise.all(
      Array.from({ length: 500 }, () => t.platform.runtime.invoke(ref, 'http', { method: 'GET', url: 'http://x/', headers: [], body: null }, { timeoutMs: 120_000, cpuLimitMs: 10_000 })),
    );
    const meterings = await Promise.all(handles.map((h) => h.metering));
    const isolateCpuUs = Number(host.isolate.cpuTime - isolateCpuBefore) / 1000;

    const cpus = meterings.map((m) => m.cpuUs).sort((a, b) => a - b);
    const summary = `cpu µs min ${cpus[0]} p50 ${cpus[250]} p99 ${cpus[495]} max ${cpus[499]}`;
    for (const m of meterings) {
      assert.equal(m.error, null);
      assert.ok(m.wallUs >= 220_000, `wall ${m.wallUs} µs ≥ 220 ms`);
    }
    // Every invocation's own work is metered exactly; an occasional one also carries a garbage
    // collection or a descheduling that landed inside it (docs/architecture.md, "Metering"), so
    // the bound is held by 99% of calls and the median is held tightly.
    const within = meterings.filter((m) => m.cpuUs >= 15_000 && m.cpuUs <= 25_000).length;
    assert.ok(within >= 495, `${within}/500 within 25% of 20 ms (${summary})`);
    assert.ok(Math.abs(cpus[250] - 20_000) <= 1_000, `median within 5% of 20 ms (${summary})`);
    const sumUs = meterings.reduce((n, m) => n + m.cpuUs, 0);
    const ratio = sumUs / isolateCpuUs;
    assert.ok(ratio > 0.85 && ratio < 1.15, `per-invocation CPU sums to ${sumUs} µs against the isolate's ${isolateCpuUs} µs (ratio ${ratio.toFixed(3)})`);
  });

  it('bills waiting as wall time, not CPU: an I/O-bound call costs far less than its wall-clock price', async () => {
    await deploy(t.base, 'waiter', `export default { async fetch() { await new Promise((r) => setTimeout(r, 250)); return new Response('waited'); } };`);
    const res = await fetch(`${t.base}/fn/waiter`);
    assert.equal(await res.text(), 'waited');
    await t.platform.recorder.flush();
    const rec = (await api(t.base, 'GET', `/api/executions/${res.headers.get('x-spillway-execution-id')}`)).body.data;
    assert.ok(rec.wallUs >= 250_000, `wall ${rec.wallUs}`);
    assert.ok(rec.cpuUs < 20_000, `cpu ${rec.cpuUs} µs while it waited 250 ms`);
    assert.equal(rec.cost.billedDurationMs, 100);
    assert.ok(rec.cost.wallClockCost > rec.cost.totalCost, 'a wall-clock biller would charge more');
  });
});
