/**
 * SettingsStore in SQLite: one row per tenant and name; a write names the version it replaces, so of
 * two writes from the same version one wins (better-sqlite3 runs each statement atomically, and SQLite's
 * lock orders the statements of other processes).
 */
import type Database from 'better-sqlite3';
import type { SettingsRecord, SettingsStore } from './contract.js';
import type { Row } from './row-mapper.js';
import { sqliteMapper, type ForTenant } from './sqlite-sql.js';
import { TABLES } from './record-schema.js';

export function sqliteSettingsStore(db: Database.Database): ForTenant<SettingsStore> {
  const rows = sqliteMapper<SettingsRecord>(TABLES.settingsRecords);
  const q = {
    find: db.prepare<[string, string], Row>('SELECT * FROM settings_records WHERE tenant_id = ? AND name = ?'),
    first: db.prepare<[string, string, string, number], Row>(
      'INSERT INTO settings_records (tenant_id, name, value, version, updated_at) VALUES (?, ?, ?, 1, ?) ON CONFLICT DO NOTHING RETURNING *',
    ),
    next: db.prepare<[string, number, string, string, number], Row>(
      'UPDATE settings_records SET value = ?, updated_at = ?, version = version + 1 WHERE tenant_id = ? AND name = ? AND version = ? RETURNING *',
    ),
  };
  const toRecord = (r: Row | undefined) => r && rows.fromRow(r);
  return (tenant) => ({
    find: async (name) => toRecord(q.find.get(tenant, name)),
    async save(name, value, expectedVersion, updatedAt) {
      return toRecord(expectedVersion === 0 ? q.first.get(tenant, name, value, updatedAt) : q.next.get(value, updatedAt, tenant, name, expectedVersion));
    },
  });
}
