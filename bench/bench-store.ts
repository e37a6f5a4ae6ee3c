/**
 * The store a study's Gatehouse runs on, started for the study and measured after it: a SQLite file in
 * the study's folder, or a throwaway PostgreSQL and redis-server (the test helpers': fsync off, unpinned).
 * `size()` is what the store holds on disk or in memory: the SQLite file and its -wal, PostgreSQL's
 * pg_database_size, Redis's INFO used_memory and key count, and the oidc_models rows per model (where
 * sessions, grants and tokens are), read over a connection of its own.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres } from '../test/helpers/services/postgres-server.js';
import { startRedis } from '../test/helpers/services/redis-server.js';

export type StoreKind = 'sqlite' | 'postgres-redis';
export const STORE_KINDS: readonly StoreKind[] = ['sqlite', 'postgres-redis'];

export type StoreSize = {
  /** SQLite: the database file and its write-ahead log */
  sqliteBytes?: number;
  sqliteWalBytes?: number;
  postgresBytes?: number;
  redisUsedMemory?: number;
  redisKeys?: number;
  /** the durable store's oidc_models rows per model (expired rows not yet swept included) */
  rows: Record<string, number>;
};

export type BenchStore = {
  kind: StoreKind;
  /** DATABASE_URL and, for postgres-redis, REDIS_URL */
  env: Record<string, string>;
  size(): Promise<StoreSize>;
  stop(): Promise<void>;
};

export async function startBenchStore(kind: StoreKind, dataDir: string): Promise<BenchStore> {
  if (kind === 'sqlite') {
    const file = join(dataDir, 'gatehouse.db');
    return {
      kind,
      env: { DATABASE_URL: `sqlite:${file}` },
      async size() {
        const { default: Database } = await import('better-sqlite3');
        const db = new Database(file, { readonly: true });
        try {
          const rows = db.prepare('SELECT model, COUNT(*) AS n FROM oidc_models GROUP BY model').all() as { model: string; n: number }[];
          return { sqliteBytes: bytes(file), sqliteWalBytes: bytes(`${file}-wal`), rows: Object.fromEntries(rows.map((r) => [r.model, r.n])) };
        } finally {
          db.close();
        }
      },
      async stop() {},
    };
  }
  const [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
  return {
    kind,
    env: { DATABASE_URL: postgres.url, REDIS_URL: redis.url },
    async size() {
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: postgres.url });
      await client.connect();
      let postgresBytes = 0;
      let rows: Record<string, number> = {};
      try {
        // bigint comes back as a string
        postgresBytes = Number((await client.query<{ n: string }>('SELECT pg_database_size(current_database()) AS n')).rows[0]?.n ?? 0);
        const counts = await client.query<{ model: string; n: string }>('SELECT model, COUNT(*) AS n FROM oidc_models GROUP BY model');
        rows = Object.fromEntries(counts.rows.map((r) => [r.model, Number(r.n)]));
      } finally {
        await client.end();
      }
      const { Redis } = await import('ioredis');
      const r = new Redis(redis.url, { lazyConnect: true });
      await r.connect();
      try {
        const info = await r.info('memory');
        const usedMemory = Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? NaN);
        return { postgresBytes, redisUsedMemory: usedMemory, redisKeys: await r.dbsize(), rows };
      } finally {
        r.disconnect();
      }
    },
    async stop() {
      await Promise.all([postgres.stop(), redis.stop()]);
    },
  };
}

const bytes = (file: string) => statSync(file, { throwIfNoEntry: false })?.size ?? 0;

export const mb = (n: number | undefined) => (n === undefined ? '–' : `${(n / 1024 / 1024).toFixed(1)} MB`);

/** One cell: what the store holds, in MB, and the rows per model. */
export function storeSizeText(s: StoreSize): string {
  const parts: string[] = [];
  if (s.sqliteBytes !== undefined) parts.push(`SQLite ${mb(s.sqliteBytes)} + WAL ${mb(s.sqliteWalBytes)}`);
  if (s.postgresBytes !== undefined) parts.push(`PostgreSQL ${mb(s.postgresBytes)}`);
  if (s.redisUsedMemory !== undefined) parts.push(`Redis ${mb(s.redisUsedMemory)} (${s.redisKeys ?? 0} keys)`);
  const rows = Object.entries(s.rows).sort(([a], [b]) => a.localeCompare(b)).map(([model, n]) => `${model} ${n.toLocaleString('en-US')}`);
  return `${parts.join(', ')}${rows.length ? `; rows: ${rows.join(', ')}` : ''}`;
}

/** BENCH_*_STORES: a comma list of store kinds, refused when it names another. */
export function storeKinds(name: string, raw: string | undefined, fallback: string): StoreKind[] {
  const kinds = (raw || fallback).split(',');
  const strange = kinds.filter((k) => !STORE_KINDS.includes(k as StoreKind));
  if (strange.length) throw new Error(`${name}: unknown ${strange.join(', ')}; expected ${STORE_KINDS.join(', ')}`);
  return kinds as StoreKind[];
}
