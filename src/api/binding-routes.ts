/**
 * The management API over each function's binding data: its key-value store
 * (`/api/functions/:id/kv`) and its analytics events (`/api/functions/:id/analytics`), in the
 * `{ success, data }` envelope. The same KvService the function's `Platform.db` / `env.KV` use
 * does the work, so limits and errors are the same both ways (docs/api.md).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SpillwayError } from '../core/errors.js';
import type { Platform } from '../platform.js';
import { parseOrThrow } from '../protocol/schemas.js';
import type { KvEntry, KvKeyInfo } from '../storage/types.js';

/** A 1 MiB value as JSON text can take several times its size (escapes, base64); the service checks the real size. */
const KV_BODY_LIMIT = 8 * 1024 * 1024;

const kvPutSchema = z
  .object({
    value: z.unknown().refine((v) => v !== undefined, 'is required'),
    type: z.enum(['text', 'json', 'bytes']).optional(),
    expiration: z.number().optional(),
    expirationTtl: z.number().optional(),
    metadata: z.unknown().optional(),
  })
  .strict();

const kvListSchema = z
  .object({
    prefix: z.string().optional(),
    limit: z.coerce.number().optional(),
    cursor: z.string().optional(),
  })
  .strict();

const analyticsQuerySchema = z
  .object({
    name: z.string().min(1, 'must not be empty').optional(),
    since: z
      .string()
      .refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO-8601 time like 2026-01-01T00:00:00Z')
      .transform((s) => new Date(s).toISOString())
      .optional(),
    limit: z.coerce.number().int('must be a whole number').min(1, 'must be between 1 and 1000').max(1000, 'must be between 1 and 1000').optional(),
  })
  .strict();

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function keyView(k: KvKeyInfo) {
  return { key: k.key, type: k.type, size: k.size, metadata: k.metadata, expiresAt: k.expiresAt === null ? null : new Date(k.expiresAt).toISOString(), updatedAt: k.updatedAt };
}

/** An entry as the API shows it: text as a string, JSON as its value, bytes as base64. */
function entryView(e: KvEntry) {
  const buf = Buffer.from(e.value.buffer, e.value.byteOffset, e.value.byteLength);
  const value = e.type === 'bytes' ? buf.toString('base64') : e.type === 'json' ? (JSON.parse(buf.toString('utf8')) as unknown) : buf.toString('utf8');
  return { ...keyView({ ...e, size: e.value.byteLength }), value };
}

export async function bindingRoutes(app: FastifyInstance, platform: Platform): Promise<void> {
  const { functions, kv, analytics } = platform;

  app.get<{ Params: { id: string }; Querystring: Record<string, string> }>('/api/functions/:id/kv', async (request) => {
    const fn = await functions.resolve(request.params.id);
    const query = parseOrThrow(kvListSchema, request.query, 'query');
    const listing = await kv.list(fn.id, query);
    return { success: true, data: { keys: listing.keys.map(keyView), listComplete: listing.complete, cursor: listing.cursor } };
  });

  app.get<{ Params: { id: string; '*': string } }>('/api/functions/:id/kv/*', async (request) => {
    const fn = await functions.resolve(request.params.id);
    const key = request.params['*'];
    const entry = await kv.get(fn.id, key);
    if (!entry) throw new SpillwayError('KV_KEY_NOT_FOUND', `Function "${fn.name}" has no key-value entry under ${JSON.stringify(key)}.`, { key });
    return { success: true, data: entryView(entry) };
  });

  app.put<{ Params: { id: string; '*': string } }>('/api/functions/:id/kv/*', { bodyLimit: KV_BODY_LIMIT }, async (request) => {
    const fn = await functions.resolve(request.params.id);
    const body = parseOrThrow(kvPutSchema, request.body ?? {}, 'body');
    const type = body.type ?? (typeof body.value === 'string' ? 'text' : 'json');
    let value: string | Uint8Array;
    if (type === 'bytes') {
      if (typeof body.value !== 'string' || !BASE64.test(body.value)) throw new SpillwayError('VALIDATION_FAILED', 'value: must be a base64 string when type is "bytes"');
      value = new Uint8Array(Buffer.from(body.value, 'base64'));
    } else if (type === 'json') {
      value = JSON.stringify(body.value);
    } else {
      if (typeof body.value !== 'string') throw new SpillwayError('VALIDATION_FAILED', 'value: must be a string when type is "text" (send type "json" to store other JSON values)');
      value = body.value;
    }
    const entry = await kv.put(fn.id, { key: request.params['*'], value, type, expiration: body.expiration, expirationTtl: body.expirationTtl, metadata: body.metadata });
    return { success: true, data: entryView(entry) };
  });

  app.delete<{ Params: { id: string; '*': string } }>('/api/functions/:id/kv/*', async (request) => {
    const fn = await functions.resolve(request.params.id);
    const key = request.params['*'];
    return { success: true, data: { key, deleted: await kv.delete(fn.id, key) } };
  });

  app.get<{ Params: { id: string }; Querystring: Record<string, string> }>('/api/functions/:id/analytics', async (request) => {
    const fn = await functions.resolve(request.params.id);
    const query = parseOrThrow(analyticsQuerySchema, request.query, 'query');
    return { success: true, data: await analytics.list({ functionId: fn.id, ...query }) };
  });
}
