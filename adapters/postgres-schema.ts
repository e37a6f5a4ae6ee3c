/**
 * The PostgreSQL schema, created and upgraded by Gatehouse itself at start-up. Migrations are numbered
 * by their position (append only, never edit one that shipped); `gatehouse_migrations` records which
 * have run. Several replicas may start at once: each takes the same transaction-scoped advisory lock,
 * so one applies the migrations and the others then find nothing left to do. DDL is transactional in
 * PostgreSQL, so a failed migration leaves no half-made schema behind.
 */
import type { PoolClient } from 'pg';

/** Timestamps are epoch milliseconds (bigint), as in the contract's records and the SQLite store. */
export const MIGRATIONS: readonly string[] = [
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
];

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
    for (let v = rows[0]?.version ?? 0; v < MIGRATIONS.length; v++) {
      await client.query(MIGRATIONS[v] as string);
      await client.query('INSERT INTO gatehouse_migrations (version) VALUES ($1)', [v + 1]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
