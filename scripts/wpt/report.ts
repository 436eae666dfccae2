/**
 * Turns per-file runs into the per-area table (Spillway beside Node), the markdown written into
 * docs/web-platform.md, and the full JSON results.
 *
 * Counting: a file's subtests are the union of the names either column reported (a name reported
 * twice counts twice). A subtest a column did not report (its file crashed or threw before
 * defining it) counts as failed for that column, so a column cannot look better by loading less.
 * NOTRUN (left unstarted when the harness timed out) counts as timed out; PRECONDITION_FAILED
 * (an optional feature missing) counts as failed.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { AREAS, type Area, type WptFile } from './discover.js';
import { columnLabel, type Column } from './runner.js';
import type { FileRun, SubtestStatus } from './types.js';

export interface Counts {
  files: number;
  skipped: number;
  subtests: number;
  passed: Record<Column, number>;
  failed: Record<Column, number>;
  timedOut: Record<Column, number>;
  /** Files whose harness ended in ERROR, TIMEOUT or CRASH. */
  harnessProblems: Record<Column, number>;
}

export type Outcome = SubtestStatus | 'MISSING';

export interface FileReport {
  id: string;
  area: Area;
  skip: string | null;
  harness: Partial<Record<Column, { status: string; message: string | null; durationMs: number }>>;
  /** name → outcome per column, in the order first reported. */
  subtests: Array<{ name: string; outcome: Partial<Record<Column, Outcome>>; messages?: Partial<Record<Column, string>> }>;
}

function emptyCounts(columns: Column[]): Counts {
  const zeros = () => Object.fromEntries(columns.map((c) => [c, 0])) as Record<Column, number>;
  return { files: 0, skipped: 0, subtests: 0, passed: zeros(), failed: zeros(), timedOut: zeros(), harnessProblems: zeros() };
}

/** Lines up both columns' subtests for one file (union of names, duplicates kept by position). */
export function fileReport(file: WptFile, runs: Partial<Record<Column, FileRun>>, columns: Column[]): FileReport {
  const report: FileReport = { id: file.id, area: file.area, skip: file.skip, harness: {}, subtests: [] };
  if (file.skip) return report;
  const slots = new Map<string, number[]>();
  for (const c of columns) {
    const run = runs[c];
    if (!run) continue;
    report.harness[c] = { status: run.harness, message: run.message, durationMs: run.durationMs };
    const seen = new Map<string, number>();
    for (const s of run.subtests) {
      const nth = seen.get(s.name) ?? 0;
      seen.set(s.name, nth + 1);
      let positions = slots.get(s.name);
      if (!positions) slots.set(s.name, (positions = []));
      if (positions[nth] === undefined) {
        positions[nth] = report.subtests.length;
        report.subtests.push({ name: s.name, outcome: {} });
      }
      const row = report.subtests[positions[nth]];
      row.outcome[c] = s.status;
      if (s.status !== 'PASS' && s.message) (row.messages ??= {})[c] = s.message.slice(0, 500);
    }
  }
  for (const row of report.subtests) for (const c of columns) if (runs[c] && row.outcome[c] === undefined) row.outcome[c] = 'MISSING';
  return report;
}

export function tally(reports: FileReport[], columns: Column[]): { areas: Map<Area, Counts>; total: Counts } {
  const areas = new Map<Area, Counts>();
  const total = emptyCounts(columns);
  for (const r of reports) {
    let area = areas.get(r.area);
    if (!area) areas.set(r.area, (area = emptyCounts(columns)));
    for (const counts of [area, total]) {
      if (r.skip) {
        counts.skipped++;
        continue;
      }
      counts.files++;
      counts.subtests += r.subtests.length;
      for (const c of columns) {
        const h = r.harness[c];
        if (h && h.status !== 'OK') counts.harnessProblems[c]++;
        for (const row of r.subtests) {
          const o = row.outcome[c];
          if (o === 'PASS') counts.passed[c]++;
          else if (o === 'TIMEOUT' || o === 'NOTRUN') counts.timedOut[c]++;
          else counts.failed[c]++;
        }
      }
    }
  }
  return { areas, total };
}

function pct(n: number, d: number): string {
  return d === 0 ? '–' : `${((100 * n) / d).toFixed(1)}%`;
}

/** The per-area table as markdown (also readable on a terminal). */
export function markdownTable(areas: Map<Area, Counts>, total: Counts, columns: Column[]): string {
  const head = ['Area', 'Files', 'Skipped', 'Subtests'];
  for (const c of columns) head.push(`${columnLabel(c)} passed`, 'failed', 'timed out', 'pass %');
  const rows: string[][] = [];
  const order: Area[] = [...AREAS, 'other'];
  for (const area of order) {
    const counts = areas.get(area);
    if (!counts) continue;
    rows.push(rowFor(area, counts, columns));
  }
  rows.push(rowFor('**Total**', total, columns).map((v, i) => (i === 0 ? v : `**${v}**`)));
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

function rowFor(label: string, c: Counts, columns: Column[]): string[] {
  const row = [label, String(c.files), String(c.skipped), String(c.subtests)];
  for (const col of columns) row.push(String(c.passed[col]), String(c.failed[col]), String(c.timedOut[col]), pct(c.passed[col], c.subtests));
  return row;
}

export function skippedList(files: WptFile[]): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const f of files) {
    if (!f.skip || seen.has(f.path)) continue;
    seen.add(f.path);
    const variants = files.filter((g) => g.path === f.path).length;
    lines.push(`- \`${f.path}\`${variants > 1 ? ` (${variants} variants)` : ''}: ${f.skip}`);
  }
  return lines.join('\n');
}

export const MARK_START = '<!-- generated:wpt -->';
export const MARK_END = '<!-- /generated:wpt -->';

/** Replaces the text between the markers of `docPath` (creating the file with a heading and the markers if needed). */
export function writeGeneratedSection(docPath: string, body: string): void {
  let doc = existsSync(docPath) ? readFileSync(docPath, 'utf8') : `# The web platform inside the isolate\n\n${MARK_START}\n${MARK_END}\n`;
  if (!doc.includes(MARK_START) || !doc.includes(MARK_END)) doc = `${doc.trimEnd()}\n\n${MARK_START}\n${MARK_END}\n`;
  const start = doc.indexOf(MARK_START) + MARK_START.length;
  const end = doc.indexOf(MARK_END);
  writeFileSync(docPath, `${doc.slice(0, start)}\n${body.trim()}\n${doc.slice(end)}`);
}
