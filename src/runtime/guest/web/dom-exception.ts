/**
 * DOMException (WebIDL §2.8.1), the error type the Web APIs throw (AbortError, DataCloneError,
 * NotSupportedError, ...). Written here because no maintained package offers a spec-shaped one
 * that does not depend on a browser or Node; it is small and follows WebIDL to the letter:
 * `name`, `message` and `code` are accessors on the prototype, the legacy code constants live on
 * both the constructor and the prototype, and the prototype inherits from Error.prototype.
 */

const LEGACY_CODES: Record<string, [string, number]> = {
  IndexSizeError: ['INDEX_SIZE_ERR', 1],
  DOMStringSizeError: ['DOMSTRING_SIZE_ERR', 2],
  HierarchyRequestError: ['HIERARCHY_REQUEST_ERR', 3],
  WrongDocumentError: ['WRONG_DOCUMENT_ERR', 4],
  InvalidCharacterError: ['INVALID_CHARACTER_ERR', 5],
  NoDataAllowedError: ['NO_DATA_ALLOWED_ERR', 6],
  NoModificationAllowedError: ['NO_MODIFICATION_ALLOWED_ERR', 7],
  NotFoundError: ['NOT_FOUND_ERR', 8],
  NotSupportedError: ['NOT_SUPPORTED_ERR', 9],
  InUseAttributeError: ['INUSE_ATTRIBUTE_ERR', 10],
  InvalidStateError: ['INVALID_STATE_ERR', 11],
  SyntaxError: ['SYNTAX_ERR', 12],
  InvalidModificationError: ['INVALID_MODIFICATION_ERR', 13],
  NamespaceError: ['NAMESPACE_ERR', 14],
  InvalidAccessError: ['INVALID_ACCESS_ERR', 15],
  ValidationError: ['VALIDATION_ERR', 16],
  TypeMismatchError: ['TYPE_MISMATCH_ERR', 17],
  SecurityError: ['SECURITY_ERR', 18],
  NetworkError: ['NETWORK_ERR', 19],
  AbortError: ['ABORT_ERR', 20],
  URLMismatchError: ['URL_MISMATCH_ERR', 21],
  QuotaExceededError: ['QUOTA_EXCEEDED_ERR', 22],
  TimeoutError: ['TIMEOUT_ERR', 23],
  InvalidNodeTypeError: ['INVALID_NODE_TYPE_ERR', 24],
  DataCloneError: ['DATA_CLONE_ERR', 25],
};

const fields = new WeakMap<object, { name: string; message: string }>();

function internals(self: unknown, member: string): { name: string; message: string } {
  const f = typeof self === 'object' && self !== null ? fields.get(self) : undefined;
  if (!f) throw new TypeError(`'${member}' called on an object that is not a DOMException.`);
  return f;
}

export interface DOMException extends Error {
  readonly code: number;
}

export const DOMException = function DOMException(this: object, message?: unknown, name?: unknown) {
  if (!new.target) throw new TypeError("Class constructor DOMException cannot be invoked without 'new'");
  const self = Reflect.construct(Error, [], new.target) as Error;
  // WebIDL: the data lives in internal slots; `stack` is a V8 extra that makes errors readable.
  fields.set(self, { message: message === undefined ? '' : String(message), name: name === undefined ? 'Error' : String(name) });
  if (typeof (Error as { captureStackTrace?: (o: object, c: unknown) => void }).captureStackTrace === 'function') {
    (Error as unknown as { captureStackTrace: (o: object, c: unknown) => void }).captureStackTrace(self, new.target);
  }
  return self;
} as unknown as {
  new (message?: string, name?: string): DOMException;
  prototype: DOMException;
  readonly [code: string]: unknown;
};

Object.setPrototypeOf(DOMException.prototype, Error.prototype);
Object.defineProperties(DOMException.prototype, {
  name: {
    get(this: unknown) {
      return internals(this, 'name').name;
    },
    enumerable: true,
    configurable: true,
  },
  message: {
    get(this: unknown) {
      return internals(this, 'message').message;
    },
    enumerable: true,
    configurable: true,
  },
  code: {
    get(this: unknown) {
      const f = internals(this, 'code');
      return Object.prototype.hasOwnProperty.call(LEGACY_CODES, f.name) ? LEGACY_CODES[f.name][1] : 0;
    },
    enumerable: true,
    configurable: true,
  },
  [Symbol.toStringTag]: { value: 'DOMException', configurable: true },
});
for (const [constant, value] of Object.values(LEGACY_CODES)) {
  const desc = { value, enumerable: true, writable: false, configurable: false };
  Object.defineProperty(DOMException, constant, desc);
  Object.defineProperty(DOMException.prototype, constant, desc);
}
for (const accessor of ['name', 'message', 'code']) {
  const get = Object.getOwnPropertyDescriptor(DOMException.prototype, accessor)!.get!;
  Object.defineProperty(get, 'name', { value: `get ${accessor}` });
}
Object.defineProperty(DOMException, 'prototype', { writable: false });

/** Whether `value` is a DOMException made in this realm (used by structuredClone). */
export function isDOMException(value: unknown): value is DOMException {
  return typeof value === 'object' && value !== null && fields.has(value);
}

const quotas = new WeakMap<object, { quota: number | null; requested: number | null }>();

function optionalNumber(value: unknown, what: string): number | null {
  if (value === undefined || value === null) return null;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new TypeError(`QuotaExceededError: ${what} must be a finite number, got ${String(value)}.`);
  if (n < 0) throw new RangeError(`QuotaExceededError: ${what} must not be negative, got ${n}.`);
  return n;
}

/** QuotaExceededError (WebIDL): a DOMException subclass carrying the quota and the amount requested. */
export class QuotaExceededError extends DOMException {
  constructor(message = '', options: { quota?: number; requested?: number } = {}) {
    super(message, 'QuotaExceededError');
    const quota = optionalNumber(options?.quota, 'quota');
    const requested = optionalNumber(options?.requested, 'requested');
    if (quota !== null && requested !== null && requested < quota) throw new RangeError('QuotaExceededError: requested must not be smaller than quota.');
    quotas.set(this, { quota, requested });
  }
  get quota(): number | null {
    return quotas.get(this)?.quota ?? null;
  }
  get requested(): number | null {
    return quotas.get(this)?.requested ?? null;
  }
}

// Installed as soon as this module is evaluated, before the libraries bundled after it
// (web-streams-polyfill reads globalThis.DOMException once, when it is evaluated).
Object.defineProperty(globalThis, 'DOMException', { value: DOMException, writable: true, configurable: true, enumerable: false });
