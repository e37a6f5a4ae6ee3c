/**
 * Federated identity links and per-source roles in MongoDB (FederationStore). A source's roles for an
 * account are one document, so replacing them is one atomic write. Provider ids are kept as values,
 * never as field names (they may hold dots).
 */
import type { Db } from 'mongodb';
import type { FederatedLinkRecord, FederationStore } from './contract.js';
import { retryDuplicateUpsert, unique } from './mongodb-errors.js';
import type { MongoTenant } from './mongodb-tenancy.js';

// _id is an ObjectId, unique in every tenant by itself; the tenant is `tenantId`
type LinkDoc = FederatedLinkRecord & { tenantId: string };
type RolesDoc = { tenantId: string; accountId: string; source: string; roles: string[] };

/** Code-point order, as the SQL stores sort (SQLite BINARY, PostgreSQL COLLATE "C"). */
export const byCodePoint = (a: string, b: string) => {
  const [x, y] = [[...a], [...b]];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
  }
  return x.length - y.length;
};

export function mongoFederationStore(db: Db, tn: MongoTenant): FederationStore {
  const links = db.collection<LinkDoc>('federated_links');
  const roles = db.collection<RolesDoc>('account_roles');
  const projection = { _id: 0, tenantId: 0 } as const;
  const { scope } = tn;
  return {
    findLink: async (providerId, externalId) => (await links.findOne({ ...scope, providerId, externalId }, { projection })) ?? undefined,
    async createLink(link) {
      // insertOne adds _id to the object it is given; give it a copy.
      await unique('federated link', () => links.insertOne({ ...link, ...scope }));
    },
    removeLink: async (accountId, providerId, externalId) => (await links.deleteOne({ ...scope, accountId, providerId, externalId })).deletedCount > 0,
    async touchLink(providerId, externalId, lastLoginAt) {
      await links.updateOne({ ...scope, providerId, externalId }, { $set: { lastLoginAt } });
    },
    linksOf: async (accountId) => links.find({ ...scope, accountId }, { projection }).sort({ createdAt: 1, providerId: 1 }).toArray(),
    async setRoles(accountId, source, list) {
      if (list.length === 0) {
        await roles.deleteOne({ ...scope, accountId, source });
        return;
      }
      await retryDuplicateUpsert(() => roles.updateOne({ ...scope, accountId, source }, { $set: { roles: [...new Set(list)] } }, { upsert: true }));
    },
    rolesOf: async (accountId) => ((await roles.distinct('roles', { ...scope, accountId })) as string[]).sort(byCodePoint),
    async sourcedRolesOf(accountId) {
      const docs = await roles.find({ ...scope, accountId }).toArray();
      return docs.sort((a, b) => byCodePoint(a.source, b.source))
        .flatMap((d) => [...new Set(d.roles)].sort(byCodePoint).map((role) => ({ source: d.source, role })));
    },
  };
}
