/**
 * Capacity over the API: the scaling history (seed 001's `GET /api/metrics/scaling-history`, with
 * Spillway's tier and metric fields) and the live state of the tiers (`GET /api/capacity`).
 */
import type { FastifyInstance } from 'fastify';
import type { Platform } from '../platform.js';
import { parseOrThrow, scalingHistoryQuerySchema } from '../protocol/schemas.js';

export async function capacityRoutes(app: FastifyInstance, platform: Platform): Promise<void> {
  app.get<{ Querystring: Record<string, string> }>('/api/metrics/scaling-history', async (request) => {
    const query = parseOrThrow(scalingHistoryQuerySchema, request.query, 'query');
    return { success: true, data: await platform.store.listScalingEvents(query) };
  });

  app.get('/api/capacity', async () => ({ success: true, data: platform.capacity.snapshot() }));
}
