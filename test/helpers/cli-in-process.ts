/**
 * Runs a `gatehouse` command line in this process (src/cli/run.ts) with captured output, on the context
 * given (a test server's, left open) or on none: `--help` and usage errors must never open one.
 */
import { runCli } from '../../src/cli/run.js';
import type { CliContext } from '../../src/cli/command-tree.js';

/** `provider`: what the command asked the context for, when it opened one */
export type InProcessRun = { code: number; stdout: string; stderr: string; provider?: boolean };

export async function cliInProcess(context: CliContext | undefined, argv: string[], o: { tty?: boolean } = {}): Promise<InProcessRun> {
  let stdout = '';
  let stderr = '';
  let provider: boolean | undefined;
  const open = context
    ? async (needs: { provider: boolean }): Promise<CliContext> => {
      provider = needs.provider;
      return { ...context, close: async () => {} };
    }
    : () => Promise.reject(new Error('the command opened the store'));
  const code = await runCli(argv, {
    open,
    streams: { stdout: { write: (s: string) => (stdout += s), isTTY: o.tty ?? false }, stderr: { write: (s: string) => (stderr += s) } },
  });
  return { code, stdout, stderr, provider };
}
