/**
 * Tenants in MongoDB (contract.ts: RootStore.forTenant). Every document of a tenant's collection carries
 * `tenantId`, and every query of a tenant's handle filters on it. Document ids:
 * - the default tenant's keep the `_id` they always had (a string, or the compound of a counter), so an
 *   existing database needs no rewrite beyond `tenantId: 'default'` (migrateToTenants);
 * - any other tenant's are `{ t: tenant, id: <the same _id> }`, so the same id in two tenants is two
 *   documents, and none of them can collide with the default's;
 * - an ObjectId `_id` (audit events, federated links) is unique by itself and stays one in every tenant.
 * Rate-limit counters and lock names are no tenant's documents: their keys start with tenantKeyPrefix.
 */
import type { Db } from 'mongodb';
import { DEFAULT_TENANT, TENANT_ID_PATTERN } from './contract.js';
import { TENANT_OWNED_TABLES, tenantKeyPrefix } from './record-schema.js';

/** A document's `_id` in some tenant: its own id (the default tenant) or `{ t, id }` (any other). */
export type TenantKey<T = string> = T | { t: string; id: T };

export type MongoTenant = {
  readonly id: string;
  /** the filter (and the field) every document of this tenant carries */
  readonly scope: { tenantId: string };
  /** The scope of a sweep: the root's covers every tenant (contract.ts: RootStore.forTenant). */
  readonly sweepScope: { tenantId?: string };
  /** the `_id` of the document whose own id is `id` */
  key<T>(id: T): TenantKey<T>;
  /** a document's own id, from its `_id` */
  idOf<T>(key: TenantKey<T>): T;
  /** the path of the own id inside `_id`, for a filter on a part of a compound id ('_id.accountId') */
  idPath(field?: string): string;
  /** the prefix of this tenant's rate-limit keys and lock names ('' for the default tenant) */
  readonly keyPrefix: string;
};

export function mongoTenant(id: string, root: boolean): MongoTenant {
  // anything else could reach outside its key space (a lock name, a rate-limit key)
  if (!TENANT_ID_PATTERN.test(id)) throw new Error(`not a tenant id: ${JSON.stringify(id)}`);
  const isDefault = id === DEFAULT_TENANT;
  return {
    id,
    scope: { tenantId: id },
    sweepScope: root ? {} : { tenantId: id },
    key: <T>(own: T): TenantKey<T> => (isDefault ? own : { t: id, id: own }),
    idOf: <T>(key: TenantKey<T>): T => (isDefault ? (key as T) : (key as { t: string; id: T }).id),
    idPath: (field) => [isDefault ? '_id' : '_id.id', ...(field ? [field] : [])].join('.'),
    keyPrefix: tenantKeyPrefix(id),
  };
}

/** Collections whose documents belong to a tenant: the schema's tables, and the counters of our own layout. */
export const TENANT_COLLECTIONS: readonly string[] = [
  ...TENANT_OWNED_TABLES.map((t) => t.name).filter((name) => name !== 'event_outbox'),
  // mongodb-lifecycle.ts: an account's token numbers; mongodb-webhooks.ts: the events' numbers
  'account_token_counters',
  'webhook_counters',
];

/**
 * The documents written before tenants are the default tenant's. Idempotent (a document once marked is
 * not matched again), so every start-up runs it, and replicas starting together do the same thing.
 */
export async function migrateToTenants(db: Db): Promise<void> {
  await Promise.all(TENANT_COLLECTIONS.map((name) =>
    db.collection(name).updateMany({ tenantId: { $exists: false } }, { $set: { tenantId: DEFAULT_TENANT } })));
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Removes every document a tenant owns, its rate-limit counters and locks included (TenantStore.delete). */
export async function deleteTenantDocuments(db: Db, tenant: string): Promise<void> {
  if (tenant === DEFAULT_TENANT) throw new Error('the default tenant cannot be deleted');
  const prefix = new RegExp(`^${escapeRegex(tenantKeyPrefix(tenant))}`);
  await Promise.all([
    ...TENANT_COLLECTIONS.map((name) => db.collection(name).deleteMany({ tenantId: tenant })),
    db.collection('rate_limits').deleteMany({ key: prefix }),
    db.collection<{ _id: string }>('store_locks').deleteMany({ _id: prefix }),
  ]);
}
