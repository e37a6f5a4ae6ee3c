/**
 * With REDIS_URL set: short-lived oidc-provider state goes to Redis (native TTLs, no sweeping, no write
 * load on the database), everything durable stays in the durable store. Routing is by model name;
 * grant-wide revocation reaches both sides, because a grant's artifacts live on both.
 * Tenants: a tenant's handle splits the durable store's handle of that tenant and the Redis handle of
 * that tenant (its keys under `t:{tenant}:`); deleting a tenant deletes its durable records, then its keys.
 */
import { DEFAULT_TENANT, type OidcModelStore, type RootStore, type Store } from './contract.js';
import type { RootShortLivedStore, ShortLivedStore } from './redis.js';
import { SHORT_LIVED_RECORD_KINDS, shortLivedRecords } from './short-lived-records.js';

/**
 * Lives for minutes, is read on every request of a login, and is worthless after a restart of both
 * sides at once: sessions and interactions, one-time codes and requests, replay detection (DPoP/JAR jti),
 * and the ledger of issued JWT access tokens (src/oidc/jwt-access-token-ledger.ts).
 * Our own short-lived records (contract.ts: SHORT_LIVED_RECORDS) go the same way.
 * Durable (not here): Grant, RefreshToken, AccessToken, ClientCredentials and the tables for accounts,
 * clients, resources, roles and keys.
 */
export const SHORT_LIVED_MODELS: ReadonlySet<string> = new Set([
  'Session',
  'Interaction',
  'AuthorizationCode',
  'PushedAuthorizationRequest',
  'ReplayDetection',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'JwtAccessToken',
]);

export function createSplitStore(durable: RootStore, shortLived: RootShortLivedStore): RootStore {
  const root: RootStore = {
    ...split(durable, shortLived),
    tenants: {
      create: (t) => durable.tenants.create(t),
      find: (id) => durable.tenants.find(id),
      findByHost: (host) => durable.tenants.findByHost(host),
      list: (q) => durable.tenants.list(q),
      update: (id, changes, expectedVersion) => durable.tenants.update(id, changes, expectedVersion),
      count: () => durable.tenants.count(),
      async delete(id) {
        // the durable side refuses the default tenant (and so nothing is purged); its records go first, so
        // a tenant whose keys are being purged no longer resolves and makes no new ones
        const existed = await durable.tenants.delete(id);
        await shortLived.purgeTenant(id);
        return existed;
      },
    },
    // both handles' close() do nothing, so neither does this one's
    forTenant: (id) => (id === DEFAULT_TENANT ? root : split(durable.forTenant(id), shortLived.forTenant(id))),
  };
  return root;
}

function split(durable: Store, shortLived: ShortLivedStore): Store {
  const side = (model: string): OidcModelStore =>
    SHORT_LIVED_MODELS.has(model) || SHORT_LIVED_RECORD_KINDS.has(model) ? shortLived.oidc : durable.oidc;
  return {
    kind: `${durable.kind}+${shortLived.kind}`,
    oidc: {
      upsert: (model, id, payload, expiresIn) => side(model).upsert(model, id, payload, expiresIn),
      find: (model, id) => side(model).find(model, id),
      findByUid: (model, uid) => side(model).findByUid(model, uid),
      findByUserCode: (model, userCode) => side(model).findByUserCode(model, userCode),
      consume: (model, id) => side(model).consume(model, id),
      destroy: (model, id) => side(model).destroy(model, id),
      findByAccountId: (model, accountId) => side(model).findByAccountId(model, accountId),
      findByClientId: (model, clientId) => side(model).findByClientId(model, clientId),
      countLive: (model) => side(model).countLive(model),
      async revokeByGrantId(grantId) {
        await Promise.all([shortLived.oidc.revokeByGrantId(grantId), durable.oidc.revokeByGrantId(grantId)]);
      },
    },
    records: shortLivedRecords(shortLived.oidc),
    accounts: durable.accounts,
    clients: durable.clients,
    resources: durable.resources,
    roles: durable.roles,
    signingKeys: durable.signingKeys,
    encryptedSecrets: durable.encryptedSecrets,
    factors: durable.factors,
    federation: durable.federation,
    // lifecycle records are durable: links and tokens sent by mail, password history, the audit log
    accountTokens: durable.accountTokens,
    passwordHistory: durable.passwordHistory,
    audit: durable.audit,
    // Login throttles count in Redis: every replica sees the same counters, and they expire by TTL.
    rateLimiter: (options) => shortLived.rateLimiter(options),
    // Redis expires its keys itself; only the durable side has rows to delete.
    sweepExpired: () => durable.sweepExpired(),
    async ping() {
      await Promise.all([durable.ping(), shortLived.ping()]);
    },
    async close() {
      await Promise.allSettled([durable.close(), shortLived.close()]).then(rethrowFirst);
    },
    // locks guard durable state (signing keys), so they live with it
    tryLock: (name, ttlSeconds, owner) => durable.tryLock(name, ttlSeconds, owner),
    // the outbox is written with the audit row, so it lives with it (durable), as do endpoints and deliveries
    webhooks: durable.webhooks,
    // a unit is the durable store's transaction; writes to Redis inside it are made at once, outside it
    atomically: (work) => durable.atomically(work),
    afterCommit: (fn) => durable.afterCommit(fn),
    settings: durable.settings,
  };
}

function rethrowFirst(results: PromiseSettledResult<void>[]): void {
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
