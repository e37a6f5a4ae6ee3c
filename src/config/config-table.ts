/**
 * The README's configuration table, made from schema.ts (`npm run config-table` prints it; a test
 * checks the README carries the current one).
 */
import { settings, type SettingSpec } from './schema.js';

export function configTable(): string {
  const rows = Object.entries(settings).map(([name, spec]: [string, SettingSpec<unknown>]) => {
    const def = spec.derive ? spec.derive.text : spec.default === '' ? '(unset)' : `\`${spec.default}\``;
    return `| \`${name}\` | ${def} | ${spec.description.replace(/\|/g, '\\|')} |`;
  });
  return ['| Setting | Default | What it does |', '| --- | --- | --- |', ...rows].join('\n');
}

if (process.argv[1]?.endsWith("config-table.ts") || process.argv[1]?.endsWith("config-table.js")) {
  process.stdout.write(`${configTable()}\n`);
}
