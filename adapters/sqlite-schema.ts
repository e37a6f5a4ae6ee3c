/**
 * The SQLite schema: a new file is created from the one schema (record-schema.ts); a file made by an
 * earlier version is upgraded by the migrations below. `PRAGMA user_version` records the version.
 */
import type Database from 'better-sqlite3';
import { DEFAULT_TENANT } from './contract.js';
import { ACCOUNT_LOCALE_COLUMNS, ALL_TABLES, isTenanted, TABLES, TABLES_BEFORE_TENANTS, TENANT_COLUMN, type Table } from './record-schema.js';
import { addColumnsSql, addTableSql, createIndexSql, createTableSql, implicitInSqlite, indexesOf, indexNamed, schemaSql } from './sql-ddl.js';

type Migration = string | ((db: Database.Database) => void);

/**
 * The migrations that shipped before the one schema (never edit them): they bring a database of an
 * earlier version up to version 4, the last one they made. A new database is created from the schema
 * instead, and every later change is a migration below that uses the schema's own DDL.
 */
export const HISTORIC_MIGRATIONS: readonly string[] = [
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

/**
 * The migrations since the one schema, each made of the schema's own DDL (append only).
 * 5: the drift between the stores resolved: the uid and user-code indexes lead with the model (as the
 * lookups do); emails are unique by their lower-cased form (accounts.email_lower, one rule for every
 * store) instead of SQLite's ASCII-only NOCASE; the rate-limit and lock tables are part of the schema
 * instead of being created on first use.
 * 6: the account lifecycle (issue 13): accounts.disabled_at and last_login_at, and the indexes of
 * AccountStore.list.
 * 7: oidc_models.client_id and its index (OidcModelStore.findByClientId: a deleted client's grants),
 * filled in from the payloads already stored.
 * 8: AccountStore.list at 100,000 accounts (bench/user-list.ts): status=disabled reads the disabled rows
 * in page order (the email prefix needs no index here: account-list.ts searches it as a range).
 * 9: roles as records (issue 14): the roles table; resources.permissions_from_roles and token_claims,
 * false and [] for the APIs already registered (they keep today's behaviour until an operator turns it
 * on); account_roles by role (the account list's role filter, RoleStore.delete). accounts.roles is JSON
 * text, which no SQLite index sees into, so the filter on it stays a scan (account-list.ts).
 * 10: events and webhooks (issue 16): the outbox, the endpoints and their deliveries.
 * 11: tenants (issue 15): every tenant-owned table rebuilt with tenant_id leading its key and indexes,
 * its rows the default tenant's (rebuildForTenants); the tenants registry.
 * 12: webhook endpoints that push Security Event Tokens (issue 16): webhook_endpoints.format and audience,
 * standard-webhooks and null for the endpoints already there.
 * 13: run-time settings (SettingsStore, issue 17): settings_records, the default tenant's upstream providers
 * written through the management API.
 * 14: accounts.locale, the person's language (issue 20).
 *
 * Migrations 5 to 10 build on TABLES_BEFORE_TENANTS (BEFORE), the tables as they were then, so that an
 * old file goes through the same steps it always did; only 11 turns them into today's TABLES.
 */
const BEFORE = TABLES_BEFORE_TENANTS;

const MIGRATIONS: readonly Migration[] = [
  ...HISTORIC_MIGRATIONS,
  (db) => {
    const oidc = BEFORE.oidcModels;
    for (const name of ['oidc_models_uid', 'oidc_models_user_code']) {
      db.exec(`DROP INDEX IF EXISTS ${name}`);
      db.exec(createIndexSql('sqlite', oidc, indexNamed(oidc, name)));
    }
    rebuildAccounts(db);
    for (const sql of [...addTableSql('sqlite', BEFORE.rateLimits), ...addTableSql('sqlite', BEFORE.storeLocks)]) db.exec(sql);
  },
  (db) => {
    const present = new Set(db.prepare<[], { name: string }>('SELECT name FROM pragma_table_info(\'accounts\')').all().map((c) => c.name));
    const missing = ACCOUNT_LIFECYCLE_COLUMNS.filter((c) => !present.has(c));
    for (const sql of addColumnsSql('sqlite', BEFORE.accounts, missing, ACCOUNT_LIFECYCLE_INDEXES)) db.exec(sql);
  },
  (db) => {
    for (const sql of addColumnsSql('sqlite', BEFORE.oidcModels, ['client_id'], ['oidc_models_client_id'])) db.exec(sql);
    db.exec(`UPDATE oidc_models SET client_id = json_extract(payload, '$.clientId')
             WHERE json_valid(payload) AND json_type(payload, '$.clientId') = 'text'`);
  },
  (db) => db.exec(createIndexSql('sqlite', BEFORE.accounts, indexNamed(BEFORE.accounts, 'accounts_disabled_created'))),
  (db) => {
    for (const sql of addTableSql('sqlite', BEFORE.roles)) db.exec(sql);
    for (const sql of addColumnsSql('sqlite', BEFORE.resources, ROLE_RESOURCE_COLUMNS, [])) db.exec(sql);
    db.exec(createIndexSql('sqlite', BEFORE.accountRoles, indexNamed(BEFORE.accountRoles, 'account_roles_role')));
  },
  (db) => {
    for (const t of [BEFORE.eventOutbox, BEFORE.webhookEndpoints, BEFORE.webhookDeliveries]) for (const sql of addTableSql('sqlite', t)) db.exec(sql);
  },
  (db) => {
    for (const [key, before] of Object.entries(BEFORE) as [keyof typeof BEFORE, Table][]) {
      if (isTenanted(TABLES[key])) rebuildForTenants(db, before, TABLES[key]);
    }
    for (const sql of addTableSql('sqlite', TABLES.tenants)) db.exec(sql);
  },
  (db) => {
    for (const sql of addColumnsSql('sqlite', TABLES.webhookEndpoints, missingColumns(db, TABLES.webhookEndpoints, ['format', 'audience']), [])) db.exec(sql);
  },
  // 13: run-time settings (SettingsStore: the default tenant's upstream providers written through the API)
  (db) => {
    for (const sql of addTableSql('sqlite', TABLES.settingsRecords)) db.exec(sql);
  },
  // 14: accounts.locale, the person's language (issue 20)
  (db) => {
    for (const sql of addColumnsSql('sqlite', TABLES.accounts, missingColumns(db, TABLES.accounts, ACCOUNT_LOCALE_COLUMNS), [])) db.exec(sql);
  },
];

/**
 * Those of `columns` the table lacks. Migration 11 rebuilds each table with today's columns, so a file
 * that went through it after a later column was added has that column already.
 */
function missingColumns(db: Database.Database, table: Table, columns: readonly string[]): string[] {
  const present = new Set(db.prepare<[string], { name: string }>('SELECT name FROM pragma_table_info(?)').all(table.name).map((c) => c.name));
  return columns.filter((c) => !present.has(c));
}

/** What migration 9 (SQLite) and 8 (PostgreSQL) add to resources: rows already there get the defaults, false and []. */
export const ROLE_RESOURCE_COLUMNS = ['permissions_from_roles', 'token_claims'] as const;

/** What migration 6 (SQLite) and 5 (PostgreSQL) add to accounts. */
export const ACCOUNT_LIFECYCLE_COLUMNS = ['disabled_at', 'last_login_at'] as const;
export const ACCOUNT_LIFECYCLE_INDEXES = ['accounts_created', 'accounts_disabled', 'accounts_last_login'] as const;

export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

/**
 * SQLite cannot drop a column's UNIQUE constraint, so the table is made anew and the rows copied
 * (https://sqlite.org/lang_altertable.html#otheralter). Foreign keys are off meanwhile (migrate()), so
 * dropping the old table does not cascade into the links and roles that point at accounts.
 */
function rebuildAccounts(db: Database.Database): void {
  const t = BEFORE.accounts;
  db.exec(createTableSql('sqlite', t, { name: 'accounts_next' }));
  const rows = db.prepare<[], { id: string; email: string }>('SELECT id, email FROM accounts').all();
  db.exec(`INSERT INTO accounts_next (id, email, email_lower, email_verified, name, password_hash, roles, created_at, updated_at)
           SELECT id, email, id, email_verified, name, password_hash, roles, created_at, updated_at FROM accounts`);
  const key = db.prepare('UPDATE accounts_next SET email_lower = ? WHERE id = ?');
  for (const r of rows) key.run(t.computed.email_lower.compute(r.email), r.id);
  db.exec('DROP TABLE accounts');
  db.exec('ALTER TABLE accounts_next RENAME TO accounts');
  try {
    // the index of its time; later migrations add the later ones (the table is made from today's schema,
    // so columns added since are already there, empty: migration 6 skips them)
    db.exec(createIndexSql('sqlite', t, indexNamed(t, 'accounts_email_lower')));
  } catch (err) {
    if (!(err as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) throw err;
    throw new Error('SQLite upgrade: two accounts have email addresses that differ only in letter case; merge or rename one, then start again');
  }
}

/**
 * Migration 11: one table made anew in its tenanted form (tenant_id added to its key: SQLite cannot
 * change a primary key in place), every row copied into the default tenant. The rowid is copied too:
 * it is the insertion order that audit_events.seq stands for (implicitInSqlite) and that oidc_models
 * lists by; where a serial column is the rowid itself (password_history, event_outbox) that column is,
 * and its AUTOINCREMENT counter is carried over, so no seq of a row deleted before is handed out again
 * (a webhook delivery's event_seq orders it behind the earlier events of its subject). Foreign keys
 * are off meanwhile (migrate()), so the drop cascades nowhere and a link may point at the accounts
 * table while it is being rebuilt; foreign_key_check runs once every table is done.
 */
function rebuildForTenants(db: Database.Database, before: Table, after: Table): void {
  const columns = Object.keys(before.columns).filter((c) => !implicitInSqlite(before, c));
  // a rowid alias (INTEGER PRIMARY KEY) is copied as itself; naming rowid too would name it twice
  const rowidAlias = columns.some((c) => before.columns[c]!.type === 'serial');
  const copied = rowidAlias ? columns : ['rowid', ...columns];
  const next = `${after.name}_next`;
  db.exec(createTableSql('sqlite', after, { name: next }));
  db.prepare(`INSERT INTO ${next} (${[TENANT_COLUMN, ...copied].join(', ')}) SELECT ?, ${copied.join(', ')} FROM ${before.name} ORDER BY rowid`)
    .run(DEFAULT_TENANT);
  const counter = rowidAlias ? db.prepare<[string], { seq: number }>('SELECT seq FROM sqlite_sequence WHERE name = ?').get(before.name)?.seq : undefined;
  db.exec(`DROP TABLE ${before.name}`);
  db.exec(`ALTER TABLE ${next} RENAME TO ${after.name}`);
  if (counter !== undefined) {
    // the copy set the new table's counter to its highest seq; the old one may have counted further
    db.prepare('DELETE FROM sqlite_sequence WHERE name = ?').run(after.name);
    db.prepare('INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)').run(after.name, counter);
  }
  for (const index of indexesOf('sqlite', after)) db.exec(createIndexSql('sqlite', after, index));
}

export function migrate(db: Database.Database): void {
  // A table rebuild must not cascade (see rebuildAccounts); the pragma is a no-op inside a transaction.
  db.pragma('foreign_keys = OFF');
  try {
    db.transaction(() => {
      const applied = db.pragma('user_version', { simple: true }) as number;
      if (applied === 0) {
        for (const sql of schemaSql('sqlite', ALL_TABLES)) db.exec(sql);
      } else if (applied < MIGRATIONS.length) {
        for (const migration of MIGRATIONS.slice(applied)) {
          if (typeof migration === 'string') db.exec(migration);
          else migration(db);
        }
        const broken = db.pragma('foreign_key_check') as unknown[];
        if (broken.length > 0) throw new Error(`SQLite upgrade: ${broken.length} rows point at records that do not exist`);
      }
      // A newer file than this build knows is left alone: migrations only add.
      if (applied < MIGRATIONS.length) db.pragma(`user_version = ${MIGRATIONS.length}`);
    }).immediate();
  } finally {
    // SQLite leaves REFERENCES unenforced unless asked, per connection; PostgreSQL always enforces them
    db.pragma('foreign_keys = ON');
  }
}
