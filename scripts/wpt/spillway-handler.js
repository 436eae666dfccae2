// The function the WPT runner deploys into a Spillway isolate (plain JavaScript, classic script,
// the shape of a deploy bundle: it assigns its exports to `__spw_user`). It exports one plain
// function, so the runner invokes it as a JSON execution (`mode: 'call'`). Everything the test
// does (timers, host calls such as fetch) therefore belongs to that invocation, exactly like a
// user's handler.
//
// The job carries the sources: the worker-scope shim, testharness.js, the META scripts and the
// test file. Each is evaluated at global scope with indirect eval, in order, as a worker's
// importScripts would. The result comes back when the harness completes (add_completion_callback);
// after `timeoutMs` the harness's own `timeout()` is called, which ends the tests still running
// with TIMEOUT and completes the harness, so a hung test still reports what passed.
var __spw_user = (function () {
  var globalEval = eval;
  // Taken before any test runs: tests patch globals (Object.prototype.then, timers, JSON).
  var stringify = JSON.stringify;
  var setTimer = setTimeout;
  var clearTimer = clearTimeout;

  function describe(err) {
    if (err && typeof err === 'object' && 'message' in err) return String(err.name || 'Error') + ': ' + String(err.message);
    return String(err);
  }

  function runWpt(job) {
    return new Promise(function (resolve) {
      var results = [];
      var loadErrors = [];
      var settled = false;
      var timer = null;
      function finish(harness) {
        if (settled) return;
        settled = true;
        if (timer !== null) clearTimer(timer);
        // A string, not an object: a test may leave Object.prototype.then patched, which would
        // make an object result a thenable.
        resolve(stringify({ harness: harness, results: results, loadErrors: loadErrors }));
      }
      try {
        globalEval(job.workerScope)(job.location);
      } catch (err) {
        finish({ status: 1, message: 'worker scope set-up failed: ' + describe(err) });
        return;
      }
      for (var i = 0; i < job.scripts.length; i++) {
        var script = job.scripts[i];
        try {
          globalEval(script.source + '\n//# sourceURL=' + script.url);
        } catch (err) {
          loadErrors.push(script.name + ': ' + describe(err));
          if (i === 0) {
            finish({ status: 1, message: 'testharness.js failed to load: ' + describe(err) });
            return;
          }
          // As in a worker: the throwing importScripts() ends the worker script, and the harness's
          // error handler calls done(), which completes a file that defined no tests yet.
          done();
          break;
        }
        if (i === 0) {
          add_result_callback(function (test) {
            results.push({ name: String(test.name), status: test.status, message: test.message == null ? null : String(test.message) });
          });
          add_completion_callback(function (tests, status) {
            // The completion list is authoritative: it includes the tests timeout() ended, which
            // never reach the result callback.
            results = tests.map(function (test) {
              return { name: String(test.name), status: test.status, message: test.message == null ? null : String(test.message) };
            });
            finish({ status: status.status, message: status.message == null ? null : String(status.message) });
          });
        }
      }
      if (loadErrors.length === 0) {
        // The end of WPT's .any.worker.js wrapper: no more tests will be defined.
        try {
          done();
        } catch (err) {
          loadErrors.push('done(): ' + describe(err));
        }
      }
      timer = setTimer(function () {
        timer = null;
        // The harness ends what is still running as TIMEOUT and then completes.
        try {
          timeout();
        } catch (err) {
          loadErrors.push('timeout(): ' + describe(err));
        }
        // If even that did not complete it (a test stuck in cleanup), answer anyway.
        setTimer(function () {
          finish({ status: 2, message: 'the harness did not complete after timeout()' });
        }, 1000);
      }, job.timeoutMs);
    });
  }

  return { runWpt: runWpt };
})();
