/**
 * Every MongoDB index, created at start-up (createIndexes is idempotent, so replicas starting together
 * agree). Where a collection's documents are laid out like the schema's rows, its indexes are the
 * schema's own (record-schema.ts: the indexes with a `mongo` name, fields in camelCase). The rest follow
 * from documents shaped differently from the rows, listed below with the reason.
 *
 * Tenants (mongodb-tenancy.ts): every index of a tenant's collection leads with `tenantId` (the schema's
 * do: record-schema.ts tenanted(); ours below get it here), except the expiry sweeps across tenants. A
 * tenant-led index is named `tenantId_<its old name>`: an index cannot change its key under the same
 * name, so the new one is built first, then the old one (whose unique rule would now hold across
 * tenants) is dropped by name.
 */
import { MongoServerError, type Db, type IndexDescription } from 'mongodb';
import { migrateToTenants, TENANT_COLLECTIONS } from './mongodb-tenancy.js';
import { ALL_TABLES, TABLES_BEFORE_TENANTS, TENANT_COLUMN, type Table } from './record-schema.js';

const TENANT_FIELD = 'tenantId';
const tenantLedName = (name: string) => `${TENANT_FIELD}_${name}`;

const fieldOf = (column: string) => column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** The schema's indexes, as MongoDB indexes of the collection of the same name. */
function schemaIndexes(): Record<string, IndexDescription[]> {
  const out: Record<string, IndexDescription[]> = {};
  for (const table of ALL_TABLES) {
    for (const index of table.indexes) {
      if (!index.mongo) continue;
      const tenantLed = index.columns[0] === TENANT_COLUMN;
      const name = tenantLed ? tenantLedName(index.mongo) : index.mongo;
      const spec: IndexDescription = { key: Object.fromEntries(index.columns.map((c) => [fieldOf(c), 1])), name };
      if (index.unique) spec.unique = true;
      if (index.mongoTtl) spec.expireAfterSeconds = 0;
      else if (index.whereNotNull) spec.partialFilterExpression = { [fieldOf(index.whereNotNull)]: { $type: 'string' } };
      (out[table.name] ??= []).push(spec);
    }
  }
  return out;
}

/** Indexes of documents that are not shaped like the schema's rows. */
const LAYOUT_INDEXES: Record<string, IndexDescription[]> = {
  // listed by creation time; the SQL stores sort the same rows without an index of their own
  clients: [{ key: { createdAt: 1, _id: 1 }, name: 'createdAt' }],
  // AccountStore.list: the page order (accounts_created: the row's id is _id here) and its filters
  accounts: [
    { key: { createdAt: 1, _id: 1 }, name: 'createdAt' },
    { key: { disabledAt: 1 }, name: 'disabledAt', partialFilterExpression: { disabledAt: { $type: 'number' } } },
    { key: { lastLoginAt: 1 }, name: 'lastLoginAt', partialFilterExpression: { lastLoginAt: { $type: 'number' } } },
    // the role filter and RoleStore.delete's $pull (a multikey index of the array, as PostgreSQL's GIN accounts_roles)
    { key: { roles: 1 }, name: 'roles' },
  ],
  webauthn_credentials: [{ key: { accountId: 1, createdAt: 1, _id: 1 }, name: 'accountId' }],
  // _id is an ObjectId here, so the schema's primary keys become unique indexes
  federated_links: [{ key: { providerId: 1, externalId: 1 }, name: 'providerId_externalId_unique', unique: true }],
  rate_limits: [{ key: { key: 1 }, name: 'key_unique', unique: true }],
  // one document per (account, source) holding its roles, not one row per role
  account_roles: [
    { key: { accountId: 1, source: 1 }, name: 'accountId_source_unique', unique: true },
    // the role filter of AccountStore.list and RoleStore.delete (the schema's account_roles_role)
    { key: { roles: 1, accountId: 1 }, name: 'roles_accountId' },
  ],
  // tokens carry a per-account sequence number (mongodb-lifecycle.ts) instead of a transaction
  account_tokens: [{ key: { accountId: 1, purpose: 1, seq: 1 }, name: 'accountId_purpose' }],
  // the event's own id is `eventId`; `_id` (an ObjectId) is the insertion order the schema calls seq
  audit_events: [
    { key: { eventId: 1 }, name: 'eventId_unique', unique: true },
    { key: { time: 1, _id: 1 }, name: 'time' },
    { key: { accountId: 1, time: 1, _id: 1 }, name: 'accountId_time', partialFilterExpression: { accountId: { $type: 'string' } } },
    // the outbox rides in the audit document (mongodb-webhooks.ts): the ones not yet fanned out
    { key: { 'outbox.id': 1 }, name: 'outbox_id_unique', unique: true, partialFilterExpression: { outbox: { $exists: true } } },
  ],
};

/** A layout index of a tenant's collection, led by tenantId (the TTL-free sweeps have none here). */
const tenantLed = (spec: IndexDescription): IndexDescription =>
  ({ ...spec, key: { [TENANT_FIELD]: 1, ...(spec.key as Record<string, 1>) }, name: tenantLedName(spec.name!) });

export function mongoIndexes(): Record<string, IndexDescription[]> {
  const all = schemaIndexes();
  for (const [name, specs] of Object.entries(LAYOUT_INDEXES)) {
    (all[name] ??= []).push(...(TENANT_COLLECTIONS.includes(name) ? specs.map(tenantLed) : specs));
  }
  return all;
}

/** The names of the indexes before tenants whose tenant-led successors replace them (then dropped). */
export function obsoleteIndexes(): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const table of Object.values(TABLES_BEFORE_TENANTS) as Table[]) {
    if (!TENANT_COLLECTIONS.includes(table.name)) continue;
    for (const index of table.indexes) if (index.mongo && !index.acrossTenants) (out[table.name] ??= []).push(index.mongo);
  }
  for (const [name, specs] of Object.entries(LAYOUT_INDEXES)) {
    if (TENANT_COLLECTIONS.includes(name)) (out[name] ??= []).push(...specs.map((s) => s.name!));
  }
  return out;
}

// IndexNotFound, NamespaceNotFound: already dropped (by another replica, or a database made after tenants)
const GONE = new Set([26, 27]);

export async function createIndexes(db: Db): Promise<void> {
  // the documents first: a tenant-led partial index must see tenantId on every document it covers
  await migrateToTenants(db);
  await Promise.all(Object.entries(mongoIndexes()).map(([name, specs]) => db.collection(name).createIndexes(specs)));
  await Promise.all(Object.entries(obsoleteIndexes()).flatMap(([name, indexes]) => indexes.map(async (index) => {
    try {
      await db.collection(name).dropIndex(index);
    } catch (err) {
      if (!(err instanceof MongoServerError && GONE.has(Number(err.code)))) throw err;
    }
  })));
}
