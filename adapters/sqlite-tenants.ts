/**
 * The registry of tenants in SQLite (TenantStore), and a tenant's removal: every row it owns, in every
 * table, in one transaction with its registry row.
 */
import type Database from 'better-sqlite3';
import { DEFAULT_TENANT, type TenantRecord, type TenantStore } from './contract.js';
import { TABLES, TENANT_COLUMN, TENANT_OWNED_TABLES, tenantKeyPrefix } from './record-schema.js';
import type { Row } from './row-mapper.js';
import { insertSql, sqliteMapper, unique } from './sqlite-sql.js';

const tenants = sqliteMapper<TenantRecord>(TABLES.tenants);

export const MAX_TENANT_PAGE = 1000;

/**
 * The keys that start with `prefix`, as a range (BINARY text compares UTF-8 bytes, so every such key sorts
 * at or after the prefix and before the prefix with its last character one higher): the primary key's
 * index serves it, and no LIKE wildcard in a key can widen it.
 */
function prefixRange(prefix: string): [string, string] {
  const last = prefix.codePointAt(prefix.length - 1)!;
  return [prefix, `${prefix.slice(0, -1)}${String.fromCodePoint(last + 1)}`];
}

export function sqliteTenantStore(db: Database.Database): TenantStore {
  const set = 'UPDATE tenants SET name = @name, host = @host, settings = @settings, updated_at = @updated_at, version = version + 1 WHERE id = @id';
  const q = {
    insert: db.prepare(insertSql(TABLES.tenants, tenants)),
    find: db.prepare<[string], Row>('SELECT * FROM tenants WHERE id = ?'),
    byHost: db.prepare<[string], Row>('SELECT * FROM tenants WHERE host = ?'),
    // BINARY collation: UTF-8 byte order, which is code-point order
    first: db.prepare<[number], Row>('SELECT * FROM tenants ORDER BY id LIMIT ?'),
    after: db.prepare<[string, number], Row>('SELECT * FROM tenants WHERE id > ? ORDER BY id LIMIT ?'),
    update: db.prepare<[Row], Row>(`${set} RETURNING *`),
    updateIf: db.prepare<[Row], Row>(`${set} AND version = @expected RETURNING *`),
    count: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM tenants'),
    deleteRow: db.prepare('DELETE FROM tenants WHERE id = ?'),
    // children first, though the cascade from accounts would take the links and account roles anyway
    owned: [...TENANT_OWNED_TABLES].reverse().map((t) => db.prepare(`DELETE FROM ${t.name} WHERE ${TENANT_COLUMN} = ?`)),
    counters: db.prepare('DELETE FROM rate_limits WHERE key >= ? AND key < ?'),
    locks: db.prepare('DELETE FROM store_locks WHERE name >= ? AND name < ?'),
  };
  const erase = db.transaction((id: string) => {
    for (const statement of q.owned) statement.run(id);
    const keys = prefixRange(tenantKeyPrefix(id));
    q.counters.run(...keys);
    q.locks.run(...keys);
    return q.deleteRow.run(id).changes === 1;
  });
  const toTenant = (r: Row | undefined) => r && tenants.fromRow(r);
  return {
    async create(t) {
      unique('tenant', () => q.insert.run(tenants.toRow(t)));
    },
    find: async (id) => toTenant(q.find.get(id)),
    findByHost: async (host) => toTenant(q.byHost.get(host)),
    async list({ limit, after }) {
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_TENANT_PAGE) throw new RangeError(`limit: expected 1..${MAX_TENANT_PAGE}`);
      // one row more than the page: whether there is a next one
      const rows = (after == null ? q.first.all(limit + 1) : q.after.all(after, limit + 1)).map(tenants.fromRow);
      const page = rows.slice(0, limit);
      return { tenants: page, next: rows.length > limit ? page[page.length - 1]!.id : null };
    },
    async update(id, changes, expectedVersion) {
      const row = { ...tenants.toRow({ id, name: changes.name, host: changes.host, settings: changes.settings, updatedAt: changes.updatedAt }) };
      return toTenant(unique('tenant', () => (expectedVersion === undefined ? q.update.get(row) : q.updateIf.get({ ...row, expected: expectedVersion }))));
    },
    async delete(id) {
      if (id === DEFAULT_TENANT) throw new Error('the default tenant cannot be deleted');
      return erase.immediate(id);
    },
    count: async () => q.count.get()?.n ?? 0,
  };
}
