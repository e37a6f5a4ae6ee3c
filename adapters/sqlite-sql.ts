/**
 * Small pieces shared by the SQLite store's files: the row codec, duplicate keys, encrypted secrets, locks.
 *
 * Tenants (contract.ts: RootStore.forTenant): every statement is prepared once per database, with the
 * tenant as a bound parameter (`@tenant`, or the first `?`), and each part of the store is a function
 * from a tenant to the closures over those statements (ForTenant). So a tenant's handle costs a few
 * objects, never a statement, and no statement of a tenant's handle can leave out its tenant.
 */
import type Database from 'better-sqlite3';
import { DuplicateError, type EncryptedSecretKind, type EncryptedSecretStore } from './contract.js';
import { ENCRYPTED_COLUMNS, isTenanted, TENANT_COLUMN, tenantKeyPrefix, type EncryptedColumn, type Table } from './record-schema.js';
import { rowMapper, type Codec, type Row, type RowMapper } from './row-mapper.js';

const json = { encode: (v: unknown) => JSON.stringify(v), decode: (v: unknown) => JSON.parse(v as string) as unknown };

/** SQLite has no boolean, JSON or array column: 0/1 and JSON text. */
export const SQLITE_CODEC: Codec = { boolean: { encode: (v) => (v ? 1 : 0), decode: (v) => v === 1 }, json, list: json };

export const sqliteMapper = <R>(table: Table): RowMapper<R> => rowMapper<R>(table, SQLITE_CODEC);

/** One part of the store, its statements prepared once, bound to a tenant per handle. */
export type ForTenant<S> = (tenant: string) => S;

/**
 * INSERT of every column of the record, with named parameters (`@created_at`) as toRow() names them;
 * a tenanted table's tenant_id from `@tenant` (tenantRow).
 */
export const insertSql = (table: Table, mapper: { readonly columns: readonly string[] }) => {
  const tenant = isTenanted(table) ? [TENANT_COLUMN] : [];
  const values = [...(isTenanted(table) ? ['@tenant'] : []), ...mapper.columns.map((c) => `@${c}`)];
  return `INSERT INTO ${table.name} (${[...tenant, ...mapper.columns].join(', ')}) VALUES (${values.join(', ')})`;
};

/** A row's named parameters with the tenant of the handle (insertSql's `@tenant`). */
export const tenantRow = (row: Row, tenant: string): Row => ({ ...row, tenant });

/** Runs `fn`, turning a constraint violation into `DuplicateError(what)`. */
export function unique<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) throw new DuplicateError(what);
    throw err;
  }
}

export function sqliteEncryptedSecrets(db: Database.Database): ForTenant<EncryptedSecretStore> {
  const kinds = Object.entries(ENCRYPTED_COLUMNS) as [EncryptedSecretKind, EncryptedColumn][];
  const list = db.prepare<[{ tenant: string }], { kind: EncryptedSecretKind; id: string; ciphertext: string }>(
    kinds.map(([kind, c]) => `SELECT '${kind}' AS kind, ${c.id} AS id, ${c.column} AS ciphertext FROM ${c.table} WHERE ${TENANT_COLUMN} = @tenant AND ${c.column} IS NOT NULL`).join(' UNION ALL '),
  );
  const replace = Object.fromEntries(
    kinds.map(([kind, c]) => [kind, db.prepare(`UPDATE ${c.table} SET ${c.column} = ? WHERE ${TENANT_COLUMN} = ? AND ${c.id} = ? AND ${c.column} = ?`)]),
  ) as Record<EncryptedSecretKind, Database.Statement>;
  return (tenant) => ({
    list: async () => list.all({ tenant }),
    replace: async (kind, id, previous, next) => replace[kind].run(next, tenant, id, previous).changes === 1,
  });
}

/**
 * Store.tryLock: one upsert that takes the lock only when it is free, expired or already the caller's.
 * A tenant's lock names start with its key prefix (store_locks belongs to no tenant).
 */
export function sqliteLocks(db: Database.Database): ForTenant<(name: string, ttlSeconds: number, owner: string) => Promise<boolean>> {
  const take = db.prepare(
    `INSERT INTO store_locks (name, owner, expires_at) VALUES (?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
     WHERE store_locks.expires_at <= ? OR store_locks.owner = excluded.owner`,
  );
  return (tenant) => {
    const prefix = tenantKeyPrefix(tenant);
    return async (name, ttlSeconds, owner) => {
      const t = Date.now();
      return take.run(`${prefix}${name}`, owner, t + ttlSeconds * 1000, t).changes === 1;
    };
  };
}
