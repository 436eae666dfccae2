// Free `process` and `Buffer` references in bundled npm modules (undici) resolve to these, not to
// guest globals: handlers see neither, as on Workers.

export const process = {
  versions: { node: '22.0.0' },
  platform: 'spillway',
  env: {},
  emitWarning() {},
  nextTick(fn, ...args) {
    queueMicrotask(() => fn(...args));
  },
};

// The buffer package is evaluated only when bundled code first touches Buffer (the multipart
// parser), not at isolate start-up.
let realBuffer;
const loadBuffer = () => (realBuffer ??= require('buffer').Buffer);
export const Buffer = new Proxy(function Buffer() {}, {
  get: (_target, key) => loadBuffer()[key],
  apply: (_target, thisArg, args) => Reflect.apply(loadBuffer(), thisArg, args),
  construct: (_target, args) => Reflect.construct(loadBuffer(), args),
});

// Blob and File: undici's WebIDL checks and body code use Spillway's classes (../blob.ts).
export { Blob, File } from '../blob.ts';
