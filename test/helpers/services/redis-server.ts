import { freePort } from './free-port.js';
import { makeTempDir, removeDir, spawnLogged, startManaged } from './process-handle.js';

export interface RedisService {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Stop and start again on the same port, losing all data (there is no persistence). */
  restart(): Promise<void>;
}

/** A throwaway redis-server on 127.0.0.1 with persistence off, so tests never touch disk state. */
export async function startRedis(): Promise<RedisService> {
  const dir = await makeTempDir('redis');
  try {
    const port = await freePort();
    const args = [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--save', '',
      '--appendonly', 'no',
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
