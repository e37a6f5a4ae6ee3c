/**
 * The embedded default store: one SQLite file (better-sqlite3, WAL mode), created on first start from
 * the one schema (sqlite-schema.ts). better-sqlite3 is synchronous, so every statement is atomic with
 * respect to other requests of this process; across processes (the CLI, a second server) SQLite's own
 * locking applies. Accounts, clients, resources, roles and keys are here; the rest is in sqlite-oidc.ts,
 * sqlite-factors.ts, sqlite-federation.ts and sqlite-lifecycle.ts.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type {
  AccountRecord, AccountStore, ClientRecord, ClientStore, ResourceRecord, ResourceStore, RoleRecord, RoleStore, SigningKeyRecord, SigningKeyStore, Store,
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
import { insertSql, sqliteEncryptedSecrets, sqliteLocks, sqliteMapper, unique } from './sqlite-sql.js';
import { shortLivedRecords } from './short-lived-records.js';
import { sqliteWebhookStore } from './sqlite-webhooks.js';

export function openSqliteStore(databaseUrl: string): Store {
  const file = new URL(databaseUrl).pathname;
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  migrate(db);

  const oidc = sqliteOidcStore(db);
  return {
    kind: 'sqlite',
    oidc,
    records: shortLivedRecords(oidc),
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
    sweepExpired: async () => oidc.sweep(),
    async ping() {
      db.prepare('SELECT 1').get();
    },
    async close() {
      db.close();
    },
    tryLock: sqliteLocks(db),
    webhooks: sqliteWebhookStore(db),
  };
}

function sqliteAccountStore(db: Database.Database): AccountStore {
  const accounts = sqliteMapper<AccountRecord>(TABLES.accounts);
  const q = {
    insert: db.prepare(insertSql(TABLES.accounts, accounts)),
    byId: db.prepare<[string], Row>('SELECT * FROM accounts WHERE id = ?'),
    byEmail: db.prepare<[string], Row>('SELECT * FROM accounts WHERE email_lower = ?'),
    count: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM accounts'),
  };
  const toAccount = (r: Row | undefined) => r && accounts.fromRow(r);
  const owned = ACCOUNT_OWNED_TABLES.map((t) => db.prepare(`DELETE FROM ${t.name} WHERE account_id = ?`));
  const deleteAccount = db.prepare('DELETE FROM accounts WHERE id = ?');
  const rolesOf = db.prepare<[string], { roles: string }>('SELECT roles FROM accounts WHERE id = ?');
  const writeRoles = db.prepare('UPDATE accounts SET roles = ?, updated_at = ? WHERE id = ?');
  // read and write in one IMMEDIATE transaction: no other connection to the file writes in between
  const changeRole = db.transaction((id: string, role: string, add: boolean) => {
    const row = rolesOf.get(id);
    if (!row) return false;
    const roles = JSON.parse(row.roles) as string[];
    if (roles.includes(role) === add) return false;
    const next = add ? [...roles, role].sort() : roles.filter((r) => r !== role);
    return writeRoles.run(JSON.stringify(next), Date.now(), id).changes === 1;
  });
  // one transaction: the account goes with everything that is only its own, or nothing does
  const erase = db.transaction((id: string) => {
    for (const statement of owned) statement.run(id);
    return deleteAccount.run(id).changes === 1;
  });
  return {
    async create(a) {
      unique('account', () => q.insert.run(accounts.toRow(a)));
    },
    findById: async (id) => toAccount(q.byId.get(id)),
    findByEmail: async (email) => toAccount(q.byEmail.get(emailKey(email))),
    async update(id, changes) {
      const row = accounts.toRow({ ...changes, updatedAt: changes.updatedAt ?? Date.now() });
      delete row.id;
      const sql = `UPDATE accounts SET ${Object.keys(row).map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id`;
      unique('account', () => db.prepare(sql).run({ ...row, id }));
    },
    changeRole: async (id, role, add) => changeRole.immediate(id, role, add),
    count: async () => q.count.get()?.n ?? 0,
    async list(query) {
      const { text, values } = accountPageSql('sqlite', query, emailKey);
      return toAccountPage(db.prepare<unknown[], Row>(text).all(...values).map(accounts.fromRow), pageLimit(query.limit));
    },
    delete: async (id) => erase(id),
  };
}

function sqliteClientStore(db: Database.Database): ClientStore {
  const clients = sqliteMapper<ClientRecord>(TABLES.clients);
  const q = {
    insert: db.prepare(insertSql(TABLES.clients, clients)),
    find: db.prepare<[string], Row>('SELECT * FROM clients WHERE client_id = ?'),
    list: db.prepare<[], Row>('SELECT * FROM clients ORDER BY created_at, client_id'),
    delete: db.prepare('DELETE FROM clients WHERE client_id = ?'),
    update: db.prepare('UPDATE clients SET metadata = @metadata, secret_ciphertext = @secret_ciphertext WHERE client_id = @client_id'),
  };
  return {
    async create(c) {
      unique('client', () => q.insert.run(clients.toRow(c)));
    },
    async find(clientId) {
      const row = q.find.get(clientId);
      return row && clients.fromRow(row);
    },
    list: async () => q.list.all().map(clients.fromRow),
    async update(clientId, changes) {
      const row = clients.toRow({ clientId, metadata: changes.metadata, secretCiphertext: changes.secretCiphertext });
      return q.update.run({ ...row, secret_ciphertext: row.secret_ciphertext ?? null }).changes > 0;
    },
    async delete(clientId) {
      q.delete.run(clientId);
    },
  };
}

function sqliteResourceStore(db: Database.Database): ResourceStore {
  const resources = sqliteMapper<ResourceRecord>(TABLES.resources);
  const q = {
    insert: db.prepare(insertSql(TABLES.resources, resources)),
    find: db.prepare<[string], Row>('SELECT * FROM resources WHERE identifier = ?'),
    list: db.prepare<[], Row>('SELECT * FROM resources ORDER BY identifier'),
    update: db.prepare(
      `UPDATE resources SET name = @name, scopes = @scopes, access_token_ttl = @access_token_ttl,
       permissions_from_roles = @permissions_from_roles, token_claims = @token_claims WHERE identifier = @identifier`,
    ),
  };
  return {
    async create(r) {
      unique('resource', () => q.insert.run(resources.toRow(r)));
    },
    async find(identifier) {
      const row = q.find.get(identifier);
      return row && resources.fromRow(row);
    },
    list: async () => q.list.all().map(resources.fromRow),
    async update(identifier, changes) {
      const { name, scopes, accessTokenTtl, permissionsFromRoles, tokenClaims } = changes;
      return q.update.run(resources.toRow({ identifier, name, scopes, accessTokenTtl, permissionsFromRoles, tokenClaims })).changes > 0;
    },
  };
}

function sqliteRoleStore(db: Database.Database): RoleStore {
  const roles = sqliteMapper<RoleRecord>(TABLES.roles);
  const set = 'UPDATE roles SET description = @description, permissions = @permissions, updated_at = @updated_at WHERE name = @name';
  const q = {
    insert: db.prepare(insertSql(TABLES.roles, roles)),
    find: db.prepare<[string], Row>('SELECT * FROM roles WHERE name = ?'),
    // the names as one JSON array parameter: one statement for any number of names
    findMany: db.prepare<[string], Row>('SELECT * FROM roles WHERE name IN (SELECT value FROM json_each(?)) ORDER BY name'),
    // BINARY collation: UTF-8 byte order, which is code-point order
    list: db.prepare<[], Row>('SELECT * FROM roles ORDER BY name'),
    update: db.prepare(set),
    updateIf: db.prepare(`${set} AND updated_at = @expected`),
    delete: db.prepare('DELETE FROM roles WHERE name = ?'),
    holders: db.prepare<[string], { id: string; roles: string }>(
      'SELECT id, roles FROM accounts WHERE EXISTS (SELECT 1 FROM json_each(accounts.roles) WHERE value = ?)',
    ),
    setRoles: db.prepare('UPDATE accounts SET roles = ? WHERE id = ?'),
    unassignSources: db.prepare('DELETE FROM account_roles WHERE role = ?'),
  };
  // one transaction: the role goes with every assignment of it, or nothing does. The accounts' JSON
  // arrays are rewritten here in JS (keeping their order), inside the transaction.
  const erase = db.transaction((name: string) => {
    if (q.delete.run(name).changes !== 1) return false;
    for (const a of q.holders.all(name)) {
      q.setRoles.run(JSON.stringify((JSON.parse(a.roles) as string[]).filter((r) => r !== name)), a.id);
    }
    q.unassignSources.run(name);
    return true;
  });
  return {
    async create(r) {
      unique('role', () => q.insert.run(roles.toRow(r)));
    },
    async find(name) {
      const row = q.find.get(name);
      return row && roles.fromRow(row);
    },
    findMany: async (names) => (names.length === 0 ? [] : q.findMany.all(JSON.stringify(names)).map(roles.fromRow)),
    list: async () => q.list.all().map(roles.fromRow),
    async update(name, changes, expectedUpdatedAt) {
      const row = roles.toRow({ name, description: changes.description, permissions: changes.permissions, updatedAt: changes.updatedAt });
      const result = expectedUpdatedAt === undefined ? q.update.run(row) : q.updateIf.run({ ...row, expected: expectedUpdatedAt });
      return result.changes === 1;
    },
    delete: async (name) => erase(name),
  };
}

function sqliteSigningKeyStore(db: Database.Database): SigningKeyStore {
  const keys = sqliteMapper<SigningKeyRecord>(TABLES.signingKeys);
  const q = {
    list: db.prepare<[], Row>('SELECT * FROM signing_keys ORDER BY created_at, kid'),
    save: db.prepare(
      `${insertSql(TABLES.signingKeys, keys)}
       ON CONFLICT (kid) DO UPDATE SET state = excluded.state, activates_at = excluded.activates_at, expires_at = excluded.expires_at`,
    ),
    update: db.prepare('UPDATE signing_keys SET state = @state, activates_at = @activatesAt, expires_at = @expiresAt WHERE kid = @kid'),
    delete: db.prepare('DELETE FROM signing_keys WHERE kid = ?'),
  };
  return {
    list: async () => q.list.all().map(keys.fromRow),
    async save(k) {
      q.save.run(keys.toRow(k));
    },
    update: async (kid, c) => q.update.run({ kid, state: c.state, activatesAt: c.activatesAt, expiresAt: c.expiresAt }).changes === 1,
    async delete(kid) {
      q.delete.run(kid);
    },
  };
}
