/**
 * The one error handler: every failure leaves the API as `{ success: false, error: { code,
 * message } }` with the catalogue's status, and a header saying whether the platform or the
 * user's function caused it.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { FUNCTION_FAULT_CODES, SpillwayError } from '../core/errors.js';

export const ERROR_SOURCE_HEADER = 'x-spillway-error-source';

/** Maps Fastify's own errors (body parsing, limits) onto the catalogue. */
export function toSpillwayError(err: unknown, bodyLimit: number): SpillwayError {
  if (err instanceof SpillwayError) return err;
  const e = err as FastifyError & { statusCode?: number };
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new SpillwayError('PAYLOAD_TOO_LARGE', `The request body is larger than the ${bodyLimit}-byte limit; send a smaller body.`, { limitBytes: bodyLimit });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new SpillwayError('UNSUPPORTED_MEDIA_TYPE', `Content-Type is not supported here; send JSON with \`content-type: application/json\`.`);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new SpillwayError('MALFORMED_JSON', 'The body is empty but content-type says JSON; send a JSON body or drop the header.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new SpillwayError('MALFORMED_JSON', `The body is not valid JSON: ${e.message.replace(/^Body is not valid JSON but content-type is set to 'application\/json'$/, 'it does not parse')}.`);
  }
  if (e instanceof SyntaxError || (e?.statusCode === 400 && /JSON/i.test(e.message))) {
    return new SpillwayError('MALFORMED_JSON', `The body is not valid JSON: ${e.message}.`);
  }
  if (e?.code === 'FST_ERR_VALIDATION' || e?.validation) return new SpillwayError('VALIDATION_FAILED', e.message);
  if (e?.statusCode === 413) return new SpillwayError('PAYLOAD_TOO_LARGE', `The request body is larger than the ${bodyLimit}-byte limit.`, { limitBytes: bodyLimit });
  return new SpillwayError('INTERNAL', 'An internal error occurred; it has been logged.');
}

/** The headers every error response carries: where it came from, and for backpressure how long to wait. */
export function errorHeaders(error: SpillwayError): Array<[string, string]> {
  const headers: Array<[string, string]> = [
    [ERROR_SOURCE_HEADER, FUNCTION_FAULT_CODES.has(error.code) ? 'function' : 'platform'],
    ['content-type', 'application/json; charset=utf-8'],
  ];
  // Backpressure errors carry how long to wait (details.retryAfterMs); HTTP says it in whole seconds.
  const retryAfterMs = error.details?.retryAfterMs;
  if (typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs)) headers.push(['retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000)))]);
  return headers;
}

export function errorBody(error: SpillwayError): { success: false; error: ReturnType<SpillwayError['toJSON']> } {
  return { success: false, error: error.toJSON() };
}

export function sendError(reply: FastifyReply, error: SpillwayError): FastifyReply {
  for (const [name, value] of errorHeaders(error)) reply.header(name, value);
  return reply.code(error.status).send(errorBody(error));
}

export function errorHandler(bodyLimit: number) {
  return (err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const error = toSpillwayError(err, bodyLimit);
    if (error.code === 'INTERNAL') request.log.error({ err }, 'unhandled error');
    return sendError(reply, error);
  };
}
