/** Small helpers shared by the PostgreSQL store's files (postgres.ts, postgres-factors.ts, postgres-federation.ts). */
import type pg from 'pg';
import { DuplicateError } from './contract.js';
import { fromJsonb, toJsonb } from './postgres-jsonb.js';
import type { Table } from './record-schema.js';
import { rowMapper, type Codec, type RowMapper } from './row-mapper.js';

const itself = { encode: (v: unknown) => v, decode: (v: unknown) => v };

/** PostgreSQL keeps booleans and lists as themselves; JSON as jsonb, through toJsonb (postgres-jsonb.ts). */
export const POSTGRES_CODEC: Codec = { boolean: itself, list: itself, json: { encode: toJsonb, decode: fromJsonb } };

export const postgresMapper = <R>(table: Table): RowMapper<R> => rowMapper<R>(table, POSTGRES_CODEC);

/** INSERT of every column of the record; the values are `mapper.columns.map((c) => row[c])`. */
export const insertSql = (table: Table, mapper: { readonly columns: readonly string[] }) =>
  `INSERT INTO ${table.name} (${mapper.columns.join(', ')}) VALUES (${mapper.columns.map((_, i) => `$${i + 1}`).join(', ')})`;

/**
 * PostgreSQL text cannot hold U+0000. No identifier we issue contains it, so a lookup for one (a token
 * or email typed by anyone) finds nothing, rather than failing the request with a database error.
 */
export const storable = (value: string) => !value.includes('\0');

/** Runs `fn`, turning a unique_violation (SQLSTATE 23505) into `DuplicateError(what)`. */
export async function unique<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw new DuplicateError(what);
    throw err;
  }
}

/**
 * Runs `fn` in one transaction holding a transaction-scoped advisory lock on (scope, key): writers of
 * the same key take turns, so a delete-then-insert replacement is never interleaved with another.
 * (Two-key advisory locks live apart from the one-key lock the migrations take.)
 */
export async function lockedTransaction<T>(pool: pg.Pool, scope: string, key: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', [scope, key]);
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
