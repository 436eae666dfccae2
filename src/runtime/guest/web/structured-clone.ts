/**
 * structuredClone (HTML §2.7): StructuredSerializeWithTransfer and StructuredDeserializeWithTransfer
 * fused into one in-isolate copy, since both ends are the same realm.
 *
 * Why not the alternatives (measured on html/webappapis/structured-clone, see docs/web-platform.md):
 * - V8's own serializer through a host round trip (isolated-vm copies with ValueSerializer):
 *   the guest's platform objects (Blob, File, DOMException) arrive as plain objects, a
 *   non-serializable one (Response) does not fail with a DataCloneError, and every clone costs
 *   two isolate crossings.
 * - @ungap/structured-clone: a JSON-based format; it does not throw DataCloneError for
 *   functions, symbols or platform objects and does not keep resizable buffers or error causes.
 *
 * Platform objects take part through `registerPlatformType` (./platform-objects.ts).
 */
import { DOMException, isDOMException } from './dom-exception.js';
import { platformTypes, registerPlatformType } from './platform-objects.js';

registerPlatformType({
  is: isDOMException,
  clone: (value) => {
    const e = value as DOMException;
    return new DOMException(e.message, e.name);
  },
});

const ERROR_NAMES = new Set(['Error', 'EvalError', 'RangeError', 'ReferenceError', 'SyntaxError', 'TypeError', 'URIError']);
const ERROR_CTORS: Record<string, ErrorConstructor> = { Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError };

const typedArrayProto = Object.getPrototypeOf(Uint8Array.prototype) as object;
const typedArrayTag = Object.getOwnPropertyDescriptor(typedArrayProto, Symbol.toStringTag)!.get!;
const arrayBufferByteLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength')!.get!;
const sabByteLength = typeof SharedArrayBuffer === 'function' ? Object.getOwnPropertyDescriptor(SharedArrayBuffer.prototype, 'byteLength')!.get! : null;
const dataViewByteLength = Object.getOwnPropertyDescriptor(DataView.prototype, 'byteLength')!.get!;
const typedArrayEntries = (typedArrayProto as { entries: () => unknown }).entries;
const mapSize = Object.getOwnPropertyDescriptor(Map.prototype, 'size')!.get!;
const setSize = Object.getOwnPropertyDescriptor(Set.prototype, 'size')!.get!;
const regExpSource = Object.getOwnPropertyDescriptor(RegExp.prototype, 'source')!.get!;
const regExpFlags = Object.getOwnPropertyDescriptor(RegExp.prototype, 'flags')!.get!;
const resizableGetter = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'resizable')?.get;
const maxByteLengthGetter = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'maxByteLength')?.get;
const objectToString = Object.prototype.toString;

function brand(fn: (this: unknown) => unknown, value: object): boolean {
  try {
    fn.call(value);
    return true;
  } catch {
    return false;
  }
}

function dataCloneError(what: string): DOMException {
  return new DOMException(`${what} could not be cloned.`, 'DataCloneError');
}

/** Built-in objects that are not ordinary (have internal slots) and cannot be cloned. */
function isUncloneableBuiltin(value: object): boolean {
  return (
    brand(Promise.prototype.then as never, value) ||
    brand(WeakMap.prototype.has as never, value) ||
    brand(WeakSet.prototype.has as never, value) ||
    (typeof WeakRef === 'function' && brand(WeakRef.prototype.deref as never, value)) ||
    (typeof FinalizationRegistry === 'function' && brand(FinalizationRegistry.prototype.unregister as never, value))
  );
}

function isDetached(buffer: ArrayBuffer): boolean {
  const detached = (buffer as { detached?: boolean }).detached;
  return detached === true;
}

function copyArrayBuffer(buffer: ArrayBuffer): ArrayBuffer {
  if (isDetached(buffer)) throw dataCloneError('A detached ArrayBuffer');
  const length = arrayBufferByteLength.call(buffer) as number;
  const resizable = resizableGetter ? (resizableGetter.call(buffer) as boolean) : false;
  const copy = resizable
    ? new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer)(length, { maxByteLength: maxByteLengthGetter!.call(buffer) as number })
    : new ArrayBuffer(length);
  new Uint8Array(copy).set(new Uint8Array(buffer, 0, length));
  return copy;
}

export interface StructuredSerializeOptions {
  transfer?: unknown[];
}

/** structuredClone(value, { transfer }). */
export function structuredClone<T>(value: T, options?: StructuredSerializeOptions): T {
  if (arguments.length === 0) throw new TypeError("Failed to execute 'structuredClone': 1 argument required, but only 0 present.");
  if (options !== undefined && options !== null && typeof options !== 'object') throw new TypeError("Failed to execute 'structuredClone': The provided value is not of type 'StructuredSerializeOptions'.");
  const transferList = options?.transfer === undefined ? [] : [...(options.transfer as Iterable<unknown>)];
  const memory = new Map<unknown, unknown>();
  const seenTransfer = new Set<unknown>();
  const toTransfer: ArrayBuffer[] = [];
  for (const item of transferList) {
    if (typeof item !== 'object' || item === null) throw dataCloneError('A value in the transfer list');
    if (seenTransfer.has(item)) throw dataCloneError('A value listed twice in the transfer list');
    seenTransfer.add(item);
    if (brand(arrayBufferByteLength as never, item)) {
      if (isDetached(item as ArrayBuffer)) throw dataCloneError('A detached ArrayBuffer');
      toTransfer.push(item as ArrayBuffer);
      continue;
    }
    throw dataCloneError(isPlatformObject(item) ? 'A platform object that is not transferable' : 'A value in the transfer list');
  }
  // A transferred buffer's contents move to the copy: every reference to it resolves to that copy,
  // and the original is detached once the whole value is cloned (a getter may still throw before).
  for (const buffer of toTransfer) memory.set(buffer, copyArrayBuffer(buffer));
  const result = cloneValue(value, memory) as T;
  for (const buffer of toTransfer) detach(buffer);
  return result;
}

/** Detaches `buffer` where V8 can (ArrayBuffer.prototype.transfer, V8 11.4+; Node 20's V8 cannot, so there the transfer is a copy). */
function detach(buffer: ArrayBuffer): void {
  const transfer = (ArrayBuffer.prototype as { transfer?: (this: ArrayBuffer) => ArrayBuffer }).transfer;
  if (typeof transfer === 'function') transfer.call(buffer);
}

function isPlatformObject(value: object): boolean {
  return platformTypes.some((t) => t.is(value));
}

function cloneValue(value: unknown, memory: Map<unknown, unknown>): unknown {
  if (typeof value === 'symbol') throw dataCloneError('A Symbol');
  if (typeof value === 'function') throw dataCloneError(`${String((value as { name?: string }).name || 'A function')}()`);
  if (typeof value !== 'object' || value === null) return value;
  if (memory.has(value)) return memory.get(value);

  const obj = value as object;
  const tag = objectToString.call(obj);

  // Primitive wrappers.
  if (brand(Boolean.prototype.valueOf as never, obj)) return remember(memory, obj, Object(Boolean.prototype.valueOf.call(obj)));
  if (brand(Number.prototype.valueOf as never, obj)) return remember(memory, obj, Object(Number.prototype.valueOf.call(obj)));
  if (brand(BigInt.prototype.valueOf as never, obj)) return remember(memory, obj, Object(BigInt.prototype.valueOf.call(obj)));
  if (brand(String.prototype.valueOf as never, obj)) return remember(memory, obj, Object(String.prototype.valueOf.call(obj)));
  if (brand(Symbol.prototype.valueOf as never, obj)) throw dataCloneError('A Symbol object');
  if (brand(Date.prototype.getTime as never, obj)) return remember(memory, obj, new Date(Date.prototype.getTime.call(obj)));
  if (obj !== RegExp.prototype && brand(regExpSource as never, obj) && brand(regExpFlags as never, obj) && tag === '[object RegExp]') {
    return remember(memory, obj, new RegExp(regExpSource.call(obj) as string, regExpFlags.call(obj) as string));
  }
  if (brand(arrayBufferByteLength as never, obj)) return remember(memory, obj, copyArrayBuffer(obj as ArrayBuffer));
  if (sabByteLength && brand(sabByteLength as never, obj)) {
    // A worker's SharedArrayBuffer is shared only within a cross-origin-isolated agent cluster; an isolate is not one.
    throw dataCloneError('A SharedArrayBuffer');
  }
  const taName = typedArrayTag.call(obj) as string | undefined;
  if (taName !== undefined) {
    const ta = obj as Uint8Array;
    // ValidateTypedArray: a view whose buffer shrank below it (or was detached) cannot be serialised.
    if (!brand(typedArrayEntries as never, ta)) throw dataCloneError('An out-of-bounds TypedArray');
    const buffer = cloneValue(ta.buffer, memory) as ArrayBuffer;
    const Ctor = (globalThis as unknown as Record<string, new (b: ArrayBuffer, o: number, l?: number) => object>)[taName];
    const lengthTracking = isLengthTracking(ta);
    return remember(memory, obj, lengthTracking ? new Ctor(buffer, ta.byteOffset) : new Ctor(buffer, ta.byteOffset, ta.length));
  }
  if (obj !== DataView.prototype && objectToString.call(obj) === '[object DataView]' && !brand(dataViewByteLength as never, obj)) throw dataCloneError('An out-of-bounds DataView');
  if (brand(dataViewByteLength as never, obj)) {
    const dv = obj as DataView;
    const buffer = cloneValue(dv.buffer, memory) as ArrayBuffer;
    return remember(memory, obj, isLengthTracking(dv) ? new DataView(buffer, dv.byteOffset) : new DataView(buffer, dv.byteOffset, dv.byteLength));
  }
  if (brand(mapSize as never, obj)) {
    const copy = new Map();
    memory.set(obj, copy);
    const entries = [...Map.prototype.entries.call(obj)];
    for (const [k, v] of entries) copy.set(cloneValue(k, memory), cloneValue(v, memory));
    return copy;
  }
  if (brand(setSize as never, obj)) {
    const copy = new Set();
    memory.set(obj, copy);
    const values = [...Set.prototype.values.call(obj)];
    for (const v of values) copy.add(cloneValue(v, memory));
    return copy;
  }
  for (const type of platformTypes) {
    if (!type.is(obj)) continue;
    if (!type.clone) throw dataCloneError(`${tag.slice(8, -1)} object`);
    return remember(memory, obj, type.clone(obj));
  }
  if (tag === '[object Error]' || isNativeError(obj)) return cloneError(obj as Error, memory);
  if (isUncloneableBuiltin(obj)) throw dataCloneError(`${tag.slice(8, -1)} object`);
  if (Array.isArray(obj)) {
    const copy = new Array((obj as unknown[]).length);
    memory.set(obj, copy);
    copyProperties(obj, copy, memory);
    return copy;
  }
  const copy = {};
  memory.set(obj, copy);
  copyProperties(obj, copy, memory);
  return copy;
}

function isLengthTracking(view: ArrayBufferView): boolean {
  const buffer = view.buffer as ArrayBuffer & { resize(n: number): void; maxByteLength: number };
  if (!resizableGetter || !resizableGetter.call(buffer)) return false;
  const length = arrayBufferByteLength.call(buffer) as number;
  if (view.byteOffset + view.byteLength !== length) return false;
  // No script API tells a length-tracking view apart: grow the buffer by one element and see
  // whether the view follows (then put it back). A full buffer cannot grow: treat a view that
  // spans to its end as tracking.
  const step = (view as Uint8Array).BYTES_PER_ELEMENT ?? 1;
  if (length + step > buffer.maxByteLength) return true;
  const before = view.byteLength;
  buffer.resize(length + step);
  const follows = view.byteLength !== before;
  buffer.resize(length);
  return follows;
}

function isNativeError(obj: object): boolean {
  let p: object | null = obj;
  while (p) {
    if (p === Error.prototype) return objectToString.call(obj) === '[object Error]';
    p = Object.getPrototypeOf(p);
  }
  return false;
}

function cloneError(err: Error, memory: Map<unknown, unknown>): Error {
  const rawName = err.name;
  const name = ERROR_NAMES.has(String(rawName)) ? String(rawName) : 'Error';
  const messageDesc = Object.getOwnPropertyDescriptor(err, 'message');
  const message = messageDesc && 'value' in messageDesc ? String(messageDesc.value) : undefined;
  const causeDesc = Object.getOwnPropertyDescriptor(err, 'cause');
  const copy = message === undefined ? new ERROR_CTORS[name]() : new ERROR_CTORS[name](message);
  memory.set(err, copy);
  if (causeDesc && 'value' in causeDesc) {
    Object.defineProperty(copy, 'cause', { value: cloneValue(causeDesc.value, memory), writable: true, configurable: true, enumerable: false });
  }
  const stack = Object.getOwnPropertyDescriptor(err, 'stack');
  if (stack && 'value' in stack && typeof stack.value === 'string') {
    Object.defineProperty(copy, 'stack', { value: stack.value, writable: true, configurable: true, enumerable: false });
  }
  return copy;
}

function copyProperties(from: object, to: object, memory: Map<unknown, unknown>): void {
  for (const key of Object.keys(from)) {
    // Keys that a getter deleted before we reached them are skipped, as the spec's [[GetOwnProperty]] check does.
    if (!Object.prototype.hasOwnProperty.call(from, key)) continue;
    const v = cloneValue((from as Record<string, unknown>)[key], memory);
    Object.defineProperty(to, key, { value: v, writable: true, enumerable: true, configurable: true });
  }
}

function remember<T>(memory: Map<unknown, unknown>, from: unknown, to: T): T {
  memory.set(from, to);
  return to;
}
