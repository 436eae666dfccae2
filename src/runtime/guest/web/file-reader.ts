/**
 * FileReader, FileReaderSync and FileList (W3C File API) inside the isolate, on Spillway's Blob
 * (./blob.ts) and the core EventTarget/DOMException/TextDecoder globals.
 *
 * A Blob's bytes are already in memory, so a read is one step: FileReader still reports it the
 * way the spec's read operation does (loadstart, progress, load or error, loadend, each in its own
 * turn, cancellable by `abort()`), and FileReaderSync answers at once.
 *
 * The classes are built on first use (`createFileReaderClasses`), after the core globals exist:
 * FileReader extends the global EventTarget.
 */
import { Blob, blobBytes } from './blob.js';

interface EventLike {
  readonly type: string;
}
interface EventTargetLike {
  addEventListener(type: string, listener: unknown): void;
  removeEventListener(type: string, listener: unknown): void;
  dispatchEvent(event: EventLike): boolean;
}

type Globals = {
  EventTarget: new () => EventTargetLike;
  Event: new (type: string, init?: object) => EventLike;
  DOMException: new (message: string, name: string) => Error;
  TextDecoder: new (label?: string) => { decode(bytes: Uint8Array): string };
  btoa: (s: string) => string;
};

const EMPTY = 0;
const LOADING = 1;
const DONE = 2;

type ReadKind = 'ArrayBuffer' | 'BinaryString' | 'Text' | 'DataURL';

function requireBlob(blob: unknown, method: string): Blob {
  if (!(blob instanceof Blob)) throw new TypeError(`Failed to execute '${method}': parameter 1 is not of type 'Blob'.`);
  return blob;
}

function binaryString(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 0x8000) out += String.fromCharCode.apply(null, Array.from(bytes.subarray(i, i + 0x8000)));
  return out;
}

/** The File API's "package data" step. */
function packageData(g: Globals, bytes: Uint8Array, kind: ReadKind, type: string, encoding: string | undefined): string | ArrayBuffer {
  switch (kind) {
    case 'ArrayBuffer':
      return bytes.slice().buffer as ArrayBuffer;
    case 'BinaryString':
      return binaryString(bytes);
    case 'DataURL':
      return `data:${type || 'application/octet-stream'};base64,${g.btoa(binaryString(bytes))}`;
    case 'Text': {
      let label = 'utf-8';
      if (encoding !== undefined) {
        try {
          new g.TextDecoder(encoding);
          label = encoding;
        } catch {
          /* an unknown label falls back to UTF-8 */
        }
      }
      return new g.TextDecoder(label).decode(bytes);
    }
  }
}

export interface FileReaderClasses {
  FileReader: unknown;
  FileReaderSync: unknown;
  FileList: unknown;
}

export function createFileReaderClasses(gt: typeof globalThis): FileReaderClasses {
  const g = gt as unknown as Globals;

  class ProgressEventLike extends g.Event {
    readonly lengthComputable: boolean;
    readonly loaded: number;
    readonly total: number;
    constructor(type: string, loaded: number, total: number) {
      super(type);
      this.lengthComputable = true;
      this.loaded = loaded;
      this.total = total;
    }
  }

  const handlers = new WeakMap<object, Map<string, { value: unknown; listener: (e: EventLike) => void }>>();
  const instances = new WeakSet<object>();
  const brand = (self: unknown, member: string) => {
    if (typeof self !== 'object' || self === null || !instances.has(self)) throw new TypeError(`Illegal invocation: FileReader.prototype.${member} called on an object that is not a FileReader.`);
  };

  class FileReader extends g.EventTarget {
    static readonly EMPTY = EMPTY;
    static readonly LOADING = LOADING;
    static readonly DONE = DONE;
    #state = EMPTY;
    #result: string | ArrayBuffer | null = null;
    #error: Error | null = null;
    /** Bumped by abort() and each new read, so a stale read's steps do nothing. */
    #generation = 0;

    constructor() {
      super();
      instances.add(this);
    }

    get readyState(): number {
      return this.#state;
    }
    get result(): string | ArrayBuffer | null {
      return this.#result;
    }
    get error(): Error | null {
      return this.#error;
    }

    readAsArrayBuffer(blob: Blob): void {
      this.#read(requireBlob(blob, 'readAsArrayBuffer'), 'ArrayBuffer');
    }
    readAsBinaryString(blob: Blob): void {
      this.#read(requireBlob(blob, 'readAsBinaryString'), 'BinaryString');
    }
    readAsText(blob: Blob, encoding?: string): void {
      this.#read(requireBlob(blob, 'readAsText'), 'Text', encoding === undefined ? undefined : String(encoding));
    }
    readAsDataURL(blob: Blob): void {
      this.#read(requireBlob(blob, 'readAsDataURL'), 'DataURL');
    }

    abort(): void {
      if (this.#state === EMPTY || this.#state === DONE) {
        this.#result = null;
        return;
      }
      this.#generation++;
      this.#state = DONE;
      this.#result = null;
      this.#fire('abort', 0, 0);
      if (this.#state !== LOADING) this.#fire('loadend', 0, 0);
    }

    #fire(type: string, loaded: number, total: number): void {
      this.dispatchEvent(new ProgressEventLike(type, loaded, total));
    }

    #read(blob: Blob, kind: ReadKind, encoding?: string): void {
      if (this.#state === LOADING) throw new g.DOMException('The object is already busy reading Blobs.', 'InvalidStateError');
      this.#state = LOADING;
      this.#result = null;
      this.#error = null;
      const generation = ++this.#generation;
      const bytes = blobBytes(blob);
      const total = bytes.byteLength;
      const live = () => this.#generation === generation;
      void Promise.resolve()
        .then(() => {
          if (live()) this.#fire('loadstart', 0, total);
        })
        .then(() => {
          if (live() && total > 0) this.#fire('progress', total, total);
        })
        .then(() => {
          if (!live()) return;
          this.#state = DONE;
          try {
            this.#result = packageData(g, bytes, kind, blob.type, encoding);
          } catch (err) {
            this.#error = err instanceof Error ? err : new g.DOMException(String(err), 'NotReadableError');
            this.#fire('error', 0, total);
            if (this.#state !== LOADING) this.#fire('loadend', 0, total);
            return;
          }
          this.#fire('load', total, total);
          if (this.#state !== LOADING) this.#fire('loadend', total, total);
        });
    }
  }

  for (const type of ['loadstart', 'progress', 'load', 'abort', 'error', 'loadend']) {
    const accessors = {
      get(this: FileReader) {
        brand(this, `on${type}`);
        return handlers.get(this)?.get(type)?.value ?? null;
      },
      set(this: FileReader, value: unknown) {
        brand(this, `on${type}`);
        let map = handlers.get(this);
        if (!map) handlers.set(this, (map = new Map()));
        const old = map.get(type);
        if (old) this.removeEventListener(type, old.listener);
        map.delete(type);
        if (typeof value === 'function' || (typeof value === 'object' && value !== null)) {
          const listener = (e: EventLike) => (typeof value === 'function' ? (value as (e: EventLike) => unknown).call(this, e) : undefined);
          map.set(type, { value, listener });
          this.addEventListener(type, listener);
        }
      },
    };
    Object.defineProperty(accessors.get, 'name', { value: `get on${type}` });
    Object.defineProperty(accessors.set, 'name', { value: `set on${type}` });
    Object.defineProperty(FileReader.prototype, `on${type}`, { configurable: true, enumerable: true, ...accessors });
  }

  class FileReaderSync {
    readAsArrayBuffer(blob: Blob): ArrayBuffer {
      return packageData(g, blobBytes(requireBlob(blob, 'readAsArrayBuffer')), 'ArrayBuffer', '', undefined) as ArrayBuffer;
    }
    readAsBinaryString(blob: Blob): string {
      return packageData(g, blobBytes(requireBlob(blob, 'readAsBinaryString')), 'BinaryString', '', undefined) as string;
    }
    readAsText(blob: Blob, encoding?: string): string {
      const b = requireBlob(blob, 'readAsText');
      return packageData(g, blobBytes(b), 'Text', b.type, encoding === undefined ? undefined : String(encoding)) as string;
    }
    readAsDataURL(blob: Blob): string {
      const b = requireBlob(blob, 'readAsDataURL');
      return packageData(g, blobBytes(b), 'DataURL', b.type, undefined) as string;
    }
  }

  /** Only the platform creates FileLists (from `<input type=file>`); Spillway never does. */
  class FileList {
    constructor() {
      throw new TypeError('Illegal constructor');
    }
    item(_index: number): null {
      throw new TypeError('Illegal invocation');
    }
    get length(): number {
      throw new TypeError('Illegal invocation');
    }
  }

  // WebIDL shapes: constants on interface and prototype, enumerable members, toStringTag, lengths.
  for (const [name, value] of [
    ['EMPTY', EMPTY],
    ['LOADING', LOADING],
    ['DONE', DONE],
  ] as const) {
    Object.defineProperty(FileReader, name, { value, enumerable: true, writable: false, configurable: false });
    Object.defineProperty(FileReader.prototype, name, { value, enumerable: true, writable: false, configurable: false });
  }
  const shapes: Array<[Function, string, string[]]> = [
    [FileReader, 'FileReader', ['readAsArrayBuffer', 'readAsBinaryString', 'readAsText', 'readAsDataURL', 'abort', 'readyState', 'result', 'error']],
    [FileReaderSync, 'FileReaderSync', ['readAsArrayBuffer', 'readAsBinaryString', 'readAsText', 'readAsDataURL']],
    [FileList, 'FileList', ['item', 'length']],
  ];
  for (const [klass, tag, members] of shapes) {
    for (const member of members) {
      const desc = Object.getOwnPropertyDescriptor(klass.prototype, member)!;
      Object.defineProperty(klass.prototype, member, { ...desc, enumerable: true });
    }
    Object.defineProperty(klass.prototype, Symbol.toStringTag, { value: tag, configurable: true });
  }
  Object.defineProperty(FileReader.prototype.readAsText, 'length', { value: 1 });
  Object.defineProperty(FileReaderSync.prototype.readAsText, 'length', { value: 1 });
  Object.defineProperty(FileList.prototype.item, 'length', { value: 1 });
  return { FileReader, FileReaderSync, FileList };
}
