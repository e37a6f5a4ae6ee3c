/**
 * Two Gatehouse replicas on one store: `primary` is a bootGatehouse() (its own SQLite file unless
 * DATABASE_URL is given), `secondary` another server on its own port with the same ISSUER, store and
 * keys: what a load balancer would have behind one issuer. `on(replica, url)` points an issuer URL at one of them.
 */
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/app/logger.js';
import { startServer, DEFAULT_PATHS, type RunningServer } from '../../src/server.js';
import { bootGatehouse, TEST_ENCRYPTION_KEY, type TestGatehouse } from './gatehouse.js';
import { freePort } from './services/free-port.js';

export type Replicas = {
  primary: TestGatehouse;
  secondary: RunningServer;
  /** the same store as the replicas, for a second server (or a failing start) */
  env: Record<string, string>;
  startAnother(extra?: Record<string, string>): Promise<RunningServer>;
  close(): Promise<void>;
};

export async function startReplicas(env: Record<string, string> = {}): Promise<Replicas> {
  const primary = await bootGatehouse(env);
  const shared = {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    ISSUER: primary.issuer,
    DATABASE_URL: `sqlite:${join(primary.dataDir, 'gatehouse.db')}`,
    KEY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEY,
    BCRYPT_COST: '4',
    LOG_LEVEL: 'silent',
    ...env,
  };
  const startAnother = async (extra: Record<string, string> = {}) => {
    const config = loadConfig({ ...shared, PORT: String(await freePort()), ...extra });
    return startServer(config, createLogger(config.LOG_LEVEL), { ...DEFAULT_PATHS, keysDir: join(primary.dataDir, 'keys') });
  };
  const secondary = await startAnother();
  return {
    primary,
    secondary,
    env: shared,
    startAnother,
    async close() {
      await secondary.close();
      await primary.close();
    },
  };
}

/** The same URL at another replica (issuer origin → replica origin). */
export function on(replica: { url: string } | { issuer: string }, url: string, issuer: string): string {
  const origin = 'url' in replica ? replica.url : replica.issuer;
  return url.startsWith(issuer) ? origin + url.slice(issuer.length) : url;
}
