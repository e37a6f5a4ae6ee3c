/**
 * SettingsStore in PostgreSQL: one row per tenant and name; a write names the version it replaces, so of
 * two writes from the same version the row lock (or the primary key, for the first) lets one win.
 */
import type pg from 'pg';
import type { SettingsRecord, SettingsStore } from './contract.js';
import type { Row } from './row-mapper.js';
import { postgresMapper, storable, type ForTenant } from './postgres-sql.js';
import { TABLES } from './record-schema.js';

export function postgresSettingsStore(pool: pg.Pool): ForTenant<SettingsStore> {
  const rows = postgresMapper<SettingsRecord>(TABLES.settingsRecords);
  const one = async (text: string, values: unknown[]) => (await pool.query<Row>(text, values)).rows[0];
  const toRecord = (r: Row | undefined) => r && rows.fromRow(r);
  return (tenant) => ({
    find: async (name) => (storable(name) ? toRecord(await one('SELECT * FROM settings_records WHERE tenant_id = $1 AND name = $2', [tenant, name])) : undefined),
    async save(name, value, expectedVersion, updatedAt) {
      return toRecord(expectedVersion === 0
        ? await one('INSERT INTO settings_records (tenant_id, name, value, version, updated_at) VALUES ($1, $2, $3, 1, $4) ON CONFLICT DO NOTHING RETURNING *', [tenant, name, value, updatedAt])
        : await one('UPDATE settings_records SET value = $3, updated_at = $4, version = version + 1 WHERE tenant_id = $1 AND name = $2 AND version = $5 RETURNING *', [tenant, name, value, updatedAt, expectedVersion]));
    },
  });
}
