/**
 * Loads better-sqlite3. Its 12.x line is the last that runs on Node 20, but on Node 24 its
 * statements' destructors abort the process (`RemoveEnvironmentCleanupHook: (env) != nullptr`)
 * when the garbage collector finalises them late, including at exit (WiseLibs/better-sqlite3#1515;
 * measured here: the contract suite aborted at exit on Node 24.21). 13.x moved to node-addon-api
 * and fixes it, ships prebuilt binaries inside the package (no download, no compile), and requires
 * Node 22 (it segfaults on Node 20). So package.json installs 13.x under the alias
 * `better-sqlite3-napi` and 12.x (compiled from source) as an optional dependency, and this module
 * picks by Node version. Both have the same API.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

const require = createRequire(import.meta.url);
const major = Number(process.versions.node.split('.')[0]);
const candidates = major >= 22 ? ['better-sqlite3-napi', 'better-sqlite3'] : ['better-sqlite3'];

function load(): typeof BetterSqlite3 {
  const failures: string[] = [];
  for (const name of candidates) {
    try {
      return require(name) as typeof BetterSqlite3;
    } catch (err) {
      failures.push(`${name}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`better-sqlite3 is not installed for Node ${process.versions.node}. Run \`npm install\` with this Node (see README "Node versions"). Tried: ${failures.join('; ')}`);
}

const Database = load();
export default Database;
