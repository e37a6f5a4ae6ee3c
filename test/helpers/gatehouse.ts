/**
 * Boots a real Gatehouse on 127.0.0.1 and a free port, on its own SQLite file in a temp dir.
 * `restart()` closes it and boots again on the same file and port (same issuer).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/app/logger.js';
import { startServer, DEFAULT_PATHS, type RunningServer } from '../../src/server.js';
import type { AppContext } from '../../src/app/context.js';
import { freePort } from './services/free-port.js';
import { openStore } from '../../adapters/index.js';
import type { Store } from '../../adapters/contract.js';

/** A fixed test key: tests that restart must decrypt what they stored. */
export const TEST_ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64');

export type TestGatehouse = {
  issuer: string;
  dataDir: string;
  context: AppContext;
  restart(env?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
};

export type BootOptions = {
  /** runs on the store before the server starts (e.g. roles the federation file maps to must exist) */
  seed?(store: Store): Promise<void>;
  /** a path for ISSUER (`/auth`): the whole app then lives under it (src/http/base-path.ts) */
  issuerPath?: string;
};

export async function bootGatehouse(env: Record<string, string> = {}, options: BootOptions = {}): Promise<TestGatehouse> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-test-'));
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}${options.issuerPath ?? ''}`;
  if (options.seed) {
    const store = await openStore({ databaseUrl: env.DATABASE_URL ?? `sqlite:${join(dataDir, 'gatehouse.db')}`, redisUrl: env.REDIS_URL });
    try {
      await options.seed(store);
    } finally {
      await store.close();
    }
  }
  const start = (extra: Record<string, string>) => {
    const config = loadConfig({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      ISSUER: issuer,
      DATABASE_URL: `sqlite:${join(dataDir, 'gatehouse.db')}`,
      KEY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEY,
      BCRYPT_COST: '4',
      LOG_LEVEL: 'silent',
      ...env,
      ...extra,
    });
    return startServer(config, createLogger(config.LOG_LEVEL), { ...DEFAULT_PATHS, keysDir: join(dataDir, 'keys') });
  };
  let running: RunningServer;
  try {
    running = await start({});
  } catch (err) {
    // a test that expects start-up to fail gets no handle to close: leave no temp dir behind
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const handle: TestGatehouse = {
    issuer,
    dataDir,
    context: running.context,
    async restart(extra = {}) {
      await running.close();
      // This process's HTTP clients (fetch, openid-client) hold keep-alive sockets to the old server. The
      // restart never waits on I/O, so they would reuse a closed socket ("other side closed"). Two turns of
      // the event loop let them read the FIN (poll phase) and drop the socket (its close callback runs in
      // the close phase of that turn).
      for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
      running = await start(extra);
      handle.context = running.context;
    },
    async close() {
      await running.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return handle;
}
