/**
 * Small helpers shared by the PostgreSQL store's files (postgres.ts, postgres-factors.ts, postgres-federation.ts, ...).
 *
 * Tenants (contract.ts: RootStore.forTenant): each part of the store is a function from a tenant to its
 * methods (ForTenant), built once at open; every query of a tenanted table binds the handle's tenant as a
 * parameter, and every insert writes it (insertSql puts tenant_id first). So a tenant's handle costs a
 * few closures, and no query of it can leave out its tenant.
 */
import type pg from 'pg';
import { DuplicateError } from './contract.js';
import { fromJsonb, toJsonb } from './postgres-jsonb.js';
import { isTenanted, TENANT_COLUMN, type Table } from './record-schema.js';
import { rowMapper, type Codec, type Row, type RowMapper } from './row-mapper.js';

const itself = { encode: (v: unknown) => v, decode: (v: unknown) => v };

/** PostgreSQL keeps booleans and lists as themselves; JSON as jsonb, through toJsonb (postgres-jsonb.ts). */
export const POSTGRES_CODEC: Codec = { boolean: itself, list: itself, json: { encode: toJsonb, decode: fromJsonb } };

export const postgresMapper = <R>(table: Table): RowMapper<R> => rowMapper<R>(table, POSTGRES_CODEC);

/** One part of the store, built once, bound to a tenant per handle. */
export type ForTenant<S> = (tenant: string) => S;

/** The columns an INSERT of the whole record names: tenant_id first in a tenanted table, then the mapper's. */
export const insertColumns = (table: Table, mapper: { readonly columns: readonly string[] }) =>
  [...(isTenanted(table) ? [TENANT_COLUMN] : []), ...mapper.columns];

/** INSERT of every column of the record; its values are insertValues(). */
export const insertSql = (table: Table, mapper: { readonly columns: readonly string[] }) => {
  const columns = insertColumns(table, mapper);
  return `INSERT INTO ${table.name} (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`;
};

/** insertSql's values: the handle's tenant (in a tenanted table), then the row's columns. */
export const insertValues = (table: Table, mapper: { readonly columns: readonly string[] }, row: Row, tenant: string): unknown[] =>
  [...(isTenanted(table) ? [tenant] : []), ...mapper.columns.map((c) => row[c])];

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

/** Runs `fn` in one transaction (COMMIT, or ROLLBACK when it throws) on a client of its own. */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
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

/**
 * Runs `fn` in one transaction holding a transaction-scoped advisory lock on (scope, tenant and key):
 * writers of the same key of the same tenant take turns, so a delete-then-insert replacement is never
 * interleaved with another; the same key in another tenant is another lock. (A tenant id is a DNS label,
 * so the JSON pair names one tenant's key only; two-key advisory locks live apart from the one-key lock
 * the migrations take.)
 */
export async function lockedTransaction<T>(
  pool: pg.Pool, tenant: string, scope: string, key: string, fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  return inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', [scope, JSON.stringify([tenant, key])]);
    return fn(client);
  });
}

/**
 * The keys that start with `prefix` (a tenant's rate-limit counters and lock names: record-schema.ts,
 * tenantKeyPrefix), as a range in code-point order: at or after the prefix and before the prefix with its
 * last character one higher. No LIKE, so no wildcard can widen it. Compared COLLATE "C" (byte order), as
 * the database's own collation may order `t:acme-2:` between `t:acme:` and `t:acme;` (glibc's and ICU's
 * skip punctuation at first).
 */
export function prefixRange(prefix: string): [string, string] {
  if (prefix === '') throw new Error('prefixRange: the default tenant\'s keys have no prefix');
  const last = prefix.codePointAt(prefix.length - 1)!;
  return [prefix, `${prefix.slice(0, -1)}${String.fromCodePoint(last + 1)}`];
}

/** The condition of prefixRange on `column`, with its two parameters numbered from `first`. */
export const inPrefixRange = (column: string, first: number) => `${column} COLLATE "C" >= $${first} AND ${column} COLLATE "C" < $${first + 1}`;
