/**
 * Blob and File (W3C File API) inside the isolate.
 *
 * Written here rather than bundled: the pure-JavaScript Blobs on npm (fetch-blob, @web-std/blob)
 * predate `bytes()`, ignore `endings: "native"`, do not lower-case `type` and skip the WebIDL
 * conversion order the WPT FileAPI tests check, and fetch-blob needs top-level await. The File API
 * itself is small; what matters is following its algorithms and WebIDL's, step by step, which is
 * what this file does (see docs/web-platform.md for the WPT figures).
 *
 * A Blob's bytes are immutable, so one Uint8Array holds them and `slice()` shares it (a view, no
 * copy); every read hands out a copy.
 */
import { ReadableStream, type ReadableByteStreamController, type UnderlyingByteSource } from 'web-streams-polyfill';

declare const TextEncoder: new () => { encode(text: string): Uint8Array };
declare const TextDecoder: new () => { decode(bytes: Uint8Array): string };

type BlobPart = ArrayBuffer | ArrayBufferView | Blob | string;

interface BlobPropertyBag {
  type?: unknown;
  endings?: unknown;
}

interface FilePropertyBag extends BlobPropertyBag {
  lastModified?: unknown;
}

/** Chunk size of `Blob.stream()`, as in browsers (64 KiB). */
const STREAM_CHUNK_BYTES = 65_536;

const bytesOf = new WeakMap<object, Uint8Array>();

function isObject(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

/** WebIDL USVString: ToString, then lone surrogates become U+FFFD. */
function toUSVString(value: unknown): string {
  const s = typeof value === 'string' ? value : String(value as string);
  const wellFormed = (s as string & { toWellFormed?: () => string }).toWellFormed;
  if (typeof wellFormed === 'function') return wellFormed.call(s);
  return s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(^|[^\ud800-\udbff])[\udc00-\udfff]/g, (m) => (m.length === 2 ? `${m[0]}\ufffd` : '\ufffd'));
}

function toDOMString(value: unknown): string {
  if (typeof value === 'symbol') throw new TypeError('Cannot convert a Symbol value to a string.');
  return String(value);
}

/** WebIDL `[Clamp] long long`. */
function clampLongLong(value: unknown): number {
  let x = Number(value);
  if (Number.isNaN(x)) return 0;
  x = Math.min(Math.max(x, -(2 ** 63)), 2 ** 63 - 1);
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor === 0 ? 0 : floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** WebIDL `long long` (no clamp, no enforce): modulo 2^64, signed. */
function toLongLong(value: unknown): number {
  const x = Number(value);
  if (!Number.isFinite(x)) return 0;
  const t = Math.trunc(x) || 0;
  if (t >= -(2 ** 63) && t < 2 ** 63) return t;
  const m = ((t % 2 ** 64) + 2 ** 64) % 2 ** 64;
  return m >= 2 ** 63 ? m - 2 ** 64 : m;
}

/** The File API's rule for `type`: only printable ASCII, lower-cased, or the empty string. */
function normaliseType(type: string): string {
  return /^[\x20-\x7e]*$/.test(type) ? type.toLowerCase() : '';
}

function isBufferSource(value: object): value is ArrayBuffer | ArrayBufferView {
  if (ArrayBuffer.isView(value)) return true;
  try {
    Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength')!.get!.call(value);
    return true;
  } catch {
    return false;
  }
}

/** WebIDL `sequence<BlobPart>`: iterate, converting each element as it comes. */
function convertParts(blobParts: unknown, context: string): Array<Uint8Array | string> {
  if (!isObject(blobParts)) throw new TypeError(`${context}: The provided value cannot be converted to a sequence.`);
  const iteratorMethod = (blobParts as { [Symbol.iterator]?: unknown })[Symbol.iterator];
  if (typeof iteratorMethod !== 'function') throw new TypeError(`${context}: The object must have a callable @@iterator property.`);
  const out: Array<Uint8Array | string> = [];
  const iterator = (iteratorMethod as () => Iterator<unknown>).call(blobParts);
  if (!isObject(iterator)) throw new TypeError(`${context}: The iterator is not an object.`);
  const next = iterator.next;
  for (;;) {
    const step = next.call(iterator);
    if (!isObject(step)) throw new TypeError(`${context}: The iterator result is not an object.`);
    if (step.done) break;
    const element = step.value;
    if (isObject(element) && bytesOf.has(element)) out.push(bytesOf.get(element)!);
    else if (isObject(element) && isBufferSource(element)) {
      const view = ArrayBuffer.isView(element) ? new Uint8Array(element.buffer, element.byteOffset, element.byteLength) : new Uint8Array(element);
      out.push(view.slice());
    } else out.push(toUSVString(element));
  }
  return out;
}

function convertBag(options: unknown, context: string, isFile = false): { type: string; endings: 'transparent' | 'native'; lastModified?: number } {
  if (options !== undefined && options !== null && !isObject(options)) throw new TypeError(`${context}: The provided value is not of type 'BlobPropertyBag'.`);
  const bag = (options ?? {}) as FilePropertyBag;
  // Dictionary members are read in lexicographic order: endings, lastModified, type.
  const endingsValue = bag.endings;
  let endings: 'transparent' | 'native' = 'transparent';
  if (endingsValue !== undefined) {
    const e = toDOMString(endingsValue);
    if (e !== 'transparent' && e !== 'native') throw new TypeError(`${context}: The provided value '${e}' is not a valid enum value of type EndingType.`);
    endings = e;
  }
  const lastModifiedValue = isFile ? bag.lastModified : undefined;
  const lastModified = lastModifiedValue === undefined ? undefined : toLongLong(lastModifiedValue);
  const typeValue = bag.type;
  const type = typeValue === undefined ? '' : toDOMString(typeValue);
  return { type, endings, lastModified };
}

function encodeUtf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function processParts(parts: Array<Uint8Array | string>, endings: 'transparent' | 'native'): Uint8Array {
  const chunks = parts.map((p) => (typeof p === 'string' ? encodeUtf8(endings === 'native' ? p.replace(/\r\n|\r/g, '\n') : p) : p));
  if (chunks.length === 1) return chunks[0];
  let length = 0;
  for (const c of chunks) length += c.byteLength;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

function own(blob: unknown, member: string): Uint8Array {
  const bytes = isObject(blob) ? bytesOf.get(blob) : undefined;
  if (!bytes) throw new TypeError(`Illegal invocation: Blob.prototype.${member} called on an object that is not a Blob.`);
  return bytes;
}

export class Blob {
  #type: string;

  constructor(blobParts: Iterable<BlobPart> | undefined = undefined, options: BlobPropertyBag | undefined = undefined) {
    const context = new.target === File ? "Failed to construct 'File'" : "Failed to construct 'Blob'";
    const parts = blobParts === undefined ? [] : convertParts(blobParts, context);
    const bag = convertBag(options, context);
    bytesOf.set(this, processParts(parts, bag.endings));
    this.#type = normaliseType(bag.type);
  }

  get size(): number {
    return own(this, 'size').byteLength;
  }

  get type(): string {
    own(this, 'type');
    return this.#type;
  }

  slice(...args: [start?: unknown, end?: unknown, contentType?: unknown]): Blob {
    const bytes = own(this, 'slice');
    const size = bytes.byteLength;
    const [start, end, contentType] = args;
    const s = start === undefined ? 0 : clampLongLong(start);
    const e = end === undefined ? size : clampLongLong(end);
    const type = contentType === undefined ? '' : normaliseType(toDOMString(contentType));
    const from = s < 0 ? Math.max(size + s, 0) : Math.min(s, size);
    const to = e < 0 ? Math.max(size + e, 0) : Math.min(e, size);
    const blob = new Blob([], { type });
    bytesOf.set(blob, bytes.subarray(from, Math.max(from, to)));
    return blob;
  }

  stream(): ReadableStream<Uint8Array> {
    const bytes = own(this, 'stream');
    let offset = 0;
    return new ReadableStream({
      type: 'bytes',
      pull(controller: ReadableByteStreamController) {
        if (offset >= bytes.byteLength) {
          controller.close();
          controller.byobRequest?.respond(0);
          return;
        }
        const request = controller.byobRequest;
        if (request && request.view) {
          const view = new Uint8Array(request.view.buffer, request.view.byteOffset, request.view.byteLength);
          const n = Math.min(view.byteLength, bytes.byteLength - offset);
          view.set(bytes.subarray(offset, offset + n));
          offset += n;
          request.respond(n);
          return;
        }
        const n = Math.min(STREAM_CHUNK_BYTES, bytes.byteLength - offset);
        controller.enqueue(bytes.slice(offset, offset + n));
        offset += n;
      },
    } as UnderlyingByteSource) as ReadableStream<Uint8Array>;
  }

  text(): Promise<string> {
    try {
      const bytes = own(this, 'text');
      return Promise.resolve(new TextDecoder().decode(bytes));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    try {
      const bytes = own(this, 'arrayBuffer');
      return Promise.resolve(bytes.slice().buffer as ArrayBuffer);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  bytes(): Promise<Uint8Array> {
    try {
      return Promise.resolve(own(this, 'bytes').slice());
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

export class File extends Blob {
  #name: string;
  #lastModified: number;

  constructor(fileBits: Iterable<BlobPart>, fileName: string, options: FilePropertyBag | undefined = undefined) {
    if (arguments.length < 2) throw new TypeError(`Failed to construct 'File': 2 arguments required, but only ${arguments.length} present.`);
    // WebIDL converts every argument before the constructor's steps run: bits, name, then options.
    const parts = convertParts(fileBits, "Failed to construct 'File'");
    const name = toUSVString(fileName);
    const bag = convertBag(options, "Failed to construct 'File'", true);
    super([], { type: bag.type });
    bytesOf.set(this, processParts(parts, bag.endings));
    this.#name = name;
    this.#lastModified = bag.lastModified ?? Date.now();
  }

  get name(): string {
    return this.#name;
  }

  get lastModified(): number {
    return this.#lastModified;
  }
}

/** Where a Blob's bytes are, for the Fetch body code (no copy). */
export function blobBytes(blob: Blob): Uint8Array {
  return own(blob, 'bytes');
}

// WebIDL: attributes and operations are enumerable; interfaces carry their toStringTag.
for (const [klass, tagName, members] of [
  [Blob, 'Blob', ['size', 'type', 'slice', 'stream', 'text', 'arrayBuffer', 'bytes']],
  [File, 'File', ['name', 'lastModified']],
] as const) {
  for (const member of members) {
    const desc = Object.getOwnPropertyDescriptor(klass.prototype, member)!;
    Object.defineProperty(klass.prototype, member, { ...desc, enumerable: true });
  }
  Object.defineProperty(klass.prototype, Symbol.toStringTag, { value: tagName, configurable: true });
}
Object.defineProperty(Blob, 'length', { value: 0 });
Object.defineProperty(File, 'length', { value: 2 });
