/**
 * The MongoDB store (official `mongodb` driver): DATABASE_URL=mongodb://... or mongodb+srv://...; the
 * URL's path names the database (default `gatehouse`), its query carries the driver's options as usual.
 *
 * - Expiry: `expiresAt` is a Date with a TTL index (expireAfterSeconds: 0), so MongoDB deletes expired
 *   records itself. Its TTL monitor runs about once a minute, so reads also filter on `expiresAt`.
 * - One-time use: `consume` is one conditional update on one document (filter `consumedAt: null`);
 *   single-document writes are atomic, so exactly one concurrent caller matches it.
 * - oidc payloads, client metadata and resource scopes are stored as JSON text, not as sub-documents:
 *   their keys are not ours (URLs with dots as resource indicators, `$`-prefixed names), and JSON text
 *   round-trips every string exactly (BSON would replace a lone UTF-16 surrogate).
 * - Emails are unique case-insensitively through a normalised `emailLower` with a unique index (the one
 *   rule of record-schema.ts: emailKey).
 * - Tenants: every document carries `tenantId`, every query filters on it, and a document of a tenant
 *   other than the default has the `_id` `{ t, id }` (mongodb-tenancy.ts).
 * Indexes are created at start-up (mongodb-indexes.ts), after the documents before tenants are marked
 * the default tenant's.
 */
import { MongoClient, type Db, type MongoClientOptions } from 'mongodb';
import { RateLimiterMongo } from 'rate-limiter-flexible';
import type {
  AccountRecord, ClientRecord, EncryptedSecretKind, EncryptedSecretStore, OidcPayload, RateLimiterOptions, ResourceRecord, ResourceTokenClaim, RootStore, SigningKeyRecord, Store,
} from './contract.js';
import { DEFAULT_TENANT, grantOf } from './contract.js';
import { retryDuplicateUpsert, unique } from './mongodb-errors.js';
import { mongoFactorStore } from './mongodb-factors.js';
import { mongoFederationStore } from './mongodb-federation.js';
import { mongoRoleStore } from './mongodb-roles.js';
import { createIndexes } from './mongodb-indexes.js';
import { deleteMongoAccountDocuments, mongoAccountFilter } from './mongodb-accounts.js';
import { pageLimit, toAccountPage } from './account-list.js';
import { mongoAccountTokenStore, mongoAuditStore, mongoPasswordHistoryStore } from './mongodb-lifecycle.js';
import { mongoWebhookStore } from './mongodb-webhooks.js';
import { mongoSettingsStore } from './mongodb-settings.js';
import { mongoTryLock } from './mongodb-locks.js';
import { mongoTenant, type MongoTenant, type TenantKey } from './mongodb-tenancy.js';
import { mongoTenantStore } from './mongodb-tenants.js';
import { emailKey, ENCRYPTED_COLUMNS } from './record-schema.js';
import { shortLivedRecords } from './short-lived-records.js';

type OidcDoc = {
  _id: TenantKey; tenantId: string; model: string; payload: string; grantId: string | null; uid: string | null; userCode: string | null;
  accountId: string | null; clientId?: string | null; expiresAt: Date | null; consumedAt: Date | null;
};
type AccountDoc = {
  _id: TenantKey; tenantId: string; email: string; emailLower: string; emailVerified: boolean; name: string | null;
  passwordHash: string | null; roles: string[]; createdAt: number; updatedAt: number;
  /** absent on documents written before the account lifecycle: read as null */
  disabledAt?: number | null; lastLoginAt?: number | null;
  /** absent on documents written before issue 20: read as null */
  locale?: string | null;
};
type ClientDoc = { _id: TenantKey; tenantId: string; metadata: string; secretCiphertext: string | null; createdAt: number };
type ResourceDoc = {
  _id: TenantKey; tenantId: string; name: string; scopes: string; accessTokenTtl: number; createdAt: number;
  /** absent on documents written before roles: read as false and [] (the API keeps today's behaviour) */
  permissionsFromRoles?: boolean; tokenClaims?: ResourceTokenClaim[];
};
type KeyDoc = Omit<SigningKeyRecord, 'kid'> & { _id: TenantKey; tenantId: string };

const DEFAULT_DATABASE = 'gatehouse';

/** The database named by the URL's path, read the way the driver does (hosts may be a comma list). */
export function mongoDatabaseName(databaseUrl: string): string {
  const path = /^mongodb(?:\+srv)?:\/\/[^/?#]*\/([^?#]*)/i.exec(databaseUrl)?.[1] ?? '';
  return decodeURIComponent(path) || DEFAULT_DATABASE;
}

/**
 * Our defaults, for the options the URL does not set itself (the driver lets an options object win
 * over the URL, so a default is given only when the operator gave nothing). serverSelectionTimeoutMS:
 * fail a request within seconds when no server can be reached (the driver waits 30 s by default).
 */
export function mongoClientDefaults(databaseUrl: string): MongoClientOptions {
  const query = /\?([^#]*)/.exec(databaseUrl)?.[1] ?? '';
  const given = new Set([...new URLSearchParams(query).keys()].map((k) => k.toLowerCase()));
  const defaults: MongoClientOptions = { serverSelectionTimeoutMS: 5000, appName: 'gatehouse' };
  return Object.fromEntries(Object.entries(defaults).filter(([k]) => !given.has(k.toLowerCase())));
}

export type MongoStoreOptions = { onError?: (err: Error) => void };

export async function openMongoStore(databaseUrl: string, o: MongoStoreOptions = {}): Promise<RootStore> {
  const client = new MongoClient(databaseUrl, mongoClientDefaults(databaseUrl));
  client.on('error', (err: Error) => o.onError?.(err));
  let db: Db;
  try {
    await client.connect();
    db = client.db(mongoDatabaseName(databaseUrl));
    await createIndexes(db);
  } catch (err) {
    await client.close();
    throw err;
  }
  const root: RootStore = {
    ...mongoStoreOf(db, mongoTenant(DEFAULT_TENANT, true)),
    async close() {
      await client.close();
    },
    tenants: mongoTenantStore(db),
    // cheap: closures over the same collections; nothing to close
    forTenant: (id) => (id === DEFAULT_TENANT ? root : { ...mongoStoreOf(db, mongoTenant(id, false)), async close() {} }),
  };
  return root;
}

/** The store of one tenant: every filter carries `tn.scope`, every `_id` is `tn.key(id)`. */
function mongoStoreOf(db: Db, tn: MongoTenant): Omit<Store, 'close'> {
  const { scope, key, idOf } = tn;
  const oidc = db.collection<OidcDoc>('oidc_models');
  const accounts = db.collection<AccountDoc>('accounts');
  const clients = db.collection<ClientDoc>('clients');
  const resources = db.collection<ResourceDoc>('resources');
  const keys = db.collection<KeyDoc>('signing_keys');

  const now = () => new Date();
  const oidcId = (model: string, id: string) => key(`${model}:${id}`);
  const live = () => ({ $or: [{ expiresAt: null }, { expiresAt: { $gt: now() } }] });
  const toPayload = (doc: OidcDoc | null): OidcPayload | undefined => {
    if (!doc) return undefined;
    const payload = JSON.parse(doc.payload) as OidcPayload;
    return doc.consumedAt === null ? payload : { ...payload, consumed: Math.floor(doc.consumedAt.getTime() / 1000) };
  };
  const toAccount = (d: AccountDoc | null): AccountRecord | undefined =>
    d ? {
      id: idOf(d._id), email: d.email, emailVerified: d.emailVerified, name: d.name,
      passwordHash: d.passwordHash, roles: d.roles ?? [], createdAt: d.createdAt, updatedAt: d.updatedAt,
      disabledAt: d.disabledAt ?? null, lastLoginAt: d.lastLoginAt ?? null, locale: d.locale ?? null,
    } : undefined;
  const toClient = (d: ClientDoc): ClientRecord => ({
    clientId: idOf(d._id), metadata: JSON.parse(d.metadata), secretCiphertext: d.secretCiphertext, createdAt: d.createdAt,
  });
  const toResource = (d: ResourceDoc): ResourceRecord => ({
    identifier: idOf(d._id), name: d.name, scopes: JSON.parse(d.scopes), accessTokenTtl: d.accessTokenTtl,
    permissionsFromRoles: d.permissionsFromRoles ?? false, tokenClaims: d.tokenClaims ?? [], createdAt: d.createdAt,
  });

  const oidcStore: Store['oidc'] = {
      async upsert(model, id, payload, expiresIn) {
        const fields = {
          ...scope, model, payload: JSON.stringify(payload), grantId: grantOf(model, payload), uid: payload.uid ?? null,
          userCode: payload.userCode ?? null, accountId: typeof payload.accountId === 'string' ? payload.accountId : null,
          clientId: typeof payload.clientId === 'string' ? payload.clientId : null,
          expiresAt: expiresIn === undefined ? null : new Date(Date.now() + expiresIn * 1000),
        };
        // $setOnInsert keeps `consumedAt` across re-saves, like the SQL stores.
        await retryDuplicateUpsert(() =>
          oidc.updateOne({ _id: oidcId(model, id), ...scope }, { $set: fields, $setOnInsert: { consumedAt: null } }, { upsert: true }),
        );
      },
      find: async (model, id) => toPayload(await oidc.findOne({ _id: oidcId(model, id), ...scope, ...live() })),
      findByUid: async (model, uid) => toPayload(await oidc.findOne({ ...scope, model, uid, ...live() })),
      findByUserCode: async (model, userCode) => toPayload(await oidc.findOne({ ...scope, model, userCode, ...live() })),
      async consume(model, id) {
        const result = await oidc.updateOne({ _id: oidcId(model, id), ...scope, consumedAt: null, ...live() }, { $set: { consumedAt: now() } });
        return result.modifiedCount === 1;
      },
      async destroy(model, id) {
        await oidc.deleteOne({ _id: oidcId(model, id), ...scope });
      },
      async revokeByGrantId(grantId) {
        await oidc.deleteMany({ ...scope, grantId });
      },
      findByAccountId: async (model, accountId) =>
        (await oidc.find({ ...scope, accountId, model, ...live() }).sort({ expiresAt: 1, _id: 1 }).toArray()).map((d) => toPayload(d) as OidcPayload),
      findByClientId: async (model, clientId) =>
        (await oidc.find({ ...scope, clientId, model, ...live() }).sort({ expiresAt: 1, _id: 1 }).toArray()).map((d) => toPayload(d) as OidcPayload),
      countLive: (model) => oidc.countDocuments({ ...scope, model, ...live() }),
  };

  return {
    kind: 'mongodb',
    // No unit of work: a standalone MongoDB server has no multi-document transactions, so the writes of a
    // unit are made one by one as they come (contract.ts: Store.atomically; the README says what that
    // means for events).
    atomically: (work) => work(),
    afterCommit: (fn) => fn(),
    oidc: oidcStore,
    records: shortLivedRecords(oidcStore),
    accounts: {
      async create(a) {
        await unique('account', () =>
          accounts.insertOne({
            _id: key(a.id), ...scope, email: a.email, emailLower: emailKey(a.email), emailVerified: a.emailVerified, name: a.name,
            passwordHash: a.passwordHash, roles: a.roles, createdAt: a.createdAt, updatedAt: a.updatedAt,
            disabledAt: a.disabledAt, lastLoginAt: a.lastLoginAt, locale: a.locale ?? null,
          }),
        );
      },
      findById: async (id) => toAccount(await accounts.findOne({ _id: key(id), ...scope })),
      findByEmail: async (email) => toAccount(await accounts.findOne({ ...scope, emailLower: emailKey(email) })),
      async update(id, changes) {
        const set: Partial<AccountDoc> = { updatedAt: changes.updatedAt ?? Date.now() };
        if (changes.email !== undefined) Object.assign(set, { email: changes.email, emailLower: emailKey(changes.email) });
        if (changes.emailVerified !== undefined) set.emailVerified = changes.emailVerified;
        if (changes.name !== undefined) set.name = changes.name;
        if (changes.passwordHash !== undefined) set.passwordHash = changes.passwordHash;
        if (changes.roles !== undefined) set.roles = changes.roles;
        if (changes.disabledAt !== undefined) set.disabledAt = changes.disabledAt;
        if (changes.lastLoginAt !== undefined) set.lastLoginAt = changes.lastLoginAt;
        if (changes.locale !== undefined) set.locale = changes.locale;
        await unique('account', () => accounts.updateOne({ _id: key(id), ...scope }, { $set: set }));
      },
      async changeRole(id, role, add) {
        // one document update guarded by the role's presence: MongoDB applies it atomically
        const result = add
          ? await accounts.updateOne({ _id: key(id), ...scope, roles: { $ne: role } }, { $push: { roles: { $each: [role], $sort: 1 } }, $set: { updatedAt: Date.now() } })
          : await accounts.updateOne({ _id: key(id), ...scope, roles: role }, { $pull: { roles: role }, $set: { updatedAt: Date.now() } });
        return result.modifiedCount === 1;
      },
      count: () => accounts.countDocuments(scope),
      async list(query) {
        const limit = pageLimit(query.limit);
        const filter = await mongoAccountFilter(db, tn, query);
        const docs = await accounts.find(filter).sort({ createdAt: 1, _id: 1 }).limit(limit + 1).toArray();
        return toAccountPage(docs.map((d) => toAccount(d)!), limit);
      },
      async delete(id) {
        // the account first, so it cannot sign in while the rest goes (no multi-document transaction)
        const deleted = (await accounts.deleteOne({ _id: key(id), ...scope })).deletedCount === 1;
        await deleteMongoAccountDocuments(db, tn, id);
        return deleted;
      },
    },
    clients: {
      async create(c) {
        await unique('client', () =>
          clients.insertOne({ _id: key(c.clientId), ...scope, metadata: JSON.stringify(c.metadata), secretCiphertext: c.secretCiphertext, createdAt: c.createdAt }),
        );
      },
      async find(clientId) {
        const doc = await clients.findOne({ _id: key(clientId), ...scope });
        return doc ? toClient(doc) : undefined;
      },
      list: async () => (await clients.find(scope).sort({ createdAt: 1, _id: 1 }).toArray()).map(toClient),
      async update(clientId, changes) {
        const result = await clients.updateOne({ _id: key(clientId), ...scope }, { $set: { metadata: JSON.stringify(changes.metadata), secretCiphertext: changes.secretCiphertext } });
        return result.matchedCount > 0;
      },
      async delete(clientId) {
        await clients.deleteOne({ _id: key(clientId), ...scope });
      },
    },
    resources: {
      async create(r) {
        await unique('resource', () =>
          resources.insertOne({
            _id: key(r.identifier), ...scope, name: r.name, scopes: JSON.stringify(r.scopes), accessTokenTtl: r.accessTokenTtl,
            permissionsFromRoles: r.permissionsFromRoles, tokenClaims: [...r.tokenClaims], createdAt: r.createdAt,
          }),
        );
      },
      async find(identifier) {
        const doc = await resources.findOne({ _id: key(identifier), ...scope });
        return doc ? toResource(doc) : undefined;
      },
      list: async () => (await resources.find(scope).sort({ _id: 1 }).toArray()).map(toResource),
      async update(identifier, changes) {
        const result = await resources.updateOne({ _id: key(identifier), ...scope }, {
          $set: {
            name: changes.name, scopes: JSON.stringify(changes.scopes), accessTokenTtl: changes.accessTokenTtl,
            permissionsFromRoles: changes.permissionsFromRoles, tokenClaims: [...changes.tokenClaims],
          },
        });
        return result.matchedCount > 0;
      },
    },
    roles: mongoRoleStore(db, tn),
    signingKeys: {
      list: async () =>
        (await keys.find(scope).sort({ createdAt: 1, _id: 1 }).toArray()).map(({ _id, tenantId: _t, ...k }) => ({ kid: idOf(_id), ...k })),
      async save(k) {
        const { kid, state, activatesAt, expiresAt, ...fixed } = k;
        // Like the SQL stores: a re-save changes only the key's life-cycle fields.
        await retryDuplicateUpsert(() =>
          keys.updateOne({ _id: key(kid), ...scope }, { $set: { state, activatesAt, expiresAt }, $setOnInsert: fixed }, { upsert: true }),
        );
      },
      update: async (kid, c) =>
        (await keys.updateOne({ _id: key(kid), ...scope }, { $set: { state: c.state, activatesAt: c.activatesAt, expiresAt: c.expiresAt } })).matchedCount === 1,
      async delete(kid) {
        await keys.deleteOne({ _id: key(kid), ...scope });
      },
    },
    encryptedSecrets: mongoEncryptedSecrets(db, tn),
    factors: mongoFactorStore(db, tn),
    federation: mongoFederationStore(db, tn),
    accountTokens: mongoAccountTokenStore(db, tn),
    passwordHistory: mongoPasswordHistoryStore(db, tn),
    audit: mongoAuditStore(db, tn),
    rateLimiter: (options: RateLimiterOptions) =>
      // Indexes (unique key, TTL on expire) are made by createIndexes() below, once, awaited.
      // a tenant's counters are told apart by their key (mongodb-tenancy.ts), as in the SQL stores
      new RateLimiterMongo({ storeClient: db, tableName: 'rate_limits', disableIndexesCreation: true, ...options, keyPrefix: `${tn.keyPrefix}${options.keyPrefix}` }),
    async sweepExpired() {
      // The TTL monitor does this within a minute; sweeping too keeps the store's contract exact.
      // the root's sweep covers every tenant (expiresAt_ttl is not tenant-led for this), a tenant's its own
      const result = await oidc.deleteMany({ ...tn.sweepScope, expiresAt: { $ne: null, $lte: now() } });
      return result.deletedCount;
    },
    async ping() {
      await db.command({ ping: 1 });
    },
    tryLock: (name, ttlSeconds, owner) => mongoTryLock(db, `${tn.keyPrefix}${name}`, ttlSeconds, owner),
    webhooks: mongoWebhookStore(db, tn),
    settings: mongoSettingsStore(db, tn),
  };
}

/** The ciphertexts at rest: the schema's ENCRYPTED_COLUMNS, as collection and camelCase field (the document's _id is the id). */
function mongoEncryptedSecrets(db: Db, tn: MongoTenant): EncryptedSecretStore {
  const collection = (name: string) => db.collection<{ _id: TenantKey; tenantId: string } & Record<string, unknown>>(name);
  return {
    async list() {
      const kinds = Object.entries(ENCRYPTED_COLUMNS) as [EncryptedSecretKind, { table: string; field: string }][];
      const found = await Promise.all(kinds.map(async ([kind, { table: name, field }]) =>
        (await collection(name).find({ ...tn.scope, [field]: { $type: 'string' } }, { projection: { [field]: 1 } }).toArray())
          .map((d) => ({ kind, id: tn.idOf(d._id), ciphertext: d[field] as string }))));
      return found.flat();
    },
    async replace(kind, id, previous, next) {
      const { table: name, field } = ENCRYPTED_COLUMNS[kind];
      // one conditional update of one document: atomic against any other write of it
      return (await collection(name).updateOne({ _id: tn.key(id), ...tn.scope, [field]: previous }, { $set: { [field]: next } })).modifiedCount === 1;
    },
  };
}
