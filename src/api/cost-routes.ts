/**
 * The cost comparison over the API (issue 6): `GET /api/costs/comparison?window=1h|24h|7d` gives
 * the defaults, seed 000 §8 reproduced, seed 004 recomputed, and the projection of the workload
 * measured from the window's metered executions; `POST /api/costs/comparison` takes overrides of
 * any price or workload figure and answers the same shape computed with them. docs/costs.md.
 */
import type { FastifyInstance } from 'fastify';
import {
  PROJECTION_DEFAULTS,
  SEED_000_DEFAULTS,
  SEED_004_DEFAULTS,
  SEED_000_WORKLOAD,
  mergeProjectionPrices,
  project,
  seed000,
  seed004,
  type Workload,
} from '../costs/comparison.js';
import { measureWorkload } from '../costs/measured-workload.js';
import type { Platform } from '../platform.js';
import { COMPARISON_WINDOWS, comparisonBodySchema, comparisonQuerySchema, type ComparisonBody } from '../protocol/cost-comparison.js';
import { parseOrThrow } from '../protocol/schemas.js';

export async function costRoutes(app: FastifyInstance, platform: Platform): Promise<void> {
  async function compare(body: ComparisonBody) {
    // HTTP calls are recorded in batches; write this node's buffer so the newest calls count.
    await platform.recorder.flush();
    const measured = await measureWorkload(platform.store, platform.clock.now(), body.window, COMPARISON_WINDOWS[body.window]);
    const workload: Workload = {
      callsPerSecond: body.workload.callsPerSecond ?? measured.callsPerSecond,
      cpuMsPerCall: body.workload.cpuMsPerCall ?? measured.cpuMsPerCall,
      wallMsPerCall: body.workload.wallMsPerCall ?? measured.wallMsPerCall,
      memoryMb: body.workload.memoryMb ?? measured.memoryMb,
    };
    const prices = mergeProjectionPrices(body.projection);
    return {
      success: true,
      data: {
        window: body.window,
        defaults: { seed000: SEED_000_DEFAULTS, seed004: SEED_004_DEFAULTS, projection: PROJECTION_DEFAULTS, seed000Workload: SEED_000_WORKLOAD },
        seed000: seed000(body.seed000),
        seed004: seed004(body.seed004),
        workload: { measured, overrides: body.workload, used: workload },
        projection: project(workload, prices),
      },
    };
  }

  app.get<{ Querystring: Record<string, string> }>('/api/costs/comparison', async (request) => {
    const query = parseOrThrow(comparisonQuerySchema, request.query, 'query');
    return compare(parseOrThrow(comparisonBodySchema, { window: query.window }, 'query'));
  });

  app.post('/api/costs/comparison', async (request) => compare(parseOrThrow(comparisonBodySchema, request.body ?? {}, 'body')));
}
