// What a dedicated worker's global looks like to testharness.js and the tests, set up before the
// harness runs. The same script runs in both columns (inside a Spillway isolate, and in plain
// Node's own realm), so both see the same scope. It is a function expression: the runner
// evaluates it at global scope and calls it with the test's URL parts.
//
// - `self` is the global object (only if the realm does not define it already).
// - `location` is a WorkerLocation-like object for the test's URL, including the variant's
//   `?query`, which subset tests read.
// - `WorkerGlobalScope`, `DedicatedWorkerGlobalScope` and `postMessage`, so the global passes for a
//   dedicated worker's.
// - `GLOBAL` answers the questions WPT's `.any.js` wrappers answer (we are a worker).
// - `fetch(relative)` resolves against `location.href`, as a worker's fetch does; the realm's
//   own fetch does the rest (a string or URL input is resolved, a Request is passed through).
(function installWorkerScope(loc) {
  var g = globalThis;
  if (!('self' in g)) g.self = g;
  var location = {};
  for (var key of ['href', 'origin', 'protocol', 'host', 'hostname', 'port', 'pathname', 'search', 'hash']) {
    Object.defineProperty(location, key, { value: loc[key], enumerable: true });
  }
  Object.defineProperty(location, 'toString', { value: function toString() { return loc.href; } });
  Object.defineProperty(g, 'location', { value: location, configurable: true, enumerable: true, writable: false });
  // testharness.js picks its dedicated-worker environment (results kept as messages, done()
  // called by the wrapper), and idlharness.js checks exposure against DedicatedWorker, when the
  // global is an instance of DedicatedWorkerGlobalScope. The realm's own interfaces win if present.
  var illegal = function () {
    throw new TypeError('Illegal constructor');
  };
  var isGlobal = { value: function (v) { return v === g; } };
  if (!('WorkerGlobalScope' in g)) {
    var WorkerGlobalScope = { WorkerGlobalScope: function () { illegal(); } }.WorkerGlobalScope;
    Object.defineProperty(WorkerGlobalScope, Symbol.hasInstance, isGlobal);
    Object.defineProperty(g, 'WorkerGlobalScope', { value: WorkerGlobalScope, configurable: true, writable: true });
  }
  if (!('DedicatedWorkerGlobalScope' in g)) {
    var DedicatedWorkerGlobalScope = { DedicatedWorkerGlobalScope: function () { illegal(); } }.DedicatedWorkerGlobalScope;
    Object.setPrototypeOf(DedicatedWorkerGlobalScope.prototype, g.WorkerGlobalScope.prototype);
    Object.defineProperty(DedicatedWorkerGlobalScope, Symbol.hasInstance, isGlobal);
    Object.defineProperty(g, 'DedicatedWorkerGlobalScope', { value: DedicatedWorkerGlobalScope, configurable: true, writable: true });
  }
  // The harness posts its results to the page that started the worker; here nobody listens.
  if (typeof g.postMessage !== 'function') g.postMessage = function postMessage() {};
  g.GLOBAL = {
    isWindow: function () { return false; },
    isWorker: function () { return true; },
    isShadowRealm: function () { return false; },
  };
  if (typeof g.fetch === 'function') {
    var realmFetch = g.fetch;
    var resolveInput = function (input) {
      if (typeof input === 'string' || (typeof URL === 'function' && input instanceof URL)) {
        try {
          return typeof URL === 'function' ? new URL(String(input), loc.href).href : input;
        } catch (e) {
          return input;
        }
      }
      return input;
    };
    // `fetch.length` is 1 and its name is "fetch", as in a browser.
    var fetch = {
      fetch: function (input) {
        return arguments.length > 1 ? realmFetch.call(this, resolveInput(input), arguments[1]) : realmFetch.call(this, resolveInput(input));
      },
    }.fetch;
    Object.defineProperty(g, 'fetch', { value: fetch, configurable: true, enumerable: true, writable: true });
  }
});
