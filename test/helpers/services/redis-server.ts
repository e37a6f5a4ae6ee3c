import { freePort } from './free-port.js';
import { makeTempDir, removeDir, spawnLogged, startManaged } from './process-handle.js';

export interface RedisService {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Stop and start again on the same port: data is lost, unless started with `{ appendOnly: true }`. */
  restart(): Promise<void>;
}

export type RedisServerOptions = {
  /** Keep data across restart() in an append-only file inside the temp dir, as a production Redis would. */
  appendOnly?: boolean;
};

/** A throwaway redis-server on 127.0.0.1, by default with persistence off (no disk state at all). */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisService> {
  const dir = await makeTempDir('redis');
  try {
    const port = await freePort();
    const args = [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--save', '',
      // SIGTERM makes redis flush the AOF before exiting, so everysec loses nothing on restart().
      ...(options.appendOnly ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--appendonly', 'no']),
      '--dir', dir,
      '--daemonize', 'no',
      // No unix socket and no config file: nothing outside `dir` gets written.
      '--logfile', '',
    ];
    const managed = await startManaged({
      dir,
      port,
      launch: () => spawnLogged('redis-server', args, { cwd: dir }),
    });
    return { url: `redis://127.0.0.1:${port}`, port, stop: managed.stop, restart: managed.restart };
  } catch (error) {
    await removeDir(dir);
    throw error;
  }
}
