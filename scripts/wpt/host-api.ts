/**
 * The host API the Spillway column gives its isolates: the platform's own capability modules,
 * composed as src/platform.ts composes them, so tests exercise the host side a deployed function
 * gets. Outbound fetch refuses loopback addresses by default; the runner allows exactly the static
 * server that serves the WPT folder (what `SPILLWAY_FETCH_ALLOW_HOSTS` does for a self-hoster).
 * The key-value store and analytics need the metadata store and no WPT file uses them, so they
 * are left out.
 */
import { cryptoHostApi } from '../../src/runtime/capabilities/crypto.js';
import { createFetchCapability } from '../../src/runtime/capabilities/fetch.js';
import { composeHostApi, type HostApi } from '../../src/runtime/host-api.js';

export interface WptHostApi {
  api: HostApi;
  /** What is in it, for the report. */
  parts: string[];
  /** Closes outbound fetch's connection pool. */
  close(): Promise<void>;
}

/** `allowHosts`: `host:port` entries outbound fetch may reach although they are loopback. */
export function buildHostApi(allowHosts: string[]): WptHostApi {
  const outboundFetch = createFetchCapability({ allowHosts });
  return {
    api: composeHostApi(cryptoHostApi, outboundFetch),
    parts: ['crypto', `fetch (allowHosts: ${allowHosts.join(', ')})`],
    close: () => outboundFetch.close(),
  };
}
