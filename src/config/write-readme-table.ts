/** Rewrites the configuration table in README.md from schema.ts (`npm run readme-table`). */
import { readFileSync, writeFileSync } from 'node:fs';
import { configTable } from './config-table.js';

const START = '<!-- config-table:start -->';
const END = '<!-- config-table:end -->';

export function withCurrentTable(readme: string): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md has no ${START} … ${END} block`);
  return `${readme.slice(0, a + START.length)}\n${configTable()}\n${readme.slice(b)}`;
}

if (process.argv[1]?.endsWith('write-readme-table.ts') || process.argv[1]?.endsWith('write-readme-table.js')) {
  writeFileSync('README.md', withCurrentTable(readFileSync('README.md', 'utf8')));
}
