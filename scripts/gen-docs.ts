/**
 * Regenerates the tables in docs/errors.md and docs/configuration.md from the code (the error
 * catalogue and the config schema), between `<!-- generated:… -->` markers. `npm run docs:gen`
 * writes them; test/unit/docs-sync.test.ts fails when they are out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { CONFIG_SCHEMA } from '../src/config/config.js';
import { ERROR_CATALOGUE } from '../src/core/errors.js';

const root = fileURLToPath(new URL('..', import.meta.url));

export function errorTable(): string {
  const rows = Object.entries(ERROR_CATALOGUE)
    .sort((a, b) => a[1].status - b[1].status || a[0].localeCompare(b[0]))
    .map(([code, spec]) => `| \`${code}\` | ${spec.status} | ${spec.meaning} | ${spec.fix} |`);
  return ['| Code | Status | Meaning | How to fix |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

function defaultOf(schema: z.ZodTypeAny): string {
  const parsed = schema.safeParse(undefined);
  return parsed.success ? (parsed.data === undefined ? '(unset)' : `\`${String(parsed.data)}\``) : '(required)';
}

export function configTable(): string {
  const rows = Object.entries(CONFIG_SCHEMA).map(([key, spec]) => `| \`${key}\` | ${defaultOf(spec.schema as z.ZodTypeAny)} | ${spec.description} |`);
  return ['| Setting (env var) | Default | Meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

export function replaceGenerated(text: string, name: string, table: string): string {
  const start = `<!-- generated:${name} -->`;
  const end = `<!-- /generated:${name} -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < 0) throw new Error(`markers ${start} … ${end} missing`);
  return `${text.slice(0, from + start.length)}\n${table}\n${text.slice(to)}`;
}

export const GENERATED = [
  { file: 'docs/errors.md', name: 'errors', table: errorTable },
  { file: 'docs/configuration.md', name: 'config', table: configTable },
];

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const g of GENERATED) {
    const path = `${root}${g.file}`;
    writeFileSync(path, replaceGenerated(readFileSync(path, 'utf8'), g.name, g.table()));
    console.log(`wrote ${g.file}`);
  }
}
