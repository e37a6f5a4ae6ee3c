/**
 * The PostgreSQL schema, created and upgraded by Gatehouse itself at start-up. A new database is created
 * from the one schema (record-schema.ts) and marked as having every migration; a database of an earlier
 * version is upgraded by the migrations it has not had. Migrations are numbered by their position
 * (append only, never edit one that shipped); `gatehouse_migrations` records which have run. Several replicas may start at once: each takes the same transaction-scoped advisory lock,
 * so one applies the migrations and the others then find nothing left to do. DDL is transactional in
 * PostgreSQL, so a failed migration leaves no half-made schema behind.
 */
import type { PoolClient } from 'pg';
import { DEFAULT_TENANT } from './contract.js';
import { ACCOUNT_LOCALE_COLUMNS, ALL_TABLES, isTenanted, TABLES, TABLES_BEFORE_TENANTS, TENANT_COLUMN, type Table } from './record-schema.js';
import { addColumnsSql, addTableSql, createIndexSql, indexesOf, indexNamed, schemaSql } from './sql-ddl.js';

type Migration = string | ((client: PoolClient) => Promise<void>);

/**
 * The tables as they were before tenants: migrations 4 to 10 build on these (never on TABLES), so an old
 * database goes through the same steps it always did; only 11 turns them into today's TABLES.
 */
const BEFORE = TABLES_BEFORE_TENANTS;

/** Timestamps are epoch milliseconds (bigint), as in the contract's records and the SQLite store. */
export const MIGRATIONS: readonly Migration[] = [
  `CREATE TABLE oidc_models (
     model text NOT NULL, id text NOT NULL, payload jsonb NOT NULL,
     grant_id text, user_code text, uid text, expires_at bigint, consumed_at bigint,
     PRIMARY KEY (model, id));
   CREATE INDEX oidc_models_grant_id ON oidc_models (grant_id) WHERE grant_id IS NOT NULL;
   CREATE INDEX oidc_models_uid ON oidc_models (model, uid) WHERE uid IS NOT NULL;
   CREATE INDEX oidc_models_user_code ON oidc_models (model, user_code) WHERE user_code IS NOT NULL;
   CREATE INDEX oidc_models_expires_at ON oidc_models (expires_at) WHERE expires_at IS NOT NULL;
   CREATE TABLE accounts (
     id text PRIMARY KEY, email text NOT NULL, email_verified boolean NOT NULL,
     name text, password_hash text, created_at bigint NOT NULL, updated_at bigint NOT NULL);
   CREATE UNIQUE INDEX accounts_email_lower ON accounts (lower(email));
   CREATE TABLE clients (
     client_id text PRIMARY KEY, metadata jsonb NOT NULL, secret_ciphertext text, created_at bigint NOT NULL);
   CREATE TABLE resources (
     identifier text PRIMARY KEY, name text NOT NULL, scopes jsonb NOT NULL,
     access_token_ttl integer NOT NULL, created_at bigint NOT NULL);
   CREATE TABLE signing_keys (
     kid text PRIMARY KEY, alg text NOT NULL, state text NOT NULL, public_jwk jsonb NOT NULL,
     private_jwk_ciphertext text NOT NULL, created_at bigint NOT NULL, activates_at bigint, expires_at bigint);
   -- rate-limiter-flexible's RateLimiterPostgres layout, with a text key (its default varchar(255) is
   -- too short for a prefixed 254-character email)
   CREATE TABLE rate_limits (key text PRIMARY KEY, points integer NOT NULL DEFAULT 0, expire bigint);
   CREATE INDEX rate_limits_expire ON rate_limits (expire) WHERE expire IS NOT NULL;`,
  // 2: account roles; sessions and grants found by account (the account pages); second factors;
  // upstream federation (identity links, and roles granted by a directory or IdP, kept per source)
  `ALTER TABLE accounts ADD COLUMN roles text[] NOT NULL DEFAULT '{}';
   ALTER TABLE oidc_models ADD COLUMN account_id text;
   UPDATE oidc_models SET account_id = payload->>'accountId' WHERE jsonb_typeof(payload->'accountId') = 'string';
   CREATE INDEX oidc_models_account_id ON oidc_models (account_id, model) WHERE account_id IS NOT NULL;
   CREATE TABLE totp_factors (
     account_id text PRIMARY KEY, secret_ciphertext text NOT NULL,
     confirmed_at bigint, last_used_step bigint, created_at bigint NOT NULL);
   CREATE TABLE webauthn_credentials (
     id text PRIMARY KEY, account_id text NOT NULL, name text NOT NULL,
     public_key text NOT NULL, counter bigint NOT NULL, transports text[] NOT NULL, device_type text NOT NULL,
     backed_up boolean NOT NULL, created_at bigint NOT NULL, last_used_at bigint);
   CREATE INDEX webauthn_credentials_account_id ON webauthn_credentials (account_id);
   CREATE TABLE recovery_codes (
     account_id text NOT NULL, code_hash text NOT NULL,
     used_at bigint, created_at bigint NOT NULL, PRIMARY KEY (account_id, code_hash));
   CREATE TABLE federated_links (
     provider_id text NOT NULL, external_id text NOT NULL,
     account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
     created_at bigint NOT NULL, last_login_at bigint NOT NULL,
     PRIMARY KEY (provider_id, external_id));
   CREATE INDEX federated_links_account_id ON federated_links (account_id);
   CREATE TABLE account_roles (
     account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
     source text NOT NULL, role text NOT NULL,
     PRIMARY KEY (account_id, source, role));`,
  // 3: account lifecycle: single-use tokens sent by email (only their SHA-256), password history, audit
  // log. `seq` records insertion order (newest password first; audit events of the same millisecond).
  `CREATE TABLE account_tokens (
     token_hash text PRIMARY KEY, purpose text NOT NULL, account_id text NOT NULL, email text NOT NULL,
     interaction_uid text, created_at bigint NOT NULL, expires_at bigint NOT NULL, consumed_at bigint, superseded_at bigint);
   CREATE INDEX account_tokens_account ON account_tokens (account_id, purpose);
   CREATE INDEX account_tokens_expires_at ON account_tokens (expires_at);
   CREATE TABLE password_history (
     seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, account_id text NOT NULL,
     password_hash text NOT NULL, created_at bigint NOT NULL);
   CREATE INDEX password_history_account ON password_history (account_id, seq);
   CREATE TABLE audit_events (
     seq bigint GENERATED ALWAYS AS IDENTITY, id text PRIMARY KEY, time bigint NOT NULL, type text NOT NULL,
     result text NOT NULL, account_id text, client_id text, ip text, user_agent text, request_id text, reason text,
     details jsonb NOT NULL);
   CREATE INDEX audit_events_time ON audit_events (time, seq);
   CREATE INDEX audit_events_account_time ON audit_events (account_id, time, seq) WHERE account_id IS NOT NULL;`,
  // 4: one rule for emails in every store: unique by the lower-cased address, computed by Gatehouse
  // (record-schema.ts: emailKey) rather than by lower(), whose folding depends on the server's locale;
  // the lock table is part of the schema instead of being created on first use.
  async (client) => {
    const accounts = BEFORE.accounts;
    await client.query('ALTER TABLE accounts ADD COLUMN email_lower text');
    const { rows } = await client.query<{ id: string; email: string }>('SELECT id, email FROM accounts');
    await client.query(
      'UPDATE accounts AS a SET email_lower = k.email_lower FROM unnest($1::text[], $2::text[]) AS k (id, email_lower) WHERE a.id = k.id',
      [rows.map((r) => r.id), rows.map((r) => accounts.computed.email_lower.compute(r.email))],
    );
    await client.query('ALTER TABLE accounts ALTER COLUMN email_lower SET NOT NULL');
    await client.query('DROP INDEX accounts_email_lower');
    try {
      // the index of its time (later migrations add the later ones)
      await client.query(createIndexSql('postgres', accounts, indexNamed(accounts, 'accounts_email_lower')));
    } catch (err) {
      if ((err as { code?: string }).code !== '23505') throw err;
      throw new Error('PostgreSQL upgrade: two accounts have email addresses that differ only in letter case; merge or rename one, then start again');
    }
    for (const sql of addTableSql('postgres', BEFORE.storeLocks)) await client.query(sql);
  },
  // 5: the account lifecycle (issue 13): accounts.disabled_at and last_login_at, and the indexes of
  // AccountStore.list
  async (client) => {
    const columns = ['disabled_at', 'last_login_at'];
    const indexes = ['accounts_created', 'accounts_disabled', 'accounts_last_login'];
    for (const sql of addColumnsSql('postgres', BEFORE.accounts, columns, indexes)) await client.query(sql);
  },
  // 6: oidc_models.client_id and its index (OidcModelStore.findByClientId: a deleted client's grants),
  // filled in from the payloads already stored
  async (client) => {
    for (const sql of addColumnsSql('postgres', BEFORE.oidcModels, ['client_id'], ['oidc_models_client_id'])) await client.query(sql);
    await client.query(`UPDATE oidc_models SET client_id = payload->>'clientId' WHERE jsonb_typeof(payload->'clientId') = 'string'`);
  },
  // 7 and 8: AccountStore.list at 100,000 accounts (bench/user-list.ts): the email prefix search uses an index
  // under any collation, not only C; status=disabled reads the disabled rows in page order
  createIndexSql('postgres', BEFORE.accounts, indexNamed(BEFORE.accounts, 'accounts_email_pattern')),
  createIndexSql('postgres', BEFORE.accounts, indexNamed(BEFORE.accounts, 'accounts_disabled_created')),
  // 9: roles as records (issue 14): the roles table; resources.permissions_from_roles and token_claims,
  // false and '{}' for the APIs already registered (they keep today's behaviour until an operator turns
  // it on); the account list's role filter from indexes: accounts.roles by GIN (`@>`), account_roles by role
  async (client) => {
    for (const sql of addTableSql('postgres', BEFORE.roles)) await client.query(sql);
    for (const sql of addColumnsSql('postgres', BEFORE.resources, ['permissions_from_roles', 'token_claims'], [])) await client.query(sql);
    await client.query(createIndexSql('postgres', BEFORE.accounts, indexNamed(BEFORE.accounts, 'accounts_roles')));
    await client.query(createIndexSql('postgres', BEFORE.accountRoles, indexNamed(BEFORE.accountRoles, 'account_roles_role')));
  },
  // 10: events and webhooks (issue 16): the outbox, the endpoints and their deliveries
  async (client) => {
    for (const t of [BEFORE.eventOutbox, BEFORE.webhookEndpoints, BEFORE.webhookDeliveries]) for (const sql of addTableSql('postgres', t)) await client.query(sql);
  },
  // 11: tenants (issue 15): every tenant-owned table in its tenanted form, its rows the default tenant's
  // (toTenantForm); the tenants registry. Unlike the migrations before it, this one changes keys: a
  // replica of an earlier version cannot write after it (its inserts leave tenant_id out, its ON CONFLICT
  // names the old keys), so a rolling upgrade across it stops the old replicas first.
  async (client) => {
    const pairs = (Object.keys(BEFORE) as (keyof typeof BEFORE)[])
      .filter((key) => isTenanted(TABLES[key]))
      .map((key): [Table, Table] => [BEFORE[key], TABLES[key]]);
    // a reference to accounts (id) stands in the way of its new key: dropped first, made anew last
    for (const [before] of pairs) await dropForeignKeys(client, before);
    for (const [before, after] of pairs) await toTenantForm(client, before, after);
    for (const [, after] of pairs) {
      const r = after.references;
      if (r) await client.query(`ALTER TABLE ${after.name} ADD FOREIGN KEY (${TENANT_COLUMN}, ${r.column}) REFERENCES ${r.table} (${TENANT_COLUMN}, id) ON DELETE CASCADE`);
    }
    for (const sql of addTableSql('postgres', TABLES.tenants)) await client.query(sql);
  },
  // 12: webhook endpoints that push Security Event Tokens (issue 16): webhook_endpoints.format and
  // audience, standard-webhooks and null for the endpoints already there
  async (client) => {
    for (const sql of addColumnsSql('postgres', TABLES.webhookEndpoints, await missingColumns(client, TABLES.webhookEndpoints, ['format', 'audience']), [])) await client.query(sql);
  },
  // 13: run-time settings (SettingsStore: the default tenant's upstream providers written through the API)
  async (client) => {
    for (const sql of addTableSql('postgres', TABLES.settingsRecords)) await client.query(sql);
  },
  // 14: accounts.locale, the person's language (issue 20)
  async (client) => {
    for (const sql of addColumnsSql('postgres', TABLES.accounts, await missingColumns(client, TABLES.accounts, ACCOUNT_LOCALE_COLUMNS), [])) await client.query(sql);
  },
];

/**
 * Those of `columns` the table lacks. Migration 11 builds each table with today's columns, so a database
 * that went through it after a later column was added has that column already.
 */
async function missingColumns(client: PoolClient, table: Table, columns: readonly string[]): Promise<string[]> {
  const { rows } = await client.query<{ column_name: string }>(
    'SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1', [table.name],
  );
  const present = new Set(rows.map((r) => r.column_name));
  return columns.filter((c) => !present.has(c));
}

async function dropForeignKeys(client: PoolClient, table: Table): Promise<void> {
  const { rows } = await client.query<{ name: string }>(
    "SELECT conname AS name FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'f'", [table.name],
  );
  for (const { name } of rows) await client.query(`ALTER TABLE ${table.name} DROP CONSTRAINT "${name}"`);
}

/**
 * Migration 11, one table: tenant_id added, every existing row the default tenant's (a constant default
 * fills them without rewriting the table; then it is dropped, as a new database declares none), and the
 * primary key and indexes made anew led by it, as createTableSql and createIndexSql make them. A sole
 * serial key and an index across tenants (a sweep's) stay as they are.
 */
async function toTenantForm(client: PoolClient, before: Table, after: Table): Promise<void> {
  const t = after.name;
  await client.query(`ALTER TABLE ${t} ADD COLUMN ${TENANT_COLUMN} text NOT NULL DEFAULT '${DEFAULT_TENANT}'`);
  await client.query(`ALTER TABLE ${t} ALTER COLUMN ${TENANT_COLUMN} DROP DEFAULT`);
  if (after.primaryKey.join() !== before.primaryKey.join()) {
    const { rows } = await client.query<{ name: string }>(
      "SELECT conname AS name FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'", [t],
    );
    for (const { name } of rows) await client.query(`ALTER TABLE ${t} DROP CONSTRAINT "${name}"`);
    await client.query(`ALTER TABLE ${t} ADD PRIMARY KEY (${after.primaryKey.join(', ')})`);
  }
  for (const index of indexesOf('postgres', after)) {
    if (index.acrossTenants) continue;
    await client.query(`DROP INDEX IF EXISTS ${index.name}`);
    await client.query(createIndexSql('postgres', after, index));
  }
}

/** Any fixed 64-bit number: it names Gatehouse's migration lock among the database's advisory locks. */
const MIGRATION_LOCK = 0x6761746568;

export async function migrate(client: PoolClient): Promise<void> {
  await client.query('BEGIN');
  try {
    // Held until COMMIT/ROLLBACK: replicas starting together run the migrations one after another.
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS gatehouse_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const { rows } = await client.query<{ version: number }>('SELECT coalesce(max(version), 0)::integer AS version FROM gatehouse_migrations');
    // A newer schema than this build knows is left alone: migrations only add, so an older replica
    // still running during a rolling upgrade keeps working.
    const applied = rows[0]?.version ?? 0;
    if (applied === 0) {
      for (const sql of schemaSql('postgres', ALL_TABLES)) await client.query(sql);
      await client.query('INSERT INTO gatehouse_migrations (version) SELECT generate_series(1, $1::integer)', [MIGRATIONS.length]);
    } else {
      for (let v = applied; v < MIGRATIONS.length; v++) {
        const migration = MIGRATIONS[v]!;
        if (typeof migration === 'string') await client.query(migration);
        else await migration(client);
        await client.query('INSERT INTO gatehouse_migrations (version) VALUES ($1)', [v + 1]);
      }
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
