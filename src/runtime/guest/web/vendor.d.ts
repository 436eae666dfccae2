// Types for the untyped (or Node-typed) libraries the guest bundles; only what the guest uses.
declare module 'whatwg-url' {
  export class URL {
    constructor(url: string, base?: string | URL);
    static canParse(url: string, base?: string): boolean;
    static parse(url: string, base?: string): URL | null;
    href: string;
    readonly origin: string;
    protocol: string;
    username: string;
    password: string;
    host: string;
    hostname: string;
    port: string;
    pathname: string;
    search: string;
    readonly searchParams: URLSearchParams;
    hash: string;
    toJSON(): string;
  }
  export class URLSearchParams {
    constructor(init?: string | Record<string, string> | Iterable<[string, string]>);
    readonly size: number;
    append(name: string, value: string): void;
    delete(name: string, value?: string): void;
    get(name: string): string | null;
    getAll(name: string): string[];
    has(name: string, value?: string): boolean;
    set(name: string, value: string): void;
    sort(): void;
    entries(): IterableIterator<[string, string]>;
    keys(): IterableIterator<string>;
    values(): IterableIterator<string>;
    forEach(cb: (value: string, key: string, parent: URLSearchParams) => void): void;
    [Symbol.iterator](): IterableIterator<[string, string]>;
  }
}

// @exodus/bytes' own types reference Node's; the guest is type-checked without them.
declare module '@exodus/bytes/encoding.js' {
  export class TextEncoder {
    readonly encoding: 'utf-8';
    encode(input?: string): Uint8Array;
    encodeInto(source: string, destination: Uint8Array): { read: number; written: number };
  }
  export class TextDecoder {
    constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
    readonly encoding: string;
    readonly fatal: boolean;
    readonly ignoreBOM: boolean;
    decode(input?: ArrayBuffer | ArrayBufferView, options?: { stream?: boolean }): string;
  }
  export class TextEncoderStream {
    readonly encoding: 'utf-8';
    readonly readable: unknown;
    readonly writable: unknown;
  }
  export class TextDecoderStream {
    constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
    readonly encoding: string;
    readonly readable: unknown;
    readonly writable: unknown;
  }
}

declare module 'whatwg-url/lib/url-state-machine.js' {
  const usm: { basicURLParse: (input: string, options?: Record<string, unknown>) => unknown };
  export default usm;
}
