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
  ClientRecord,
  EncryptedSecretKind,
  EncryptedSecretStore,
  OidcPayload,
  RateLimiterOptions,
  ResourceRecord,
  SigningKeyRecord,
  Store,
} from './contract.js';
import { postgresFactorStore } from './postgres-factors.js';
import { postgresFederationStore } from './postgres-federation.js';
import { postgresAccountTokenStore, postgresAuditStore, postgresPasswordHistoryStore } from './postgres-lifecycle.js';
import { fromJsonb, toJsonb } from './postgres-jsonb.js';
import { migrate } from './postgres-schema.js';
import { storable, unique } from './postgres-sql.js';

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

type OidcRow = { payload: unknown; consumed_at: number | null };
type AccountRow = {
  id: string; email: string; email_verified: boolean; name: string | null;
  password_hash: string | null; roles: string[]; created_at: number; updated_at: number;
};
type ClientRow = { client_id: string; metadata: unknown; secret_ciphertext: string | null; created_at: number };
type ResourceRow = { identifier: string; name: string; scopes: unknown; access_token_ttl: number; created_at: number };
type KeyRow = {
  kid: string; alg: string; state: SigningKeyRecord['state']; public_jwk: unknown; private_jwk_ciphertext: string;
  created_at: number; activates_at: number | null; expires_at: number | null;
};

const LIVE = '(expires_at IS NULL OR expires_at > $NOW)';
const live = (sql: string, nowParam: number) => sql.replace('$NOW', `$${nowParam}`);

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

  const now = () => Date.now();
  const rows = async <R extends pg.QueryResultRow>(text: string, values: unknown[]) => (await pool.query<R>(text, values)).rows;
  const one = async <R extends pg.QueryResultRow>(text: string, values: unknown[]) => (await rows<R>(text, values))[0];
  const toPayload = (row: OidcRow | undefined): OidcPayload | undefined => {
    if (!row) return undefined;
    const payload = fromJsonb(row.payload) as OidcPayload;
    return row.consumed_at === null ? payload : { ...payload, consumed: Math.floor(row.consumed_at / 1000) };
  };
  const toAccount = (r: AccountRow | undefined): AccountRecord | undefined =>
    r && {
      id: r.id, email: r.email, emailVerified: r.email_verified, name: r.name,
      passwordHash: r.password_hash, roles: r.roles, createdAt: r.created_at, updatedAt: r.updated_at,
    };
  const toClient = (r: ClientRow): ClientRecord => ({
    clientId: r.client_id, metadata: fromJsonb(r.metadata) as Record<string, unknown>, secretCiphertext: r.secret_ciphertext, createdAt: r.created_at,
  });
  const toResource = (r: ResourceRow): ResourceRecord => ({
    identifier: r.identifier, name: r.name, scopes: fromJsonb(r.scopes) as Record<string, string>, accessTokenTtl: r.access_token_ttl, createdAt: r.created_at,
  });
  const selectOidc = (where: string) =>
    live(`SELECT payload, consumed_at FROM oidc_models WHERE model = $1 AND ${where} = $2 AND ${LIVE}`, 3);

  return {
    kind: 'postgres',
    oidc: {
      async upsert(model, id, payload, expiresIn) {
        await pool.query(
          `INSERT INTO oidc_models (model, id, payload, grant_id, user_code, uid, account_id, expires_at, consumed_at)
           VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, NULL)
           ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
             user_code = excluded.user_code, uid = excluded.uid, account_id = excluded.account_id, expires_at = excluded.expires_at`,
          [model, id, toJsonb(payload), payload.grantId ?? null, payload.userCode ?? null, payload.uid ?? null,
            typeof payload.accountId === 'string' ? payload.accountId : null, expiresIn === undefined ? null : now() + expiresIn * 1000],
        );
      },
      find: async (model, id) => (storable(id) ? toPayload(await one<OidcRow>(selectOidc('id'), [model, id, now()])) : undefined),
      findByUid: async (model, uid) => (storable(uid) ? toPayload(await one<OidcRow>(selectOidc('uid'), [model, uid, now()])) : undefined),
      findByUserCode: async (model, code) =>
        storable(code) ? toPayload(await one<OidcRow>(selectOidc('user_code'), [model, code, now()])) : undefined,
      async consume(model, id) {
        if (!storable(id)) return false;
        const t = now();
        const won = await rows(
          live(`UPDATE oidc_models SET consumed_at = $3 WHERE model = $1 AND id = $2 AND consumed_at IS NULL AND ${LIVE} RETURNING 1`, 3),
          [model, id, t],
        );
        return won.length === 1;
      },
      async destroy(model, id) {
        if (storable(id)) await pool.query('DELETE FROM oidc_models WHERE model = $1 AND id = $2', [model, id]);
      },
      async revokeByGrantId(grantId) {
        if (storable(grantId)) await pool.query('DELETE FROM oidc_models WHERE grant_id = $1', [grantId]);
      },
      findByAccountId: async (model, accountId) =>
        storable(accountId)
          ? (await rows<OidcRow>(`${selectOidc('account_id')} ORDER BY expires_at NULLS LAST, id COLLATE "C"`, [model, accountId, now()]))
            .map((r) => toPayload(r) as OidcPayload)
          : [],
    },
    accounts: {
      async create(a) {
        await unique('account', () =>
          pool.query(
            `INSERT INTO accounts (id, email, email_verified, name, password_hash, roles, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
            [a.id, a.email, a.emailVerified, a.name, a.passwordHash, a.roles, a.createdAt, a.updatedAt],
          ),
        );
      },
      findById: async (id) => (storable(id) ? toAccount(await one<AccountRow>('SELECT * FROM accounts WHERE id = $1', [id])) : undefined),
      findByEmail: async (email) =>
        storable(email) ? toAccount(await one<AccountRow>('SELECT * FROM accounts WHERE lower(email) = lower($1)', [email])) : undefined,
      async update(id, changes) {
        const columns: Record<string, string> = {
          email: 'email', emailVerified: 'email_verified', name: 'name', passwordHash: 'password_hash', roles: 'roles', updatedAt: 'updated_at',
        };
        const entries = Object.entries({ ...changes, updatedAt: changes.updatedAt ?? now() }).filter(([k]) => k in columns);
        const sets = entries.map(([k], i) => `${columns[k]} = $${i + 2}`).join(', ');
        await unique('account', () => pool.query(`UPDATE accounts SET ${sets} WHERE id = $1`, [id, ...entries.map(([, v]) => v)]));
      },
      count: async () => (await one<{ n: number }>('SELECT count(*)::integer AS n FROM accounts', []))?.n ?? 0,
    },
    clients: {
      async create(c) {
        await unique('client', () =>
          pool.query('INSERT INTO clients (client_id, metadata, secret_ciphertext, created_at) VALUES ($1, $2::jsonb, $3, $4)', [
            c.clientId, toJsonb(c.metadata), c.secretCiphertext, c.createdAt,
          ]),
        );
      },
      async find(clientId) {
        const row = storable(clientId) ? await one<ClientRow>('SELECT * FROM clients WHERE client_id = $1', [clientId]) : undefined;
        return row && toClient(row);
      },
      list: async () =>
        (await rows<ClientRow>('SELECT * FROM clients ORDER BY created_at, client_id COLLATE "C"', [])).map(toClient),
      async delete(clientId) {
        if (storable(clientId)) await pool.query('DELETE FROM clients WHERE client_id = $1', [clientId]);
      },
    },
    resources: {
      async create(r) {
        await unique('resource', () =>
          pool.query('INSERT INTO resources (identifier, name, scopes, access_token_ttl, created_at) VALUES ($1, $2, $3::jsonb, $4, $5)', [
            r.identifier, r.name, toJsonb(r.scopes), r.accessTokenTtl, r.createdAt,
          ]),
        );
      },
      async find(identifier) {
        const row = storable(identifier) ? await one<ResourceRow>('SELECT * FROM resources WHERE identifier = $1', [identifier]) : undefined;
        return row && toResource(row);
      },
      list: async () =>
        (await rows<ResourceRow>('SELECT * FROM resources ORDER BY identifier COLLATE "C"', [])).map(toResource),
    },
    signingKeys: {
      list: async () =>
        (await rows<KeyRow>('SELECT * FROM signing_keys ORDER BY created_at, kid COLLATE "C"', [])).map((r) => ({
          kid: r.kid, alg: r.alg, state: r.state, publicJwk: fromJsonb(r.public_jwk) as Record<string, unknown>,
          privateJwkCiphertext: r.private_jwk_ciphertext, createdAt: r.created_at, activatesAt: r.activates_at, expiresAt: r.expires_at,
        })),
      async save(k) {
        await pool.query(
          `INSERT INTO signing_keys (kid, alg, state, public_jwk, private_jwk_ciphertext, created_at, activates_at, expires_at)
           VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8)
           ON CONFLICT (kid) DO UPDATE SET state = excluded.state, activates_at = excluded.activates_at, expires_at = excluded.expires_at`,
          [k.kid, k.alg, k.state, toJsonb(k.publicJwk), k.privateJwkCiphertext, k.createdAt, k.activatesAt, k.expiresAt],
        );
      },
      update: async (kid, c) =>
        ((await pool.query('UPDATE signing_keys SET state = $2, activates_at = $3, expires_at = $4 WHERE kid = $1', [
          kid, c.state, c.activatesAt, c.expiresAt,
        ])).rowCount ?? 0) === 1,
      async delete(kid) {
        await pool.query('DELETE FROM signing_keys WHERE kid = $1', [kid]);
      },
    },
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
      const t = now();
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
  };
}

/** Where each kind of encrypted value lives: table, key column, ciphertext column (the same as in sqlite.ts). */
const ENCRYPTED_COLUMNS: Record<EncryptedSecretKind, [table: string, id: string, ciphertext: string]> = {
  'signing-key': ['signing_keys', 'kid', 'private_jwk_ciphertext'],
  'client-secret': ['clients', 'client_id', 'secret_ciphertext'],
  'totp-secret': ['totp_factors', 'account_id', 'secret_ciphertext'],
};

function postgresEncryptedSecrets(pool: pg.Pool): EncryptedSecretStore {
  const kinds = Object.entries(ENCRYPTED_COLUMNS) as [EncryptedSecretKind, [string, string, string]][];
  const listSql = kinds
    .map(([kind, [table, id, ct]]) => `SELECT '${kind}' AS kind, ${id} AS id, ${ct} AS ciphertext FROM ${table} WHERE ${ct} IS NOT NULL`)
    .join(' UNION ALL ');
  return {
    list: async () => (await pool.query<{ kind: EncryptedSecretKind; id: string; ciphertext: string }>(listSql)).rows,
    async replace(kind, id, previous, next) {
      const [table, idColumn, ct] = ENCRYPTED_COLUMNS[kind];
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

const lockTables = new WeakMap<pg.Pool, Promise<void>>();

/** Store.tryLock: the table is created on first use (not a migration). The upsert's row lock makes it atomic. */
async function postgresTryLock(pool: pg.Pool, name: string, ttlSeconds: number, owner: string): Promise<boolean> {
  let ready = lockTables.get(pool);
  if (!ready) {
    // Two replicas creating it at once: IF NOT EXISTS is not race-free in PostgreSQL; the loser sees a
    // unique violation (23505) or duplicate table (42P07), and the table exists either way.
    ready = pool
      .query('CREATE TABLE IF NOT EXISTS store_locks (name text PRIMARY KEY, owner text NOT NULL, expires_at bigint NOT NULL)')
      .then(() => undefined, (err: { code?: string }) => {
        if (err.code !== '23505' && err.code !== '42P07') {
          lockTables.delete(pool);
          throw err;
        }
      });
    lockTables.set(pool, ready);
  }
  await ready;
  const t = Date.now();
  const res = await pool.query(
    `INSERT INTO store_locks (name, owner, expires_at) VALUES ($1, $2, $3)
     ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
     WHERE store_locks.expires_at <= $4 OR store_locks.owner = excluded.owner`,
    [name, owner, t + ttlSeconds * 1000, t],
  );
  return res.rowCount === 1;
}
