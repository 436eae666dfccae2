import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { GENERATED, replaceGenerated } from '../../scripts/gen-docs.js';
import { DEFAULT_CAPACITY_POLICY } from '../../src/capacity/policy.js';
import { ERROR_CATALOGUE } from '../../src/core/errors.js';

describe('generated docs are up to date', () => {
  for (const g of GENERATED) {
    it(`${g.file} matches the code (run \`npm run docs:gen\` if this fails)`, () => {
      const text = readFileSync(g.file, 'utf8');
      assert.equal(text, replaceGenerated(text, g.name, g.table()));
    });
  }

  it('every error code in the docs exists in the catalogue and the other way round', () => {
    const text = readFileSync('docs/errors.md', 'utf8');
    const documented = new Set([...text.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => `${m[1]}:${m[2]}`));
    const catalogue = new Set(Object.entries(ERROR_CATALOGUE).map(([code, spec]) => `${code}:${spec.status}`));
    assert.deepEqual([...documented].sort(), [...catalogue].sort());
  });

  it('docs/capacity.md shows the default capacity policy exactly', () => {
    const text = readFileSync('docs/capacity.md', 'utf8');
    const block = /```json policy\n([\s\S]*?)\n```/.exec(text);
    assert.ok(block, 'docs/capacity.md has a ```json policy block');
    assert.deepEqual(JSON.parse(block[1]!), DEFAULT_CAPACITY_POLICY);
  });
});
