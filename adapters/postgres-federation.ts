/** Federated identity links and per-source roles in PostgreSQL (FederationStore). */
import type pg from 'pg';
import type { FederatedLinkRecord, FederationStore } from './contract.js';
import { insertSql, lockedTransaction, postgresMapper, storable, unique } from './postgres-sql.js';
import { TABLES } from './record-schema.js';
import type { Row } from './row-mapper.js';

const links = postgresMapper<FederatedLinkRecord>(TABLES.federatedLinks);
const toLink = links.fromRow;

export function postgresFederationStore(pool: pg.Pool): FederationStore {
  const rows = async <R extends pg.QueryResultRow>(text: string, values: unknown[]) => (await pool.query<R>(text, values)).rows;
  return {
    async findLink(providerId, externalId) {
      // externalId comes from the directory or the IdP's assertion.
      if (!storable(providerId) || !storable(externalId)) return undefined;
      const [r] = await rows<Row>('SELECT * FROM federated_links WHERE provider_id = $1 AND external_id = $2', [providerId, externalId]);
      return r && toLink(r);
    },
    async createLink(l) {
      const row = links.toRow(l);
      await unique('federated link', () => pool.query(insertSql(TABLES.federatedLinks, links), links.columns.map((c) => row[c])));
    },
    async removeLink(accountId, providerId, externalId) {
      if (!storable(accountId) || !storable(providerId) || !storable(externalId)) return false;
      const res = await pool.query('DELETE FROM federated_links WHERE account_id = $1 AND provider_id = $2 AND external_id = $3', [accountId, providerId, externalId]);
      return (res.rowCount ?? 0) > 0;
    },
    async touchLink(providerId, externalId, lastLoginAt) {
      if (!storable(providerId) || !storable(externalId)) return;
      await pool.query('UPDATE federated_links SET last_login_at = $3 WHERE provider_id = $1 AND external_id = $2', [providerId, externalId, lastLoginAt]);
    },
    linksOf: async (accountId) =>
      storable(accountId)
        ? (await rows<Row>('SELECT * FROM federated_links WHERE account_id = $1 ORDER BY created_at, provider_id COLLATE "C"', [accountId])).map(toLink)
        : [],
    async setRoles(accountId, source, roles) {
      // The lock makes concurrent logins through one source end with one of their lists, not a mix.
      await lockedTransaction(pool, accountId, source, async (client) => {
        await client.query('DELETE FROM account_roles WHERE account_id = $1 AND source = $2', [accountId, source]);
        await client.query(
          `INSERT INTO account_roles (account_id, source, role) SELECT $1, $2, role FROM unnest($3::text[]) AS role ON CONFLICT DO NOTHING`,
          [accountId, source, roles],
        );
      });
    },
    rolesOf: async (accountId) =>
      storable(accountId)
        ? (await rows<{ role: string }>('SELECT DISTINCT role COLLATE "C" AS role FROM account_roles WHERE account_id = $1 ORDER BY 1', [accountId])).map((r) => r.role)
        : [],
    sourcedRolesOf: async (accountId) =>
      storable(accountId)
        ? (await rows<{ source: string; role: string }>('SELECT source, role FROM account_roles WHERE account_id = $1 ORDER BY source COLLATE "C", role COLLATE "C"', [accountId]))
          .map((r) => ({ source: r.source, role: r.role }))
        : [],
  };
}
