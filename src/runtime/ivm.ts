/**
 * Loads isolated-vm. No single isolated-vm major builds on every Node line we support (5.0.4 on
 * Node 20, 6.x on Node 22 and 24), so package.json installs both as optional aliases and npm keeps
 * whichever builds for the running Node. This module picks the one that loads.
 */
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import type IsolatedVM from 'isolated-vm';

// V8's Maglev tier (on by default from Node 22) compiles allocation loops such as
// `for (;;) hog.push(new Array(1000).fill(0))` so that they never see isolated-vm's termination
// request: measured on Node 24.21 with isolated-vm 6.2 and 7.0, the isolate is marked disposed for
// exceeding its memory limit while its thread keeps running, to 10+ GB of RSS. Without Maglev the
// same loop stops at the limit (~80 MB RSS). Flags are process-wide and must be set before any
// isolate compiles code; Turbofan and Sparkplug stay on. See docs/node-versions.md.
setFlagsFromString('--no-maglev');
// Gives every context created from here on a `gc()` function: the guest runtime keeps it and
// overwrites the global (V8 makes it non-configurable, so user code sees `gc === undefined`)
// before any function's code runs, and uses it to compact an idle isolate's heap
// (IsolateHost.compact: RSS per idle warm isolate 4.1 -> 3.2 MB in process). Node's own main
// context, created already, does not get it (vm contexts and workers made later would).
setFlagsFromString('--expose-gc');

const require = createRequire(import.meta.url);
const major = Number(process.versions.node.split('.')[0]);
const candidates = major >= 22 ? ['isolated-vm-node22', 'isolated-vm-node20'] : ['isolated-vm-node20', 'isolated-vm-node22'];

/** The major version of the isolated-vm that loaded (5 on Node 20, 6 on Node 22 and 24). */
export let ivmMajor = 0;

function load(): typeof IsolatedVM {
  const failures: string[] = [];
  for (const name of candidates) {
    try {
      const loaded = require(name) as typeof IsolatedVM;
      ivmMajor = Number((require(`${name}/package.json`) as { version: string }).version.split('.')[0]);
      return loaded;
    } catch (err) {
      failures.push(`${name}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(
    `isolated-vm is not installed for Node ${process.versions.node}. Run \`npm install\` with this Node ` +
      `(it compiles isolated-vm on Node 20; see README "Node versions"). Tried: ${failures.join('; ')}`,
  );
}

export const ivm = load();

/**
 * Whether a batch's result may carry its operations through accessor properties read when
 * isolated-vm copies the result (one crossing per batch). isolated-vm 5 copies getters' values;
 * 6.x refuses an object with accessors ("illegal access"), so there the host takes the operations
 * with a second, synchronous call once the batch's promise settled.
 */
export const OPS_IN_RESULT = ivmMajor > 0 && ivmMajor < 6;
export type { IsolatedVM };
