/**
 * The embedded default store: one SQLite file (better-sqlite3, WAL mode), created on first start from
 * the one schema (sqlite-schema.ts). better-sqlite3 is synchronous, so every statement is atomic with
 * respect to other requests of this process; across processes (the CLI, a second server) SQLite's own
 * locking applies. Accounts, clients, resources, roles and keys are here; the rest is in sqlite-oidc.ts,
 * sqlite-factors.ts, sqlite-federation.ts, sqlite-lifecycle.ts, sqlite-webhooks.ts and sqlite-tenants.ts.
 *
 * Tenants: every statement is prepared once, at open, with the tenant as a parameter (sqlite-sql.ts:
 * ForTenant); the root is the default tenant's handle, and forTenant() binds the same statements to
 * another tenant, so a handle costs a few closures and 10,000 tenants cost no more statements than one.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  DEFAULT_TENANT,
  type AccountRecord, type AccountStore, type ClientRecord, type ClientStore, type ResourceRecord, type ResourceStore, type RoleRecord, type RoleStore,
  type RootStore, type SigningKeyRecord, type SigningKeyStore, type Store,
} from './contract.js';
import { ACCOUNT_OWNED_TABLES, emailKey, TABLES } from './record-schema.js';
import { accountPageSql, pageLimit, toAccountPage } from './account-list.js';
import type { Row } from './row-mapper.js';
import { sqliteFactorStore } from './sqlite-factors.js';
import { sqliteFederationStore } from './sqlite-federation.js';
import { sqliteAccountTokenStore, sqliteAuditStore, sqlitePasswordHistoryStore } from './sqlite-lifecycle.js';
import { sqliteOidcStore } from './sqlite-oidc.js';
import { createSqliteRateLimiterFactory } from './sqlite-rate-limiter.js';
import { migrate } from './sqlite-schema.js';
import { insertSql, sqliteEncryptedSecrets, sqliteLocks, sqliteMapper, tenantRow, unique, type ForTenant } from './sqlite-sql.js';
import { sqliteTenantStore } from './sqlite-tenants.js';
import { tenantHandles } from './tenant-handles.js';
import { shortLivedRecords } from './short-lived-records.js';
import { sqliteWebhookStore } from './sqlite-webhooks.js';
import { gatedLimiter, sqliteUnits } from './sqlite-units.js';
import { sqliteSettingsStore } from './sqlite-settings.js';

export function openSqliteStore(databaseUrl: string): RootStore {
  const file = new URL(databaseUrl).pathname;
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  migrate(db);

  const parts = {
    oidc: sqliteOidcStore(db),
    accounts: sqliteAccountStore(db),
    clients: sqliteClientStore(db),
    resources: sqliteResourceStore(db),
    roles: sqliteRoleStore(db),
    signingKeys: sqliteSigningKeyStore(db),
    encryptedSecrets: sqliteEncryptedSecrets(db),
    factors: sqliteFactorStore(db),
    federation: sqliteFederationStore(db),
    accountTokens: sqliteAccountTokenStore(db),
    passwordHistory: sqlitePasswordHistoryStore(db),
    audit: sqliteAuditStore(db),
    rateLimiter: createSqliteRateLimiterFactory(db),
    tryLock: sqliteLocks(db),
    webhooks: sqliteWebhookStore(db),
    settings: sqliteSettingsStore(db),
  };
  const ping = db.prepare('SELECT 1');
  const units = sqliteUnits(db);
  const { gated } = units;
  const bind = (tenant: string): Store => {
    const oidc = gated(parts.oidc.forTenant(tenant));
    const limiter = parts.rateLimiter(tenant);
    return {
      kind: 'sqlite',
      oidc,
      records: shortLivedRecords(oidc),
      accounts: gated(parts.accounts(tenant)),
      clients: gated(parts.clients(tenant)),
      resources: gated(parts.resources(tenant)),
      roles: gated(parts.roles(tenant)),
      signingKeys: gated(parts.signingKeys(tenant)),
      encryptedSecrets: gated(parts.encryptedSecrets(tenant)),
      factors: gated(parts.factors(tenant)),
      federation: gated(parts.federation(tenant)),
      accountTokens: gated(parts.accountTokens.forTenant(tenant)),
      passwordHistory: gated(parts.passwordHistory(tenant)),
      audit: gated(parts.audit(tenant)),
      rateLimiter: (o) => gatedLimiter(limiter(o), units),
      sweepExpired: async () => oidc.sweep(),
      async ping() {
        ping.get();
      },
      // a tenant's handle shares the root's database: only the root closes it
      async close() {},
      tryLock: gated({ tryLock: parts.tryLock(tenant) }).tryLock,
      webhooks: gated(parts.webhooks(tenant)),
      atomically: units.atomically,
      afterCommit: units.afterCommit,
      settings: gated(parts.settings(tenant)),
    };
  };
  const defaultTenant = bind(DEFAULT_TENANT);
  const root: RootStore = {
    ...defaultTenant,
    // the root's sweeps cover every tenant (contract.ts: RootStore)
    ...gated({ sweepExpired: async () => parts.oidc.sweepEveryTenant() }),
    accountTokens: { ...defaultTenant.accountTokens, ...gated({ deleteExpiredBefore: async (time: number) => parts.accountTokens.deleteExpiredEverywhereBefore(time) }) },
    async close() {
      db.close();
    },
    tenants: gated(sqliteTenantStore(db)),
    forTenant: tenantHandles(bind, () => root),
  };
  return root;
}

function sqliteAccountStore(db: Database.Database): ForTenant<AccountStore> {
  const accounts = sqliteMapper<AccountRecord>(TABLES.accounts);
  const q = {
    insert: db.prepare(insertSql(TABLES.accounts, accounts)),
    byId: db.prepare<[string, string], Row>('SELECT * FROM accounts WHERE tenant_id = ? AND id = ?'),
    byEmail: db.prepare<[string, string], Row>('SELECT * FROM accounts WHERE tenant_id = ? AND email_lower = ?'),
    count: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM accounts WHERE tenant_id = ?'),
  };
  const toAccount = (r: Row | undefined) => r && accounts.fromRow(r);
  const owned = ACCOUNT_OWNED_TABLES.map((t) => db.prepare(`DELETE FROM ${t.name} WHERE tenant_id = ? AND account_id = ?`));
  const deleteAccount = db.prepare('DELETE FROM accounts WHERE tenant_id = ? AND id = ?');
  const rolesOf = db.prepare<[string, string], { roles: string }>('SELECT roles FROM accounts WHERE tenant_id = ? AND id = ?');
  const writeRoles = db.prepare('UPDATE accounts SET roles = ?, updated_at = ? WHERE tenant_id = ? AND id = ?');
  // read and write in one IMMEDIATE transaction: no other connection to the file writes in between
  const changeRole = db.transaction((tenant: string, id: string, role: string, add: boolean) => {
    const row = rolesOf.get(tenant, id);
    if (!row) return false;
    const roles = JSON.parse(row.roles) as string[];
    if (roles.includes(role) === add) return false;
    const next = add ? [...roles, role].sort() : roles.filter((r) => r !== role);
    return writeRoles.run(JSON.stringify(next), Date.now(), tenant, id).changes === 1;
  });
  // one transaction: the account goes with everything that is only its own, or nothing does
  const erase = db.transaction((tenant: string, id: string) => {
    for (const statement of owned) statement.run(tenant, id);
    return deleteAccount.run(tenant, id).changes === 1;
  });
  return (tenant) => ({
    async create(a) {
      unique('account', () => q.insert.run(tenantRow(accounts.toRow({ locale: null, ...a }), tenant)));
    },
    findById: async (id) => toAccount(q.byId.get(tenant, id)),
    findByEmail: async (email) => toAccount(q.byEmail.get(tenant, emailKey(email))),
    async update(id, changes) {
      const row = accounts.toRow({ ...changes, updatedAt: changes.updatedAt ?? Date.now() });
      delete row.id;
      const sql = `UPDATE accounts SET ${Object.keys(row).map((c) => `${c} = @${c}`).join(', ')} WHERE tenant_id = @tenant__ AND id = @id__`;
      unique('account', () => db.prepare(sql).run({ ...row, tenant__: tenant, id__: id }));
    },
    changeRole: async (id, role, add) => changeRole.immediate(tenant, id, role, add),
    count: async () => q.count.get(tenant)?.n ?? 0,
    async list(query) {
      const { text, values } = accountPageSql('sqlite', query, emailKey, tenant);
      return toAccountPage(db.prepare<unknown[], Row>(text).all(...values).map(accounts.fromRow), pageLimit(query.limit));
    },
    delete: async (id) => erase(tenant, id),
  });
}

function sqliteClientStore(db: Database.Database): ForTenant<ClientStore> {
  const clients = sqliteMapper<ClientRecord>(TABLES.clients);
  const q = {
    insert: db.prepare(insertSql(TABLES.clients, clients)),
    find: db.prepare<[string, string], Row>('SELECT * FROM clients WHERE tenant_id = ? AND client_id = ?'),
    list: db.prepare<[string], Row>('SELECT * FROM clients WHERE tenant_id = ? ORDER BY created_at, client_id'),
    delete: db.prepare('DELETE FROM clients WHERE tenant_id = ? AND client_id = ?'),
    update: db.prepare(
      'UPDATE clients SET metadata = @metadata, secret_ciphertext = @secret_ciphertext WHERE tenant_id = @tenant AND client_id = @client_id',
    ),
  };
  return (tenant) => ({
    async create(c) {
      unique('client', () => q.insert.run(tenantRow(clients.toRow(c), tenant)));
    },
    async find(clientId) {
      const row = q.find.get(tenant, clientId);
      return row && clients.fromRow(row);
    },
    list: async () => q.list.all(tenant).map(clients.fromRow),
    async update(clientId, changes) {
      const row = clients.toRow({ clientId, metadata: changes.metadata, secretCiphertext: changes.secretCiphertext });
      return q.update.run({ ...row, secret_ciphertext: row.secret_ciphertext ?? null, tenant }).changes > 0;
    },
    async delete(clientId) {
      q.delete.run(tenant, clientId);
    },
  });
}

function sqliteResourceStore(db: Database.Database): ForTenant<ResourceStore> {
  const resources = sqliteMapper<ResourceRecord>(TABLES.resources);
  const q = {
    insert: db.prepare(insertSql(TABLES.resources, resources)),
    find: db.prepare<[string, string], Row>('SELECT * FROM resources WHERE tenant_id = ? AND identifier = ?'),
    list: db.prepare<[string], Row>('SELECT * FROM resources WHERE tenant_id = ? ORDER BY identifier'),
    update: db.prepare(
      `UPDATE resources SET name = @name, scopes = @scopes, access_token_ttl = @access_token_ttl,
       permissions_from_roles = @permissions_from_roles, token_claims = @token_claims WHERE tenant_id = @tenant AND identifier = @identifier`,
    ),
  };
  return (tenant) => ({
    async create(r) {
      unique('resource', () => q.insert.run(tenantRow(resources.toRow(r), tenant)));
    },
    async find(identifier) {
      const row = q.find.get(tenant, identifier);
      return row && resources.fromRow(row);
    },
    list: async () => q.list.all(tenant).map(resources.fromRow),
    async update(identifier, changes) {
      const { name, scopes, accessTokenTtl, permissionsFromRoles, tokenClaims } = changes;
      const row = resources.toRow({ identifier, name, scopes, accessTokenTtl, permissionsFromRoles, tokenClaims });
      return q.update.run(tenantRow(row, tenant)).changes > 0;
    },
  });
}

function sqliteRoleStore(db: Database.Database): ForTenant<RoleStore> {
  const roles = sqliteMapper<RoleRecord>(TABLES.roles);
  const set = 'UPDATE roles SET description = @description, permissions = @permissions, updated_at = @updated_at WHERE tenant_id = @tenant AND name = @name';
  const q = {
    insert: db.prepare(insertSql(TABLES.roles, roles)),
    find: db.prepare<[string, string], Row>('SELECT * FROM roles WHERE tenant_id = ? AND name = ?'),
    // the names as one JSON array parameter: one statement for any number of names
    findMany: db.prepare<[string, string], Row>('SELECT * FROM roles WHERE tenant_id = ? AND name IN (SELECT value FROM json_each(?)) ORDER BY name'),
    // BINARY collation: UTF-8 byte order, which is code-point order
    list: db.prepare<[string], Row>('SELECT * FROM roles WHERE tenant_id = ? ORDER BY name'),
    update: db.prepare(set),
    updateIf: db.prepare(`${set} AND updated_at = @expected`),
    delete: db.prepare('DELETE FROM roles WHERE tenant_id = ? AND name = ?'),
    holders: db.prepare<[string, string], { id: string; roles: string }>(
      'SELECT id, roles FROM accounts WHERE tenant_id = ? AND EXISTS (SELECT 1 FROM json_each(accounts.roles) WHERE value = ?)',
    ),
    setRoles: db.prepare('UPDATE accounts SET roles = ? WHERE tenant_id = ? AND id = ?'),
    unassignSources: db.prepare('DELETE FROM account_roles WHERE tenant_id = ? AND role = ?'),
  };
  // one transaction: the role goes with every assignment of it, or nothing does. The accounts' JSON
  // arrays are rewritten here in JS (keeping their order), inside the transaction.
  const erase = db.transaction((tenant: string, name: string) => {
    if (q.delete.run(tenant, name).changes !== 1) return false;
    for (const a of q.holders.all(tenant, name)) {
      q.setRoles.run(JSON.stringify((JSON.parse(a.roles) as string[]).filter((r) => r !== name)), tenant, a.id);
    }
    q.unassignSources.run(tenant, name);
    return true;
  });
  return (tenant) => ({
    async create(r) {
      unique('role', () => q.insert.run(tenantRow(roles.toRow(r), tenant)));
    },
    async find(name) {
      const row = q.find.get(tenant, name);
      return row && roles.fromRow(row);
    },
    findMany: async (names) => (names.length === 0 ? [] : q.findMany.all(tenant, JSON.stringify(names)).map(roles.fromRow)),
    list: async () => q.list.all(tenant).map(roles.fromRow),
    async update(name, changes, expectedUpdatedAt) {
      const row = tenantRow(roles.toRow({ name, description: changes.description, permissions: changes.permissions, updatedAt: changes.updatedAt }), tenant);
      const result = expectedUpdatedAt === undefined ? q.update.run(row) : q.updateIf.run({ ...row, expected: expectedUpdatedAt });
      return result.changes === 1;
    },
    delete: async (name) => erase(tenant, name),
  });
}

function sqliteSigningKeyStore(db: Database.Database): ForTenant<SigningKeyStore> {
  const keys = sqliteMapper<SigningKeyRecord>(TABLES.signingKeys);
  const q = {
    list: db.prepare<[string], Row>('SELECT * FROM signing_keys WHERE tenant_id = ? ORDER BY created_at, kid'),
    save: db.prepare(
      `${insertSql(TABLES.signingKeys, keys)}
       ON CONFLICT (tenant_id, kid) DO UPDATE SET state = excluded.state, activates_at = excluded.activates_at, expires_at = excluded.expires_at`,
    ),
    update: db.prepare(
      'UPDATE signing_keys SET state = @state, activates_at = @activatesAt, expires_at = @expiresAt WHERE tenant_id = @tenant AND kid = @kid',
    ),
    delete: db.prepare('DELETE FROM signing_keys WHERE tenant_id = ? AND kid = ?'),
  };
  return (tenant) => ({
    list: async () => q.list.all(tenant).map(keys.fromRow),
    async save(k) {
      q.save.run(tenantRow(keys.toRow(k), tenant));
    },
    update: async (kid, c) => q.update.run({ tenant, kid, state: c.state, activatesAt: c.activatesAt, expiresAt: c.expiresAt }).changes === 1,
    async delete(kid) {
      q.delete.run(tenant, kid);
    },
  });
}
