/** Federated identity links and per-source roles in SQLite (FederationStore). */
import type Database from 'better-sqlite3';
import type { FederatedLinkRecord, FederationStore } from './contract.js';
import { TABLES } from './record-schema.js';
import type { Row } from './row-mapper.js';
import { insertSql, sqliteMapper, tenantRow, unique, type ForTenant } from './sqlite-sql.js';

const links = sqliteMapper<FederatedLinkRecord>(TABLES.federatedLinks);

export function sqliteFederationStore(db: Database.Database): ForTenant<FederationStore> {
  const q = {
    linkFind: db.prepare<[string, string, string], Row>('SELECT * FROM federated_links WHERE tenant_id = ? AND provider_id = ? AND external_id = ?'),
    linkInsert: db.prepare(insertSql(TABLES.federatedLinks, links)),
    linkTouch: db.prepare('UPDATE federated_links SET last_login_at = ? WHERE tenant_id = ? AND provider_id = ? AND external_id = ?'),
    linkRemove: db.prepare('DELETE FROM federated_links WHERE tenant_id = ? AND account_id = ? AND provider_id = ? AND external_id = ?'),
    linksOf: db.prepare<[string, string], Row>('SELECT * FROM federated_links WHERE tenant_id = ? AND account_id = ? ORDER BY created_at, provider_id'),
    rolesClear: db.prepare('DELETE FROM account_roles WHERE tenant_id = ? AND account_id = ? AND source = ?'),
    roleInsert: db.prepare('INSERT OR IGNORE INTO account_roles (tenant_id, account_id, source, role) VALUES (?, ?, ?, ?)'),
    rolesOf: db.prepare<[string, string], { role: string }>('SELECT DISTINCT role FROM account_roles WHERE tenant_id = ? AND account_id = ? ORDER BY role'),
    sourcedRolesOf: db.prepare<[string, string], { source: string; role: string }>(
      'SELECT source, role FROM account_roles WHERE tenant_id = ? AND account_id = ? ORDER BY source, role',
    ),
  };
  const replaceRoles = db.transaction((tenant: string, accountId: string, source: string, roles: string[]) => {
    q.rolesClear.run(tenant, accountId, source);
    for (const role of roles) q.roleInsert.run(tenant, accountId, source, role);
  });
  return (tenant) => ({
    async findLink(providerId, externalId) {
      const row = q.linkFind.get(tenant, providerId, externalId);
      return row && links.fromRow(row);
    },
    async createLink(link) {
      unique('federated link', () => q.linkInsert.run(tenantRow(links.toRow(link), tenant)));
    },
    async touchLink(providerId, externalId, lastLoginAt) {
      q.linkTouch.run(lastLoginAt, tenant, providerId, externalId);
    },
    linksOf: async (accountId) => q.linksOf.all(tenant, accountId).map(links.fromRow),
    async setRoles(accountId, source, roles) {
      replaceRoles(tenant, accountId, source, roles);
    },
    rolesOf: async (accountId) => q.rolesOf.all(tenant, accountId).map((r) => r.role),
    sourcedRolesOf: async (accountId) => q.sourcedRolesOf.all(tenant, accountId).map((r) => ({ source: r.source, role: r.role })),
    removeLink: async (accountId, providerId, externalId) => q.linkRemove.run(tenant, accountId, providerId, externalId).changes > 0,
  });
}
