/**
 * The management API under `/api` (seed 001's routes and envelope): functions, executions,
 * dead letters, health. Every success is `{ success: true, data }`.
 */
import type { FastifyInstance } from 'fastify';
import { SpillwayError } from '../core/errors.js';
import type { Platform } from '../platform.js';
import { createFunctionSchema, executeSchema, executionQuerySchema, parseOrThrow, updateFunctionSchema } from '../protocol/schemas.js';

const CODE_BODY_LIMIT = 12 * 1024 * 1024;

export async function apiRoutes(app: FastifyInstance, platform: Platform): Promise<void> {
  const { functions, executions } = platform;

  app.get('/api/health', async () => ({
    success: true,
    data: { status: 'ok', node: process.versions.node, store: platform.config.SPILLWAY_STORE, queue: platform.config.SPILLWAY_QUEUE, runtime: platform.runtime.stats(), activeExecutions: platform.worker.activeCount, backpressure: { circuits: platform.backpressure.breakers.notClosed(), shedding: platform.backpressure.shedder.sheddingLevel } },
  }));

  app.get('/api/functions', async () => ({ success: true, data: await functions.list() }));

  app.post('/api/functions', { bodyLimit: CODE_BODY_LIMIT }, async (request, reply) => {
    const body = parseOrThrow(createFunctionSchema, request.body ?? {}, 'body');
    return reply.code(201).send({ success: true, data: await functions.create(body) });
  });

  app.get<{ Params: { id: string } }>('/api/functions/:id', async (request) => ({ success: true, data: await functions.get(request.params.id) }));

  app.put<{ Params: { id: string } }>('/api/functions/:id', { bodyLimit: CODE_BODY_LIMIT }, async (request) => {
    const body = parseOrThrow(updateFunctionSchema, request.body ?? {}, 'body');
    const updated = await functions.update(request.params.id, body);
    // New code closes the function's circuit breaker: the failures were probably the old code's.
    if (body.code !== undefined || body.files !== undefined) platform.backpressure.functionDeployed(updated.id);
    return { success: true, data: updated };
  });

  app.delete<{ Params: { id: string } }>('/api/functions/:id', async (request) => {
    const fn = await functions.remove(request.params.id);
    platform.backpressure.functionDeleted(fn.id);
    return { success: true, data: { id: fn.id, name: fn.name, deleted: true } };
  });

  app.get<{ Params: { id: string } }>('/api/functions/:id/versions', async (request) => ({ success: true, data: await functions.versions(request.params.id) }));

  app.post<{ Params: { id: string } }>('/api/functions/:id/execute', async (request, reply) => {
    // Backpressure first (docs/backpressure.md): a refused submission reads and writes nothing.
    platform.backpressure.rateLimit(request);
    const fn = await functions.resolve(request.params.id);
    const body = parseOrThrow(executeSchema, request.body ?? {}, 'body');
    await platform.backpressure.admitSubmission(fn, body.priority);
    const execution = await executions.submit(fn, body.input);
    return reply.code(202).send({ success: true, data: { executionId: execution.id, status: execution.status, priority: body.priority, message: 'Function execution started' } });
  });

  app.get<{ Querystring: Record<string, string> }>('/api/executions', async (request) => {
    const query = parseOrThrow(executionQuerySchema, request.query, 'query');
    if (query.functionId) query.functionId = (await functions.resolve(query.functionId)).id;
    return { success: true, data: await executions.list(query) };
  });

  app.get<{ Params: { id: string } }>('/api/executions/:id', async (request) => ({ success: true, data: await executions.get(request.params.id) }));

  app.get<{ Querystring: { limit?: string } }>('/api/dead-letters', async (request) => {
    const limit = request.query.limit === undefined ? undefined : Number(request.query.limit);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 1000)) {
      throw new SpillwayError('VALIDATION_FAILED', `limit: got ${JSON.stringify(request.query.limit)}, must be a whole number between 1 and 1000`);
    }
    return { success: true, data: await executions.listDeadLetters(limit) };
  });

  app.post<{ Params: { id: string } }>('/api/dead-letters/:id/replay', async (request, reply) => {
    const execution = await executions.replay(request.params.id, (id) => functions.resolve(id));
    return reply.code(202).send({ success: true, data: { executionId: execution.id, status: execution.status, replayOf: request.params.id } });
  });
}
