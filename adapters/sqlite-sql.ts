/** Small pieces shared by the SQLite store's files: the row codec, duplicate keys, encrypted secrets, locks. */
import type Database from 'better-sqlite3';
import { DuplicateError, type EncryptedSecretKind, type EncryptedSecretStore } from './contract.js';
import { ENCRYPTED_COLUMNS, type EncryptedColumn, type Table } from './record-schema.js';
import { rowMapper, type Codec, type RowMapper } from './row-mapper.js';

const json = { encode: (v: unknown) => JSON.stringify(v), decode: (v: unknown) => JSON.parse(v as string) as unknown };

/** SQLite has no boolean, JSON or array column: 0/1 and JSON text. */
export const SQLITE_CODEC: Codec = { boolean: { encode: (v) => (v ? 1 : 0), decode: (v) => v === 1 }, json, list: json };

export const sqliteMapper = <R>(table: Table): RowMapper<R> => rowMapper<R>(table, SQLITE_CODEC);

/** INSERT of every column of the record, with named parameters (`@created_at`) as toRow() names them. */
export const insertSql = (table: Table, mapper: { readonly columns: readonly string[] }) =>
  `INSERT INTO ${table.name} (${mapper.columns.join(', ')}) VALUES (${mapper.columns.map((c) => `@${c}`).join(', ')})`;

/** Runs `fn`, turning a constraint violation into `DuplicateError(what)`. */
export function unique<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) throw new DuplicateError(what);
    throw err;
  }
}

export function sqliteEncryptedSecrets(db: Database.Database): EncryptedSecretStore {
  const kinds = Object.entries(ENCRYPTED_COLUMNS) as [EncryptedSecretKind, EncryptedColumn][];
  const list = db.prepare<[], { kind: EncryptedSecretKind; id: string; ciphertext: string }>(
    kinds.map(([kind, c]) => `SELECT '${kind}' AS kind, ${c.id} AS id, ${c.column} AS ciphertext FROM ${c.table} WHERE ${c.column} IS NOT NULL`).join(' UNION ALL '),
  );
  const replace = Object.fromEntries(
    kinds.map(([kind, c]) => [kind, db.prepare(`UPDATE ${c.table} SET ${c.column} = ? WHERE ${c.id} = ? AND ${c.column} = ?`)]),
  ) as Record<EncryptedSecretKind, Database.Statement>;
  return {
    list: async () => list.all(),
    replace: async (kind, id, previous, next) => replace[kind].run(next, id, previous).changes === 1,
  };
}

/** Store.tryLock: one upsert that takes the lock only when it is free, expired or already the caller's. */
export function sqliteLocks(db: Database.Database): (name: string, ttlSeconds: number, owner: string) => Promise<boolean> {
  const take = db.prepare(
    `INSERT INTO store_locks (name, owner, expires_at) VALUES (?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
     WHERE store_locks.expires_at <= ? OR store_locks.owner = excluded.owner`,
  );
  return async (name, ttlSeconds, owner) => {
    const t = Date.now();
    return take.run(name, owner, t + ttlSeconds * 1000, t).changes === 1;
  };
}
