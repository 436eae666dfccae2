/**
 * The load tester over the API (docs/load-tester.md): start a bounded test against one function,
 * watch it, list the recent ones, cancel the running one. Progress and the end of a test are
 * also pushed on `/api/events` (`load_test_progress`, `load_test_completed`).
 */
import type { FastifyInstance } from 'fastify';
import type { Platform } from '../platform.js';
import { loadTestSchema, parseOrThrow } from '../protocol/schemas.js';

export async function loadTestRoutes(app: FastifyInstance, platform: Platform): Promise<void> {
  const { loadTests } = platform;

  app.post('/api/load-tests', async (request, reply) => {
    const options = parseOrThrow(loadTestSchema, request.body ?? {}, 'body');
    return reply.code(202).send({ success: true, data: await loadTests.start(options) });
  });

  app.get('/api/load-tests', async () => ({ success: true, data: loadTests.list() }));

  app.get<{ Params: { id: string } }>('/api/load-tests/:id', async (request) => ({ success: true, data: loadTests.get(request.params.id) }));

  app.delete<{ Params: { id: string } }>('/api/load-tests/:id', async (request) => ({ success: true, data: await loadTests.cancel(request.params.id) }));
}
