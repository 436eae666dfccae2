'use strict';
// node:stream for undici's Fetch classes inside the isolate: the state of a web ReadableStream.
// web-streams-polyfill keeps the spec's [[disturbed]] and [[state]] slots as `_disturbed` and
// `_state`; an implementation that hides them is treated as never disturbed, never errored.
module.exports = {
  isDisturbed: (stream) => !!(stream && stream._disturbed === true),
  isErrored: (stream) => !!(stream && stream._state === 'errored'),
  isDestroyed: () => false,
  isReadable: (stream) => !!(stream && stream._state === 'readable'),
  Transform: class Transform {
    constructor() {
      throw new TypeError('node:stream Transform is not available in Spillway isolates.');
    }
  },
};
