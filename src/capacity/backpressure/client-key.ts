/**
 * Who a request counts against for rate limiting: its API key (`x-api-key`), else its bearer
 * token (`Authorization: Bearer …`), else the client IP. Secrets are never kept: a key or token
 * becomes a SHA-256 digest (truncated to 128 bits) before it is used as a bucket name.
 */
import { createHash } from 'node:crypto';

export interface ClientRequestLike {
  headers: Record<string, string | string[] | undefined>;
  /** The peer address (Fastify's `request.ip`). */
  ip: string;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex').slice(0, 32);
}

/** `key:<digest>`, `bearer:<digest>` or `ip:<address>`. */
export function clientKey(request: ClientRequestLike): string {
  const apiKey = first(request.headers['x-api-key'])?.trim();
  if (apiKey) return `key:${digest(apiKey)}`;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(first(request.headers.authorization) ?? '')?.[1];
  if (bearer) return `bearer:${digest(bearer)}`;
  return `ip:${request.ip}`;
}

/** How a key is named in messages: the kind only, never the digest or the secret. */
export function describeClientKey(key: string): string {
  if (key.startsWith('key:')) return 'this API key';
  if (key.startsWith('bearer:')) return 'this bearer token';
  return `client IP ${key.slice(3)}`;
}
