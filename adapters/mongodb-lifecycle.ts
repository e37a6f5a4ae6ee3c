/**
 * The account lifecycle in MongoDB: tokens sent by email, password history, audit log
 * (AccountTokenStore, PasswordHistoryStore, AuditStore), without multi-document transactions (which
 * would need a replica set):
 * - Tokens: each issue draws the next number of its account and purpose from a counter document
 *   (one atomic `$inc`), inserts the token with it, then supersedes the live tokens numbered below it,
 *   and finally supersedes itself if a higher-numbered one exists. However two issues interleave, the
 *   one with the higher number is left live and the other superseded; in sequence, the later one wins.
 *   Consuming is one conditional update of one document, so exactly one concurrent caller matches it.
 * - Password history: one document per account whose array is appended and trimmed in one update
 *   (`$push` with `$slice`), so insertion order is the array's order.
 * - Audit: one document per event; `_id` is an ObjectId (increasing within a process) to order events
 *   of the same millisecond by insertion, the event's own id is `eventId` with a unique index; `details`
 *   is JSON text (its keys are not ours).
 */
import { ObjectId, type Collection, type Db, type Filter } from 'mongodb';
import type {
  AccountTokenPurpose,
  AccountTokenRecord,
  AccountTokenStore,
  AuditEventRecord,
  AuditStore,
  OutboxEventRecord,
  PasswordHistoryEntry,
  PasswordHistoryStore,
} from './contract.js';
import { retryDuplicateUpsert } from './mongodb-errors.js';
import type { MongoTenant, TenantKey } from './mongodb-tenancy.js';

type TokenDoc = Omit<AccountTokenRecord, 'tokenHash'> & { _id: TenantKey; tenantId: string; seq: number };
type TokenCounterDoc = { _id: TenantKey<{ accountId: string; purpose: AccountTokenPurpose }>; tenantId: string; seq: number };
type HistoryDoc = { _id: TenantKey; tenantId: string; entries: PasswordHistoryEntry[] };
type AuditDoc = Omit<AuditEventRecord, 'id' | 'details'> & { _id: ObjectId; tenantId: string; eventId: string; details: string; outbox?: OutboxEventRecord };

const DEFAULT_AUDIT_LIMIT = 1000;

export function mongoAccountTokenStore(db: Db, tn: MongoTenant): AccountTokenStore {
  const tokens: Collection<TokenDoc> = db.collection('account_tokens');
  const counters: Collection<TokenCounterDoc> = db.collection('account_token_counters');
  const live = { consumedAt: null, supersededAt: null };
  const { scope } = tn;
  const byId = (tokenHash: string) => ({ _id: tn.key(tokenHash), ...scope });
  return {
    async issue({ tokenHash, ...t }) {
      const counter = await retryDuplicateUpsert(() =>
        counters.findOneAndUpdate(
          { _id: tn.key({ accountId: t.accountId, purpose: t.purpose }), ...scope },
          { $inc: { seq: 1 } },
          { upsert: true, returnDocument: 'after' },
        ),
      );
      const seq = counter!.seq;
      const mine = { ...scope, accountId: t.accountId, purpose: t.purpose };
      await tokens.insertOne({ ...byId(tokenHash), ...t, seq });
      await tokens.updateMany({ ...mine, ...live, seq: { $lt: seq } }, { $set: { supersededAt: t.createdAt } });
      // A concurrent issue numbered higher may have run its supersede before this insert landed.
      const newer = await tokens.findOne({ ...mine, seq: { $gt: seq } }, { projection: { createdAt: 1 } });
      if (newer) await tokens.updateOne({ ...byId(tokenHash), ...live }, { $set: { supersededAt: newer.createdAt } });
    },
    async find(tokenHash) {
      const doc = await tokens.findOne(byId(tokenHash));
      if (!doc) return undefined;
      const { _id, tenantId: _t, seq: _seq, ...rest } = doc;
      return { tokenHash: tn.idOf(_id), ...rest };
    },
    consume: async (tokenHash, now) =>
      (await tokens.updateOne({ ...byId(tokenHash), ...live, expiresAt: { $gt: now } }, { $set: { consumedAt: now } })).modifiedCount === 1,
    async supersedeAll(accountId, purpose, now) {
      await tokens.updateMany({ ...scope, accountId, purpose, ...live }, { $set: { supersededAt: now } });
    },
    // the root's sweep covers every tenant (contract.ts: RootStore.forTenant), a tenant's its own
    deleteExpiredBefore: async (time) => (await tokens.deleteMany({ ...tn.sweepScope, expiresAt: { $lt: time } })).deletedCount,
  };
}

export function mongoPasswordHistoryStore(db: Db, tn: MongoTenant): PasswordHistoryStore {
  const history: Collection<HistoryDoc> = db.collection('password_history');
  const byId = (accountId: string) => ({ _id: tn.key(accountId), ...tn.scope });
  return {
    async add(accountId, { passwordHash, createdAt }, keep) {
      await retryDuplicateUpsert(() =>
        history.updateOne(
          byId(accountId),
          { $push: { entries: { $each: [{ passwordHash, createdAt }], $slice: -Math.max(keep, 1) } } },
          { upsert: true },
        ),
      );
    },
    async recent(accountId, limit) {
      const doc = await history.findOne(byId(accountId));
      return (doc?.entries ?? []).slice().reverse().slice(0, Math.max(limit, 0));
    },
  };
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function mongoAuditStore(db: Db, tn: MongoTenant): AuditStore {
  const events: Collection<AuditDoc> = db.collection('audit_events');
  const { scope } = tn;
  return {
    async append({ id, details, ...e }, outbox) {
      // the domain event rides in the audit document: one atomic write (mongodb-webhooks.ts reads it from here)
      await events.insertOne({ _id: new ObjectId(), ...scope, eventId: id, ...e, details: JSON.stringify(details), ...(outbox ? { outbox } : {}) });
    },
    async appendAll(entries) {
      if (entries.length === 0) return;
      await events.insertMany(entries.map(({ event: { id, details, ...e }, outbox }) => ({ _id: new ObjectId(), ...scope, eventId: id, ...e, details: JSON.stringify(details), ...(outbox ? { outbox } : {}) })), { ordered: true });
    },
    async query(q) {
      const filter: Filter<AuditDoc> = { ...scope };
      if (q.accountId !== undefined) filter.accountId = q.accountId;
      if (q.since !== undefined || q.until !== undefined) {
        filter.time = { ...(q.since !== undefined && { $gte: q.since }), ...(q.until !== undefined && { $lt: q.until }) };
      }
      // A type ending in '.' is a literal prefix: anchored, with every regex character escaped.
      if (q.types?.length) filter.type = { $in: q.types.map((t) => (t.endsWith('.') ? new RegExp(`^${escapeRegex(t)}`) : t)) };
      const limit = Math.max(q.limit ?? DEFAULT_AUDIT_LIMIT, 0);
      if (limit === 0) return [];
      const docs = await events.find(filter).sort({ time: 1, _id: 1 }).limit(limit).toArray();
      return docs.map(({ _id, tenantId: _t, eventId, details, outbox: _event, ...e }) => ({ id: eventId, ...e, details: JSON.parse(details) as Record<string, unknown> }));
    },
    pseudonymise: async (accountId, pseudonym) =>
      (await events.updateMany({ ...scope, accountId }, { $set: { accountId: pseudonym, ip: null, userAgent: null, details: '{}' } })).modifiedCount,
    deleteOlderThan: async (time) => (await events.deleteMany({ ...scope, time: { $lt: time } })).deletedCount,
  };
}
