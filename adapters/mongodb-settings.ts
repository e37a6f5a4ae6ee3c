/**
 * SettingsStore in MongoDB: one document per tenant and name (`_id` the tenant's key of the name). A
 * write names the version it replaces: one conditional update of one document (or, for the first, an
 * insert the unique `_id` lets through once), so of two writes from the same version one wins.
 */
import type { Db } from 'mongodb';
import type { SettingsStore } from './contract.js';
import type { MongoTenant, TenantKey } from './mongodb-tenancy.js';

type SettingsDoc = { _id: TenantKey; tenantId: string; value: string; version: number; updatedAt: number };

export function mongoSettingsStore(db: Db, tn: MongoTenant): SettingsStore {
  const docs = db.collection<SettingsDoc>('settings_records');
  const { scope, key } = tn;
  const toRecord = (name: string, d: SettingsDoc | null) => (d ? { name, value: d.value, version: d.version, updatedAt: d.updatedAt } : undefined);
  return {
    find: async (name) => toRecord(name, await docs.findOne({ _id: key(name), ...scope })),
    async save(name, value, expectedVersion, updatedAt) {
      if (expectedVersion === 0) {
        try {
          const doc = { _id: key(name), ...scope, value, version: 1, updatedAt };
          await docs.insertOne(doc);
          return toRecord(name, doc);
        } catch (err) {
          if ((err as { code?: number }).code === 11000) return undefined;
          throw err;
        }
      }
      const doc = await docs.findOneAndUpdate(
        { _id: key(name), ...scope, version: expectedVersion },
        { $set: { value, updatedAt }, $inc: { version: 1 } },
        { returnDocument: 'after' },
      );
      return toRecord(name, doc);
    },
  };
}
