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
import { emailKey, ENCRYPTED_COLUMNS, TABLES, type Table } from './record-schema.js';
import type { Row, RowMapper } from './row-mapper.js';
import { shortLivedRecords } from './short-lived-records.js';
import { postgresFactorStore } from './postgres-factors.js';
import { postgresFederationStore } from './postgres-federation.js';
import { postgresAccountTokenStore, postgresAuditStore, postgresPasswordHistoryStore } from './postgres-lifecycle.js';
import { fromJsonb, toJsonb } from './postgres-jsonb.js';
import { migrate } from './postgres-schema.js';
import { insertSql, postgresMapper, storable, unique } from './postgres-sql.js';

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
const accountRows = postgresMapper<AccountRecord>(TABLES.accounts);
const clientRows = postgresMapper<ClientRecord>(TABLES.clients);
const resourceRows = postgresMapper<ResourceRecord>(TABLES.resources);
const keyRows = postgresMapper<SigningKeyRecord>(TABLES.signingKeys);

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
  const toAccount = (r: Row | undefined) => r && accountRows.fromRow(r);
  const toClient = clientRows.fromRow;
  const toResource = resourceRows.fromRow;
  const insert = <R>(table: Table, mapper: RowMapper<R>, record: R) => {
    const row = mapper.toRow(record);
    return pool.query(insertSql(table, mapper), mapper.columns.map((c) => row[c]));
  };
  const selectOidc = (where: string) =>
    live(`SELECT payload, consumed_at FROM oidc_models WHERE model = $1 AND ${where} = $2 AND ${LIVE}`, 3);

  const oidc: Store['oidc'] = {
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
  };

  return {
    kind: 'postgres',
    oidc,
    records: shortLivedRecords(oidc),
    accounts: {
      async create(a) {
        await unique('account', () => insert(TABLES.accounts, accountRows, a));
      },
      findById: async (id) => (storable(id) ? toAccount(await one<Row>('SELECT * FROM accounts WHERE id = $1', [id])) : undefined),
      findByEmail: async (email) =>
        storable(email) ? toAccount(await one<Row>('SELECT * FROM accounts WHERE email_lower = $1', [emailKey(email)])) : undefined,
      async update(id, changes) {
        const row = accountRows.toRow({ ...changes, updatedAt: changes.updatedAt ?? now() });
        delete row.id;
        const entries = Object.entries(row);
        const sets = entries.map(([column], i) => `${column} = $${i + 2}`).join(', ');
        await unique('account', () => pool.query(`UPDATE accounts SET ${sets} WHERE id = $1`, [id, ...entries.map(([, v]) => v)]));
      },
      count: async () => (await one<{ n: number }>('SELECT count(*)::integer AS n FROM accounts', []))?.n ?? 0,
    },
    clients: {
      async create(c) {
        await unique('client', () => insert(TABLES.clients, clientRows, c));
      },
      async find(clientId) {
        const row = storable(clientId) ? await one<Row>('SELECT * FROM clients WHERE client_id = $1', [clientId]) : undefined;
        return row && toClient(row);
      },
      list: async () =>
        (await rows<Row>('SELECT * FROM clients ORDER BY created_at, client_id COLLATE "C"', [])).map(toClient),
      async delete(clientId) {
        if (storable(clientId)) await pool.query('DELETE FROM clients WHERE client_id = $1', [clientId]);
      },
    },
    resources: {
      async create(r) {
        await unique('resource', () => insert(TABLES.resources, resourceRows, r));
      },
      async find(identifier) {
        const row = storable(identifier) ? await one<Row>('SELECT * FROM resources WHERE identifier = $1', [identifier]) : undefined;
        return row && toResource(row);
      },
      list: async () =>
        (await rows<Row>('SELECT * FROM resources ORDER BY identifier COLLATE "C"', [])).map(toResource),
    },
    signingKeys: {
      list: async () =>
        (await rows<Row>('SELECT * FROM signing_keys ORDER BY created_at, kid COLLATE "C"', [])).map(keyRows.fromRow),
      async save(k) {
        const row = keyRows.toRow(k);
        await pool.query(
          `${insertSql(TABLES.signingKeys, keyRows)}
           ON CONFLICT (kid) DO UPDATE SET state = excluded.state, activates_at = excluded.activates_at, expires_at = excluded.expires_at`,
          keyRows.columns.map((c) => row[c]),
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

/** The ciphertexts at rest, wherever the schema says each kind lives (record-schema.ts: ENCRYPTED_COLUMNS). */
function postgresEncryptedSecrets(pool: pg.Pool): EncryptedSecretStore {
  const kinds = Object.entries(ENCRYPTED_COLUMNS) as [EncryptedSecretKind, (typeof ENCRYPTED_COLUMNS)[EncryptedSecretKind]][];
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
