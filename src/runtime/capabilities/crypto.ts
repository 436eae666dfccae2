/**
 * Host side of the Web Crypto API: the randomness behind `crypto.getRandomValues`/`randomUUID`
 * and the hashes behind `crypto.subtle.digest`, from node:crypto (OpenSSL). Everything else of
 * the Web Crypto API that Spillway offers runs inside the isolate (src/runtime/guest/web/crypto.ts).
 *
 * - `crypto.randomBytes` (sync): `getRandomValues` must answer at once; at most 65,536 bytes per
 *   call, the limit the Web Crypto API itself puts on one `getRandomValues` call.
 * - `crypto.digest` (async): hashes a buffer with SHA-1/2/3 or SHAKE, off the isolate's thread
 *   time; the guest validates the algorithm first, so a bad name never crosses.
 */
import { createHash, randomFillSync } from 'node:crypto';
import type { HostApi } from '../host-api.js';

/** The Web Crypto API's cap on one getRandomValues call, in bytes. */
export const MAX_RANDOM_BYTES = 65_536;

/** Web Crypto digest names (normalised, upper case) to OpenSSL's. */
const DIGESTS: Record<string, string> = {
  'SHA-1': 'sha1',
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
  'SHA3-256': 'sha3-256',
  'SHA3-384': 'sha3-384',
  'SHA3-512': 'sha3-512',
  CSHAKE128: 'shake128',
  CSHAKE256: 'shake256',
};

/** Largest input `crypto.digest` accepts, in bytes: the isolate's own memory limit bounds it long before. */
const MAX_DIGEST_INPUT_BYTES = 1024 * 1024 * 1024;

function randomBytes(length: unknown): Uint8Array {
  const n = Number(length);
  if (!Number.isInteger(n) || n < 0 || n > MAX_RANDOM_BYTES) {
    throw new RangeError(`crypto.randomBytes: length must be an integer between 0 and ${MAX_RANDOM_BYTES}, got ${String(length)}`);
  }
  return randomFillSync(new Uint8Array(n));
}

interface DigestArgs {
  algorithm: string;
  data: Uint8Array | ArrayBuffer;
  /** Output length in bytes, for the extendable-output functions (cSHAKE). */
  outputBytes?: number;
}

function digest(args: unknown): ArrayBuffer {
  const { algorithm, data, outputBytes } = (args ?? {}) as DigestArgs;
  const name = DIGESTS[String(algorithm).toUpperCase()];
  if (!name) throw Object.assign(new Error(`Unrecognized algorithm name: ${String(algorithm)}`), { name: 'NotSupportedError' });
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : data instanceof Uint8Array ? data : null;
  if (!bytes) throw new TypeError('crypto.digest: data must be an ArrayBuffer or a Uint8Array');
  if (bytes.byteLength > MAX_DIGEST_INPUT_BYTES) throw new RangeError(`crypto.digest: input of ${bytes.byteLength} bytes is over the ${MAX_DIGEST_INPUT_BYTES}-byte limit`);
  const xof = name.startsWith('shake');
  if (xof && (!Number.isInteger(outputBytes) || (outputBytes as number) < 0)) throw new TypeError('crypto.digest: cSHAKE needs an output length');
  if (xof && outputBytes === 0) return new ArrayBuffer(0);
  const out = createHash(name, xof ? { outputLength: outputBytes } : undefined).update(bytes).digest();
  return out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength);
}

export const cryptoHostApi: Partial<HostApi> = {
  sync: { 'crypto.randomBytes': randomBytes },
  async: { 'crypto.digest': async (args) => digest(args) },
};
