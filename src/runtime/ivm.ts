/**
 * Loads isolated-vm. No single isolated-vm major builds on every Node line we support (5.0.4 on
 * Node 20, 6.x on Node 22 and 24), so package.json installs both as optional aliases and npm keeps
 * whichever builds for the running Node. This module picks the one that loads.
 */
import { createRequire } from 'node:module';
import type IsolatedVM from 'isolated-vm';

const require = createRequire(import.meta.url);
const major = Number(process.versions.node.split('.')[0]);
const candidates = major >= 22 ? ['isolated-vm-node22', 'isolated-vm-node20'] : ['isolated-vm-node20', 'isolated-vm-node22'];

function load(): typeof IsolatedVM {
  const failures: string[] = [];
  for (const name of candidates) {
    try {
      return require(name) as typeof IsolatedVM;
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
export type { IsolatedVM };
