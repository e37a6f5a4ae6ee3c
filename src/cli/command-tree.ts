/**
 * One definition per command: its name, purpose, options (type in the placeholder, default), an example and
 * what it does. commander turns that into parsing, help, errors and suggestions; the README section
 * (readme-section.ts) and shell completion (completion.ts) walk the same tree.
 */
import { Command, Option } from 'commander';
import type { AppContext } from '../app/context.js';
import { UsageError } from './exit-codes.js';
import { chooseFormat, createOut, outputOption, type Out, type OutputFormat, type Streams } from './output.js';
import type { IdentityProviderAdmin } from '../federation/identity-provider-admin.js';

export class CliCommand extends Command {
  /** a command line that shows the command at work: under its --help, and in the README */
  example = '';

  override createCommand(name?: string): CliCommand {
    return new CliCommand(name);
  }
}

/** What the commands use of the context (src/app/): stores, keys and the domain services. */
export type CliContext = Pick<AppContext,
  'config' | 'store' | 'cipher' | 'accounts' | 'roles' | 'clients' | 'resources' | 'keyRing' | 'audit' | 'accountMail' | 'signOutEverywhere' | 'accountLifecycle' | 'providers' | 'tenancy' | 'close'>
  & { identityProviders: IdentityProviderAdmin };

/** What a command will do with the context; made before the store is opened, from checked input. */
export type Run = (c: CliContext, out: Out) => Promise<void>;

export type CliDeps = {
  /**
   * opens the context a command runs on (src/cli/bootstrap.ts); called only once the input is checked.
   * `provider`: the command uses oidc-provider itself (c.providers), not only the stores and the domain.
   */
  open(needs: { provider: boolean; tenant?: string }): Promise<CliContext>;
  streams: Streams;
};

export type LeafSpec = {
  name: string;
  description: string;
  /** a positional argument, e.g. ['<kid>', 'the key id (see gatehouse keys list)'] */
  argument?: [string, string];
  options?: Option[];
  example: string;
  /** it uses c.providers (oidc-provider's own models); every other command runs without a provider */
  provider?: boolean;
  /** the format off a terminal when --output is not given (json; ndjson for an event log) */
  scripted?: OutputFormat;
  /** reads the options (throwing UsageError for bad input) and returns what the command will do */
  plan(opts: Record<string, unknown>, args: string[]): Run;
};

/**
 * A mandatory option. Checked in the action rather than with commander's makeOptionMandatory(), which runs
 * before the unknown-option check: a mistyped `--emial` must get "did you mean --email?", not "--email missing".
 */
export class RequiredOption extends Option {}

export function required(flags: string, description: string): Option {
  return new RequiredOption(flags, `${description} (required)`);
}

export function leaf(parent: CliCommand, spec: LeafSpec, deps: CliDeps): CliCommand {
  const cmd = parent.command(spec.name).description(spec.description);
  if (spec.argument) cmd.argument(...spec.argument);
  for (const option of spec.options ?? []) cmd.addOption(option);
  cmd.addOption(outputOption());
  cmd.example = spec.example;
  cmd.addHelpText('after', `\nExample:\n  $ ${spec.example}\n`);
  cmd.action(async () => {
    const opts = cmd.opts();
    const missing = cmd.options.find((o) => o instanceof RequiredOption && opts[o.attributeName()] === undefined);
    if (missing) throw new UsageError(`required option '${missing.flags}' not specified`);
    const run = spec.plan(opts, cmd.processedArgs as string[]);
    const out = createOut(chooseFormat(opts.output as string | undefined, deps.streams.stdout.isTTY === true, spec.scripted), deps.streams);
    // --tenant (a global option, program.ts): the command runs inside that tenant, on its records only
    const tenant = cmd.optsWithGlobals().tenant as string | undefined;
    const c = await deps.open({ provider: spec.provider === true, ...(tenant !== undefined ? { tenant } : {}) });
    try {
      await run(c, out);
    } finally {
      await c.close();
    }
  });
  return cmd;
}

/** A group of commands (`gatehouse users ...`). */
export function group(parent: CliCommand, name: string, description: string): CliCommand {
  return parent.command(name).description(description);
}

/** Every command that does something, depth first (the groups only hold them). */
export function leaves(root: Command): Command[] {
  return root.commands.flatMap((c) => (c.commands.length ? leaves(c) : [c]));
}

/** `gatehouse users create` for the leaf `create` under `users`. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}
