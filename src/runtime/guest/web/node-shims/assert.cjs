'use strict';
// node:assert for undici's Fetch classes inside the isolate: internal invariants only.
class AssertionError extends Error {
  constructor(message) {
    super(message || 'Assertion failed');
    this.name = 'AssertionError';
    this.code = 'ERR_ASSERTION';
  }
}
function assert(value, message) {
  if (!value) throw message instanceof Error ? message : new AssertionError(message);
}
assert.ok = assert;
assert.AssertionError = AssertionError;
assert.strictEqual = (a, b, message) => assert(Object.is(a, b), message || `Expected ${String(a)} to be ${String(b)}`);
assert.equal = (a, b, message) => assert(a == b, message); // eslint-disable-line eqeqeq
assert.notStrictEqual = (a, b, message) => assert(!Object.is(a, b), message);
assert.fail = (message) => assert(false, message);
module.exports = assert;
