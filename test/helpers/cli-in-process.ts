/**
 * Runs a `gatehouse` command line in this process (src/cli/run.ts) with captured output, on the context
 * given (a test server's, left open) or on none: `--help` and usage errors must never open one.
 */
import { runCli } from '../../src/cli/run.js';
import type { CliContext } from '../../src/cli/command-tree.js';

export type InProcessRun = { code: number; stdout: string; stderr: string };

export async function cliInProcess(context: CliContext | undefined, argv: string[], o: { tty?: boolean } = {}): Promise<InProcessRun> {
  let stdout = '';
  let stderr = '';
  const open = context
    ? async (): Promise<CliContext> => ({ ...context, close: async () => {} })
    : () => Promise.reject(new Error('the command opened the store'));
  const code = await runCli(argv, {
    open,
    streams: { stdout: { write: (s: string) => (stdout += s), isTTY: o.tty ?? false }, stderr: { write: (s: string) => (stderr += s) } },
  });
  return { code, stdout, stderr };
}
