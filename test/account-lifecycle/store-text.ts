/**
 * Everything a test server has stored, as text, whatever the store: what a stolen copy would show. SQLite:
 * every row of every table (test/helpers/sqlite-text.ts). PostgreSQL: every row of every table of the
 * server's schema, the tables listed by information_schema, each row cast to text (so every text, jsonb
 * and array column, with its column values). Redis: every key (SCAN) with its value, by type. One line a
 * row or key, so a test can show the line that still holds what should be gone.
 */
import pg from 'pg';
import { Redis } from 'ioredis';
import { sqliteText } from '../helpers/sqlite-text.js';

export async function storeText(o: { dataDir: string; env: Record<string, string> }): Promise<string> {
  const parts = [o.env.DATABASE_URL ? await postgresText(o.env.DATABASE_URL) : sqliteText(o.dataDir)];
  if (o.env.REDIS_URL) parts.push(await redisText(o.env.REDIS_URL));
  return parts.join('\n');
}

async function postgresText(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ schema: string; name: string }>(
      `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
        WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`,
    );
    const lines: string[] = [];
    for (const t of tables) {
      const ident = `${client.escapeIdentifier(t.schema)}.${client.escapeIdentifier(t.name)}`;
      const { rows } = await client.query<{ row: string }>(`SELECT r::text AS row FROM ${ident} r`);
      for (const r of rows) lines.push(`${t.name}: ${r.row}`);
    }
    return lines.join('\n');
  } finally {
    await client.end();
  }
}

async function redisText(url: string): Promise<string> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    const lines: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'COUNT', 500);
      cursor = next;
      for (const key of keys) lines.push(`${key} ${await redisValue(redis, key)}`);
    } while (cursor !== '0');
    return lines.join('\n');
  } finally {
    redis.disconnect();
  }
}

async function redisValue(redis: Redis, key: string): Promise<string> {
  switch (await redis.type(key)) {
    case 'string': return (await redis.get(key)) ?? '';
    case 'hash': return JSON.stringify(await redis.hgetall(key));
    case 'list': return JSON.stringify(await redis.lrange(key, 0, -1));
    case 'set': return JSON.stringify(await redis.smembers(key));
    case 'zset': return JSON.stringify(await redis.zrange(key, '0', '-1', 'WITHSCORES'));
    case 'stream': return JSON.stringify(await redis.xrange(key, '-', '+'));
    default: return ''; // gone between SCAN and TYPE
  }
}
