/**
 * The account lifecycle in PostgreSQL: tokens sent by email, password history, audit log
 * (AccountTokenStore, PasswordHistoryStore, AuditStore). Writes that read-then-change one account's rows
 * (issue, supersede, add-then-prune) take turns on a transaction-scoped advisory lock for that account;
 * consuming a token is one conditional UPDATE, so row locking lets exactly one concurrent caller win.
 * Every query is of the handle's tenant ($1); only the root's deleteExpiredBefore reaches every tenant.
 */
import type pg from 'pg';
import type {
  AccountTokenPurpose,
  AccountTokenRecord,
  AccountTokenStore,
  AuditEntry,
  AuditEventRecord,
  AuditQuery,
  AuditStore,
  OutboxEventRecord,
  PasswordHistoryStore,
} from './contract.js';
import { TABLES } from './record-schema.js';
import type { Row } from './row-mapper.js';
import { insertSql, insertValues, lockedTransaction, postgresMapper, storable, type ForTenant } from './postgres-sql.js';
import { outboxRows } from './postgres-webhooks.js';

const tokens = postgresMapper<AccountTokenRecord>(TABLES.accountTokens);
const events = postgresMapper<AuditEventRecord>(TABLES.auditEvents);

const DEFAULT_AUDIT_LIMIT = 1000;

const SUPERSEDE = `UPDATE account_tokens SET superseded_at = $2
  WHERE tenant_id = $1 AND account_id = $3 AND purpose = $4 AND consumed_at IS NULL AND superseded_at IS NULL`;

/** Issue and supersede of one account's tokens of one purpose take turns (so two issues leave one live token). */
const tokenLock = (accountId: string, purpose: AccountTokenPurpose) => JSON.stringify([accountId, purpose]);

export type PostgresAccountTokenStores = {
  forTenant: ForTenant<AccountTokenStore>;
  /** The root's deleteExpiredBefore: the expired tokens of every tenant (account_tokens_expires_at is not led by the tenant). */
  deleteExpiredEverywhereBefore(time: number): Promise<number>;
};

export function postgresAccountTokenStore(pool: pg.Pool): PostgresAccountTokenStores {
  return {
    forTenant: (tenant) => ({
      async issue(t) {
        await lockedTransaction(pool, tenant, 'account_tokens', tokenLock(t.accountId, t.purpose), async (client) => {
          await client.query(SUPERSEDE, [tenant, t.createdAt, t.accountId, t.purpose]);
          await client.query(insertSql(TABLES.accountTokens, tokens), insertValues(TABLES.accountTokens, tokens, tokens.toRow(t), tenant));
        });
      },
      async find(tokenHash) {
        if (!storable(tokenHash)) return undefined;
        const [r] = (await pool.query<Row>('SELECT * FROM account_tokens WHERE tenant_id = $1 AND token_hash = $2', [tenant, tokenHash])).rows;
        return r && tokens.fromRow(r);
      },
      consume: async (tokenHash, now) =>
        storable(tokenHash) &&
        ((await pool.query(
          `UPDATE account_tokens SET consumed_at = $3
           WHERE tenant_id = $1 AND token_hash = $2 AND consumed_at IS NULL AND superseded_at IS NULL AND expires_at > $3`,
          [tenant, tokenHash, now],
        )).rowCount ?? 0) === 1,
      async supersedeAll(accountId, purpose, now) {
        if (!storable(accountId)) return;
        await lockedTransaction(pool, tenant, 'account_tokens', tokenLock(accountId, purpose), (client) => client.query(SUPERSEDE, [tenant, now, accountId, purpose]));
      },
      deleteExpiredBefore: async (time) =>
        (await pool.query('DELETE FROM account_tokens WHERE expires_at < $1 AND tenant_id = $2', [time, tenant])).rowCount ?? 0,
    }),
    deleteExpiredEverywhereBefore: async (time) => (await pool.query('DELETE FROM account_tokens WHERE expires_at < $1', [time])).rowCount ?? 0,
  };
}

export function postgresPasswordHistoryStore(pool: pg.Pool): ForTenant<PasswordHistoryStore> {
  return (tenant) => ({
    async add(accountId, entry, keep) {
      await lockedTransaction(pool, tenant, 'password_history', accountId, async (client) => {
        await client.query('INSERT INTO password_history (tenant_id, account_id, password_hash, created_at) VALUES ($1, $2, $3, $4)', [
          tenant, accountId, entry.passwordHash, entry.createdAt,
        ]);
        await client.query(
          `DELETE FROM password_history WHERE tenant_id = $1 AND account_id = $2
             AND seq NOT IN (SELECT seq FROM password_history WHERE tenant_id = $1 AND account_id = $2 ORDER BY seq DESC LIMIT $3)`,
          [tenant, accountId, Math.max(keep, 1)],
        );
      });
    },
    recent: async (accountId, limit) =>
      storable(accountId)
        ? (await pool.query<{ password_hash: string; created_at: number }>(
          'SELECT password_hash, created_at FROM password_history WHERE tenant_id = $1 AND account_id = $2 ORDER BY seq DESC LIMIT $3',
          [tenant, accountId, Math.max(limit, 0)],
        )).rows.map((r) => ({ passwordHash: r.password_hash, createdAt: r.created_at }))
        : [],
  });
}

/**
 * Text columns cannot hold U+0000 (a client_id or user agent is whatever a request sent); the audit log
 * must still record the event, so such a character is shown as U+FFFD. `details` is jsonb via toJsonb,
 * which keeps every value exactly.
 */
const text = (value: string | null) => (value === null ? null : value.replaceAll('\0', '\uFFFD'));

/** A LIKE pattern that matches `prefix` literally at the start (ESCAPE '\'). */
const likePrefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

const auditRow = (e: AuditEventRecord) => events.toRow({
  ...e, id: text(e.id)!, type: text(e.type)!, accountId: text(e.accountId), clientId: text(e.clientId), ip: text(e.ip),
  userAgent: text(e.userAgent), requestId: text(e.requestId), reason: text(e.reason),
});

/** `INSERT ... VALUES (...), (...)` of insertSql's columns, one group of placeholders per row, from $`first` */
function multiRowInsert(sql: string, rows: number, width: number, first: number): string {
  const groups = Array.from({ length: rows }, (_, r) => `(${Array.from({ length: width }, (_, c) => `$${first + r * width + c}`).join(', ')})`);
  return `${sql.slice(0, sql.indexOf(' VALUES '))} VALUES ${groups.join(', ')}`;
}

export function postgresAuditStore(pool: pg.Pool): ForTenant<AuditStore> {
  return (tenant) => ({
    async appendAll(entries: readonly AuditEntry[]) {
      if (entries.length === 0) return;
      const audit = entries.map(({ event }) => insertValues(TABLES.auditEvents, events, auditRow(event), tenant));
      const outbox = entries.flatMap(({ outbox: o }) => (o ? [insertValues(TABLES.eventOutbox, outboxRows, outboxRows.toRow(o), tenant)] : []));
      const auditSql = multiRowInsert(insertSql(TABLES.auditEvents, events), audit.length, audit[0]!.length, 1);
      const values = audit.flat();
      // one statement, so one round trip and atomic: every audit row and every domain event, or none
      const sql = outbox.length === 0
        ? auditSql
        : `WITH audit AS (${auditSql}) ${multiRowInsert(insertSql(TABLES.eventOutbox, outboxRows), outbox.length, outbox[0]!.length, values.length + 1)}`;
      await pool.query(sql, [...values, ...outbox.flat()]);
    },
    async append(e, outbox) {
      const values = insertValues(TABLES.auditEvents, events, auditRow(e), tenant);
      if (!outbox) {
        await pool.query(insertSql(TABLES.auditEvents, events), values);
        return;
      }
      // one statement, so one round trip and atomic: the audit row and the domain event, or neither
      const event = insertValues(TABLES.eventOutbox, outboxRows, outboxRows.toRow(outbox as OutboxEventRecord), tenant);
      const offset = values.length;
      const outboxInsert = insertSql(TABLES.eventOutbox, outboxRows).replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
      await pool.query(`WITH audit AS (${insertSql(TABLES.auditEvents, events)}) ${outboxInsert}`, [...values, ...event]);
    },
    async query(filter: AuditQuery) {
      const values: unknown[] = [];
      const param = (value: unknown) => `$${values.push(value)}`;
      const where: string[] = [`tenant_id = ${param(tenant)}`];
      if (filter.accountId !== undefined) where.push(`account_id = ${param(text(filter.accountId))}`);
      if (filter.since !== undefined) where.push(`time >= ${param(filter.since)}`);
      if (filter.until !== undefined) where.push(`time < ${param(filter.until)}`);
      if (filter.types?.length) {
        const alternatives = filter.types.map((type) =>
          type.endsWith('.') ? `type LIKE ${param(likePrefix(text(type)!))} ESCAPE '\\'` : `type = ${param(text(type))}`,
        );
        where.push(`(${alternatives.join(' OR ')})`);
      }
      const sql = `SELECT * FROM audit_events WHERE ${where.join(' AND ')}
                   ORDER BY time, seq LIMIT ${param(Math.max(filter.limit ?? DEFAULT_AUDIT_LIMIT, 0))}`;
      return (await pool.query<Row>(sql, values)).rows.map(events.fromRow);
    },
    pseudonymise: async (accountId, pseudonym) =>
      (await pool.query(
        `UPDATE audit_events SET account_id = $3, ip = NULL, user_agent = NULL, details = '{}' WHERE tenant_id = $1 AND account_id = $2`,
        [tenant, accountId, pseudonym],
      )).rowCount ?? 0,
    deleteOlderThan: async (time) => (await pool.query('DELETE FROM audit_events WHERE tenant_id = $1 AND time < $2', [tenant, time])).rowCount ?? 0,
  });
}
