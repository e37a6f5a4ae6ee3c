/**
 * The first-start figure (issue 22 item 5): `npm start` on a built tree, from spawn to the first 200 from
 * discovery. npm runs the prestart check (src/dev/build.mjs --if-stale), which compiles nothing when dist/
 * is current, then `node dist/src/main.js`. Target: within 2 s. A measured figure, not a test.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type NpmStart = { ms: number; compiled: boolean };

export async function measureNpmStart(o: { env: Record<string, string>; port: number; cpus: string; timeoutMs?: number }): Promise<NpmStart> {
  const url = `http://127.0.0.1:${o.port}/.well-known/openid-configuration`;
  const started = performance.now();
  // its own process group: npm, the shell it runs scripts in and node all stop with one signal
  const child = spawn('taskset', ['-c', o.cpus, 'npm', 'start', '--silent'], {
    cwd: ROOT,
    detached: true,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...o.env, PORT: String(o.port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = once(child, 'exit');
  try {
    const deadline = started + (o.timeoutMs ?? 60_000);
    for (;;) {
      if (child.exitCode !== null) throw new Error(`npm start exited with ${String(child.exitCode)}: ${stderr}`);
      const ok = await request(url).then(async (r) => {
        await r.body.dump();
        return r.statusCode === 200;
      }, () => false);
      if (ok) return { ms: Math.round(performance.now() - started), compiled: stderr.includes('compiling') };
      if (performance.now() > deadline) throw new Error(`npm start did not serve discovery within ${o.timeoutMs ?? 60_000} ms: ${stderr}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    if (child.exitCode === null) {
      process.kill(-child.pid!, 'SIGTERM');
      await exited;
    }
  }
}
