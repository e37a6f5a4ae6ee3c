/** The account lifecycle in SQLite: tokens sent by email, password history, audit log. */
import type Database from 'better-sqlite3';
import type { AccountTokenRecord, AccountTokenStore, AuditEventRecord, AuditQuery, AuditStore, OutboxEventRecord, PasswordHistoryStore } from './contract.js';
import { TABLES } from './record-schema.js';
import type { Row } from './row-mapper.js';
import { insertSql, sqliteMapper } from './sqlite-sql.js';
import { sqliteOutboxInsert } from './sqlite-webhooks.js';

const tokens = sqliteMapper<AccountTokenRecord>(TABLES.accountTokens);
const events = sqliteMapper<AuditEventRecord>(TABLES.auditEvents);

export function sqliteAccountTokenStore(db: Database.Database): AccountTokenStore {
  const q = {
    insert: db.prepare(insertSql(TABLES.accountTokens, tokens)),
    supersede: db.prepare(
      'UPDATE account_tokens SET superseded_at = ? WHERE account_id = ? AND purpose = ? AND consumed_at IS NULL AND superseded_at IS NULL',
    ),
    find: db.prepare<[string], Row>('SELECT * FROM account_tokens WHERE token_hash = ?'),
    consume: db.prepare(
      'UPDATE account_tokens SET consumed_at = ? WHERE token_hash = ? AND consumed_at IS NULL AND superseded_at IS NULL AND expires_at > ?',
    ),
    sweep: db.prepare('DELETE FROM account_tokens WHERE expires_at < ?'),
  };
  return {
    async issue(t) {
      db.transaction(() => {
        q.supersede.run(t.createdAt, t.accountId, t.purpose);
        q.insert.run(tokens.toRow(t));
      }).immediate();
    },
    async find(tokenHash) {
      const r = q.find.get(tokenHash);
      return r && tokens.fromRow(r);
    },
    consume: async (tokenHash, at) => q.consume.run(at, tokenHash, at).changes === 1,
    async supersedeAll(accountId, purpose, at) {
      q.supersede.run(at, accountId, purpose);
    },
    deleteExpiredBefore: async (time) => q.sweep.run(time).changes,
  };
}

export function sqlitePasswordHistoryStore(db: Database.Database): PasswordHistoryStore {
  const q = {
    insert: db.prepare('INSERT INTO password_history (account_id, password_hash, created_at) VALUES (?, ?, ?)'),
    prune: db.prepare(
      'DELETE FROM password_history WHERE account_id = ? AND seq NOT IN (SELECT seq FROM password_history WHERE account_id = ? ORDER BY seq DESC LIMIT ?)',
    ),
    recent: db.prepare<[string, number], { password_hash: string; created_at: number }>(
      'SELECT password_hash, created_at FROM password_history WHERE account_id = ? ORDER BY seq DESC LIMIT ?',
    ),
  };
  return {
    async add(accountId, entry, keep) {
      db.transaction(() => {
        q.insert.run(accountId, entry.passwordHash, entry.createdAt);
        q.prune.run(accountId, accountId, Math.max(keep, 1));
      }).immediate();
    },
    recent: async (accountId, limit) => q.recent.all(accountId, limit).map((r) => ({ passwordHash: r.password_hash, createdAt: r.created_at })),
  };
}

export function sqliteAuditStore(db: Database.Database): AuditStore {
  const insert = db.prepare(insertSql(TABLES.auditEvents, events));
  const insertOutbox = sqliteOutboxInsert(db);
  // the audit row and the domain event it caused: both or neither (the outbox, src/events/)
  const withEvent = db.transaction((e: AuditEventRecord, outbox: OutboxEventRecord) => {
    insert.run(events.toRow(e));
    insertOutbox(outbox);
  });
  const sweep = db.prepare('DELETE FROM audit_events WHERE time < ?');
  const pseudonymise = db.prepare(`UPDATE audit_events SET account_id = ?, ip = NULL, user_agent = NULL, details = '{}' WHERE account_id = ?`);
  return {
    async append(e, outbox) {
      if (outbox) withEvent.immediate(e, outbox);
      else insert.run(events.toRow(e));
    },
    async query(filter: AuditQuery) {
      const where: string[] = [];
      const params: Record<string, unknown> = { limit: filter.limit ?? 1000 };
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
      const sql = `SELECT * FROM audit_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY time, rowid LIMIT @limit`;
      return db.prepare<[Record<string, unknown>], Row>(sql).all(params).map(events.fromRow);
    },
    pseudonymise: async (accountId, pseudonym) => pseudonymise.run(pseudonym, accountId).changes,
    deleteOlderThan: async (time) => sweep.run(time).changes,
  };
}
