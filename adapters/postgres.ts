/**
 * The PostgreSQL store (`pg`): DATABASE_URL=postgres://user:password@host:5432/db[?max=N&sslmode=...].
 * `max` is the connection pool size per Gatehouse process (default 10; size it so replicas × max stays
 * under the server's max_connections); every other parameter goes to `pg` as usual. The schema is
 * created and upgraded at start-up (postgres-schema.ts).
 *
 * One-time use is a single conditional UPDATE (`WHERE consumed_at IS NULL ... RETURNING`): PostgreSQL
 * row locking makes exactly one of any number of concurrent callers see its row come back.
 *
 * Tenants: each part of the store is built once, at open, as a function from a tenant to its methods
 * (postgres-sql.ts: ForTenant), and every query of a tenanted table binds that tenant. The root is the
 * default tenant's handle; forTenant() binds the same parts to another tenant, sharing the pool.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { RateLimiterPostgres } from 'rate-limiter-flexible';
import {
  DEFAULT_TENANT,
  type AccountRecord,
  type AccountStore,
  type ClientRecord,
  type ClientStore,
  type EncryptedSecretKind,
  type EncryptedSecretStore,
  type RateLimiterOptions,
  type ResourceRecord,
  type ResourceStore,
  type RoleRecord,
  type RoleStore,
  type RootStore,
  type SigningKeyRecord,
  type SigningKeyStore,
  type Store,
} from './contract.js';
import { ACCOUNT_OWNED_TABLES, emailKey, ENCRYPTED_COLUMNS, TABLES, TENANT_COLUMN, tenantKeyPrefix, type EncryptedColumn, type Table } from './record-schema.js';
import type { Row, RowMapper } from './row-mapper.js';
import { postgresUnits } from './postgres-units.js';
import { tenantHandles } from './tenant-handles.js';
import { shortLivedRecords } from './short-lived-records.js';
import { postgresFactorStore } from './postgres-factors.js';
import { postgresFederationStore } from './postgres-federation.js';
import { postgresAccountTokenStore, postgresAuditStore, postgresPasswordHistoryStore } from './postgres-lifecycle.js';
import { postgresOidcStore } from './postgres-oidc.js';
import { migrate } from './postgres-schema.js';
import { postgresTenantStore } from './postgres-tenants.js';
import { postgresWebhookStore } from './postgres-webhooks.js';
import { postgresSettingsStore } from './postgres-settings.js';
import { inPrefixRange, inTransaction, insertSql, insertValues, postgresMapper, prefixRange, storable, unique, type ForTenant } from './postgres-sql.js';
import { accountPageSql, pageLimit, toAccountPage } from './account-list.js';

export const DEFAULT_POOL_SIZE = 10;
const MAX_POOL_SIZE = 1000;

export type PostgresStoreOptions = { onError?: (err: Error) => void };

/** DATABASE_URL → pg pool settings; `?max=` is ours, the rest of the URL is pg's. */
export function postgresPoolConfig(databaseUrl: string): pg.PoolConfig {
  const url = new URL(databaseUrl);
  const max = url.searchParams.get('max');
  url.searchParams.delete('max');
  if (max !== null && (!/^\d+$/.test(max) || Number(max) < 1 || Number(max) > MAX_POOL_SIZE)) {
    throw new Error(`DATABASE_URL: ?max= must be an integer from 1 to ${MAX_POOL_SIZE} (the pool size); got ${JSON.stringify(max)}`);
  }
  return {
    connectionString: url.href,
    max: max === null ? DEFAULT_POOL_SIZE : Number(max),
    // Fail a request clearly when the server is unreachable instead of queueing it forever.
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    // bigint columns hold epoch milliseconds, well inside Number's exact range. Set per pool, not on
    // pg's shared `types` (STYLE.md: no changing a library's global settings).
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  };
}

const accountRows = postgresMapper<AccountRecord>(TABLES.accounts);
const clientRows = postgresMapper<ClientRecord>(TABLES.clients);
const resourceRows = postgresMapper<ResourceRecord>(TABLES.resources);
const roleRows = postgresMapper<RoleRecord>(TABLES.roles);
const keyRows = postgresMapper<SigningKeyRecord>(TABLES.signingKeys);

const partsOn = (pool: pg.Pool) => ({
  oidc: postgresOidcStore(pool),
  accounts: postgresAccountStore(pool),
  clients: postgresClientStore(pool),
  resources: postgresResourceStore(pool),
  roles: postgresRoleStore(pool),
  signingKeys: postgresSigningKeyStore(pool),
  encryptedSecrets: postgresEncryptedSecrets(pool),
  factors: postgresFactorStore(pool),
  federation: postgresFederationStore(pool),
  accountTokens: postgresAccountTokenStore(pool),
  passwordHistory: postgresPasswordHistoryStore(pool),
  audit: postgresAuditStore(pool),
  rateLimiter: postgresRateLimiters(pool),
  tryLock: postgresLocks(pool),
  webhooks: postgresWebhookStore(pool),
  settings: postgresSettingsStore(pool),
});

export async function openPostgresStore(databaseUrl: string, o: PostgresStoreOptions = {}): Promise<RootStore> {
  const pool = new pg.Pool(postgresPoolConfig(databaseUrl));
  // An idle client whose server went away emits 'error' on the pool; unheard, it would end the process.
  pool.on('error', (err) => o.onError?.(err));
  try {
    const client = await pool.connect();
    try {
      await migrate(client);
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end();
    throw err;
  }

  // the parts get the unit-aware pool: inside Store.atomically their queries run in the unit's transaction
  const units = postgresUnits(pool);
  const parts = partsOn(units.pool);
  const bind = (tenant: string): Store => {
    const oidc = parts.oidc.forTenant(tenant);
    return {
      kind: 'postgres',
      oidc,
      records: shortLivedRecords(oidc),
      accounts: parts.accounts(tenant),
      clients: parts.clients(tenant),
      resources: parts.resources(tenant),
      roles: parts.roles(tenant),
      signingKeys: parts.signingKeys(tenant),
      encryptedSecrets: parts.encryptedSecrets(tenant),
      factors: parts.factors(tenant),
      federation: parts.federation(tenant),
      accountTokens: parts.accountTokens.forTenant(tenant),
      passwordHistory: parts.passwordHistory(tenant),
      audit: parts.audit(tenant),
      rateLimiter: parts.rateLimiter(tenant),
      // a tenant's expired records and rate-limit counters (those under its key prefix); the default
      // tenant's handle is the root, whose sweep covers every tenant instead (below)
      async sweepExpired() {
        const t = Date.now();
        const [models, limits] = await Promise.all([
          oidc.sweep(),
          pool.query(`DELETE FROM rate_limits WHERE ${inPrefixRange('key', 2)} AND expire IS NOT NULL AND expire <= $1`, [t, ...prefixRange(tenantKeyPrefix(tenant))]),
        ]);
        return models + (limits.rowCount ?? 0);
      },
      async ping() {
        await pool.query('SELECT 1');
      },
      // a tenant's handle shares the root's pool: only the root ends it
      async close() {},
      tryLock: parts.tryLock(tenant),
      webhooks: parts.webhooks(tenant),
      atomically: units.atomically,
      afterCommit: units.afterCommit,
      settings: parts.settings(tenant),
    };
  };
  const defaultTenant = bind(DEFAULT_TENANT);
  const root: RootStore = {
    ...defaultTenant,
    // the root's sweeps cover every tenant (contract.ts: RootStore)
    async sweepExpired() {
      const [models, limits] = await Promise.all([
        parts.oidc.sweepEveryTenant(),
        pool.query('DELETE FROM rate_limits WHERE expire IS NOT NULL AND expire <= $1', [Date.now()]),
      ]);
      return models + (limits.rowCount ?? 0);
    },
    accountTokens: { ...defaultTenant.accountTokens, deleteExpiredBefore: (time) => parts.accountTokens.deleteExpiredEverywhereBefore(time) },
    async close() {
      await pool.end();
    },
    tenants: postgresTenantStore(units.pool),
    forTenant: tenantHandles(bind, () => root),
  };
  return root;
}

const rowsOf = (pool: pg.Pool) => async (text: string, values: unknown[]) => (await pool.query<Row>(text, values)).rows;

/** INSERT of the whole record of the tenant, through the schema's mapper. */
function insert<R>(pool: pg.Pool, tenant: string, table: Table, mapper: RowMapper<R>, record: R, suffix = '') {
  return pool.query(`${insertSql(table, mapper)}${suffix}`, insertValues(table, mapper, mapper.toRow(record), tenant));
}

function postgresAccountStore(pool: pg.Pool): ForTenant<AccountStore> {
  const rows = rowsOf(pool);
  const one = async (text: string, values: unknown[]) => (await rows(text, values))[0];
  const toAccount = (r: Row | undefined) => r && accountRows.fromRow(r);
  return (tenant) => ({
    async create(a) {
      await unique('account', () => insert(pool, tenant, TABLES.accounts, accountRows, { locale: null, ...a }));
    },
    findById: async (id) => (storable(id) ? toAccount(await one('SELECT * FROM accounts WHERE tenant_id = $1 AND id = $2', [tenant, id])) : undefined),
    findByEmail: async (email) =>
      storable(email) ? toAccount(await one('SELECT * FROM accounts WHERE tenant_id = $1 AND email_lower = $2', [tenant, emailKey(email)])) : undefined,
    async update(id, changes) {
      const row = accountRows.toRow({ ...changes, updatedAt: changes.updatedAt ?? Date.now() });
      delete row.id;
      const entries = Object.entries(row);
      const sets = entries.map(([column], i) => `${column} = $${i + 3}`).join(', ');
      await unique('account', () => pool.query(`UPDATE accounts SET ${sets} WHERE tenant_id = $1 AND id = $2`, [tenant, id, ...entries.map(([, v]) => v)]));
    },
    async changeRole(id, role, add) {
      if (!storable(id)) return false;
      // one statement, guarded by whether the role is there: concurrent changes serialise on the row lock
      const text = add
        ? `UPDATE accounts SET roles = (SELECT array_agg(r ORDER BY r COLLATE "C") FROM unnest(array_append(roles, $3::text)) AS r), updated_at = $4
           WHERE tenant_id = $1 AND id = $2 AND NOT ($3 = ANY (roles))`
        : 'UPDATE accounts SET roles = array_remove(roles, $3::text), updated_at = $4 WHERE tenant_id = $1 AND id = $2 AND $3 = ANY (roles)';
      return (await pool.query(text, [tenant, id, role, Date.now()])).rowCount === 1;
    },
    count: async () => Number((await one('SELECT count(*)::integer AS n FROM accounts WHERE tenant_id = $1', [tenant]))?.n ?? 0),
    async list(query) {
      const { text, values } = accountPageSql('postgres', query, emailKey, tenant);
      return toAccountPage((await rows(text, values)).map((r) => accountRows.fromRow(r)), pageLimit(query.limit));
    },
    async delete(id) {
      if (!storable(id)) return false;
      // one transaction: the account goes with everything that is only its own, or nothing does
      return inTransaction(pool, async (client) => {
        for (const t of ACCOUNT_OWNED_TABLES) await client.query(`DELETE FROM ${t.name} WHERE tenant_id = $1 AND account_id = $2`, [tenant, id]);
        return (await client.query('DELETE FROM accounts WHERE tenant_id = $1 AND id = $2', [tenant, id])).rowCount === 1;
      });
    },
  });
}

function postgresClientStore(pool: pg.Pool): ForTenant<ClientStore> {
  const rows = rowsOf(pool);
  const one = async (text: string, values: unknown[]) => (await rows(text, values))[0];
  return (tenant) => ({
    async create(c) {
      await unique('client', () => insert(pool, tenant, TABLES.clients, clientRows, c));
    },
    async find(clientId) {
      const row = storable(clientId) ? await one('SELECT * FROM clients WHERE tenant_id = $1 AND client_id = $2', [tenant, clientId]) : undefined;
      return row && clientRows.fromRow(row);
    },
    list: async () =>
      (await rows('SELECT * FROM clients WHERE tenant_id = $1 ORDER BY created_at, client_id COLLATE "C"', [tenant])).map(clientRows.fromRow),
    async update(clientId, changes) {
      if (!storable(clientId)) return false;
      const row = clientRows.toRow({ metadata: changes.metadata, secretCiphertext: changes.secretCiphertext });
      const result = await pool.query(
        'UPDATE clients SET metadata = $3, secret_ciphertext = $4 WHERE tenant_id = $1 AND client_id = $2',
        [tenant, clientId, row.metadata, row.secret_ciphertext ?? null],
      );
      return (result.rowCount ?? 0) > 0;
    },
    async delete(clientId) {
      if (storable(clientId)) await pool.query('DELETE FROM clients WHERE tenant_id = $1 AND client_id = $2', [tenant, clientId]);
    },
  });
}

function postgresResourceStore(pool: pg.Pool): ForTenant<ResourceStore> {
  const rows = rowsOf(pool);
  const one = async (text: string, values: unknown[]) => (await rows(text, values))[0];
  return (tenant) => ({
    async create(r) {
      await unique('resource', () => insert(pool, tenant, TABLES.resources, resourceRows, r));
    },
    async find(identifier) {
      const row = storable(identifier) ? await one('SELECT * FROM resources WHERE tenant_id = $1 AND identifier = $2', [tenant, identifier]) : undefined;
      return row && resourceRows.fromRow(row);
    },
    list: async () =>
      (await rows('SELECT * FROM resources WHERE tenant_id = $1 ORDER BY identifier COLLATE "C"', [tenant])).map(resourceRows.fromRow),
    async update(identifier, changes) {
      if (!storable(identifier)) return false;
      const { name, scopes, accessTokenTtl, permissionsFromRoles, tokenClaims } = changes;
      const row = resourceRows.toRow({ name, scopes, accessTokenTtl, permissionsFromRoles, tokenClaims });
      const result = await pool.query(
        `UPDATE resources SET name = $3, scopes = $4, access_token_ttl = $5, permissions_from_roles = $6, token_claims = $7
         WHERE tenant_id = $1 AND identifier = $2`,
        [tenant, identifier, row.name, row.scopes, row.access_token_ttl, row.permissions_from_roles, row.token_claims],
      );
      return (result.rowCount ?? 0) > 0;
    },
  });
}

function postgresRoleStore(pool: pg.Pool): ForTenant<RoleStore> {
  const rows = rowsOf(pool);
  return (tenant) => ({
    async create(r) {
      await unique('role', () => insert(pool, tenant, TABLES.roles, roleRows, r));
    },
    async find(name) {
      const [row] = storable(name) ? await rows('SELECT * FROM roles WHERE tenant_id = $1 AND name = $2', [tenant, name]) : [];
      return row && roleRows.fromRow(row);
    },
    async findMany(names) {
      const wanted = names.filter(storable);
      if (wanted.length === 0) return [];
      // one indexed read (the primary key) for any number of names
      return (await rows('SELECT * FROM roles WHERE tenant_id = $1 AND name = ANY ($2::text[]) ORDER BY name COLLATE "C"', [tenant, wanted])).map(roleRows.fromRow);
    },
    list: async () => (await rows('SELECT * FROM roles WHERE tenant_id = $1 ORDER BY name COLLATE "C"', [tenant])).map(roleRows.fromRow),
    async update(name, changes, expectedUpdatedAt) {
      if (!storable(name)) return false;
      const row = roleRows.toRow({ description: changes.description, permissions: changes.permissions, updatedAt: changes.updatedAt });
      const values = [tenant, name, row.description, row.permissions, row.updated_at];
      // one conditional UPDATE: the row lock orders it against any other write of the role
      const sql = 'UPDATE roles SET description = $3, permissions = $4, updated_at = $5 WHERE tenant_id = $1 AND name = $2';
      const result = expectedUpdatedAt === undefined
        ? await pool.query(sql, values)
        : await pool.query(`${sql} AND updated_at = $6`, [...values, expectedUpdatedAt]);
      return result.rowCount === 1;
    },
    async delete(name) {
      if (!storable(name)) return false;
      // one transaction: the role goes with every assignment of it in its tenant, or nothing does
      return inTransaction(pool, async (client) => {
        const deleted = (await client.query('DELETE FROM roles WHERE tenant_id = $1 AND name = $2', [tenant, name])).rowCount === 1;
        if (deleted) {
          // `@>` finds the holders through the GIN index accounts_roles
          await client.query('UPDATE accounts SET roles = array_remove(roles, $2::text) WHERE tenant_id = $1 AND roles @> ARRAY[$2]::text[]', [tenant, name]);
          await client.query('DELETE FROM account_roles WHERE tenant_id = $1 AND role = $2', [tenant, name]);
        }
        return deleted;
      });
    },
  });
}

function postgresSigningKeyStore(pool: pg.Pool): ForTenant<SigningKeyStore> {
  const rows = rowsOf(pool);
  return (tenant) => ({
    list: async () =>
      (await rows('SELECT * FROM signing_keys WHERE tenant_id = $1 ORDER BY created_at, kid COLLATE "C"', [tenant])).map(keyRows.fromRow),
    async save(k) {
      await insert(pool, tenant, TABLES.signingKeys, keyRows, k,
        ' ON CONFLICT (tenant_id, kid) DO UPDATE SET state = excluded.state, activates_at = excluded.activates_at, expires_at = excluded.expires_at');
    },
    update: async (kid, c) =>
      ((await pool.query('UPDATE signing_keys SET state = $3, activates_at = $4, expires_at = $5 WHERE tenant_id = $1 AND kid = $2', [
        tenant, kid, c.state, c.activatesAt, c.expiresAt,
      ])).rowCount ?? 0) === 1,
    async delete(kid) {
      await pool.query('DELETE FROM signing_keys WHERE tenant_id = $1 AND kid = $2', [tenant, kid]);
    },
  });
}

/** The ciphertexts at rest of the tenant, wherever the schema says each kind lives (record-schema.ts: ENCRYPTED_COLUMNS). */
function postgresEncryptedSecrets(pool: pg.Pool): ForTenant<EncryptedSecretStore> {
  const kinds = Object.entries(ENCRYPTED_COLUMNS) as [EncryptedSecretKind, EncryptedColumn][];
  const listSql = kinds
    .map(([kind, c]) => `SELECT '${kind}' AS kind, ${c.id} AS id, ${c.column} AS ciphertext FROM ${c.table} WHERE ${TENANT_COLUMN} = $1 AND ${c.column} IS NOT NULL`)
    .join(' UNION ALL ');
  return (tenant) => ({
    list: async () => (await pool.query<{ kind: EncryptedSecretKind; id: string; ciphertext: string }>(listSql, [tenant])).rows,
    async replace(kind, id, previous, next) {
      const { table, id: idColumn, column: ct } = ENCRYPTED_COLUMNS[kind];
      if (!storable(id) || !storable(previous)) return false;
      // one conditional UPDATE: the row lock orders it against any other write of the same row
      const res = await pool.query(
        `UPDATE ${table} SET ${ct} = $1 WHERE ${TENANT_COLUMN} = $2 AND ${idColumn} = $3 AND ${ct} = $4`,
        [next, tenant, id, previous],
      );
      return res.rowCount === 1;
    },
  });
}

/** Counter keys with U+0000 (say, a typed email) are hashed so that they fit a text column. */
class PostgresRateLimiter extends RateLimiterPostgres {
  override getKey(key: string | number): string {
    const text = String(key);
    return super.getKey(storable(text) ? text : `sha256:${createHash('sha256').update(text).digest('hex')}`);
  }
}

/**
 * rate-limiter-flexible's limiter on the pool. rate_limits belongs to no tenant: a tenant's counters are
 * told apart by their key, which starts with the tenant's key prefix (record-schema.ts: tenantKeyPrefix;
 * TenantStore.delete removes them by it).
 */
function postgresRateLimiters(pool: pg.Pool): ForTenant<(o: RateLimiterOptions) => PostgresRateLimiter> {
  return (tenant) => (options) =>
    new PostgresRateLimiter({
      storeClient: pool, storeType: 'pool', tableName: 'rate_limits', tableCreated: true,
      // sweepExpired() deletes old counters; the library's own hourly timer would outlive close().
      clearExpiredByTimeout: false,
      ...options,
      keyPrefix: `${tenantKeyPrefix(tenant)}${options.keyPrefix}`,
    });
}

/**
 * Store.tryLock: the upsert's row lock makes it atomic. A tenant's lock names start with its key prefix
 * (store_locks belongs to no tenant).
 */
function postgresLocks(pool: pg.Pool): ForTenant<(name: string, ttlSeconds: number, owner: string) => Promise<boolean>> {
  return (tenant) => {
    const prefix = tenantKeyPrefix(tenant);
    return async (name, ttlSeconds, owner) => {
      const t = Date.now();
      const res = await pool.query(
        `INSERT INTO store_locks (name, owner, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
         WHERE store_locks.expires_at <= $4 OR store_locks.owner = excluded.owner`,
        [`${prefix}${name}`, owner, t + ttlSeconds * 1000, t],
      );
      return res.rowCount === 1;
    };
  };
}
