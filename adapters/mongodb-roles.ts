/**
 * Roles in MongoDB (RoleStore): one document per role, its name as _id. Permissions are sub-documents
 * `{ resource, scope }`: resource indicators (URLs with dots) are values there, never field names.
 * There is no multi-document transaction here, so delete goes in steps, the role first: once it is gone
 * no token can be granted its permissions (RoleStore.findMany no longer finds it), and the assignments
 * left for a moment name a role that does not exist.
 */
import type { Db } from 'mongodb';
import type { RolePermission, RoleRecord, RoleStore } from './contract.js';
import { unique } from './mongodb-errors.js';
import { byCodePoint } from './mongodb-federation.js';
import type { MongoTenant, TenantKey } from './mongodb-tenancy.js';

type RoleDoc = Omit<RoleRecord, 'name'> & { _id: TenantKey; tenantId: string };

const toRole = (tn: MongoTenant) => ({ _id, tenantId: _t, permissions, ...rest }: RoleDoc): RoleRecord => ({
  name: tn.idOf(_id), ...rest, permissions: permissions.map((p) => ({ resource: p.resource, scope: p.scope })),
});
const toPermissions = (list: readonly RolePermission[]) => list.map((p) => ({ resource: p.resource, scope: p.scope }));
const byName = (a: RoleRecord, b: RoleRecord) => byCodePoint(a.name, b.name);

export function mongoRoleStore(db: Db, tn: MongoTenant): RoleStore {
  const roles = db.collection<RoleDoc>('roles');
  const { scope, key } = tn;
  const toRecord = toRole(tn);
  return {
    async create(r) {
      await unique('role', () =>
        roles.insertOne({
          _id: key(r.name), ...scope, description: r.description, permissions: toPermissions(r.permissions),
          system: r.system, createdAt: r.createdAt, updatedAt: r.updatedAt,
        }),
      );
    },
    async find(name) {
      const doc = await roles.findOne({ _id: key(name), ...scope });
      return doc ? toRecord(doc) : undefined;
    },
    async findMany(names) {
      if (names.length === 0) return [];
      return (await roles.find({ _id: { $in: names.map((n) => key(n)) }, ...scope }).toArray()).map(toRecord).sort(byName);
    },
    list: async () => (await roles.find(scope).toArray()).map(toRecord).sort(byName),
    async update(name, changes, expectedUpdatedAt) {
      // one conditional update of one document: atomic against any other write of it
      const filter = expectedUpdatedAt === undefined ? { _id: key(name), ...scope } : { _id: key(name), ...scope, updatedAt: expectedUpdatedAt };
      const set = { description: changes.description, permissions: toPermissions(changes.permissions), updatedAt: changes.updatedAt };
      return (await roles.updateOne(filter, { $set: set })).matchedCount === 1;
    },
    async delete(name) {
      if ((await roles.deleteOne({ _id: key(name), ...scope })).deletedCount !== 1) return false;
      const sources = db.collection<{ tenantId: string; accountId: string; source: string; roles: string[] }>('account_roles');
      await Promise.all([
        db.collection<{ _id: TenantKey; tenantId: string; roles: string[] }>('accounts').updateMany({ ...scope, roles: name }, { $pull: { roles: name } }),
        sources.updateMany({ ...scope, roles: name }, { $pull: { roles: name } }),
      ]);
      // a source left with no roles has no document (FederationStore.setRoles with [] deletes it)
      await sources.deleteMany({ ...scope, roles: { $size: 0 } });
      return true;
    },
  };
}
