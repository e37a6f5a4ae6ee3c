/** Runs one command line and returns its exit code (exit-codes.ts); errors are one `gatehouse: ...` line. */
import { CommanderError } from 'commander';
import { buildProgram } from './program.js';
import { openCliContext } from './bootstrap.js';
import { exitCodeFor } from './exit-codes.js';
import type { CliDeps } from './command-tree.js';

export async function runCli(argv: string[], deps: CliDeps = { open: openCliContext, streams: process }): Promise<number> {
  const program = buildProgram(deps);
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return exitCodeFor(new CommanderError(1, 'commander.help', '(outputHelp)'));
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    // commander has printed its own errors and help already
    if (!(err instanceof CommanderError)) {
      const e = err as Error & { error_description?: string };
      deps.streams.stderr.write(`gatehouse: ${e.error_description ?? e.message}\n`);
    }
    return exitCodeFor(err);
  }
}
