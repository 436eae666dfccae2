/**
 * test/wpt/expectations.json: per file (and variant), the subtests that pass in Spillway. A
 * subtest listed there that stops passing is a regression (test/wpt/wpt.test.ts fails on it); a
 * subtest that starts passing is progress, recorded by `npm run wpt -- --update`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FileRun } from './types.js';

export const EXPECTATIONS_PATH = fileURLToPath(new URL('../../test/wpt/expectations.json', import.meta.url));

export interface ExpectationsFile {
  /** How the file is made and used. */
  about: string;
  /** File id (path + variant) → names of the subtests that pass. */
  pass: Record<string, string[]>;
}

const ABOUT = 'Subtests that pass in Spillway, per WPT file and variant. Written by `npm run wpt -- --update`; test/wpt/wpt.test.ts fails when one of them stops passing.';

export function readExpectations(path = EXPECTATIONS_PATH): ExpectationsFile {
  if (!existsSync(path)) return { about: ABOUT, pass: {} };
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as ExpectationsFile;
  if (!parsed || typeof parsed.pass !== 'object') throw new Error(`${path}: expected an object with a "pass" map; regenerate it with npm run wpt -- --update`);
  return parsed;
}

export function passingNames(run: FileRun): string[] {
  return [...new Set(run.subtests.filter((s) => s.status === 'PASS').map((s) => s.name))].sort();
}

/**
 * Records the runs' passing subtests. Files not in `runs` keep their entry unless `prune` lists
 * the ids that exist (then entries for files that no longer exist are dropped).
 */
export function updateExpectations(current: ExpectationsFile, runs: Map<string, FileRun>, existingIds?: Set<string>): ExpectationsFile {
  const pass: Record<string, string[]> = {};
  for (const [id, names] of Object.entries(current.pass)) if (!existingIds || existingIds.has(id)) pass[id] = names;
  for (const [id, run] of runs) {
    const names = passingNames(run);
    if (names.length > 0) pass[id] = names;
    else delete pass[id];
  }
  const sorted: Record<string, string[]> = {};
  for (const id of Object.keys(pass).sort()) sorted[id] = pass[id];
  return { about: ABOUT, pass: sorted };
}

export function writeExpectations(file: ExpectationsFile, path = EXPECTATIONS_PATH): void {
  writeFileSync(path, `${JSON.stringify(file, null, 1)}\n`);
}

export interface Comparison {
  /** Expected to pass, did not: id → names (with what happened). */
  regressions: Array<{ id: string; name: string; got: string }>;
  /** Passed but not in the expectations. */
  newlyPassing: Array<{ id: string; name: string }>;
}

export function compare(expected: ExpectationsFile, runs: Map<string, FileRun>): Comparison {
  const regressions: Comparison['regressions'] = [];
  const newlyPassing: Comparison['newlyPassing'] = [];
  for (const [id, names] of Object.entries(expected.pass)) {
    const run = runs.get(id);
    if (!run) continue;
    const statusOf = new Map<string, string>();
    for (const s of run.subtests) if (!statusOf.has(s.name) || s.status === 'PASS') statusOf.set(s.name, s.status);
    for (const name of names) {
      const got = statusOf.get(name);
      if (got !== 'PASS') regressions.push({ id, name, got: got ?? `not reported (harness ${run.harness}${run.message ? `: ${run.message.slice(0, 200)}` : ''})` });
    }
  }
  for (const [id, run] of runs) {
    const known = new Set(expected.pass[id] ?? []);
    for (const name of passingNames(run)) if (!known.has(name)) newlyPassing.push({ id, name });
  }
  return { regressions, newlyPassing };
}
