/**
 * `gatehouse completion bash|zsh`: commander ships no completion, so the script is generated from the same
 * command tree (program.commands and their options). It completes command names, then a command's options,
 * and the choices of an option that has them (--output). zsh runs the bash function through bashcompinit.
 */
import type { Command, Option } from 'commander';

type Node = { path: string; words: string[] };

function walk(cmd: Command, path: string, into: Node[]): void {
  const options = cmd.options.map((o) => o.long).filter((l): l is string => !!l);
  into.push({ path, words: [...cmd.commands.map((c) => c.name()), ...options, '--help'] });
  for (const sub of cmd.commands) walk(sub, `${path}/${sub.name()}`, into);
}

function choices(root: Command): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const visit = (cmd: Command) => {
    for (const o of cmd.options as (Option & { argChoices?: string[] })[]) if (o.long && o.argChoices) found.set([o.long, o.short].filter(Boolean).map((f) => quote(f!)).join('|'), o.argChoices);
    for (const a of cmd.registeredArguments) if (a.argChoices) found.set(`${cmdId(cmd)}:arg`, a.argChoices);
    cmd.commands.forEach(visit);
  };
  visit(root);
  return found;
}

const cmdId = (cmd: Command): string => {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return `/${names.join('/')}`.replace(/^\/$/, '');
};

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function bashFunction(root: Command): string {
  const name = root.name();
  const fn = `_${name}_completion`;
  const nodes: Node[] = [];
  walk(root, '', nodes);
  const argChoices = [...choices(root)];
  const paths = nodes.filter((n) => n.path).map((n) => quote(n.path)).join('|');
  return [
    `${fn}() {`,
    '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" path="" i',
    // the command path so far: every word that names a command under the path before it
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    case "$path/${COMP_WORDS[i]}" in',
    `      ${paths}) path="$path/\${COMP_WORDS[i]}" ;;`,
    '    esac',
    '  done',
    '  local words',
    '  case "$prev" in',
    ...argChoices.filter(([k]) => !k.endsWith(':arg')).map(([flags, values]) => `    ${flags}) COMPREPLY=($(compgen -W ${quote(values.join(' '))} -- "$cur")); return ;;`),
    '  esac',
    '  case "$path" in',
    ...argChoices.filter(([k]) => k.endsWith(':arg')).map(([k, values]) => `    ${quote(k.slice(0, -4))}) words=${quote(values.join(' '))} ;;`),
    ...nodes.filter((n) => !argChoices.some(([k]) => k === `${n.path}:arg`)).map((n) => `    ${quote(n.path)}) words=${quote(n.words.join(' '))} ;;`),
    '  esac',
    '  COMPREPLY=($(compgen -W "$words" -- "$cur"))',
    '}',
    `complete -F ${fn} ${name}`,
    '',
  ].join('\n');
}

export function completionScript(root: Command, shell: 'bash' | 'zsh'): string {
  const head = `# ${root.name()} completion for ${shell}: source <(${root.name()} completion ${shell})\n`;
  if (shell === 'bash') return head + bashFunction(root);
  return `${head}autoload -U +X bashcompinit && bashcompinit\n${bashFunction(root)}`;
}
