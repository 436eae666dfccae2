import { randomUUID } from 'node:crypto';

/** Random, URL-safe identifiers with a readable prefix: `fn_…`, `ex_…`, `dl_…`. */
export function newId(prefix: 'fn' | 'ex' | 'dl' | 'q' | 'se' | 'lt'): string {
  return `${prefix}_${randomUUID().replace(/-/g, '')}`;
}
