/**
 * Web platform globals other than the Fetch API object model (runs inside the isolate):
 * encoding, URL, streams, abort, base64, structuredClone, crypto, performance.
 * Filled in by the web-platform work (issue 4); see docs/web-platform.md.
 */
import { ReadableStream } from 'web-streams-polyfill';
import { TextDecoder, TextEncoder } from './fetch-api.js';

export function installCoreGlobals(g: typeof globalThis): void {
  Object.assign(g, { ReadableStream, TextEncoder, TextDecoder });
}
