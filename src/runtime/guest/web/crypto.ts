/**
 * The Web Crypto API's `crypto` global: getRandomValues, randomUUID and SubtleCrypto.digest.
 * Randomness and hashing come from the host (node:crypto, src/runtime/capabilities/crypto.ts)
 * through the host bridge; argument checking and errors follow the Web Crypto spec here, so a
 * bad call fails in the isolate with the DOMException the spec names and never reaches the host.
 */
import { DOMException, QuotaExceededError } from './dom-exception.js';
import { hostCall, hostSync } from '../host.js';
import { webidlInterface } from './webidl.js';

const MAX_RANDOM_BYTES = 65_536;
const INTEGER_ARRAYS = new Set(['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array']);
const typedArrayTag = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag)!.get!;

let constructing = false;

function illegal(): never {
  throw new TypeError('Illegal constructor');
}

/** Copies a BufferSource's bytes now (the spec takes a copy when the method is called). */
function bufferSourceBytes(data: unknown, method: string): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0));
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer);
  if (typeof SharedArrayBuffer === 'function' && data instanceof SharedArrayBuffer) throw new TypeError(`Failed to execute '${method}' on 'SubtleCrypto': the data must not be a SharedArrayBuffer.`);
  throw new TypeError(`Failed to execute '${method}' on 'SubtleCrypto': The provided value is not of type '(ArrayBuffer or ArrayBufferView)'.`);
}

const DIGESTS = new Map<string, { name: string; xof: boolean }>(
  [
    ['SHA-1', false],
    ['SHA-256', false],
    ['SHA-384', false],
    ['SHA-512', false],
    ['SHA3-256', false],
    ['SHA3-384', false],
    ['SHA3-512', false],
    ['cSHAKE128', true],
    ['cSHAKE256', true],
  ].map(([name, xof]) => [String(name).toUpperCase(), { name: String(name), xof: Boolean(xof) }]),
);

interface NormalizedDigest {
  name: string;
  outputBytes?: number;
}

/** Web Crypto "normalize an algorithm" for the digest operation. */
function normalizeDigest(algorithm: unknown): NormalizedDigest {
  let alg: Record<string, unknown>;
  if (typeof algorithm === 'string') alg = { name: algorithm };
  else if (typeof algorithm === 'object' && algorithm !== null) alg = algorithm as Record<string, unknown>;
  else throw new TypeError("Failed to execute 'digest' on 'SubtleCrypto': the algorithm must be a string or an object with a name.");
  if (alg.name === undefined) throw new TypeError("Failed to execute 'digest' on 'SubtleCrypto': the algorithm has no name.");
  const known = DIGESTS.get(String(alg.name).toUpperCase());
  if (!known) throw new DOMException(`Unrecognized or unsupported digest algorithm: ${String(alg.name)}`, 'NotSupportedError');
  if (!known.xof) return { name: known.name };
  if (alg.length === undefined) throw new TypeError(`Failed to execute 'digest' on 'SubtleCrypto': ${known.name} needs a length (in bits).`);
  const bits = Number(alg.length);
  if (!Number.isInteger(bits) || bits < 0 || bits > 0xffffffff) throw new TypeError(`Failed to execute 'digest' on 'SubtleCrypto': length must be an unsigned long, got ${String(alg.length)}.`);
  if (bits % 8 !== 0) throw new DOMException(`${known.name}: output lengths that are not a whole number of bytes are not supported (got ${bits} bits).`, 'NotSupportedError');
  for (const param of ['functionName', 'customization']) {
    const v = alg[param];
    if (v !== undefined && bufferSourceBytes(v, 'digest').byteLength > 0) {
      throw new DOMException(`${known.name}: a non-empty ${param} is not supported.`, 'NotSupportedError');
    }
  }
  return { name: known.name, outputBytes: bits / 8 };
}

/** The host names Web Crypto's DOMException kinds in `name`; give the guest real DOMExceptions. */
const HOST_DOM_ERRORS = new Set(['NotSupportedError', 'OperationError', 'DataError']);

function hostError(err: unknown): unknown {
  const e = err as { name?: unknown; message?: unknown } | null;
  return e && typeof e.name === 'string' && HOST_DOM_ERRORS.has(e.name) ? new DOMException(String(e.message), e.name) : err;
}

export class SubtleCrypto {
  constructor() {
    if (!constructing) illegal();
  }

  digest(algorithm: unknown, data: unknown): Promise<ArrayBuffer> {
    try {
      if (!(this instanceof SubtleCrypto)) throw new TypeError("'digest' called on an object that is not a SubtleCrypto.");
      if (arguments.length < 2) throw new TypeError(`Failed to execute 'digest' on 'SubtleCrypto': 2 arguments required, but only ${arguments.length} present.`);
      const bytes = bufferSourceBytes(data, 'digest');
      const alg = normalizeDigest(algorithm);
      if (alg.outputBytes === 0) return Promise.resolve(new ArrayBuffer(0));
      return hostCall<ArrayBuffer>('crypto.digest', { algorithm: alg.name, data: bytes, outputBytes: alg.outputBytes }).catch((err) => {
        throw hostError(err);
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  encrypt(algorithm: unknown, key: unknown, data: unknown): Promise<ArrayBuffer> {
    return unsupported(this, 'encrypt', arguments.length, 3, algorithm);
  }
  decrypt(algorithm: unknown, key: unknown, data: unknown): Promise<ArrayBuffer> {
    return unsupported(this, 'decrypt', arguments.length, 3, algorithm);
  }
  sign(algorithm: unknown, key: unknown, data: unknown): Promise<ArrayBuffer> {
    return unsupported(this, 'sign', arguments.length, 3, algorithm);
  }
  verify(algorithm: unknown, key: unknown, signature: unknown, data: unknown): Promise<boolean> {
    return unsupported(this, 'verify', arguments.length, 4, algorithm);
  }
  generateKey(algorithm: unknown, extractable: boolean, keyUsages: unknown): Promise<CryptoKey> {
    return unsupported(this, 'generateKey', arguments.length, 3, algorithm);
  }
  deriveKey(algorithm: unknown, baseKey: unknown, derivedKeyType: unknown, extractable: boolean, keyUsages: unknown): Promise<CryptoKey> {
    return unsupported(this, 'deriveKey', arguments.length, 5, algorithm);
  }
  deriveBits(algorithm: unknown, baseKey: unknown, length: number | null = null): Promise<ArrayBuffer> {
    return unsupported(this, 'deriveBits', arguments.length, 2, algorithm);
  }
  importKey(format: string, keyData: unknown, algorithm: unknown, extractable: boolean, keyUsages: unknown): Promise<CryptoKey> {
    return unsupported(this, 'importKey', arguments.length, 5, algorithm);
  }
  exportKey(format: string, key: unknown): Promise<unknown> {
    return unsupported(this, 'exportKey', arguments.length, 2, undefined);
  }
  wrapKey(format: string, key: unknown, wrappingKey: unknown, wrapAlgorithm: unknown): Promise<ArrayBuffer> {
    return unsupported(this, 'wrapKey', arguments.length, 4, wrapAlgorithm);
  }
  unwrapKey(format: string, wrappedKey: unknown, unwrappingKey: unknown, unwrapAlgorithm: unknown, unwrappedKeyAlgorithm: unknown, extractable: boolean, keyUsages: unknown): Promise<CryptoKey> {
    return unsupported(this, 'unwrapKey', arguments.length, 7, unwrapAlgorithm);
  }
}

/**
 * The SubtleCrypto operations other than digest: Spillway supports none of their algorithms
 * yet, which the spec answers with NotSupportedError (after the argument checks every call makes).
 */
function unsupported(self: unknown, method: string, given: number, required: number, algorithm: unknown): Promise<never> {
  if (!(self instanceof SubtleCrypto)) return Promise.reject(new TypeError(`'${method}' called on an object that is not a SubtleCrypto.`));
  if (given < required) return Promise.reject(new TypeError(`Failed to execute '${method}' on 'SubtleCrypto': ${required} arguments required, but only ${given} present.`));
  const name = typeof algorithm === 'string' ? algorithm : typeof algorithm === 'object' && algorithm !== null ? String((algorithm as { name?: unknown }).name) : 'the given algorithm';
  return Promise.reject(new DOMException(`SubtleCrypto.${method}: ${name} is not supported in Spillway (only digest is).`, 'NotSupportedError'));
}

/** CryptoKey: no operation creates one yet (see `unsupported`); the interface exists for feature tests. */
export class CryptoKey {
  constructor() {
    illegal();
  }
  get type(): string {
    throw new TypeError("'type' called on an object that is not a CryptoKey.");
  }
  get extractable(): boolean {
    throw new TypeError("'extractable' called on an object that is not a CryptoKey.");
  }
  get algorithm(): object {
    throw new TypeError("'algorithm' called on an object that is not a CryptoKey.");
  }
  get usages(): string[] {
    throw new TypeError("'usages' called on an object that is not a CryptoKey.");
  }
}

let subtle: SubtleCrypto | null = null;

export class Crypto {
  constructor() {
    if (!constructing) illegal();
  }

  get subtle(): SubtleCrypto {
    if (!(this instanceof Crypto)) throw new TypeError("'subtle' called on an object that is not a Crypto.");
    return subtle!;
  }

  getRandomValues<T extends ArrayBufferView | null>(array: T): T {
    if (!(this instanceof Crypto)) throw new TypeError("'getRandomValues' called on an object that is not a Crypto.");
    if (arguments.length === 0) throw new TypeError("Failed to execute 'getRandomValues' on 'Crypto': 1 argument required, but only 0 present.");
    const tag = ArrayBuffer.isView(array) ? (typedArrayTag.call(array) as string | undefined) : undefined;
    if (!ArrayBuffer.isView(array)) throw new TypeError("Failed to execute 'getRandomValues' on 'Crypto': parameter 1 is not of type 'ArrayBufferView'.");
    if (tag === undefined || !INTEGER_ARRAYS.has(tag)) {
      throw new DOMException(`The provided ArrayBufferView is of type '${tag ?? 'DataView'}', which is not an integer array type.`, 'TypeMismatchError');
    }
    const view = array as ArrayBufferView;
    if (view.byteLength > MAX_RANDOM_BYTES) {
      // The Web Crypto spec throws a plain QuotaExceededError (quota and requested stay null).
      throw new QuotaExceededError(`The ArrayBufferView's byte length (${view.byteLength}) exceeds the number of bytes of entropy available via this API (${MAX_RANDOM_BYTES}).`);
    }
    if (view.byteLength > 0) new Uint8Array(view.buffer, view.byteOffset, view.byteLength).set(hostSync<Uint8Array>('crypto.randomBytes', view.byteLength));
    return array;
  }

  randomUUID(): string {
    if (!(this instanceof Crypto)) throw new TypeError("'randomUUID' called on an object that is not a Crypto.");
    const b = hostSync<Uint8Array>('crypto.randomBytes', 16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

}

webidlInterface(Crypto, 'Crypto');
webidlInterface(SubtleCrypto, 'SubtleCrypto');
webidlInterface(CryptoKey, 'CryptoKey');

constructing = true;
subtle = new SubtleCrypto();
export const crypto = new Crypto();
constructing = false;
