/**
 * The embedded default store: one SQLite file (better-sqlite3, WAL mode), created on first start.
 * better-sqlite3 is synchronous, so every statement below is atomic with respect to other requests of
 * this process; across processes (the CLI, a second server) SQLite's own locking applies.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  DuplicateError,
  type AccountRecord,
  type AccountTokenRecord,
  type AuditEventRecord,
  type AuditQuery,
  type ClientRecord,
  type EncryptedSecretKind,
  type EncryptedSecretStore,
  type FederatedLinkRecord,
  type OidcPayload,
  type FactorStore,
  type ResourceRecord,
  type SigningKeyRecord,
  type Store,
  type WebAuthnCredentialRecord,
} from './contract.js';
import { createSqliteRateLimiterFactory } from './sqlite-rate-limiter.js';

/** Versioned migrations; `PRAGMA user_version` records how many have run. Append only. */
const MIGRATIONS = [
  `CREATE TABLE oidc_models (
     model TEXT NOT NULL, id TEXT NOT NULL, payload TEXT NOT NULL,
     grant_id TEXT, user_code TEXT, uid TEXT, expires_at INTEGER, consumed_at INTEGER,
     PRIMARY KEY (model, id));
   CREATE INDEX oidc_models_grant_id ON oidc_models (grant_id) WHERE grant_id IS NOT NULL;
   CREATE INDEX oidc_models_uid ON oidc_models (uid) WHERE uid IS NOT NULL;
   CREATE INDEX oidc_models_user_code ON oidc_models (user_code) WHERE user_code IS NOT NULL;
   CREATE INDEX oidc_models_expires_at ON oidc_models (expires_at) WHERE expires_at IS NOT NULL;
   CREATE TABLE accounts (
     id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE COLLATE NOCASE, email_verified INTEGER NOT NULL,
     name TEXT, password_hash TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
   CREATE TABLE clients (
     client_id TEXT PRIMARY KEY, metadata TEXT NOT NULL, secret_ciphertext TEXT, created_at INTEGER NOT NULL);
   CREATE TABLE resources (
     identifier TEXT PRIMARY KEY, name TEXT NOT NULL, scopes TEXT NOT NULL,
     access_token_ttl INTEGER NOT NULL, created_at INTEGER NOT NULL);
   CREATE TABLE signing_keys (
     kid TEXT PRIMARY KEY, alg TEXT NOT NULL, state TEXT NOT NULL, public_jwk TEXT NOT NULL,
     private_jwk_ciphertext TEXT NOT NULL, created_at INTEGER NOT NULL, activates_at INTEGER, expires_at INTEGER);`,
  // 2: account roles; second factors; sessions and grants found by account (the account pages)
  `ALTER TABLE accounts ADD COLUMN roles TEXT NOT NULL DEFAULT '[]';
   ALTER TABLE oidc_models ADD COLUMN account_id TEXT;
   UPDATE oidc_models SET account_id = json_extract(payload, '$.accountId') WHERE json_valid(payload);
   CREATE INDEX oidc_models_account_id ON oidc_models (account_id, model) WHERE account_id IS NOT NULL;
   CREATE TABLE totp_factors (
     account_id TEXT PRIMARY KEY, secret_ciphertext TEXT NOT NULL,
     confirmed_at INTEGER, last_used_step INTEGER, created_at INTEGER NOT NULL);
   CREATE TABLE webauthn_credentials (
     id TEXT PRIMARY KEY, account_id TEXT NOT NULL, name TEXT NOT NULL,
     public_key TEXT NOT NULL, counter INTEGER NOT NULL, transports TEXT NOT NULL, device_type TEXT NOT NULL,
     backed_up INTEGER NOT NULL, created_at INTEGER NOT NULL, last_used_at INTEGER);
   CREATE INDEX webauthn_credentials_account_id ON webauthn_credentials (account_id);
   CREATE TABLE recovery_codes (
     account_id TEXT NOT NULL, code_hash TEXT NOT NULL,
     used_at INTEGER, created_at INTEGER NOT NULL, PRIMARY KEY (account_id, code_hash));`,
  // 3: upstream federation (identity links; roles granted by a directory or IdP, kept per source)
  `CREATE TABLE federated_links (
     provider_id TEXT NOT NULL, external_id TEXT NOT NULL,
     account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
     created_at INTEGER NOT NULL, last_login_at INTEGER NOT NULL,
     PRIMARY KEY (provider_id, external_id));
   CREATE INDEX federated_links_account_id ON federated_links (account_id);
   CREATE TABLE account_roles (
     account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
     source TEXT NOT NULL, role TEXT NOT NULL,
     PRIMARY KEY (account_id, source, role));`,
  // 4: account lifecycle: tokens sent by email, password history, audit log
  `CREATE TABLE account_tokens (
     token_hash TEXT PRIMARY KEY, purpose TEXT NOT NULL, account_id TEXT NOT NULL, email TEXT NOT NULL,
     interaction_uid TEXT, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, consumed_at INTEGER, superseded_at INTEGER);
   CREATE INDEX account_tokens_account ON account_tokens (account_id, purpose);
   CREATE INDEX account_tokens_expires_at ON account_tokens (expires_at);
   CREATE TABLE password_history (
     seq INTEGER PRIMARY KEY AUTOINCREMENT, account_id TEXT NOT NULL, password_hash TEXT NOT NULL, created_at INTEGER NOT NULL);
   CREATE INDEX password_history_account ON password_history (account_id, seq);
   CREATE TABLE audit_events (
     id TEXT PRIMARY KEY, time INTEGER NOT NULL, type TEXT NOT NULL, result TEXT NOT NULL, account_id TEXT, client_id TEXT,
     ip TEXT, user_agent TEXT, request_id TEXT, reason TEXT, details TEXT NOT NULL);
   CREATE INDEX audit_events_time ON audit_events (time);
   CREATE INDEX audit_events_account_time ON audit_events (account_id, time) WHERE account_id IS NOT NULL;`,
];

type LinkRow = { provider_id: string; external_id: string; account_id: string; created_at: number; last_login_at: number };
type OidcRow = { payload: string; expires_at: number | null; consumed_at: number | null };
type AccountRow = {
  id: string; email: string; email_verified: number; name: string | null;
  password_hash: string | null; roles: string; created_at: number; updated_at: number;
};
type TokenRow = {
  token_hash: string; purpose: AccountTokenRecord['purpose']; account_id: string; email: string; interaction_uid: string | null;
  created_at: number; expires_at: number; consumed_at: number | null; superseded_at: number | null;
};
type AuditRow = {
  id: string; time: number; type: string; result: AuditEventRecord['result']; account_id: string | null; client_id: string | null;
  ip: string | null; user_agent: string | null; request_id: string | null; reason: string | null; details: string;
};
type KeyRow = {
  kid: string; alg: string; state: SigningKeyRecord['state']; public_jwk: string; private_jwk_ciphertext: string;
  created_at: number; activates_at: number | null; expires_at: number | null;
};

export function openSqliteStore(databaseUrl: string): Store {
  const file = new URL(databaseUrl).pathname;
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  // SQLite leaves REFERENCES unenforced unless asked, per connection; PostgreSQL always enforces them
  db.pragma('foreign_keys = ON');
  migrate(db);

  const now = () => Date.now();
  const live = (row: OidcRow | undefined): OidcPayload | undefined => {
    if (!row || (row.expires_at !== null && row.expires_at <= now())) return undefined;
    const payload = JSON.parse(row.payload) as OidcPayload;
    return row.consumed_at === null ? payload : { ...payload, consumed: Math.floor(row.consumed_at / 1000) };
  };

  const q = {
    upsert: db.prepare(
      `INSERT INTO oidc_models (model, id, payload, grant_id, user_code, uid, account_id, expires_at, consumed_at)
       VALUES (@model, @id, @payload, @grantId, @userCode, @uid, @accountId, @expiresAt, NULL)
       ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
         user_code = excluded.user_code, uid = excluded.uid, account_id = excluded.account_id, expires_at = excluded.expires_at`,
    ),
    find: db.prepare<[string, string], OidcRow>('SELECT payload, expires_at, consumed_at FROM oidc_models WHERE model = ? AND id = ?'),
    findByUid: db.prepare<[string, string], OidcRow>('SELECT payload, expires_at, consumed_at FROM oidc_models WHERE model = ? AND uid = ?'),
    findByUserCode: db.prepare<[string, string], OidcRow>(
      'SELECT payload, expires_at, consumed_at FROM oidc_models WHERE model = ? AND user_code = ?',
    ),
    consume: db.prepare('UPDATE oidc_models SET consumed_at = ? WHERE model = ? AND id = ? AND consumed_at IS NULL AND (expires_at IS NULL OR expires_at > ?)'),
    destroy: db.prepare('DELETE FROM oidc_models WHERE model = ? AND id = ?'),
    revokeByGrantId: db.prepare('DELETE FROM oidc_models WHERE grant_id = ?'),
    findByAccountId: db.prepare<[string, string], OidcRow>(
      'SELECT payload, expires_at, consumed_at FROM oidc_models WHERE account_id = ? AND model = ? ORDER BY rowid',
    ),
    sweep: db.prepare('DELETE FROM oidc_models WHERE expires_at IS NOT NULL AND expires_at <= ?'),
    accountInsert: db.prepare(
      `INSERT INTO accounts (id, email, email_verified, name, password_hash, roles, created_at, updated_at)
       VALUES (@id, @email, @emailVerified, @name, @passwordHash, @roles, @createdAt, @updatedAt)`,
    ),
    accountById: db.prepare<[string], AccountRow>('SELECT * FROM accounts WHERE id = ?'),
    accountByEmail: db.prepare<[string], AccountRow>('SELECT * FROM accounts WHERE email = ?'),
    accountCount: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM accounts'),
    clientInsert: db.prepare('INSERT INTO clients (client_id, metadata, secret_ciphertext, created_at) VALUES (?, ?, ?, ?)'),
    clientFind: db.prepare<[string], { client_id: string; metadata: string; secret_ciphertext: string | null; created_at: number }>(
      'SELECT * FROM clients WHERE client_id = ?',
    ),
    clientList: db.prepare<[], { client_id: string; metadata: string; secret_ciphertext: string | null; created_at: number }>(
      'SELECT * FROM clients ORDER BY created_at, client_id',
    ),
    clientDelete: db.prepare('DELETE FROM clients WHERE client_id = ?'),
    resourceInsert: db.prepare('INSERT INTO resources (identifier, name, scopes, access_token_ttl, created_at) VALUES (?, ?, ?, ?, ?)'),
    resourceFind: db.prepare<[string], { identifier: string; name: string; scopes: string; access_token_ttl: number; created_at: number }>(
      'SELECT * FROM resources WHERE identifier = ?',
    ),
    resourceList: db.prepare<[], { identifier: string; name: string; scopes: string; access_token_ttl: number; created_at: number }>(
      'SELECT * FROM resources ORDER BY identifier',
    ),
    keyList: db.prepare<[], KeyRow>('SELECT * FROM signing_keys ORDER BY created_at, kid'),
    keySave: db.prepare(
      `INSERT INTO signing_keys (kid, alg, state, public_jwk, private_jwk_ciphertext, created_at, activates_at, expires_at)
       VALUES (@kid, @alg, @state, @publicJwk, @privateJwkCiphertext, @createdAt, @activatesAt, @expiresAt)
       ON CONFLICT (kid) DO UPDATE SET state = excluded.state, activates_at = excluded.activates_at, expires_at = excluded.expires_at`,
    ),
    keyUpdate: db.prepare('UPDATE signing_keys SET state = @state, activates_at = @activatesAt, expires_at = @expiresAt WHERE kid = @kid'),
    keyDelete: db.prepare('DELETE FROM signing_keys WHERE kid = ?'),
    linkFind: db.prepare<[string, string], LinkRow>('SELECT * FROM federated_links WHERE provider_id = ? AND external_id = ?'),
    linkInsert: db.prepare(
      `INSERT INTO federated_links (provider_id, external_id, account_id, created_at, last_login_at)
       VALUES (@providerId, @externalId, @accountId, @createdAt, @lastLoginAt)`,
    ),
    linkTouch: db.prepare('UPDATE federated_links SET last_login_at = ? WHERE provider_id = ? AND external_id = ?'),
    linksOf: db.prepare<[string], LinkRow>('SELECT * FROM federated_links WHERE account_id = ? ORDER BY created_at, provider_id'),
    rolesClear: db.prepare('DELETE FROM account_roles WHERE account_id = ? AND source = ?'),
    roleInsert: db.prepare('INSERT OR IGNORE INTO account_roles (account_id, source, role) VALUES (?, ?, ?)'),
    rolesOf: db.prepare<[string], { role: string }>('SELECT DISTINCT role FROM account_roles WHERE account_id = ? ORDER BY role'),
    tokenInsert: db.prepare(
      `INSERT INTO account_tokens (token_hash, purpose, account_id, email, interaction_uid, created_at, expires_at, consumed_at, superseded_at)
       VALUES (@tokenHash, @purpose, @accountId, @email, @interactionUid, @createdAt, @expiresAt, @consumedAt, @supersededAt)`,
    ),
    tokenSupersede: db.prepare(
      'UPDATE account_tokens SET superseded_at = ? WHERE account_id = ? AND purpose = ? AND consumed_at IS NULL AND superseded_at IS NULL',
    ),
    tokenFind: db.prepare<[string], TokenRow>('SELECT * FROM account_tokens WHERE token_hash = ?'),
    tokenConsume: db.prepare(
      'UPDATE account_tokens SET consumed_at = ? WHERE token_hash = ? AND consumed_at IS NULL AND superseded_at IS NULL AND expires_at > ?',
    ),
    tokenSweep: db.prepare('DELETE FROM account_tokens WHERE expires_at < ?'),
    historyInsert: db.prepare('INSERT INTO password_history (account_id, password_hash, created_at) VALUES (?, ?, ?)'),
    historyPrune: db.prepare(
      'DELETE FROM password_history WHERE account_id = ? AND seq NOT IN (SELECT seq FROM password_history WHERE account_id = ? ORDER BY seq DESC LIMIT ?)',
    ),
    historyRecent: db.prepare<[string, number], { password_hash: string; created_at: number }>(
      'SELECT password_hash, created_at FROM password_history WHERE account_id = ? ORDER BY seq DESC LIMIT ?',
    ),
    auditInsert: db.prepare(
      `INSERT INTO audit_events (id, time, type, result, account_id, client_id, ip, user_agent, request_id, reason, details)
       VALUES (@id, @time, @type, @result, @accountId, @clientId, @ip, @userAgent, @requestId, @reason, @details)`,
    ),
    auditSweep: db.prepare('DELETE FROM audit_events WHERE time < ?'),
  };
  const toLink = (r: LinkRow): FederatedLinkRecord => ({
    providerId: r.provider_id, externalId: r.external_id, accountId: r.account_id, createdAt: r.created_at, lastLoginAt: r.last_login_at,
  });
  const replaceRoles = db.transaction((accountId: string, source: string, roles: string[]) => {
    q.rolesClear.run(accountId, source);
    for (const role of roles) q.roleInsert.run(accountId, source, role);
  });

  const toAccount = (r: AccountRow | undefined): AccountRecord | undefined =>
    r && {
      id: r.id, email: r.email, emailVerified: r.email_verified === 1, name: r.name,
      passwordHash: r.password_hash, roles: JSON.parse(r.roles) as string[], createdAt: r.created_at, updatedAt: r.updated_at,
    };
  const toClient = (r: { client_id: string; metadata: string; secret_ciphertext: string | null; created_at: number }): ClientRecord => ({
    clientId: r.client_id, metadata: JSON.parse(r.metadata), secretCiphertext: r.secret_ciphertext, createdAt: r.created_at,
  });
  const toResource = (r: { identifier: string; name: string; scopes: string; access_token_ttl: number; created_at: number }): ResourceRecord => ({
    identifier: r.identifier, name: r.name, scopes: JSON.parse(r.scopes), accessTokenTtl: r.access_token_ttl, createdAt: r.created_at,
  });
  const unique = <T>(what: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if ((err as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) throw new DuplicateError(what);
      throw err;
    }
  };

  return {
    kind: 'sqlite',
    oidc: {
      async upsert(model, id, payload, expiresIn) {
        q.upsert.run({
          model, id, payload: JSON.stringify(payload), grantId: payload.grantId ?? null, userCode: payload.userCode ?? null,
          uid: payload.uid ?? null, accountId: typeof payload.accountId === 'string' ? payload.accountId : null,
          expiresAt: expiresIn === undefined ? null : now() + expiresIn * 1000,
        });
      },
      find: async (model, id) => live(q.find.get(model, id)),
      findByUid: async (model, uid) => live(q.findByUid.get(model, uid)),
      findByUserCode: async (model, userCode) => live(q.findByUserCode.get(model, userCode)),
      consume: async (model, id) => q.consume.run(now(), model, id, now()).changes === 1,
      async destroy(model, id) {
        q.destroy.run(model, id);
      },
      async revokeByGrantId(grantId) {
        q.revokeByGrantId.run(grantId);
      },
      findByAccountId: async (model, accountId) =>
        q.findByAccountId.all(accountId, model).map(live).filter((p): p is OidcPayload => p !== undefined),
    },
    accountTokens: {
      async issue(t) {
        db.transaction(() => {
          q.tokenSupersede.run(t.createdAt, t.accountId, t.purpose);
          q.tokenInsert.run({ ...t });
        }).immediate();
      },
      async find(tokenHash) {
        const r = q.tokenFind.get(tokenHash);
        return r && {
          tokenHash: r.token_hash, purpose: r.purpose, accountId: r.account_id, email: r.email, interactionUid: r.interaction_uid,
          createdAt: r.created_at, expiresAt: r.expires_at, consumedAt: r.consumed_at, supersededAt: r.superseded_at,
        };
      },
      consume: async (tokenHash, at) => q.tokenConsume.run(at, tokenHash, at).changes === 1,
      async supersedeAll(accountId, purpose, at) {
        q.tokenSupersede.run(at, accountId, purpose);
      },
      deleteExpiredBefore: async (time) => q.tokenSweep.run(time).changes,
    },
    passwordHistory: {
      async add(accountId, entry, keep) {
        db.transaction(() => {
          q.historyInsert.run(accountId, entry.passwordHash, entry.createdAt);
          q.historyPrune.run(accountId, accountId, Math.max(keep, 1));
        }).immediate();
      },
      recent: async (accountId, limit) =>
        q.historyRecent.all(accountId, limit).map((r) => ({ passwordHash: r.password_hash, createdAt: r.created_at })),
    },
    audit: {
      async append(e) {
        q.auditInsert.run({ ...e, details: JSON.stringify(e.details) });
      },
      async query(filter: AuditQuery) {
        const where: string[] = [];
        const params: Record<string, unknown> = { limit: filter.limit ?? 1000 };
        const conditions = { accountId: 'account_id = @accountId', since: 'time >= @since', until: 'time < @until' } as const;
        for (const [key, condition] of Object.entries(conditions) as [keyof typeof conditions, string][]) {
          if (filter[key] === undefined) continue;
          where.push(condition);
          params[key] = filter[key];
        }
        if (filter.types?.length) {
          const alternatives = filter.types.map((type, i) => {
            params[`type${i}`] = type.endsWith('.') ? `${type.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : type;
            return type.endsWith('.') ? `type LIKE @type${i} ESCAPE '\\'` : `type = @type${i}`;
          });
          where.push(`(${alternatives.join(' OR ')})`);
        }
        const sql = `SELECT * FROM audit_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY time, rowid LIMIT @limit`;
        return db.prepare<[Record<string, unknown>], AuditRow>(sql).all(params).map((r) => ({
          id: r.id, time: r.time, type: r.type, result: r.result, accountId: r.account_id, clientId: r.client_id, ip: r.ip,
          userAgent: r.user_agent, requestId: r.request_id, reason: r.reason, details: JSON.parse(r.details) as Record<string, unknown>,
        }));
      },
      deleteOlderThan: async (time) => q.auditSweep.run(time).changes,
    },
    accounts: {
      async create(a) {
        unique('account', () => q.accountInsert.run({ ...a, emailVerified: a.emailVerified ? 1 : 0, roles: JSON.stringify(a.roles) }));
      },
      findById: async (id) => toAccount(q.accountById.get(id)),
      findByEmail: async (email) => toAccount(q.accountByEmail.get(email)),
      async update(id, changes) {
        const columns: Record<string, string> = {
          email: 'email', emailVerified: 'email_verified', name: 'name', passwordHash: 'password_hash', roles: 'roles', updatedAt: 'updated_at',
        };
        const entries = Object.entries({ ...changes, updatedAt: changes.updatedAt ?? now() }).filter(([k]) => k in columns);
        const sql = `UPDATE accounts SET ${entries.map(([k]) => `${columns[k]} = @${k}`).join(', ')} WHERE id = @id`;
        const values = Object.fromEntries(
          entries.map(([k, v]) => [k, typeof v === 'boolean' ? (v ? 1 : 0) : Array.isArray(v) ? JSON.stringify(v) : v]),
        );
        unique('account', () => db.prepare(sql).run({ ...values, id }));
      },
      count: async () => q.accountCount.get()?.n ?? 0,
    },
    clients: {
      async create(c) {
        unique('client', () => q.clientInsert.run(c.clientId, JSON.stringify(c.metadata), c.secretCiphertext, c.createdAt));
      },
      async find(clientId) {
        const row = q.clientFind.get(clientId);
        return row && toClient(row);
      },
      list: async () => q.clientList.all().map(toClient),
      async delete(clientId) {
        q.clientDelete.run(clientId);
      },
    },
    resources: {
      async create(r) {
        unique('resource', () => q.resourceInsert.run(r.identifier, r.name, JSON.stringify(r.scopes), r.accessTokenTtl, r.createdAt));
      },
      async find(identifier) {
        const row = q.resourceFind.get(identifier);
        return row && toResource(row);
      },
      list: async () => q.resourceList.all().map(toResource),
    },
    signingKeys: {
      list: async () =>
        q.keyList.all().map((r) => ({
          kid: r.kid, alg: r.alg, state: r.state, publicJwk: JSON.parse(r.public_jwk), privateJwkCiphertext: r.private_jwk_ciphertext,
          createdAt: r.created_at, activatesAt: r.activates_at, expiresAt: r.expires_at,
        })),
      async save(k) {
        q.keySave.run({ ...k, publicJwk: JSON.stringify(k.publicJwk) });
      },
      update: async (kid, c) => q.keyUpdate.run({ kid, state: c.state, activatesAt: c.activatesAt, expiresAt: c.expiresAt }).changes === 1,
      async delete(kid) {
        q.keyDelete.run(kid);
      },
    },
    encryptedSecrets: sqliteEncryptedSecrets(db),
    factors: sqliteFactorStore(db),
    rateLimiter: createSqliteRateLimiterFactory(db),
    federation: {
      async findLink(providerId, externalId) {
        const row = q.linkFind.get(providerId, externalId);
        return row && toLink(row);
      },
      async createLink(link) {
        unique('federated link', () => q.linkInsert.run(link));
      },
      async touchLink(providerId, externalId, lastLoginAt) {
        q.linkTouch.run(lastLoginAt, providerId, externalId);
      },
      linksOf: async (accountId) => q.linksOf.all(accountId).map(toLink),
      async setRoles(accountId, source, roles) {
        replaceRoles(accountId, source, roles);
      },
      rolesOf: async (accountId) => q.rolesOf.all(accountId).map((r) => r.role),
    },
    sweepExpired: async () => q.sweep.run(now()).changes,
    async ping() {
      db.prepare('SELECT 1').get();
    },
    async close() {
      db.close();
    },
    tryLock: async (name, ttlSeconds, owner) => sqliteTryLock(db, name, ttlSeconds, owner),
  };
}

/** Where each kind of encrypted value lives: table, key column, ciphertext column (also postgres.ts). */
const ENCRYPTED_COLUMNS: Record<EncryptedSecretKind, [table: string, id: string, ciphertext: string]> = {
  'signing-key': ['signing_keys', 'kid', 'private_jwk_ciphertext'],
  'client-secret': ['clients', 'client_id', 'secret_ciphertext'],
  'totp-secret': ['totp_factors', 'account_id', 'secret_ciphertext'],
};

function sqliteEncryptedSecrets(db: Database.Database): EncryptedSecretStore {
  const kinds = Object.entries(ENCRYPTED_COLUMNS) as [EncryptedSecretKind, [string, string, string]][];
  const list = db.prepare<[], { kind: EncryptedSecretKind; id: string; ciphertext: string }>(
    kinds.map(([kind, [table, id, ct]]) => `SELECT '${kind}' AS kind, ${id} AS id, ${ct} AS ciphertext FROM ${table} WHERE ${ct} IS NOT NULL`).join(' UNION ALL '),
  );
  const replace = Object.fromEntries(
    kinds.map(([kind, [table, id, ct]]) => [kind, db.prepare(`UPDATE ${table} SET ${ct} = ? WHERE ${id} = ? AND ${ct} = ?`)]),
  ) as Record<EncryptedSecretKind, Database.Statement>;
  return {
    list: async () => list.all(),
    replace: async (kind, id, previous, next) => replace[kind].run(next, id, previous).changes === 1,
  };
}

type WebAuthnRow = {
  id: string; account_id: string; name: string; public_key: string; counter: number; transports: string;
  device_type: string; backed_up: number; created_at: number; last_used_at: number | null;
};

function sqliteFactorStore(db: Database.Database): FactorStore {
  const q = {
    totpFind: db.prepare<[string], { account_id: string; secret_ciphertext: string; confirmed_at: number | null; last_used_step: number | null; created_at: number }>(
      'SELECT * FROM totp_factors WHERE account_id = ?',
    ),
    totpSave: db.prepare(
      `INSERT INTO totp_factors (account_id, secret_ciphertext, confirmed_at, last_used_step, created_at)
       VALUES (@accountId, @secretCiphertext, @confirmedAt, @lastUsedStep, @createdAt)
       ON CONFLICT (account_id) DO UPDATE SET secret_ciphertext = excluded.secret_ciphertext, confirmed_at = excluded.confirmed_at,
         last_used_step = excluded.last_used_step, created_at = excluded.created_at`,
    ),
    totpUseStep: db.prepare(
      `UPDATE totp_factors SET last_used_step = @step
       WHERE account_id = @accountId AND confirmed_at IS NOT NULL AND (last_used_step IS NULL OR last_used_step < @step)`,
    ),
    totpConfirm: db.prepare(
      `UPDATE totp_factors SET confirmed_at = @confirmedAt, last_used_step = @step
       WHERE account_id = @accountId AND created_at = @createdAt AND confirmed_at IS NULL`,
    ),
    totpDelete: db.prepare('DELETE FROM totp_factors WHERE account_id = ?'),
    webauthnList: db.prepare<[string], WebAuthnRow>('SELECT * FROM webauthn_credentials WHERE account_id = ? ORDER BY created_at, id'),
    webauthnFind: db.prepare<[string], WebAuthnRow>('SELECT * FROM webauthn_credentials WHERE id = ?'),
    webauthnInsert: db.prepare(
      `INSERT INTO webauthn_credentials (id, account_id, name, public_key, counter, transports, device_type, backed_up, created_at, last_used_at)
       VALUES (@id, @accountId, @name, @publicKey, @counter, @transports, @deviceType, @backedUp, @createdAt, @lastUsedAt)`,
    ),
    // WebAuthn §7.2 step 22: a counter that does not grow (when either side is non-zero) signals a cloned authenticator
    webauthnUse: db.prepare(
      `UPDATE webauthn_credentials SET counter = @counter, last_used_at = @usedAt
       WHERE id = @id AND ((@counter = 0 AND counter = 0) OR counter < @counter)`,
    ),
    webauthnDelete: db.prepare('DELETE FROM webauthn_credentials WHERE account_id = ? AND id = ?'),
    recoveryDelete: db.prepare('DELETE FROM recovery_codes WHERE account_id = ?'),
    recoveryInsert: db.prepare('INSERT INTO recovery_codes (account_id, code_hash, used_at, created_at) VALUES (?, ?, NULL, ?)'),
    recoveryUse: db.prepare('UPDATE recovery_codes SET used_at = ? WHERE account_id = ? AND code_hash = ? AND used_at IS NULL'),
    recoveryCount: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM recovery_codes WHERE account_id = ? AND used_at IS NULL'),
  };
  const toCredential = (r: WebAuthnRow): WebAuthnCredentialRecord => ({
    id: r.id, accountId: r.account_id, name: r.name, publicKey: r.public_key, counter: r.counter,
    transports: JSON.parse(r.transports) as string[], deviceType: r.device_type, backedUp: r.backed_up === 1,
    createdAt: r.created_at, lastUsedAt: r.last_used_at,
  });
  const replaceCodes = db.transaction((accountId: string, hashes: string[], createdAt: number) => {
    q.recoveryDelete.run(accountId);
    for (const hash of hashes) q.recoveryInsert.run(accountId, hash, createdAt);
  });
  return {
    async findTotp(accountId) {
      const r = q.totpFind.get(accountId);
      return r && {
        accountId: r.account_id, secretCiphertext: r.secret_ciphertext, confirmedAt: r.confirmed_at,
        lastUsedStep: r.last_used_step, createdAt: r.created_at,
      };
    },
    async saveTotp(f) {
      q.totpSave.run(f);
    },
    useTotpStep: async (accountId, step) => q.totpUseStep.run({ accountId, step }).changes === 1,
    confirmTotp: async (accountId, createdAt, confirmedAt, step) => q.totpConfirm.run({ accountId, createdAt, confirmedAt, step }).changes === 1,
    async deleteTotp(accountId) {
      q.totpDelete.run(accountId);
    },
    listWebAuthn: async (accountId) => q.webauthnList.all(accountId).map(toCredential),
    async findWebAuthn(id) {
      const r = q.webauthnFind.get(id);
      return r && toCredential(r);
    },
    async createWebAuthn(c) {
      try {
        q.webauthnInsert.run({ ...c, transports: JSON.stringify(c.transports), backedUp: c.backedUp ? 1 : 0 });
      } catch (err) {
        if ((err as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) throw new DuplicateError('credential');
        throw err;
      }
    },
    recordWebAuthnUse: async (id, counter, usedAt) => q.webauthnUse.run({ id, counter, usedAt }).changes === 1,
    deleteWebAuthn: async (accountId, id) => q.webauthnDelete.run(accountId, id).changes === 1,
    async replaceRecoveryCodes(accountId, hashes, createdAt) {
      replaceCodes.immediate(accountId, hashes, createdAt);
    },
    useRecoveryCode: async (accountId, hash, usedAt) => q.recoveryUse.run(usedAt, accountId, hash).changes === 1,
    countUnusedRecoveryCodes: async (accountId) => q.recoveryCount.get(accountId)?.n ?? 0,
    async deleteRecoveryCodes(accountId) {
      q.recoveryDelete.run(accountId);
    },
  };
}

function migrate(db: Database.Database): void {
  const applied = db.pragma('user_version', { simple: true }) as number;
  db.transaction(() => {
    MIGRATIONS.slice(applied).forEach((sql, i) => {
      db.exec(sql);
      db.pragma(`user_version = ${applied + i + 1}`);
    });
  }).immediate();
}

/** Store.tryLock: the table is created on first use (not a migration), like the rate-limit table. */
function sqliteTryLock(db: Database.Database, name: string, ttlSeconds: number, owner: string): boolean {
  db.exec('CREATE TABLE IF NOT EXISTS store_locks (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at INTEGER NOT NULL)');
  const t = Date.now();
  const taken = db
    .prepare(
      `INSERT INTO store_locks (name, owner, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
       WHERE store_locks.expires_at <= ? OR store_locks.owner = excluded.owner`,
    )
    .run(name, owner, t + ttlSeconds * 1000, t);
  return taken.changes === 1;
}
