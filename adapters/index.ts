/**
 * DATABASE_URL (+ REDIS_URL) → the store. Each adapter is one file; this is the only place that picks.
 * Without REDIS_URL the durable store holds everything; with it, short-lived oidc-provider state and the
 * rate-limit counters move to Redis (split-store.ts says which models).
 */
import type { RootStore } from './contract.js';
import { openSqliteStore } from './sqlite.js';
import { createSplitStore } from './split-store.js';

export type OpenStoreOptions = {
  databaseUrl: string;
  /** '' or undefined: no Redis */
  redisUrl?: string | undefined;
  /** Connection trouble the drivers report in the background (they reconnect by themselves). */
  onError?: (err: Error, source: 'database' | 'redis') => void;
};

/** The scheme, read without `new URL`: a MongoDB replica set URL lists several hosts, which URL refuses. */
export const databaseScheme = (databaseUrl: string) => /^([a-z][a-z0-9+.-]*):/i.exec(databaseUrl.trim())?.[1]?.toLowerCase() ?? '';

export async function openStore(o: OpenStoreOptions): Promise<RootStore> {
  const durable = await openDurableStore(o.databaseUrl, (err) => o.onError?.(err, 'database'));
  if (!o.redisUrl) return durable;
  try {
    const { openRedisStore } = await import('./redis.js');
    return createSplitStore(durable, await openRedisStore(o.redisUrl, { onError: (err) => o.onError?.(err, 'redis') }));
  } catch (err) {
    await durable.close();
    throw err;
  }
}

// Drivers are imported only when chosen: a SQLite deployment never loads pg or mongodb.
async function openDurableStore(databaseUrl: string, onError: (err: Error) => void): Promise<RootStore> {
  const scheme = databaseScheme(databaseUrl);
  switch (scheme) {
    case 'sqlite':
      return openSqliteStore(databaseUrl);
    case 'postgres':
    case 'postgresql':
      return (await import('./postgres.js')).openPostgresStore(databaseUrl, { onError });
    case 'mongodb':
    case 'mongodb+srv':
      return (await import('./mongodb.js')).openMongoStore(databaseUrl, { onError });
    default:
      throw new Error(`DATABASE_URL: no adapter for the ${JSON.stringify(scheme)} scheme; expected sqlite:, postgres://, or mongodb://`);
  }
}
