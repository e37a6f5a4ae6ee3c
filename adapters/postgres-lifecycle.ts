/**
 * The account lifecycle in PostgreSQL: tokens sent by email, password history, audit log
 * (AccountTokenStore, PasswordHistoryStore, AuditStore). Writes that read-then-change one account's rows
 * (issue, supersede, add-then-prune) take turns on a transaction-scoped advisory lock for that account;
 * consuming a token is one conditional UPDATE, so row locking lets exactly one concurrent caller win.
 */
import type pg from 'pg';
import type {
  AccountTokenPurpose,
  AccountTokenRecord,
  AccountTokenStore,
  AuditEventRecord,
  AuditQuery,
  AuditStore,
  PasswordHistoryStore,
} from './contract.js';
import { fromJsonb, toJsonb } from './postgres-jsonb.js';
import { lockedTransaction, storable } from './postgres-sql.js';

type TokenRow = {
  token_hash: string; purpose: AccountTokenPurpose; account_id: string; email: string; interaction_uid: string | null;
  created_at: number; expires_at: number; consumed_at: number | null; superseded_at: number | null;
};
type AuditRow = {
  id: string; time: number; type: string; result: AuditEventRecord['result']; account_id: string | null; client_id: string | null;
  ip: string | null; user_agent: string | null; request_id: string | null; reason: string | null; details: unknown;
};

const DEFAULT_AUDIT_LIMIT = 1000;

const SUPERSEDE =
  'UPDATE account_tokens SET superseded_at = $1 WHERE account_id = $2 AND purpose = $3 AND consumed_at IS NULL AND superseded_at IS NULL';

/** Issue and supersede of one account's tokens of one purpose take turns (so two issues leave one live token). */
const tokenLock = (accountId: string, purpose: AccountTokenPurpose) => JSON.stringify([accountId, purpose]);

export function postgresAccountTokenStore(pool: pg.Pool): AccountTokenStore {
  return {
    async issue(t) {
      await lockedTransaction(pool, 'account_tokens', tokenLock(t.accountId, t.purpose), async (client) => {
        await client.query(SUPERSEDE, [t.createdAt, t.accountId, t.purpose]);
        await client.query(
          `INSERT INTO account_tokens (token_hash, purpose, account_id, email, interaction_uid, created_at, expires_at, consumed_at, superseded_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [t.tokenHash, t.purpose, t.accountId, t.email, t.interactionUid, t.createdAt, t.expiresAt, t.consumedAt, t.supersededAt],
        );
      });
    },
    async find(tokenHash) {
      if (!storable(tokenHash)) return undefined;
      const [r] = (await pool.query<TokenRow>('SELECT * FROM account_tokens WHERE token_hash = $1', [tokenHash])).rows;
      return r && ({
        tokenHash: r.token_hash, purpose: r.purpose, accountId: r.account_id, email: r.email, interactionUid: r.interaction_uid,
        createdAt: r.created_at, expiresAt: r.expires_at, consumedAt: r.consumed_at, supersededAt: r.superseded_at,
      } satisfies AccountTokenRecord);
    },
    consume: async (tokenHash, now) =>
      storable(tokenHash) &&
      ((await pool.query(
        'UPDATE account_tokens SET consumed_at = $2 WHERE token_hash = $1 AND consumed_at IS NULL AND superseded_at IS NULL AND expires_at > $2',
        [tokenHash, now],
      )).rowCount ?? 0) === 1,
    async supersedeAll(accountId, purpose, now) {
      if (!storable(accountId)) return;
      await lockedTransaction(pool, 'account_tokens', tokenLock(accountId, purpose), (client) => client.query(SUPERSEDE, [now, accountId, purpose]));
    },
    deleteExpiredBefore: async (time) => (await pool.query('DELETE FROM account_tokens WHERE expires_at < $1', [time])).rowCount ?? 0,
  };
}

export function postgresPasswordHistoryStore(pool: pg.Pool): PasswordHistoryStore {
  return {
    async add(accountId, entry, keep) {
      await lockedTransaction(pool, 'password_history', accountId, async (client) => {
        await client.query('INSERT INTO password_history (account_id, password_hash, created_at) VALUES ($1, $2, $3)', [
          accountId, entry.passwordHash, entry.createdAt,
        ]);
        await client.query(
          `DELETE FROM password_history WHERE account_id = $1
             AND seq NOT IN (SELECT seq FROM password_history WHERE account_id = $1 ORDER BY seq DESC LIMIT $2)`,
          [accountId, Math.max(keep, 1)],
        );
      });
    },
    recent: async (accountId, limit) =>
      storable(accountId)
        ? (await pool.query<{ password_hash: string; created_at: number }>(
          'SELECT password_hash, created_at FROM password_history WHERE account_id = $1 ORDER BY seq DESC LIMIT $2',
          [accountId, Math.max(limit, 0)],
        )).rows.map((r) => ({ passwordHash: r.password_hash, createdAt: r.created_at }))
        : [],
  };
}

/**
 * Text columns cannot hold U+0000 (a client_id or user agent is whatever a request sent); the audit log
 * must still record the event, so such a character is shown as U+FFFD. `details` is jsonb via toJsonb,
 * which keeps every value exactly.
 */
const text = (value: string | null) => (value === null ? null : value.replaceAll('\0', '\uFFFD'));

/** A LIKE pattern that matches `prefix` literally at the start (ESCAPE '\'). */
const likePrefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export function postgresAuditStore(pool: pg.Pool): AuditStore {
  return {
    async append(e) {
      await pool.query(
        `INSERT INTO audit_events (id, time, type, result, account_id, client_id, ip, user_agent, request_id, reason, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb)`,
        [text(e.id), e.time, text(e.type), e.result, text(e.accountId), text(e.clientId), text(e.ip), text(e.userAgent),
          text(e.requestId), text(e.reason), toJsonb(e.details)],
      );
    },
    async query(filter: AuditQuery) {
      const where: string[] = [];
      const values: unknown[] = [];
      const param = (value: unknown) => `$${values.push(value)}`;
      if (filter.accountId !== undefined) where.push(`account_id = ${param(text(filter.accountId))}`);
      if (filter.since !== undefined) where.push(`time >= ${param(filter.since)}`);
      if (filter.until !== undefined) where.push(`time < ${param(filter.until)}`);
      if (filter.types?.length) {
        const alternatives = filter.types.map((type) =>
          type.endsWith('.') ? `type LIKE ${param(likePrefix(text(type)!))} ESCAPE '\\'` : `type = ${param(text(type))}`,
        );
        where.push(`(${alternatives.join(' OR ')})`);
      }
      const sql = `SELECT * FROM audit_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                   ORDER BY time, seq LIMIT ${param(Math.max(filter.limit ?? DEFAULT_AUDIT_LIMIT, 0))}`;
      return (await pool.query<AuditRow>(sql, values)).rows.map((r) => ({
        id: r.id, time: r.time, type: r.type, result: r.result, accountId: r.account_id, clientId: r.client_id, ip: r.ip,
        userAgent: r.user_agent, requestId: r.request_id, reason: r.reason, details: fromJsonb(r.details) as Record<string, unknown>,
      }));
    },
    deleteOlderThan: async (time) => (await pool.query('DELETE FROM audit_events WHERE time < $1', [time])).rowCount ?? 0,
  };
}
