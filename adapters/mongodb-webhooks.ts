/**
 * Webhooks on MongoDB (WebhookStore), without multi-document transactions (which need a replica set):
 * - The outbox is a field of the audit document: `append(record, event)` is one insertOne of one document
 *   holding both, so the audit row and its event are stored together or not at all (a single-document
 *   write is atomic). The fan-out reads the documents that still carry `outbox`, oldest first.
 * - Fan-out is ordered: the deliveries are inserted first (unique per endpoint and event, so a repeat
 *   inserts nothing twice), then `outbox` is removed. A crash between the two repeats the fan-out; nothing
 *   is lost, nothing is sent twice by the store (receivers still dedupe by webhook-id: at least once).
 * - The event's order: the fan-out (one replica at a time, under the `webhook-fanout` lock) numbers the
 *   events it reads from one counter document, in _id order.
 * - A claim is one findOneAndUpdate per delivery whose filter repeats the lease condition: of two
 *   replicas racing for one delivery exactly one gets it.
 */
import { MongoServerError, type Collection, type Db, type Filter, type ObjectId } from 'mongodb';
import { accountNeedle, type OutboxEventRecord, type WebhookDeliveryRecord, type WebhookEndpointRecord, type WebhookStore } from './contract.js';
import type { MongoTenant, TenantKey } from './mongodb-tenancy.js';

type EndpointDoc = Omit<WebhookEndpointRecord, 'id'> & { _id: TenantKey; tenantId: string };
type DeliveryDoc = Omit<WebhookDeliveryRecord, 'id'> & { _id: TenantKey; tenantId: string };
type AuditWithOutbox = { _id: ObjectId; tenantId: string; outbox?: OutboxEventRecord };

async function insertIgnoringDuplicates(deliveries: Collection<DeliveryDoc>, docs: DeliveryDoc[]): Promise<void> {
  if (docs.length === 0) return;
  try {
    await deliveries.insertMany(docs, { ordered: false });
  } catch (err) {
    const errors = (err as { writeErrors?: { code: number }[] | { code: number } }).writeErrors;
    const all = Array.isArray(errors) ? errors : errors ? [errors] : [];
    if (!(err instanceof MongoServerError || all.length) || all.some((e) => e.code !== 11000) || all.length === 0) throw err;
  }
}

export function mongoWebhookStore(db: Db, tn: MongoTenant): WebhookStore {
  const endpoints: Collection<EndpointDoc> = db.collection('webhook_endpoints');
  const deliveries: Collection<DeliveryDoc> = db.collection('webhook_deliveries');
  const audit: Collection<AuditWithOutbox> = db.collection('audit_events');
  const counters: Collection<{ _id: TenantKey; tenantId: string; seq: number }> = db.collection('webhook_counters');
  const { scope, key } = tn;
  const byId = (id: string) => ({ _id: key(id), ...scope });
  // an endpoint stored before Security Event Tokens has neither field: it is a standard-webhooks one
  const endpointOf = ({ _id, tenantId: _t, ...e }: EndpointDoc): WebhookEndpointRecord => ({ id: tn.idOf(_id), ...e, format: e.format ?? 'standard-webhooks', audience: e.audience ?? null });
  const deliveryOf = ({ _id, tenantId: _t, ...d }: DeliveryDoc): WebhookDeliveryRecord => ({ id: tn.idOf(_id), ...d });
  const docsOf = (list: WebhookDeliveryRecord[]): DeliveryDoc[] => list.map(({ id, ...d }) => ({ ...byId(id), ...d }));
  return {
    async createEndpoint({ id, ...e }) {
      await endpoints.insertOne({ ...byId(id), ...e });
    },
    async findEndpoint(id) {
      const d = await endpoints.findOne(byId(id));
      return d ? endpointOf(d) : undefined;
    },
    listEndpoints: async () => (await endpoints.find(scope).sort({ createdAt: 1, _id: 1 }).toArray()).map(endpointOf),
    async updateEndpoint(id, patch) {
      const set = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
      return (await endpoints.updateOne(byId(id), { $set: set })).matchedCount === 1;
    },
    async deleteEndpoint(id) {
      // the endpoint first: a delivery left behind by a crash belongs to no endpoint and is never claimed
      const deleted = (await endpoints.deleteOne(byId(id))).deletedCount === 1;
      await deliveries.deleteMany({ ...scope, endpointId: id });
      return deleted;
    },
    async countFailure(id) {
      const d = await endpoints.findOneAndUpdate(byId(id), { $inc: { consecutiveFailures: 1 }, $set: { updatedAt: Date.now() } }, { returnDocument: 'after' });
      return d?.consecutiveFailures ?? 0;
    },
    async resetFailures(id) {
      await endpoints.updateOne({ ...byId(id), consecutiveFailures: { $ne: 0 } }, { $set: { consecutiveFailures: 0 } });
    },
    async outbox(limit) {
      const docs = await audit.find({ ...scope, outbox: { $exists: true } }, { projection: { outbox: 1 } }).sort({ _id: 1 }).limit(limit).toArray();
      if (docs.length === 0) return [];
      const counter = await counters.findOneAndUpdate(byId('event_seq'), { $inc: { seq: docs.length } }, { upsert: true, returnDocument: 'after' });
      const first = (counter?.seq ?? docs.length) - docs.length + 1;
      return docs.map((d, i) => ({ ...d.outbox!, seq: first + i }));
    },
    async fanOut(batch) {
      await insertIgnoringDuplicates(deliveries, docsOf(batch.flatMap((b) => b.deliveries)));
      await audit.updateMany({ ...scope, 'outbox.id': { $in: batch.map((b) => b.eventId) } } as Filter<AuditWithOutbox>, { $unset: { outbox: '' } });
    },
    enqueue: (list) => insertIgnoringDuplicates(deliveries, docsOf(list)),
    async claim(owner, now, leaseUntil, limit) {
      const enabled = (await endpoints.find({ ...scope, enabled: true }, { projection: { _id: 1 } }).toArray()).map((e) => tn.idOf(e._id));
      if (enabled.length === 0) return [];
      const free = { ...scope, status: 'pending' as const, nextAttemptAt: { $lte: now }, $or: [{ leaseUntil: null }, { leaseUntil: { $lte: now } }] };
      const candidates = await deliveries.find({ ...free, endpointId: { $in: enabled } }).sort({ eventSeq: 1 }).limit(limit * 4).toArray();
      const claimed: WebhookDeliveryRecord[] = [];
      const seen = new Set<string>();
      for (const c of candidates) {
        if (claimed.length >= limit) break;
        const key = `${c.endpointId}\u0000${c.subject}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const earlier = await deliveries.findOne({ ...scope, endpointId: c.endpointId, subject: c.subject, status: 'pending', eventSeq: { $lt: c.eventSeq } }, { projection: { _id: 1 } });
        if (earlier) continue;
        const got = await deliveries.findOneAndUpdate({ _id: c._id, ...free }, { $set: { leaseOwner: owner, leaseUntil } }, { returnDocument: 'after' });
        if (got) claimed.push(deliveryOf(got));
      }
      return claimed;
    },
    settle: async (id, owner, o) => (await deliveries.updateOne({ ...byId(id), leaseOwner: owner }, { $set: { ...o, leaseOwner: null, leaseUntil: null } })).matchedCount === 1,
    async findDelivery(id) {
      const d = await deliveries.findOne(byId(id));
      return d ? deliveryOf(d) : undefined;
    },
    listDeliveries: async (endpointId, limit) => (await deliveries.find({ ...scope, endpointId }).sort({ createdAt: -1, eventSeq: -1 }).limit(limit).toArray()).map(deliveryOf),
    redeliver: async (id, now) =>
      (await deliveries.updateOne(byId(id), { $set: { status: 'pending', nextAttemptAt: now, leaseOwner: null, leaseUntil: null } })).matchedCount === 1,
    deleteSettledBefore: async (time) => (await deliveries.deleteMany({ ...scope, createdAt: { $lt: time }, status: { $ne: 'pending' } })).deletedCount,
    deleteSettledOfAccount: async (accountId) =>
      (await deliveries.deleteMany({ ...scope, status: { $ne: 'pending' }, body: { $regex: accountNeedle(accountId).replace(/[.*+?^${}()|[\]\\]/g, '\\$&') } })).deletedCount,
  };
}
