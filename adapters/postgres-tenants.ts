/**
 * The registry of tenants in PostgreSQL (TenantStore), and a tenant's removal: every row it owns, in
 * every table, its rate-limit counters and its locks, in one transaction with its registry row.
 */
import type pg from 'pg';
import { DEFAULT_TENANT, TENANT_ID_PATTERN, type TenantRecord, type TenantStore } from './contract.js';
import { inPrefixRange, inTransaction, insertSql, insertValues, postgresMapper, prefixRange, storable, unique } from './postgres-sql.js';
import { TABLES, TENANT_COLUMN, TENANT_OWNED_TABLES, tenantKeyPrefix } from './record-schema.js';
import type { Row } from './row-mapper.js';

const tenants = postgresMapper<TenantRecord>(TABLES.tenants);

export const MAX_TENANT_PAGE = 1000;

// bigint columns (version, times) come back as numbers: postgres.ts sets the pool's INT8 parser
const fromRow = tenants.fromRow;

/**
 * The part of a page cursor before any U+0000, which text cannot hold: no id holds one, so the ids after
 * the whole cursor are exactly the ids after that part.
 */
const storablePrefix = (s: string) => s.split('\0', 1)[0]!;

export function postgresTenantStore(pool: pg.Pool): TenantStore {
  const one = async (text: string, values: unknown[]) => (await pool.query<Row>(text, values)).rows[0];
  // children first, though the cascade from accounts would take the links and account roles anyway
  const owned = [...TENANT_OWNED_TABLES].reverse().map((t) => `DELETE FROM ${t.name} WHERE ${TENANT_COLUMN} = $1`);
  const set = 'UPDATE tenants SET name = $2, host = $3, settings = $4, updated_at = $5, version = version + 1 WHERE id = $1';
  return {
    async create(t) {
      await unique('tenant', () => pool.query(insertSql(TABLES.tenants, tenants), insertValues(TABLES.tenants, tenants, tenants.toRow(t), DEFAULT_TENANT)));
    },
    async find(id) {
      const r = storable(id) ? await one('SELECT * FROM tenants WHERE id = $1', [id]) : undefined;
      return r && fromRow(r);
    },
    async findByHost(host) {
      const r = storable(host) ? await one('SELECT * FROM tenants WHERE host = $1', [host]) : undefined;
      return r && fromRow(r);
    },
    async list({ limit, after }) {
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_TENANT_PAGE) throw new RangeError(`limit: expected 1..${MAX_TENANT_PAGE}`);
      // code-point order whatever the database's collation; one row more than the page: whether there is a next one
      const { rows } = after == null
        ? await pool.query<Row>('SELECT * FROM tenants ORDER BY id COLLATE "C" LIMIT $1', [limit + 1])
        : await pool.query<Row>('SELECT * FROM tenants WHERE id COLLATE "C" > $1 ORDER BY id COLLATE "C" LIMIT $2', [storablePrefix(after), limit + 1]);
      const page = rows.map(fromRow).slice(0, limit);
      return { tenants: page, next: rows.length > limit ? page[page.length - 1]!.id : null };
    },
    async update(id, changes, expectedVersion) {
      if (!storable(id)) return undefined;
      const row = tenants.toRow({ name: changes.name, host: changes.host, settings: changes.settings, updatedAt: changes.updatedAt });
      const values = [id, row.name, row.host, row.settings, row.updated_at];
      // one conditional UPDATE: of two updates from the same version, the row lock lets one match
      const r = await unique('tenant', () => (expectedVersion === undefined
        ? one(`${set} RETURNING *`, values)
        : one(`${set} AND version = $6 RETURNING *`, [...values, expectedVersion])));
      return r && fromRow(r);
    },
    async delete(id) {
      if (id === DEFAULT_TENANT) throw new Error('the default tenant cannot be deleted');
      // no tenant has any other id (forTenant refuses it), and its key prefix could name part of another's keys
      if (!TENANT_ID_PATTERN.test(id)) return false;
      const keys = prefixRange(tenantKeyPrefix(id));
      return inTransaction(pool, async (client) => {
        for (const sql of owned) await client.query(sql, [id]);
        await client.query(`DELETE FROM rate_limits WHERE ${inPrefixRange('key', 1)}`, keys);
        await client.query(`DELETE FROM store_locks WHERE ${inPrefixRange('name', 1)}`, keys);
        return (await client.query('DELETE FROM tenants WHERE id = $1', [id])).rowCount === 1;
      });
    },
    count: async () => Number((await one('SELECT count(*)::integer AS n FROM tenants', []))?.n ?? 0),
  };
}
