/** Federated identity links and per-source roles in PostgreSQL (FederationStore), of the handle's tenant ($1). */
import type pg from 'pg';
import type { FederatedLinkRecord, FederationStore } from './contract.js';
import { insertSql, insertValues, lockedTransaction, postgresMapper, storable, unique, type ForTenant } from './postgres-sql.js';
import { TABLES } from './record-schema.js';
import type { Row } from './row-mapper.js';

const links = postgresMapper<FederatedLinkRecord>(TABLES.federatedLinks);
const toLink = links.fromRow;

export function postgresFederationStore(pool: pg.Pool): ForTenant<FederationStore> {
  const rows = async <R extends pg.QueryResultRow>(text: string, values: unknown[]) => (await pool.query<R>(text, values)).rows;
  return (tenant) => ({
    async findLink(providerId, externalId) {
      // externalId comes from the directory or the IdP's assertion.
      if (!storable(providerId) || !storable(externalId)) return undefined;
      const [r] = await rows<Row>('SELECT * FROM federated_links WHERE tenant_id = $1 AND provider_id = $2 AND external_id = $3', [tenant, providerId, externalId]);
      return r && toLink(r);
    },
    async createLink(l) {
      // the foreign key (tenant_id, account_id): a link to an account of another tenant is refused
      const values = insertValues(TABLES.federatedLinks, links, links.toRow(l), tenant);
      await unique('federated link', () => pool.query(insertSql(TABLES.federatedLinks, links), values));
    },
    async removeLink(accountId, providerId, externalId) {
      if (!storable(accountId) || !storable(providerId) || !storable(externalId)) return false;
      const res = await pool.query(
        'DELETE FROM federated_links WHERE tenant_id = $1 AND account_id = $2 AND provider_id = $3 AND external_id = $4',
        [tenant, accountId, providerId, externalId],
      );
      return (res.rowCount ?? 0) > 0;
    },
    async touchLink(providerId, externalId, lastLoginAt) {
      if (!storable(providerId) || !storable(externalId)) return;
      await pool.query(
        'UPDATE federated_links SET last_login_at = $4 WHERE tenant_id = $1 AND provider_id = $2 AND external_id = $3',
        [tenant, providerId, externalId, lastLoginAt],
      );
    },
    linksOf: async (accountId) =>
      storable(accountId)
        ? (await rows<Row>('SELECT * FROM federated_links WHERE tenant_id = $1 AND account_id = $2 ORDER BY created_at, provider_id COLLATE "C"', [tenant, accountId])).map(toLink)
        : [],
    async setRoles(accountId, source, roles) {
      // The lock makes concurrent logins through one source end with one of their lists, not a mix.
      await lockedTransaction(pool, tenant, 'account_roles', JSON.stringify([accountId, source]), async (client) => {
        await client.query('DELETE FROM account_roles WHERE tenant_id = $1 AND account_id = $2 AND source = $3', [tenant, accountId, source]);
        await client.query(
          `INSERT INTO account_roles (tenant_id, account_id, source, role) SELECT $1, $2, $3, role FROM unnest($4::text[]) AS role ON CONFLICT DO NOTHING`,
          [tenant, accountId, source, roles],
        );
      });
    },
    rolesOf: async (accountId) =>
      storable(accountId)
        ? (await rows<{ role: string }>(
          'SELECT DISTINCT role COLLATE "C" AS role FROM account_roles WHERE tenant_id = $1 AND account_id = $2 ORDER BY 1', [tenant, accountId],
        )).map((r) => r.role)
        : [],
    sourcedRolesOf: async (accountId) =>
      storable(accountId)
        ? (await rows<{ source: string; role: string }>(
          'SELECT source, role FROM account_roles WHERE tenant_id = $1 AND account_id = $2 ORDER BY source COLLATE "C", role COLLATE "C"', [tenant, accountId],
        )).map((r) => ({ source: r.source, role: r.role }))
        : [],
  });
}
