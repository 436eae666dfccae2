/**
 * URL and URLSearchParams from whatwg-url, the URL Standard's reference implementation (by its
 * editors; the jsdom project keeps it current, with tr46 for IDNA/UTS #46). Loaded lazily by
 * core.ts: tr46's mapping table is most of the guest's size and most functions never touch URL.
 *
 * whatwg-url's parser is a literal transcription of the spec's state machine and costs ~12 µs
 * for a short URL inside an isolate, and every incoming request parses its URL at least once
 * (undici's Request constructor). Handlers see the same few URLs again and again, so fresh parses
 * without a base (the only options the cache accepts) are memoised: the URL record is pure data
 * (strings, numbers, and arrays for the path and an IPv6 host), so a hit hands out a deep copy and
 * no caller can change what another gets. Setters and relative parses go through the parser as
 * before.
 */
// The CommonJS module object itself (esbuild's default import of a CommonJS module), so replacing
// its `basicURLParse` is seen by URL-impl, which calls `usm.basicURLParse(...)` at each parse.
import usm from 'whatwg-url/lib/url-state-machine.js';

export { URL, URLSearchParams } from 'whatwg-url';

interface UrlRecord {
  scheme: string;
  username: string;
  password: string;
  host: string | number | number[] | null;
  port: number | null;
  path: string[] | string;
  query: string | null;
  fragment: string | null;
}

const MAX_ENTRIES = 256;
const MAX_INPUT = 2048;
const cache = new Map<string, UrlRecord | null>();
const parse = usm.basicURLParse as (input: string, options?: Record<string, unknown>) => UrlRecord | null;

function copy(r: UrlRecord): UrlRecord {
  return {
    scheme: r.scheme,
    username: r.username,
    password: r.password,
    host: Array.isArray(r.host) ? r.host.slice() : r.host,
    port: r.port,
    path: Array.isArray(r.path) ? r.path.slice() : r.path,
    query: r.query,
    fragment: r.fragment,
  };
}

usm.basicURLParse = function basicURLParse(input: string, options?: Record<string, unknown>): UrlRecord | null {
  const plain = options === undefined || (Object.keys(options).length === 1 && options.baseURL === null) || Object.keys(options).length === 0;
  if (!plain || typeof input !== 'string' || input.length > MAX_INPUT) return parse(input, options);
  let record = cache.get(input);
  if (record === undefined) {
    record = parse(input, options);
    if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value as string);
    cache.set(input, record === null ? null : copy(record));
    return record;
  }
  return record === null ? null : copy(record);
};
