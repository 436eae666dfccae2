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
      // Stop reading on the slow client's side: the server's send buffer for it fills up.
      (slow as unknown as { _socket: { pause(): void } })._socket.pause();

      // ~9 MB of events, in chunks paced by the fast client: it reads everything, so its own buffer
      // never fills, while the slow client's does.
      const N = 20_000;
      const CHUNK = 50;
      let waiter: { until: number; resolve: () => void } | null = null;
      fast.on('message', () => {
        fastCount++;
        if (waiter && fastCount >= waiter.until) waiter.resolve();
      });
      let emitNs = 0n;
      for (let i = 0; i < N; i += CHUNK) {
        const t0 = process.hrtime.bigint();
        for (let j = i; j < i + CHUNK; j++) t.platform.events.emit('scaling_event', scalingEvent(j));
        emitNs += process.hrtime.bigint() - t0;
        if (fastCount < i + CHUNK) await new Promise<void>((resolve) => (waiter = { until: i + CHUNK, resolve }));
      }
      const emitMs = Number(emitNs) / 1e6;
      assert.ok(emitMs < 5_000, `emitting ${N} events took ${emitMs} ms of the server's time`);
      assert.equal(fastCount, N, 'the reading client got every event');

      // HTTP keeps being served while the slow client holds its socket.
      const health = await api(t.base, 'GET', '/api/health');
      assert.equal(health.status, 200);

      // The slow one reads again. Markers are emitted (one now, one per message it gets) until the first
      // arrives: markers emitted while its unsent data is still over 1 MB are skipped too.
      const received: Array<{ data: { id: string }; missed?: number }> = [];
      let emitted = N;
      const emitMarker = () => t.platform.events.emit('scaling_event', { ...scalingEvent(emitted), id: `se_m_${emitted++}` });
      const firstMarker = new Promise<void>((resolve) => {
        slow.on('message', (m) => {
          received.push(JSON.parse(String(m)));
          if (received.at(-1)!.data.id.startsWith('se_m_')) resolve();
          else emitMarker();
        });
      });
      (slow as unknown as { _socket: { resume(): void } })._socket.resume();
      emitMarker();
      await firstMarker;
      const at = received.findIndex((m) => m.data.id.startsWith('se_m_'));
      const marker = received[at]!;
      const emittedBefore = Number(marker.data.id.slice('se_m_'.length));
      // Everything emitted before the marker either arrived before it or was skipped, and the marker says how many were.
      assert.ok((marker.missed ?? 0) > 0, 'events were skipped for the slow client');
      assert.equal(marker.missed, emittedBefore - at);
      assert.ok(received.slice(0, at).every((m) => m.missed === undefined), 'nothing was skipped before the buffer filled');
    } finally {
      slow.terminate();
      fast.close();
      await t.close();
    }
  });
});
