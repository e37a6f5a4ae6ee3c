import { access, chown, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { makeTempDir, removeDir, runCommand, spawnLogged, startManaged, type Managed, type RunAs } from './process-handle.js';

export interface PostgresService {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Fast-shutdown and start again on the same port and data dir; data survives. */
  restart(): Promise<void>;
}

const DATABASE = 'gatehouse';

/**
 * Debian keeps server binaries out of PATH, under /usr/lib/postgresql/<major>/bin.
 * Pick the newest major installed; fall back to PATH on other systems.
 */
export async function postgresBinDir(): Promise<string> {
  const root = '/usr/lib/postgresql';
  const majors = await readdir(root).catch((): string[] => []);
  const sorted = majors.filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  for (const major of sorted) {
    const bin = join(root, major, 'bin');
    if (await access(join(bin, 'postgres')).then(() => true, () => false)) return bin;
  }
  return '';
}

const binary = (binDir: string, name: string): string => (binDir ? join(binDir, name) : name);

/** postgres refuses to run as root, so when we are root we drop to the `postgres` system user. */
async function runAsForPostgres(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const passwd = await readFile('/etc/passwd', 'utf8');
  const entry = passwd.split('\n').find((line) => line.startsWith('postgres:'));
  const [, , uid, gid] = entry?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error('running as root but there is no `postgres` user to run the server as');
  }
  return { uid: Number(uid), gid: Number(gid) };
}

/** A throwaway cluster on 127.0.0.1 with trust auth and fsync off, plus a `gatehouse` database. */
export async function startPostgres(): Promise<PostgresService> {
  const dir = await makeTempDir('postgres');
  let managed: Managed | undefined;
  try {
    const [binDir, runAs, port] = await Promise.all([postgresBinDir(), runAsForPostgres(), freePort()]);
    if (runAs) await chown(dir, runAs.uid, runAs.gid);
    const dataDir = join(dir, 'data');
    // cwd = dir: the postgres user may be unable to enter the caller's cwd (e.g. /root).
    const common = { cwd: dir, runAs, env: { ...process.env, LC_ALL: 'C' } };
    await runCommand(binary(binDir, 'initdb'), [
      '-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync', '--no-instructions',
    ], common);
    const serverArgs = [
      '-D', dataDir,
      '-p', String(port),
      '-c', 'listen_addresses=127.0.0.1',
      // Keep the socket out of /var/run/postgresql, which may not exist or belong to a system cluster.
      '-c', `unix_socket_directories=${dir}`,
      '-c', 'fsync=off',
      '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off',
    ];
    const ready = (): Promise<boolean> =>
      // A bare TCP accept is not enough: postgres listens while still "starting up".
      runCommand(binary(binDir, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-t', '1'])
        .then(() => true, () => false);
    managed = await startManaged({
      dir,
      port,
      stopSignal: 'SIGINT',
      probe: ready,
      launch: () => spawnLogged(binary(binDir, 'postgres'), serverArgs, common),
    });
    await runCommand(binary(binDir, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', DATABASE]);
    return {
      url: `postgres://postgres@127.0.0.1:${port}/${DATABASE}`,
      port,
      stop: managed.stop,
      restart: managed.restart,
    };
  } catch (error) {
    await (managed ? managed.stop() : removeDir(dir));
    throw error;
  }
}
