/**
 * The README's CLI section, made from the command tree (`npm run -s cli-readme` prints it; a test compares
 * it with README.md). It sits between the two markers below.
 */
import type { Command, Option } from 'commander';
import { commandPath, leaves, type CliCommand } from './command-tree.js';
import { EXIT_CODES } from './exit-codes.js';

export const CLI_SECTION_START = '<!-- cli:start (made by npm run -s cli-readme from src/cli/; do not edit) -->';
export const CLI_SECTION_END = '<!-- cli:end -->';

const cellText = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function optionRow(o: Option): string {
  const fallback = o.defaultValueDescription ?? (o.defaultValue === undefined || o.defaultValue === false ? '' : JSON.stringify(o.defaultValue));
  const choices = o.argChoices ? ` (${o.argChoices.join(', ')})` : '';
  return `| \`${cellText(o.flags)}\` | ${cellText(o.description)}${choices} | ${fallback ? `\`${cellText(fallback)}\`` : ''} |`;
}

function commandBlock(cmd: Command): string[] {
  const args = cmd.registeredArguments.map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}]`)).join(' ');
  const purpose = cmd.description();
  const lines = [`### \`${commandPath(cmd)}${args ? ` ${args}` : ''}\``, '', `${purpose.charAt(0).toUpperCase()}${purpose.slice(1)}.`, ''];
  // --help and --output are on every command; the introduction says so once
  const options = cmd.options.filter((o) => o.long !== '--help' && o.long !== '--output');
  const argumentRows = cmd.registeredArguments.map((a) => `| \`${a.required ? `<${a.name()}>` : `[${a.name()}]`}\` | ${cellText(a.description)}${a.argChoices ? ` (${a.argChoices.join(', ')})` : ''} | |`);
  if (options.length || argumentRows.length) lines.push('| argument or option | what it does | default |', '|---|---|---|', ...argumentRows, ...options.map(optionRow), '');
  const example = (cmd as CliCommand).example;
  if (example) lines.push(`    ${example}`, '');
  return lines;
}

export function cliReadmeSection(program: CliCommand): string {
  return [
    CLI_SECTION_START,
    '## The `gatehouse` CLI',
    '',
    `${program.description()}. \`npx gatehouse --help\`, \`gatehouse help <command>\` and \`gatehouse <command> --help\` print each command's options and an example; an unknown command or option names the closest match. Every command takes \`--output table|json|ndjson\` (\`-o\`): by default a table on a terminal and JSON otherwise (\`audit\`: NDJSON, one event a line); a secret shown only once is listed under \`shown_once\` in JSON and marked \`(shown only now)\` in a table. Shell completion: \`source <(gatehouse completion bash)\` (or \`zsh\`).`,
    '',
    '| exit code | meaning |',
    '|---|---|',
    ...EXIT_CODES.map((e) => `| ${e.code} | ${cellText(e.meaning)} |`),
    '',
    ...leaves(program).filter((c) => c.name() !== 'help').flatMap(commandBlock),
    CLI_SECTION_END,
  ].join('\n');
}

/** The section as README.md has it now, or undefined when it has none. */
export function readmeCliSection(readme: string): string | undefined {
  const start = readme.indexOf(CLI_SECTION_START);
  const end = readme.indexOf(CLI_SECTION_END);
  if (start < 0 || end < start) return undefined;
  return readme.slice(start, end + CLI_SECTION_END.length);
}
