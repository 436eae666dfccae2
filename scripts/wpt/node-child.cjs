'use strict';
// The Node column's per-file process: runs one WPT file in plain Node's own realm, the way Node's
// own WPT runner does (vm.runInThisContext of testharness.js, the META scripts and the test), after
// the same worker-scope shim the Spillway column uses. The job arrives as JSON on stdin; the
// result leaves on file descriptor 3, so whatever the test prints on stdout cannot corrupt it.
const { runInThisContext } = require('node:vm');
const { writeSync } = require('node:fs');

function describe(err) {
  if (err && typeof err === 'object' && 'message' in err) return String(err.name || 'Error') + ': ' + String(err.message);
  return String(err);
}

let answered = false;
function answer(value) {
  if (answered) return;
  answered = true;
  writeSync(3, JSON.stringify(value));
  process.exit(0);
}

function run(job) {
  const results = [];
  const loadErrors = [];
  // Errors thrown later, outside any test step (an uncaught error in a worker): recorded, as a
  // worker's error event would make the harness status ERROR.
  process.on('uncaughtException', (err) => loadErrors.push('uncaught: ' + describe(err)));
  process.on('unhandledRejection', () => {});
  runInThisContext(job.workerScope, { filename: 'wpt:worker-scope.js' })(job.location);
  for (let i = 0; i < job.scripts.length; i++) {
    const script = job.scripts[i];
    try {
      runInThisContext(script.source, { filename: script.url });
    } catch (err) {
      loadErrors.push(script.name + ': ' + describe(err));
      if (i === 0) return answer({ harness: { status: 1, message: 'testharness.js failed to load: ' + describe(err) }, results, loadErrors });
      // As in a worker: the throwing importScripts() ends the worker script, and the harness's
      // error handler calls done(), which completes a file that defined no tests yet.
      done();
      break;
    }
    if (i === 0) {
      add_result_callback((test) => {
        results.push({ name: String(test.name), status: test.status, message: test.message == null ? null : String(test.message) });
      });
      add_completion_callback((tests, status) => {
        // The completion list is authoritative: it includes the tests timeout() ended, which
        // never reach the result callback.
        results.splice(0, results.length, ...tests.map((test) => ({ name: String(test.name), status: test.status, message: test.message == null ? null : String(test.message) })));
        answer({ harness: { status: status.status, message: status.message == null ? null : String(status.message) }, results, loadErrors });
      });
    }
  }
  // The end of WPT's .any.worker.js wrapper: no more tests will be defined.
  if (loadErrors.length === 0) done();
  setTimeout(() => {
    try {
      timeout();
    } catch (err) {
      loadErrors.push('timeout(): ' + describe(err));
    }
    setTimeout(() => answer({ harness: { status: 2, message: 'the harness did not complete after timeout()' }, results, loadErrors }), 1000);
  }, job.timeoutMs);
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', () => run(JSON.parse(input)));
