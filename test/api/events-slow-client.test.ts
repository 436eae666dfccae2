/**
 * WebSocket `/api/events`: a client that stops reading never slows the platform. Its unsent data
 * stops growing at about 1 MB (events beyond that are skipped, and counted), emitting never waits
 * on it, other listeners and HTTP keep being served, and when it reads again it is told how many
 * events it missed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { api, startPlatform } from '../helpers/platform.js';
import type { ScalingEventRecord } from '../../src/storage/types.js';

function scalingEvent(i: number): ScalingEventRecord {
  return { id: `se_${i}`, functionId: null, action: 'scale_up', instanceCount: 2, reason: `load test event ${i} ${'x'.repeat(400)}`, tier: 'baseline', metric: 'cpu_pct', value: 90, threshold: 75, timestamp: new Date().toISOString() };
}

describe('live events and slow clients', () => {
  it('a client that stops reading is skipped past 1 MB unsent; emitting never waits; it learns how many it missed', async () => {
    const t = await startPlatform();
    const url = `${t.base.replace('http', 'ws')}/api/events?types=scaling_event`;
    const slow = new WebSocket(url);
    const fast = new WebSocket(url);
    try {
      await Promise.all([slow, fast].map((s) => new Promise((resolve, reject) => s.once('open', resolve).once('error', reject))));
      let fastCount = 0;
      fast.on('message', () => fastCount++);
      // Stop reading on the slow client's side: the server's send buffer for it fills up.
      (slow as unknown as { _socket: { pause(): void } })._socket.pause();

      const N = 20_000; // ~9 MB of events
      const started = process.hrtime.bigint();
      for (let i = 0; i < N; i++) t.platform.events.emit('scaling_event', scalingEvent(i));
      const emitMs = Number(process.hrtime.bigint() - started) / 1e6;
      assert.ok(emitMs < 5_000, `emitting ${N} events took ${emitMs} ms`);

      // HTTP keeps being served while the slow client holds its socket.
      const health = await api(t.base, 'GET', '/api/health');
      assert.equal(health.status, 200);

      // The fast client gets every event.
      if (fastCount < N) await new Promise<void>((resolve) => fast.on('message', () => fastCount >= N && resolve()));
      assert.equal(fastCount, N);

      // The slow one resumes: it got fewer than N, and the first message after the gap says how many were skipped.
      const received: Array<{ data: { id: string }; missed?: number }> = [];
      slow.on('message', (m) => received.push(JSON.parse(String(m))));
      (slow as unknown as { _socket: { resume(): void } })._socket.resume();
      const marker = t.platform.events.once('scaling_event', (e) => e.id === 'se_final');
      t.platform.events.emit('scaling_event', { ...scalingEvent(-1), id: 'se_final' });
      await marker;
      await new Promise<void>((resolve) => {
        const check = () => received.some((m) => m.data.id === 'se_final') && resolve();
        check();
        slow.on('message', check);
      });
      const skipped = N - (received.length - 1);
      assert.ok(skipped > 0, 'some events were skipped for the slow client');
      const last = received.at(-1)!;
      assert.equal(last.data.id, 'se_final');
      assert.equal(last.missed, skipped, 'the next message it got carries the count it missed');
    } finally {
      slow.terminate();
      fast.close();
      await t.close();
    }
  });
});
