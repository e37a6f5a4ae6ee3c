/**
 * The registry of tenants in MongoDB (TenantStore): one document per tenant, its id as `_id`, `host`
 * unique where set (the schema's host_unique, a partial index). `settings` is JSON text: its keys are
 * not ours. Updates are one conditional findOneAndUpdate ($inc on version), atomic like any
 * single-document write. Deleting a tenant goes in steps (no multi-document transaction, which needs a
 * replica set): its documents in every collection first, the registry document last, so a delete
 * that fails half-way leaves the tenant listed and can simply be repeated.
 */
import type { Db } from 'mongodb';
import { DEFAULT_TENANT, DuplicateError, type TenantRecord, type TenantStore } from './contract.js';
import { unique } from './mongodb-errors.js';
import { deleteTenantDocuments } from './mongodb-tenancy.js';

type TenantDoc = Omit<TenantRecord, 'id' | 'settings'> & { _id: string; settings: string };

const toTenant = ({ _id, settings, ...t }: TenantDoc): TenantRecord => ({ id: _id, ...t, settings: JSON.parse(settings) as Record<string, unknown> });

const MAX_PAGE = 1000;

export function mongoTenantStore(db: Db): TenantStore {
  const tenants = db.collection<TenantDoc>('tenants');
  return {
    async create({ id, settings, ...t }) {
      // the default tenant has no document, but its id is taken all the same
      if (id === DEFAULT_TENANT) throw new DuplicateError('tenant');
      await unique('tenant', () => tenants.insertOne({ _id: id, ...t, settings: JSON.stringify(settings) }));
    },
    async find(id) {
      const doc = await tenants.findOne({ _id: id });
      return doc ? toTenant(doc) : undefined;
    },
    async findByHost(host) {
      const doc = await tenants.findOne({ host });
      return doc ? toTenant(doc) : undefined;
    },
    async list({ limit, after }) {
      const n = Math.min(Math.max(Math.trunc(limit), 1), MAX_PAGE);
      // MongoDB compares strings by their UTF-8 bytes: code-point order
      const docs = await tenants.find(after ? { _id: { $gt: after } } : {}).sort({ _id: 1 }).limit(n + 1).toArray();
      const page = docs.slice(0, n).map(toTenant);
      return { tenants: page, next: docs.length > n ? page[page.length - 1]!.id : null };
    },
    async update(id, { name, host, settings, updatedAt }, expectedVersion) {
      const filter = expectedVersion === undefined ? { _id: id } : { _id: id, version: expectedVersion };
      const doc = await unique('tenant', () =>
        tenants.findOneAndUpdate(filter, { $set: { name, host, settings: JSON.stringify(settings), updatedAt }, $inc: { version: 1 } }, { returnDocument: 'after' }));
      return doc ? toTenant(doc) : undefined;
    },
    async delete(id) {
      await deleteTenantDocuments(db, id);
      return (await tenants.deleteOne({ _id: id })).deletedCount === 1;
    },
    count: () => tenants.countDocuments(),
  };
}
