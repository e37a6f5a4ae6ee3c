/**
 * The PostgreSQL store (`pg`): DATABASE_URL=postgres://user:password@host:5432/db[?max=N&sslmode=...].
 * `max` is the connection pool size per Gatehouse process (default 10; size it so replicas × max stays
 * under the server's max_connections); every other parameter goes to `pg` as usual. The schema is
 * created and upgraded at start-up (postgres-schema.ts).
 *
 * One-time use is a single conditional UPDATE (`WHERE consumed_at IS NULL ... RETURNING`): PostgreSQL
 * row locking makes exactly one of any number of concurrent callers see its row come back.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { RateLimiterPostgres } from 'rate-limiter-flexible';
import type {
  AccountRecord,
  AccountStore,
  ClientRecord,
  ClientStore,
  EncryptedSecretKind,
  EncryptedSecretStore,
  RateLimiterOptions,
  ResourceRecord,
  ResourceStore,
  RoleRecord,
  RoleStore,
  SigningKeyRecord,
  SigningKeyStore,
  Store,
} from './contract.js';
import { ACCOUNT_OWNED_TABLES, emailKey, ENCRYPTED_COLUMNS, TABLES, type EncryptedColumn, type Table } from './record-schema.js';
import type { Row, RowMapper } from './row-mapper.js';
import { shortLivedRecords } from './short-lived-records.js';
import { postgresFactorStore } from './postgres-factors.js';
import { postgresFederationStore } from './postgres-federation.js';
import { postgresAccountTokenStore, postgresAuditStore, postgresPasswordHistoryStore } from './postgres-lifecycle.js';
import { postgresOidcStore } from './postgres-oidc.js';
import { migrate } from './postgres-schema.js';
import { postgresWebhookStore } from './postgres-webhooks.js';
import { insertSql, postgresMapper, storable, unique } from './postgres-sql.js';
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

export async function openPostgresStore(databaseUrl: string, o: PostgresStoreOptions = {}): Promise<Store> {
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

  const oidc = postgresOidcStore(pool);
  return {
    kind: 'postgres',
    oidc,
    records: shortLivedRecords(oidc),
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
    rateLimiter: (options: RateLimiterOptions) =>
      new PostgresRateLimiter({
        storeClient: pool, storeType: 'pool', tableName: 'rate_limits', tableCreated: true,
        // sweepExpired() deletes old counters; the library's own hourly timer would outlive close().
        clearExpiredByTimeout: false,
        ...options,
      }),
    async sweepExpired() {
      const t = Date.now();
      const [models, limits] = await Promise.all([
        pool.query('DELETE FROM oidc_models WHERE expires_at IS NOT NULL AND expires_at <= $1', [t]),
        pool.query('DELETE FROM rate_limits WHERE expire IS NOT NULL AND expire <= $1', [t]),
      ]);
      return (models.rowCount ?? 0) + (limits.rowCount ?? 0);
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      await pool.end();
    },
    tryLock: (name, ttlSeconds, owner) => postgresTryLock(pool, name, ttlSeconds, owner),
    webhooks: postgresWebhookStore(pool),
  };
}

const rowsOf = (pool: pg.Pool) => async (text: string, values: unknown[]) => (await pool.query<Row>(text, values)).rows;

/** INSERT of the whole record, through the schema's mapper. */
function insert<R>(pool: pg.Pool, table: Table, mapper: RowMapper<R>, record: R, suffix = '') {
  const row = mapper.toRow(record);
  return pool.query(`${insertSql(table, mapper)}${suffix}`, mapper.columns.map((c) => row[c]));
}

function postgresAccountStore(pool: pg.Pool): AccountStore {
  const rows = rowsOf(pool);
  const one = async (text: string, values: unknown[]) => (await rows(text, values))[0];
  const toAccount = (r: Row | undefined) => r && accountRows.fromRow(r);
  return {
    async create(a) {
      await unique('account', () => insert(pool, TABLES.accounts, accountRows, a));
    },
    findById: async (id) => (storable(id) ? toAccount(await one('SELECT * FROM accounts WHERE id = $1', [id])) : undefined),
    findByEmail: async (email) =>
      storable(email) ? toAccount(await one('SELECT * FROM accounts WHERE email_lower = $1', [emailKey(email)])) : undefined,
    async update(id, changes) {
      const row = accountRows.toRow({ ...changes, updatedAt: changes.updatedAt ?? Date.now() });
      delete row.id;
      const entries = Object.entries(row);
      const sets = entries.map(([column], i) => `${column} = $${i + 2}`).join(', ');
      await unique('account', () => pool.query(`UPDATE accounts SET ${sets} WHERE id = $1`, [id, ...entries.map(([, v]) => v)]));
    },
    async changeRole(id, role, add) {
      if (!storable(id)) return false;
      // one statement, guarded by whether the role is there: concurrent changes serialise on the row lock
      const text = add
        ? `UPDATE accounts SET roles = (SELECT array_agg(r ORDER BY r COLLATE "C") FROM unnest(array_append(roles, $2::text)) AS r), updated_at = $3
           WHERE id = $1 AND NOT ($2 = ANY (roles))`
        : 'UPDATE accounts SET roles = array_remove(roles, $2::text), updated_at = $3 WHERE id = $1 AND $2 = ANY (roles)';
      return (await pool.query(text, [id, role, Date.now()])).rowCount === 1;
    },
    count: async () => Number((await one('SELECT count(*)::integer AS n FROM accounts', []))?.n ?? 0),
    async list(query) {
      const { text, values } = accountPageSql('postgres', query, emailKey);
      return toAccountPage((await rows(text, values)).map((r) => accountRows.fromRow(r)), pageLimit(query.limit));
    },
    async delete(id) {
      if (!storable(id)) return false;
      // one transaction: the account goes with everything that is only its own, or nothing does
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        for (const t of ACCOUNT_OWNED_TABLES) await client.query(`DELETE FROM ${t.name} WHERE account_id = $1`, [id]);
        const deleted = (await client.query('DELETE FROM accounts WHERE id = $1', [id])).rowCount === 1;
        await client.query('COMMIT');
        return deleted;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
  };
}

function postgresClientStore(pool: pg.Pool): ClientStore {
  const rows = rowsOf(pool);
  const one = async (text: string, values: unknown[]) => (await rows(text, values))[0];
  return {
    async create(c) {
      await unique('client', () => insert(pool, TABLES.clients, clientRows, c));
    },
    async find(clientId) {
      const row = storable(clientId) ? await one('SELECT * FROM clients WHERE client_id = $1', [clientId]) : undefined;
      return row && clientRows.fromRow(row);
    },
    list: async () =>
      (await rows('SELECT * FROM clients ORDER BY created_at, client_id COLLATE "C"', [])).map(clientRows.fromRow),
    async update(clientId, changes) {
      if (!storable(clientId)) return false;
      const row = clientRows.toRow({ metadata: changes.metadata, secretCiphertext: changes.secretCiphertext });
      const result = await pool.query('UPDATE clients SET metadata = $1, secret_ciphertext = $2 WHERE client_id = $3', [row.metadata, row.secret_ciphertext ?? null, clientId]);
      return (result.rowCount ?? 0) > 0;
    },
    async delete(clientId) {
      if (storable(clientId)) await pool.query('DELETE FROM clients WHERE client_id = $1', [clientId]);
    },
  };
}

function postgresResourceStore(pool: pg.Pool): ResourceStore {
  const rows = rowsOf(pool);
  const one = async (text: string, values: unknown[]) => (await rows(text, values))[0];
  return {
    async create(r) {
      await unique('resource', () => insert(pool, TABLES.resources, resourceRows, r));
    },
    async find(identifier) {
      const row = storable(identifier) ? await one('SELECT * FROM resources WHERE identifier = $1', [identifier]) : undefined;
      return row && resourceRows.fromRow(row);
    },
    list: async () =>
      (await rows('SELECT * FROM resources ORDER BY identifier COLLATE "C"', [])).map(resourceRows.fromRow),
    async update(identifier, changes) {
      if (!storable(identifier)) return false;
      const { name, scopes, accessTokenTtl, permissionsFromRoles, tokenClaims } = changes;
      const row = resourceRows.toRow({ name, scopes, accessTokenTtl, permissionsFromRoles, tokenClaims });
      const result = await pool.query(
        `UPDATE resources SET name = $1, scopes = $2, access_token_ttl = $3, permissions_from_roles = $4, token_claims = $5
         WHERE identifier = $6`,
        [row.name, row.scopes, row.access_token_ttl, row.permissions_from_roles, row.token_claims, identifier],
      );
      return (result.rowCount ?? 0) > 0;
    },
  };
}

function postgresRoleStore(pool: pg.Pool): RoleStore {
  const rows = rowsOf(pool);
  return {
    async create(r) {
      await unique('role', () => insert(pool, TABLES.roles, roleRows, r));
    },
    async find(name) {
      const [row] = storable(name) ? await rows('SELECT * FROM roles WHERE name = $1', [name]) : [];
      return row && roleRows.fromRow(row);
    },
    async findMany(names) {
      const wanted = names.filter(storable);
      if (wanted.length === 0) return [];
      // one indexed read (the primary key) for any number of names
      return (await rows('SELECT * FROM roles WHERE name = ANY ($1::text[]) ORDER BY name COLLATE "C"', [wanted])).map(roleRows.fromRow);
    },
    list: async () => (await rows('SELECT * FROM roles ORDER BY name COLLATE "C"', [])).map(roleRows.fromRow),
    async update(name, changes, expectedUpdatedAt) {
      if (!storable(name)) return false;
      const row = roleRows.toRow({ description: changes.description, permissions: changes.permissions, updatedAt: changes.updatedAt });
      const values = [name, row.description, row.permissions, row.updated_at];
      // one conditional UPDATE: the row lock orders it against any other write of the role
      const sql = 'UPDATE roles SET description = $2, permissions = $3, updated_at = $4 WHERE name = $1';
      const result = expectedUpdatedAt === undefined
        ? await pool.query(sql, values)
        : await pool.query(`${sql} AND updated_at = $5`, [...values, expectedUpdatedAt]);
      return result.rowCount === 1;
    },
    async delete(name) {
      if (!storable(name)) return false;
      // one transaction: the role goes with every assignment of it, or nothing does
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const deleted = (await client.query('DELETE FROM roles WHERE name = $1', [name])).rowCount === 1;
        if (deleted) {
          // `@>` finds the holders through the GIN index accounts_roles
          await client.query('UPDATE accounts SET roles = array_remove(roles, $1::text) WHERE roles @> ARRAY[$1]::text[]', [name]);
          await client.query('DELETE FROM account_roles WHERE role = $1', [name]);
        }
        await client.query('COMMIT');
        return deleted;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
  };
}

function postgresSigningKeyStore(pool: pg.Pool): SigningKeyStore {
  const rows = rowsOf(pool);
  return {
    list: async () =>
      (await rows('SELECT * FROM signing_keys ORDER BY created_at, kid COLLATE "C"', [])).map(keyRows.fromRow),
    async save(k) {
      await insert(pool, TABLES.signingKeys, keyRows, k,
        ' ON CONFLICT (kid) DO UPDATE SET state = excluded.state, activates_at = excluded.activates_at, expires_at = excluded.expires_at');
    },
    update: async (kid, c) =>
      ((await pool.query('UPDATE signing_keys SET state = $2, activates_at = $3, expires_at = $4 WHERE kid = $1', [
        kid, c.state, c.activatesAt, c.expiresAt,
      ])).rowCount ?? 0) === 1,
    async delete(kid) {
      await pool.query('DELETE FROM signing_keys WHERE kid = $1', [kid]);
    },
  };
}

/** The ciphertexts at rest, wherever the schema says each kind lives (record-schema.ts: ENCRYPTED_COLUMNS). */
function postgresEncryptedSecrets(pool: pg.Pool): EncryptedSecretStore {
  const kinds = Object.entries(ENCRYPTED_COLUMNS) as [EncryptedSecretKind, EncryptedColumn][];
  const listSql = kinds
    .map(([kind, c]) => `SELECT '${kind}' AS kind, ${c.id} AS id, ${c.column} AS ciphertext FROM ${c.table} WHERE ${c.column} IS NOT NULL`)
    .join(' UNION ALL ');
  return {
    list: async () => (await pool.query<{ kind: EncryptedSecretKind; id: string; ciphertext: string }>(listSql)).rows,
    async replace(kind, id, previous, next) {
      const { table, id: idColumn, column: ct } = ENCRYPTED_COLUMNS[kind];
      if (!storable(id) || !storable(previous)) return false;
      // one conditional UPDATE: the row lock orders it against any other write of the same row
      const res = await pool.query(`UPDATE ${table} SET ${ct} = $1 WHERE ${idColumn} = $2 AND ${ct} = $3`, [next, id, previous]);
      return res.rowCount === 1;
    },
  };
}

/** Counter keys with U+0000 (say, a typed email) are hashed so that they fit a text column. */
class PostgresRateLimiter extends RateLimiterPostgres {
  override getKey(key: string | number): string {
    const text = String(key);
    return super.getKey(storable(text) ? text : `sha256:${createHash('sha256').update(text).digest('hex')}`);
  }
}

/** Store.tryLock: the upsert's row lock makes it atomic. */
async function postgresTryLock(pool: pg.Pool, name: string, ttlSeconds: number, owner: string): Promise<boolean> {
  const t = Date.now();
  const res = await pool.query(
    `INSERT INTO store_locks (name, owner, expires_at) VALUES ($1, $2, $3)
     ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
     WHERE store_locks.expires_at <= $4 OR store_locks.owner = excluded.owner`,
    [name, owner, t + ttlSeconds * 1000, t],
  );
  return res.rowCount === 1;
}
