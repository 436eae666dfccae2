/**
 * Live platform events over WebSocket (`/api/events`), in seed 001's envelope
 * `{ type, data, timestamp }`. A subscription picks event types and, optionally, one function or
 * one execution (query string). A slow client never slows the platform: messages are written
 * without waiting, and a client with more than MAX_BUFFERED bytes unsent is skipped (it is told how
 * many it missed in the next message it gets) rather than buffered without bound.
 */
import type { FastifyInstance } from 'fastify';
import type { PlatformEventMap } from '../core/events.js';
import type { Platform } from '../platform.js';
import { EVENT_TYPES, eventsQuerySchema, parseOrThrow } from '../protocol/schemas.js';

const MAX_BUFFERED = 1024 * 1024;

export async function eventsRoutes(app: FastifyInstance, platform: Platform): Promise<void> {
  app.get<{ Querystring: Record<string, string> }>('/api/events', { websocket: true }, (socket, request) => {
    let query: ReturnType<typeof eventsQuerySchema.parse>;
    try {
      query = parseOrThrow(eventsQuerySchema, request.query, 'query');
    } catch (err) {
      // 1008: policy violation; the reason says which field was wrong (at most 123 bytes).
      socket.close(1008, Buffer.from((err as Error).message).subarray(0, 123).toString());
      return;
    }
    const types = new Set(query.types ?? EVENT_TYPES);
    let missed = 0;
    const offs = EVENT_TYPES.filter((t) => types.has(t)).map((type) =>
      platform.events.on(type, (data: PlatformEventMap[typeof type]) => {
        const d = data as { functionId?: string | null; executionId?: string };
        if (query.functionId !== undefined && d.functionId !== query.functionId) return;
        if (query.executionId !== undefined && d.executionId !== query.executionId) return;
        if (socket.readyState !== socket.OPEN) return;
        if (socket.bufferedAmount > MAX_BUFFERED) {
          missed++;
          return;
        }
        const timestamp = new Date(platform.clock.now()).toISOString();
        socket.send(JSON.stringify(missed > 0 ? { type, data, timestamp, missed } : { type, data, timestamp }));
        missed = 0;
      }),
    );
    socket.on('close', () => offs.forEach((off) => off()));
  });
}
