/**
 * Runs the real `gatehouse` CLI (`node --import tsx src/cli.ts ...`) as the operator would, with only the env
 * given, stdout a pipe (so results are JSON). For `--help`, usage errors and output forms without a process
 * per run, see cli-in-process.ts.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type CliRun = { code: number | null; stdout: string; stderr: string; lines: string[] };

export function runCli(env: Record<string, string>, ...args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      cwd: ROOT, env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', BCRYPT_COST: '4', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      // `lines` leaves out oidc-provider's runtime warning (printed when the provider loads, under Node < 22) for
      // the tests that count the CLI's own lines; `stderr` keeps it (test/cli/quiet.test.ts asserts it is absent)
      const lines = stderr.split('\n').filter((l) => l && !l.startsWith('oidc-provider WARNING: Unsupported runtime'));
      resolve({ code, stdout, stderr, lines });
    });
  });
}
