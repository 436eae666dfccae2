'use strict';
// node:crypto for undici's Fetch classes inside the isolate: randomInt for multipart boundaries.
module.exports = {
  randomInt(max) {
    const c = globalThis.crypto;
    if (c && typeof c.getRandomValues === 'function') {
      const word = c.getRandomValues(new Uint32Array(1))[0];
      return word % max;
    }
    return Math.floor(Math.random() * max);
  },
};
