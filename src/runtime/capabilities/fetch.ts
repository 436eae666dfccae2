/**
 * Host side of outbound `fetch()` from handlers. The guest (src/runtime/guest/web/fetch-api.ts)
 * builds the Request; this module performs it with undici, off the isolate's thread, and streams
 * both bodies one chunk per host call, so neither side buffers a whole body and an invocation
 * waiting on the network holds no thread and accrues no CPU.
 *
 * Host methods (all asynchronous):
 * - `fetch.start {url, method, headers, body, streamBody, redirect}` → `{id, head}`: starts the
 *   request. With a bytes/text body (or none) it answers once the response head arrived; with
 *   `streamBody` it answers at once (`head` null) and the guest sends the body with `fetch.write`
 *   and asks for the head with `fetch.head`.
 * - `fetch.write {id, chunk} | {id, end: true}`: one request-body chunk; answers when undici took
 *   it (backpressure), so at most one chunk per request waits on the host.
 * - `fetch.head {id}` → `{status, statusText, headers, url, redirected}`.
 * - `fetch.read {id}` → the next response-body chunk, or null at the end.
 * - `fetch.cancel {id}`: aborts the request and drops its body (guest AbortSignal, body cancel).
 *
 * Policy, per invocation: at most `maxConcurrent` requests open at once (a request is open until
 * its body ended, failed or was cancelled), each bounded by `timeoutMs` from start to the end of
 * its body, and all aborted when the invocation ends (`ctx.signal`).
 *
 * SSRF: addresses that are not public unicast (loopback, private, link-local, unspecified,
 * carrier-grade NAT, multicast, reserved, as classified by ipaddr.js) are refused unless the
 * request's host[:port] is on the allow-list. The check runs when undici connects, on the address
 * actually dialled: IP literals directly, host names in the DNS lookup undici's connector calls
 * (every hop of a redirect connects anew, so a redirect to a private address is refused too), and
 * again on the connected socket's remote address. There is no window between the check and the
 * connect for a rebinding DNS answer to slip through.
 *
 * Circuit breaker per downstream origin (`scheme://host:port`, docs/backpressure.md), when the
 * platform supplies `downstreamBreaker`: a connection failure, a timeout before the response head,
 * or a 5xx answer counts as a failure, any other answer as a success; a refused address, an abort
 * by the handler or the end of the invocation counts as neither. While the origin's circuit is
 * open, `fetch()` rejects at once with a TypeError naming the origin and the wait.
 */
import type { FetchHead } from '../guest/protocol.js';
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import { isIP, type Socket } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent, buildConnector, fetch as undiciFetch } from 'undici';
import type { HostApi, HostCallContext } from '../host-api.js';

export interface FetchCapabilityOptions {
  /**
   * `host` or `host:port` entries (`[v6]:port` for IPv6) that may be reached even when they are or
   * resolve to loopback/private/link-local addresses. Case-insensitive; no wildcards.
   */
  allowHosts?: readonly string[];
  /** Longest one outbound request may take, from start to the end of its response body, ms. */
  timeoutMs?: number;
  /** Most outbound requests one invocation may have open at once. */
  maxConcurrent?: number;
  /** Longest a TCP/TLS connect may take, ms. */
  connectTimeoutMs?: number;
  /** DNS lookup used to resolve host names (tests pass one that answers without a network). */
  lookup?: LookupFunction;
  /** The circuit breaker of an origin (`scheme://host:port`); without it, none. */
  downstreamBreaker?: (origin: string) => DownstreamBreaker;
}

/** The circuit breaker of one downstream origin, as the fetch capability uses it. */
export interface DownstreamBreaker {
  /** Whether a request may go out now (half-open: takes the one trial slot). */
  allow(): boolean;
  /** How long until a request may go out, when `allow()` said no. */
  readonly retryAfterMs: number;
  success(): void;
  failure(): void;
  /** The request ended with nothing to count (refused address, aborted). */
  release(): void;
}

export type LookupFunction = (hostname: string, options: LookupAllOptions, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

export interface FetchCapability extends Partial<HostApi> {
  async: HostApi['async'];
  /** Closes the connection pool. */
  close(): Promise<void>;
}

export const FETCH_DEFAULTS = { timeoutMs: 30_000, maxConcurrent: 32, connectTimeoutMs: 10_000 } as const;

/** Largest request-body chunk the guest may send in one `fetch.write`, bytes. */
const MAX_WRITE_BYTES = 1024 * 1024;

/** A request body the guest streams: one chunk at a time waits for undici to take it. */
class UploadChannel {
  private controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  private pending: { chunk: Uint8Array | null; resolve: () => void; reject: (e: unknown) => void } | null = null;
  private wanted: (() => void) | null = null;
  private failed: unknown = null;
  readonly stream: ReadableStream<Uint8Array>;

  constructor() {
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        pull: () =>
          new Promise<void>((resolve) => {
            this.wanted = resolve;
            this.deliver();
          }),
        cancel: (reason) => this.fail(reason ?? new Error('the request body was cancelled')),
      },
      { highWaterMark: 0 },
    );
  }

  /** Queues one chunk (null ends the body); settles when undici took it. */
  write(chunk: Uint8Array | null): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.pending) return Promise.reject(new TypeError('fetch: write the request body one chunk at a time (await each write).'));
    return new Promise<void>((resolve, reject) => {
      this.pending = { chunk, resolve, reject };
      this.deliver();
    });
  }

  fail(reason: unknown): void {
    if (this.failed) return;
    this.failed = reason;
    this.pending?.reject(reason);
    this.pending = null;
    try {
      this.controller?.error(reason);
    } catch {
      /* already closed */
    }
  }

  private deliver(): void {
    if (!this.pending || !this.wanted || !this.controller) return;
    const { chunk, resolve } = this.pending;
    const wanted = this.wanted;
    this.pending = null;
    this.wanted = null;
    if (chunk === null) this.controller.close();
    else this.controller.enqueue(chunk);
    wanted();
    resolve();
  }
}

interface OutboundFetch {
  id: number;
  url: string;
  abort: AbortController;
  deadline: NodeJS.Timeout;
  response: Promise<Response>;
  reader: ReadableStreamDefaultReader<Uint8Array> | null;
  upload: UploadChannel | null;
  closed: boolean;
  /** Reports the request's outcome to its origin's breaker; the first report wins. */
  report: (outcome: 'success' | 'failure' | 'neither') => void;
}

interface InvocationFetches {
  open: Map<number, OutboundFetch>;
}

/** Thrown at connect time for an address the policy refuses; its message reaches the guest. */
class RefusedAddressError extends Error {
  readonly code = 'SPILLWAY_FETCH_REFUSED';
}

/** ipaddr.js range names, as words for error messages. */
const RANGE_WORDS: Record<string, string> = {
  loopback: 'loopback',
  private: 'private',
  linkLocal: 'link-local',
  unspecified: 'unspecified',
  uniqueLocal: 'private (unique local)',
  carrierGradeNat: 'carrier-grade NAT',
  multicast: 'multicast',
  broadcast: 'broadcast',
  reserved: 'reserved',
};

/** Why an address is refused, or null when it is public unicast. */
export function nonPublicRange(address: string): string | null {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
  } catch {
    return 'unparseable';
  }
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  const range = parsed.range();
  if (range === 'unicast') return null;
  return RANGE_WORDS[range] ?? range;
}

/** Parses an allow-list entry into a matcher of (hostname, port). */
function allowEntry(entry: string): (hostname: string, port: number) => boolean {
  const trimmed = entry.trim().toLowerCase();
  const bad = () => new TypeError(`fetch allow-list: ${JSON.stringify(entry)} is not a host or host:port (IPv6 as [::1]:8080).`);
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([0-9a-f:.]+)\](?::(\d{1,5}))?$/.exec(trimmed);
  if (bracketed) [, host, portText] = bracketed;
  else if (isIP(trimmed) === 6) host = trimmed;
  else {
    const named = /^([a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?)(?::(\d{1,5}))?$/.exec(trimmed);
    if (!named) throw bad();
    [, host, portText] = named;
  }
  if (bracketed && isIP(host) !== 6) throw bad();
  const port = portText === undefined ? null : Number(portText);
  if (port !== null && (port < 1 || port > 65535)) throw new TypeError(`fetch allow-list: port ${port} in ${JSON.stringify(entry)} is out of range (1-65535).`);
  return (hostname, p) => hostname === host && (port === null || port === p);
}

/** Parses SPILLWAY_FETCH_ALLOW_HOSTS: comma- or space-separated host[:port] entries. */
export function parseAllowHosts(value: string | undefined): string[] {
  const entries = (value ?? '').split(/[\s,]+/).filter(Boolean);
  for (const entry of entries) allowEntry(entry);
  return entries;
}

function defaultPort(protocol: string): number {
  return protocol === 'https:' ? 443 : 80;
}

function asGuestTypeError(message: string): TypeError {
  return new TypeError(message);
}

/**
 * Creates the `fetch.*` host methods. One instance per platform: it owns the connection pool
 * (close it on shutdown) and the per-invocation bookkeeping.
 */
export function createFetchCapability(options: FetchCapabilityOptions = {}): FetchCapability {
  const timeoutMs = options.timeoutMs ?? FETCH_DEFAULTS.timeoutMs;
  const maxConcurrent = options.maxConcurrent ?? FETCH_DEFAULTS.maxConcurrent;
  const allow = (options.allowHosts ?? []).map(allowEntry);
  const resolveAll: LookupFunction = options.lookup ?? ((hostname, opts, cb) => dnsLookup(hostname, opts, cb));
  const isAllowed = (hostname: string, port: number) => allow.some((match) => match(hostname.replace(/^\[|\]$/g, '').toLowerCase(), port));

  const refusal = (hostname: string, address: string, range: string) =>
    new RefusedAddressError(
      `fetch: refused to connect to ${hostname === address ? address : `${hostname} (${address})`}: it is a ${range} address, and outbound requests may only reach public addresses. ` +
        `A self-hoster can allow this host with SPILLWAY_FETCH_ALLOW_HOSTS.`,
    );

  // Host names resolve through this lookup: only public addresses come back, so the connector
  // dials exactly the addresses that were checked.
  const guardedLookup = (name: string, lookupOptions: LookupOneOptions | LookupAllOptions, cb: (...args: unknown[]) => void) => {
    resolveAll(name, { ...lookupOptions, all: true }, (err, addresses) => {
      if (err) return cb(err);
      const list = addresses ?? [];
      const publicOnes = list.filter((a) => nonPublicRange(a.address) === null);
      if (publicOnes.length === 0) {
        const first = list[0];
        return cb(first ? refusal(name, first.address, nonPublicRange(first.address)!) : Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' }));
      }
      if ((lookupOptions as LookupAllOptions).all) cb(null, publicOnes);
      else cb(null, publicOnes[0].address, publicOnes[0].family);
    });
  };
  const connectTimeout = options.connectTimeoutMs ?? FETCH_DEFAULTS.connectTimeoutMs;
  const allowedConnect = buildConnector({ timeout: connectTimeout });
  const guardedConnect = buildConnector({ timeout: connectTimeout, lookup: guardedLookup } as buildConnector.BuildOptions);
  const agent = new Agent({
    connect(opts, callback) {
      const hostname = opts.hostname.replace(/^\[|\]$/g, '');
      const port = Number(opts.port) || defaultPort(opts.protocol);
      if (isAllowed(hostname, port)) {
        allowedConnect(opts, callback);
        return;
      }
      if (isIP(hostname)) {
        const range = nonPublicRange(hostname);
        if (range) {
          callback(refusal(hostname, hostname, range), null);
          return;
        }
      }
      guardedConnect(opts, (err, socket) => {
        if (err || !socket) return callback(err, null);
        // Belt and braces: the address the socket actually reached.
        const remote = (socket as Socket).remoteAddress;
        const range = remote ? nonPublicRange(remote) : null;
        if (range) {
          socket.destroy();
          return callback(refusal(hostname, remote!, range), null);
        }
        callback(null, socket);
      });
    },
  });

  const byInvocation = new Map<string, InvocationFetches>();
  let nextId = 1;

  function invocationState(ctx: HostCallContext): InvocationFetches {
    let s = byInvocation.get(ctx.invocationId);
    if (!s) {
      const created: InvocationFetches = { open: new Map() };
      byInvocation.set(ctx.invocationId, created);
      const end = () => {
        byInvocation.delete(ctx.invocationId);
        for (const f of created.open.values()) close(created, f, ctx.signal.reason ?? new Error('the invocation ended'));
      };
      if (ctx.signal.aborted) queueMicrotask(end);
      else ctx.signal.addEventListener('abort', end, { once: true });
      s = created;
    }
    return s;
  }

  function close(s: InvocationFetches, f: OutboundFetch, reason?: unknown): void {
    if (f.closed) return;
    f.closed = true;
    clearTimeout(f.deadline);
    s.open.delete(f.id);
    if (reason !== undefined) {
      f.abort.abort(reason);
      f.upload?.fail(reason);
      f.reader?.cancel(reason).catch(() => {});
    }
  }

  function find(args: unknown, ctx: HostCallContext): { s: InvocationFetches; f: OutboundFetch | undefined } {
    const id = Number((args as { id?: unknown } | null)?.id);
    const s = invocationState(ctx);
    return { s, f: s.open.get(id) };
  }

  /** undici's "fetch failed" with the cause a handler author can act on. */
  function describeFailure(f: OutboundFetch, err: unknown): Error {
    if (f.abort.signal.aborted) {
      const reason = f.abort.signal.reason;
      return reason instanceof Error ? reason : new Error(String(reason));
    }
    const cause = (err as { cause?: unknown } | null)?.cause;
    if (cause instanceof RefusedAddressError) return asGuestTypeError(cause.message);
    if (err instanceof TypeError && cause instanceof Error) {
      const code = (cause as { code?: string }).code;
      return asGuestTypeError(`fetch failed for ${f.url}: ${code && !cause.message.includes(code) ? `${code} ` : ''}${cause.message}`);
    }
    return err instanceof Error ? err : new Error(String(err));
  }

  async function head(f: OutboundFetch): Promise<FetchHead> {
    let response: Response;
    try {
      response = await f.response;
    } catch (err) {
      throw describeFailure(f, err);
    }
    if (!f.reader && response.body) f.reader = response.body.getReader();
    return {
      status: response.status,
      statusText: response.statusText,
      headers: [...response.headers],
      url: response.url,
      redirected: response.redirected,
    };
  }

  const api: HostApi['async'] = {
    'fetch.start': async (raw, ctx) => {
      const args = (raw ?? {}) as { url?: unknown; method?: unknown; headers?: unknown; body?: unknown; streamBody?: unknown; redirect?: unknown };
      if (typeof args.url !== 'string') throw new TypeError('fetch.start: url must be a string.');
      let url: URL;
      try {
        url = new URL(args.url);
      } catch {
        throw new TypeError(`fetch: ${JSON.stringify(args.url)} is not a valid URL.`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`fetch: only http: and https: URLs can be fetched, got ${url.protocol}`);
      const method = typeof args.method === 'string' ? args.method : 'GET';
      const headers = Array.isArray(args.headers) ? (args.headers as Array<[string, string]>).map(([k, v]) => [String(k), String(v)] as [string, string]) : [];
      const redirect = args.redirect === 'manual' || args.redirect === 'error' ? args.redirect : 'follow';
      const body = args.body;
      if (body !== null && body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)) throw new TypeError('fetch.start: body must be a string, bytes or null.');

      const s = invocationState(ctx);
      if (ctx.signal.aborted) throw new Error('the invocation ended');
      const origin = `${url.protocol}//${url.hostname}:${url.port || defaultPort(url.protocol)}`;
      const breaker = options.downstreamBreaker?.(origin);
      if (breaker && !breaker.allow()) {
        throw new TypeError(
          `fetch: not sending to ${origin}: its circuit breaker is open after repeated failures (errors, timeouts or 5xx answers); try again in ${Math.max(1, Math.ceil(breaker.retryAfterMs / 1000))} s.`,
        );
      }
      let reported = false;
      const report = (outcome: 'success' | 'failure' | 'neither'): void => {
        if (reported || !breaker) return;
        reported = true;
        if (outcome === 'success') breaker.success();
        else if (outcome === 'failure') breaker.failure();
        else breaker.release();
      };
      if (s.open.size >= maxConcurrent) {
        report('neither');
        throw new TypeError(
          `fetch: ${s.open.size} outbound requests are already open in this invocation (the limit is ${maxConcurrent}); read or cancel earlier response bodies before starting more.`,
        );
      }
      const id = nextId++;
      const abort = new AbortController();
      const upload = args.streamBody === true ? new UploadChannel() : null;
      const f: OutboundFetch = {
        id,
        url: url.href,
        abort,
        upload,
        reader: null,
        closed: false,
        report,
        response: null as unknown as Promise<Response>,
        deadline: setTimeout(() => {
          const err = new Error(`fetch: no complete response from ${url.href} within ${timeoutMs} ms; the request was aborted.`);
          err.name = 'TimeoutError';
          close(s, f, err);
        }, timeoutMs),
      };
      s.open.set(id, f);
      f.response = undiciFetch(url, {
        method,
        headers,
        body: upload ? upload.stream : (body as string | Uint8Array | null | undefined) ?? null,
        redirect,
        signal: abort.signal,
        dispatcher: agent,
        ...(upload ? { duplex: 'half' as const } : {}),
      }) as unknown as Promise<Response>;
      // The breaker hears how the response head went, whoever (if anyone) waits for it.
      f.response.then(
        (response) => f.report(response.status >= 500 ? 'failure' : 'success'),
        (err: unknown) => {
          // Refused by the SSRF policy, or aborted by the handler or the invocation's end: nothing the origin did.
          const cause = (err as { cause?: unknown } | null)?.cause;
          const reason: unknown = abort.signal.aborted ? abort.signal.reason : null;
          f.report(cause instanceof RefusedAddressError || (abort.signal.aborted && (reason as Error | null)?.name !== 'TimeoutError') ? 'neither' : 'failure');
          close(s, f);
        },
      );
      if (upload) return { id, head: null };
      try {
        return { id, head: await head(f) };
      } catch (err) {
        close(s, f);
        throw err;
      }
    },

    'fetch.write': async (raw, ctx) => {
      const { f } = find(raw, ctx);
      if (!f?.upload) throw new TypeError('fetch.write: no such streaming request (it ended or was cancelled).');
      const args = raw as { chunk?: unknown; end?: unknown };
      if (args.end === true) return f.upload.write(null);
      if (!(args.chunk instanceof Uint8Array)) throw new TypeError('fetch.write: chunk must be a Uint8Array.');
      if (args.chunk.byteLength > MAX_WRITE_BYTES) throw new RangeError(`fetch.write: a chunk of ${args.chunk.byteLength} bytes is larger than ${MAX_WRITE_BYTES}.`);
      return f.upload.write(args.chunk);
    },

    'fetch.head': async (raw, ctx) => {
      const { s, f } = find(raw, ctx);
      if (!f) throw new TypeError('fetch.head: no such request (it ended or was cancelled).');
      try {
        return await head(f);
      } catch (err) {
        close(s, f);
        throw err;
      }
    },

    'fetch.read': async (raw, ctx) => {
      const { s, f } = find(raw, ctx);
      if (!f) throw new TypeError('fetch.read: no such request (it ended or was cancelled).');
      if (!f.reader) {
        close(s, f);
        return null;
      }
      try {
        const { done, value } = await f.reader.read();
        if (done) {
          close(s, f);
          return null;
        }
        return new Uint8Array(value);
      } catch (err) {
        const failure = describeFailure(f, err);
        close(s, f);
        throw failure;
      }
    },

    'fetch.cancel': async (raw, ctx) => {
      const { s, f } = find(raw, ctx);
      if (!f) return null;
      const abortError = new Error('The fetch was aborted by the handler.');
      abortError.name = 'AbortError';
      close(s, f, abortError);
      return null;
    },
  };

  return {
    async: api,
    close: () => agent.close(),
  };
}

