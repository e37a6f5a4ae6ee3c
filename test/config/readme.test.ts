/** The README's configuration table is the one schema.ts makes (run `npm run readme-table` after a change). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { withCurrentTable } from '../../src/config/write-readme-table.js';

describe('README', () => {
  it('carries the current configuration table', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    assert.equal(readme, withCurrentTable(readme), 'README.md is stale: run npm run readme-table');
  });
});
