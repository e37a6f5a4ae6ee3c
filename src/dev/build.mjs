// @ts-check
/**
 * `npm run build`, `npm ci` (prepare) and `npm start` (prestart) compile through here:
 *
 *   node src/dev/build.mjs             compile (tsc -p tsconfig.json), then mark the build as current
 *   node src/dev/build.mjs --if-stale  compile only when a source is newer than the last good build
 *
 * "A source" is anything under src/ or adapters/ (files and folders, so a deleted file counts) and
 * tsconfig.json: what `node dist/src/main.js` runs. The mark (dist/.build-stamp) is written only when tsc
 * succeeds, with the time the build started, so an edit made during a build is seen by the next start.
 * Plain JavaScript on purpose: it runs before anything is compiled, and without tsx's half a second.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STAMP = join(ROOT, 'dist', '.build-stamp');
const SOURCES = ['src', 'adapters', 'tsconfig.json'];

/** @param {string} path @returns {number} the newest mtime of path and everything under it */
function newest(path) {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  let t = st.mtimeMs;
  for (const entry of readdirSync(path)) t = Math.max(t, newest(join(path, entry)));
  return t;
}

function stale() {
  const built = statSync(STAMP, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  return SOURCES.some((s) => newest(join(ROOT, s)) > built);
}

if (process.argv.includes('--if-stale') && !stale()) process.exit(0);

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  // `npm ci --omit=dev` (a production install) has no compiler: installing still succeeds, starting does not
  if (process.env.npm_lifecycle_event === 'prepare') {
    process.stderr.write('gatehouse: TypeScript is not installed (a production install?), so dist/ was not compiled\n');
    process.exit(0);
  }
  process.stderr.write('gatehouse: dist/ is older than the sources, and TypeScript is not installed to compile them (npm ci installs it)\n');
  process.exit(1);
}
const started = new Date();
if (existsSync(STAMP)) process.stderr.write('gatehouse: sources changed since the last build; compiling...\n');
const result = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.json')], { stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);
mkdirSync(join(ROOT, 'dist'), { recursive: true });
closeSync(openSync(STAMP, 'w'));
utimesSync(STAMP, started, started);
