/**
 * The `gatehouse` command tree. Help (`gatehouse --help`, `gatehouse help users create`,
 * `gatehouse users create --help`), parsing and errors with "did you mean" come from commander; usage
 * errors are thrown (exitOverride) and exit 2 (exit-codes.ts).
 */
import { Argument, Option } from 'commander';
import { CliCommand, commandPath, type CliDeps } from './command-tree.js';
import { usersCommands } from './commands/users.js';
import { clientsCommands } from './commands/clients.js';
import { resourcesCommands } from './commands/resources.js';
import { rolesCommands } from './commands/roles.js';
import { keysCommands } from './commands/keys.js';
import { auditCommand } from './commands/audit.js';
import { webhooksCommands } from './commands/webhooks.js';
import { federationCommands } from './commands/federation.js';
import { tenantsCommands } from './commands/tenants.js';
import { completionScript } from './completion.js';
import { EXIT_CODES, UsageError } from './exit-codes.js';

export function buildProgram(deps: CliDeps): CliCommand {
  const program = new CliCommand('gatehouse');
  program
    .description('Gatehouse’s operator command line: accounts, clients, APIs, signing keys and the audit log, on the same DATABASE_URL and settings as the server')
    .exitOverride()
    .showSuggestionAfterError(true)
    .helpCommand(false)
    .addOption(new Option('--tenant <id>', 'run the command inside this tenant (its accounts, clients, roles, keys and audit log); the default tenant when left out'))
    .configureOutput({
      writeOut: (s) => void deps.streams.stdout.write(s),
      writeErr: (s) => void deps.streams.stderr.write(s),
      outputError: (s, write) => write(`gatehouse: ${s.replace(/^error: /, '')}`),
    })
    .addHelpText('after', `\nExit codes:\n${EXIT_CODES.map((e) => `  ${e.code}  ${e.meaning}`).join('\n')}\n\nRun gatehouse help <command> (or gatehouse <command> --help) for a command’s options and an example.\n`);

  usersCommands(program, deps);
  clientsCommands(program, deps);
  resourcesCommands(program, deps);
  rolesCommands(program, deps);
  keysCommands(program, deps);
  auditCommand(program, deps);
  webhooksCommands(program, deps);
  federationCommands(program, deps);
  tenantsCommands(program, deps);

  const completion = program.command('completion')
    .description('print a shell completion script for bash or zsh')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh']))
    .action((shell: 'bash' | 'zsh') => void deps.streams.stdout.write(completionScript(program, shell)));
  completion.example = 'source <(gatehouse completion bash)';
  completion.addHelpText('after', `\nExample:\n  $ ${completion.example}\n`);

  // `gatehouse help users create`: help for a command at any depth (commander's own help command takes one name)
  program.command('help')
    .description('print the help of a command, e.g. gatehouse help clients create')
    .argument('[command...]', 'the command')
    .action((names: string[]) => {
      let cmd: CliCommand = program;
      for (const name of names) {
        const sub = cmd.commands.find((c) => c.name() === name);
        if (!sub) throw new UsageError(`${commandPath(cmd)} has no command ${JSON.stringify(name)} (see ${commandPath(cmd)} --help)`);
        cmd = sub as CliCommand;
      }
      cmd.help();
    });
  return program;
}
