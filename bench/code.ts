/**
 * Which code the bench's child processes run: the same as this process. `npm run bench` runs the compiled
 * tree (dist/bench/*.js), so its servers and CLI calls run dist/ too; the tests run the TypeScript sources
 * through tsx (`npm test` does not build), so the same start-up code then spawns `node --import tsx` on
 * the sources. One start path for both, and the test cannot pass on a stale dist/.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const compiled = import.meta.url.endsWith('.js');

/** the repository: dist/bench/code.js sits two folders down, bench/code.ts one */
export const ROOT = fileURLToPath(new URL(compiled ? '../../' : '../', import.meta.url));

/** node arguments a child needs before its script (tsx's loader for the sources) */
export const CHILD_NODE_ARGS: string[] = compiled ? [] : ['--import', 'tsx'];

/** The runnable file for a source path such as `src/main.ts`: `dist/src/main.js` when compiled. */
export function codePath(source: string): string {
  return compiled ? join(ROOT, 'dist', source.replace(/\.ts$/, '.js')) : join(ROOT, source);
}

/**
 * A study run on its own (`node dist/bench/soak.js`): when `moduleUrl` is the script node was started
 * with, runs the study and prints its markdown, or the failure and exit code 1.
 */
export function runWhenMain(moduleUrl: string, name: string, study: () => Promise<{ markdown: string }>): void {
  if (!process.argv[1] || fileURLToPath(moduleUrl) !== process.argv[1]) return;
  study().then(
    ({ markdown }) => process.stdout.write(`${markdown}\n`),
    (err: unknown) => {
      process.stderr.write(`bench ${name} failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
