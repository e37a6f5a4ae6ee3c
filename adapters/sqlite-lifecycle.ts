/** The account lifecycle in SQLite: tokens sent by email, password history, audit log. */
import type Database from 'better-sqlite3';
import type { AccountTokenRecord, AccountTokenStore, AuditEntry, AuditEventRecord, AuditQuery, AuditStore, OutboxEventRecord, PasswordHistoryStore } from './contract.js';
import { TABLES } from './record-schema.js';
import type { Row } from './row-mapper.js';
import { insertSql, sqliteMapper, tenantRow, type ForTenant } from './sqlite-sql.js';
import { sqliteOutboxInsert } from './sqlite-webhooks.js';

const tokens = sqliteMapper<AccountTokenRecord>(TABLES.accountTokens);
const events = sqliteMapper<AuditEventRecord>(TABLES.auditEvents);

export type SqliteAccountTokenStores = {
  forTenant: ForTenant<AccountTokenStore>;
  /** The root's deleteExpiredBefore: the expired tokens of every tenant (account_tokens_expires_at is not led by the tenant). */
  deleteExpiredEverywhereBefore(time: number): number;
};

export function sqliteAccountTokenStore(db: Database.Database): SqliteAccountTokenStores {
  const q = {
    insert: db.prepare(insertSql(TABLES.accountTokens, tokens)),
    supersede: db.prepare(
      `UPDATE account_tokens SET superseded_at = ?
       WHERE tenant_id = ? AND account_id = ? AND purpose = ? AND consumed_at IS NULL AND superseded_at IS NULL`,
    ),
    find: db.prepare<[string, string], Row>('SELECT * FROM account_tokens WHERE tenant_id = ? AND token_hash = ?'),
    consume: db.prepare(
      `UPDATE account_tokens SET consumed_at = ?
       WHERE tenant_id = ? AND token_hash = ? AND consumed_at IS NULL AND superseded_at IS NULL AND expires_at > ?`,
    ),
    sweep: db.prepare('DELETE FROM account_tokens WHERE expires_at < ? AND tenant_id = ?'),
    sweepEveryTenant: db.prepare('DELETE FROM account_tokens WHERE expires_at < ?'),
  };
  const issue = db.transaction((tenant: string, t: AccountTokenRecord) => {
    q.supersede.run(t.createdAt, tenant, t.accountId, t.purpose);
    q.insert.run(tenantRow(tokens.toRow(t), tenant));
  });
  return {
    forTenant: (tenant) => ({
      async issue(t) {
        issue.immediate(tenant, t);
      },
      async find(tokenHash) {
        const r = q.find.get(tenant, tokenHash);
        return r && tokens.fromRow(r);
      },
      consume: async (tokenHash, at) => q.consume.run(at, tenant, tokenHash, at).changes === 1,
      async supersedeAll(accountId, purpose, at) {
        q.supersede.run(at, tenant, accountId, purpose);
      },
      deleteExpiredBefore: async (time) => q.sweep.run(time, tenant).changes,
    }),
    deleteExpiredEverywhereBefore: (time) => q.sweepEveryTenant.run(time).changes,
  };
}

export function sqlitePasswordHistoryStore(db: Database.Database): ForTenant<PasswordHistoryStore> {
  const q = {
    insert: db.prepare('INSERT INTO password_history (tenant_id, account_id, password_hash, created_at) VALUES (?, ?, ?, ?)'),
    prune: db.prepare(
      `DELETE FROM password_history WHERE tenant_id = @tenant AND account_id = @accountId AND seq NOT IN (
         SELECT seq FROM password_history WHERE tenant_id = @tenant AND account_id = @accountId ORDER BY seq DESC LIMIT @keep)`,
    ),
    recent: db.prepare<[string, string, number], { password_hash: string; created_at: number }>(
      'SELECT password_hash, created_at FROM password_history WHERE tenant_id = ? AND account_id = ? ORDER BY seq DESC LIMIT ?',
    ),
  };
  const add = db.transaction((tenant: string, accountId: string, entry: { passwordHash: string; createdAt: number }, keep: number) => {
    q.insert.run(tenant, accountId, entry.passwordHash, entry.createdAt);
    q.prune.run({ tenant, accountId, keep: Math.max(keep, 1) });
  });
  return (tenant) => ({
    async add(accountId, entry, keep) {
      add.immediate(tenant, accountId, entry, keep);
    },
    recent: async (accountId, limit) => q.recent.all(tenant, accountId, limit).map((r) => ({ passwordHash: r.password_hash, createdAt: r.created_at })),
  });
}

export function sqliteAuditStore(db: Database.Database): ForTenant<AuditStore> {
  const insert = db.prepare(insertSql(TABLES.auditEvents, events));
  const insertOutbox = sqliteOutboxInsert(db);
  // the audit row and the domain event it caused: both or neither (the outbox, src/events/)
  const withEvent = db.transaction((tenant: string, e: AuditEventRecord, outbox: OutboxEventRecord) => {
    insert.run(tenantRow(events.toRow(e), tenant));
    insertOutbox(tenant, outbox);
  });
  const insertAll = db.transaction((tenant: string, entries: readonly AuditEntry[]) => {
    for (const { event, outbox } of entries) {
      insert.run(tenantRow(events.toRow(event), tenant));
      if (outbox) insertOutbox(tenant, outbox);
    }
  });
  const sweep = db.prepare('DELETE FROM audit_events WHERE tenant_id = ? AND time < ?');
  const pseudonymise = db.prepare(
    `UPDATE audit_events SET account_id = ?, ip = NULL, user_agent = NULL, details = '{}' WHERE tenant_id = ? AND account_id = ?`,
  );
  return (tenant) => ({
    async append(e, outbox) {
      if (outbox) withEvent.immediate(tenant, e, outbox);
      else insert.run(tenantRow(events.toRow(e), tenant));
    },
    async appendAll(entries) {
      if (entries.length > 0) insertAll.immediate(tenant, entries);
    },
    async query(filter: AuditQuery) {
      const where: string[] = ['tenant_id = @tenant'];
      const params: Record<string, unknown> = { tenant, limit: filter.limit ?? 1000 };
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
      // the rowid orders events of the same millisecond by insertion (the schema's audit_events.seq)
      const sql = `SELECT * FROM audit_events WHERE ${where.join(' AND ')} ORDER BY time, rowid LIMIT @limit`;
      return db.prepare<[Record<string, unknown>], Row>(sql).all(params).map(events.fromRow);
    },
    pseudonymise: async (accountId, pseudonym) => pseudonymise.run(pseudonym, tenant, accountId).changes,
    deleteOlderThan: async (time) => sweep.run(tenant, time).changes,
  });
}
