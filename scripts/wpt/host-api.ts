/**
 * The host API the Spillway column gives its isolates: the platform's own capability modules
 * (src/runtime/capabilities/*), so tests exercise the same host side a deployed function gets.
 * Outbound fetch refuses loopback addresses by default; the runner allows exactly the static
 * server that serves the WPT folder.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { composeHostApi, type HostApi } from '../../src/runtime/host-api.js';

const CAPABILITIES = fileURLToPath(new URL('../../src/runtime/capabilities/', import.meta.url));

function isHostApiPart(value: unknown): value is Partial<HostApi> {
  if (!value || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return (typeof v.async === 'object' && v.async !== null) || (typeof v.sync === 'object' && v.sync !== null);
}

export interface WptHostApi {
  api: HostApi;
  /** Names of the capability parts in use, for the report. */
  parts: string[];
  /** Releases what the parts hold (fetch's connection pool). */
  close(): Promise<void>;
}

/**
 * Composes every capability module's host API part: ready-made parts (exported objects with
 * `async`/`sync` methods), and outbound fetch built with `createFetchCapability({ allowHosts })`.
 * Parts that need platform services (the key-value store, analytics) are factories taking those
 * services and are left out: no WPT file uses them.
 */
export async function buildHostApi(allowHosts: string[]): Promise<WptHostApi> {
  const parts: Array<Partial<HostApi>> = [];
  const names: string[] = [];
  const closers: Array<() => Promise<void>> = [];
  let files: string[] = [];
  try {
    files = readdirSync(CAPABILITIES).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).sort();
  } catch {
    files = [];
  }
  for (const file of files) {
    const mod = (await import(pathToFileURL(`${CAPABILITIES}${file}`).href)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(mod)) {
      if (isHostApiPart(value)) {
        parts.push(value);
        names.push(name);
      } else if (name === 'createFetchCapability' && typeof value === 'function') {
        const capability = (value as (o: { allowHosts: string[] }) => Partial<HostApi> & { close?: () => Promise<void> })({ allowHosts });
        parts.push({ async: capability.async, sync: capability.sync });
        names.push(`${name}({ allowHosts: [${allowHosts.join(', ')}] })`);
        if (capability.close) closers.push(() => capability.close!());
      }
    }
  }
  return {
    api: composeHostApi(...parts),
    parts: names,
    close: async () => {
      await Promise.all(closers.map((c) => c()));
    },
  };
}
