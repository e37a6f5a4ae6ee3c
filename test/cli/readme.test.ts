/**
 * Issue 22 "done when": the README's CLI section is the one the command definitions make
 * (`npm run -s cli-readme` prints it; paste it over the section between the cli:start and cli:end markers).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { buildProgram } from '../../src/cli/program.js';
import { commandPath, leaves } from '../../src/cli/command-tree.js';
import { cliReadmeSection, readmeCliSection } from '../../src/cli/readme-section.js';

describe('README: the CLI section', () => {
  const program = buildProgram({ open: () => Promise.reject(new Error('unused')), streams: process });
  const generated = cliReadmeSection(program);

  it('names every command and every option of the definitions', () => {
    for (const cmd of leaves(program).filter((c) => c.name() !== 'help')) {
      assert.ok(generated.includes(`### \`${commandPath(cmd)}`), commandPath(cmd));
      for (const o of cmd.options) if (o.long !== '--help' && o.long !== '--output') assert.ok(generated.includes(`\`${o.flags.replace(/\|/g, '\\|')}\``), `${commandPath(cmd)} ${o.flags}`);
    }
  });

  it('README.md carries the current section', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readmeCliSection(readme);
    assert.ok(section, 'README.md has no CLI section: paste the output of `npm run -s cli-readme` into it');
    assert.equal(section, generated, 'README.md’s CLI section is stale: replace it with the output of `npm run -s cli-readme`');
  });
});
