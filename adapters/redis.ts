/**
 * Short-lived oidc-provider state in Redis, with Redis's own TTLs doing the expiry (see split-store.ts
 * for which models come here). Every command touches one key, so the same code runs on one server,
 * behind Sentinel, and on a Cluster (where a multi-key script would fail with CROSSSLOT).
 *
 * Layout (all under the URL's key prefix, `gatehouse:` by default, then the tenant's: none for the
 * default tenant, so a running deployment keeps its keys; `t:<tenant>:` for any other, record-schema.ts
 * tenantKeyPrefix. A tenant id is a DNS label, so it holds no colon and no glob character):
 *   oidc:<Model>:<id>             hash: payload (JSON), grantId, uid, userCode, accountId, consumed (epoch ms)
 *   oidc-uid:<Model>:<uid>        string: id (same TTL as the record)
 *   oidc-user-code:<Model>:<code> string: id (same TTL as the record)
 *   oidc-grant:<grantId>          set of record keys; its TTL is the longest of its members'
 *   oidc-account:<Model>:<accountId>  set of ids (sessions of a person, for the account pages); TTL likewise
 *   oidc-client:<Model>:<clientId>    set of ids (a client's records, for its deletion); TTL likewise
 *   rl:<prefix>:<key>             rate-limiter-flexible counters
 * A grant's set holds record keys with the tenant's prefix (but not the URL's, which ioredis adds).
 * A tenant's keys are all found by one SCAN pattern, which purgeTenant deletes.
 * Secondary keys are written before the record, so a failure half-way leaves at worst a pointer to
 * nothing (lookups check that the record still carries the uid/userCode/grantId/accountId they came through).
 */
import { Cluster, Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { DEFAULT_TENANT, grantOf, TENANT_ID_PATTERN, type OidcModelStore, type OidcPayload, type RateLimiterOptions, type Store } from './contract.js';
import { tenantKeyPrefix } from './record-schema.js';
import { parseRedisUrl } from './redis-url.js';

export type ShortLivedStore = Pick<Store, 'kind' | 'oidc' | 'rateLimiter' | 'ping' | 'close'>;

/** What openRedisStore returns: the default tenant's keys, any other tenant's, and a tenant's removal. */
export type RootShortLivedStore = ShortLivedStore & {
  /** The same client, every key under the tenant's prefix; forTenant(DEFAULT_TENANT) is the root; close() does nothing. */
  forTenant(id: string): ShortLivedStore;
  /** Deletes every key of the tenant (never the default's); returns how many. */
  purgeTenant(id: string): Promise<number>;
};

type Client = Redis | Cluster;
type Scripts = {
  ghUpsert(key: string, payload: string, grantId: string, uid: string, userCode: string, ttlMs: string, accountId: string): Promise<number>;
  ghConsume(key: string, nowMs: string): Promise<number>;
  ghIndex(setKey: string, member: string, ttlMs: string): Promise<number>;
  ghDeleteIfGrant(key: string, grantId: string): Promise<number>;
  ghDeletePointer(key: string, id: string): Promise<number>;
};

const SCRIPTS: Record<keyof Scripts, string> = {
  // Keeps `consumed` across re-saves, like the SQL stores' upsert.
  ghUpsert: `redis.call('HSET', KEYS[1], 'payload', ARGV[1], 'grantId', ARGV[2], 'uid', ARGV[3], 'userCode', ARGV[4], 'accountId', ARGV[6])
    if ARGV[5] == '' then redis.call('PERSIST', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[5]) end
    return 1`,
  // Atomic: the first caller sets `consumed` and gets 1; every later one gets 0; a missing record gets 0.
  ghConsume: `if redis.call('HEXISTS', KEYS[1], 'payload') == 0 then return 0 end
    return redis.call('HSETNX', KEYS[1], 'consumed', ARGV[1])`,
  // The grant's (or account's) set lives as long as its longest-lived member (or forever if one has no expiry).
  ghIndex: `local existed = redis.call('EXISTS', KEYS[1])
    local ttl = redis.call('PTTL', KEYS[1])
    redis.call('SADD', KEYS[1], ARGV[1])
    if ARGV[2] == '' then redis.call('PERSIST', KEYS[1])
    elseif existed == 0 or (ttl >= 0 and ttl < tonumber(ARGV[2])) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
    return 1`,
  ghDeleteIfGrant: `if redis.call('HGET', KEYS[1], 'grantId') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
    return 0`,
  ghDeletePointer: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
    return 0`,
};

/** The key names of one tenant: `tp` is its tenantKeyPrefix ('' for the default tenant). */
function keysOf(tp: string) {
  return {
    record: (model: string, id: string) => `${tp}oidc:${model}:${id}`,
    /** record's inverse (a model name has no colon; an id may). */
    recordOf: (key: string) => {
      const [, model = '', ...id] = key.slice(tp.length).split(':');
      return { model, id: id.join(':') };
    },
    uid: (model: string, uid: string) => `${tp}oidc-uid:${model}:${uid}`,
    userCode: (model: string, code: string) => `${tp}oidc-user-code:${model}:${code}`,
    grant: (grantId: string) => `${tp}oidc-grant:${grantId}`,
    account: (model: string, accountId: string) => `${tp}oidc-account:${model}:${accountId}`,
    client: (model: string, clientId: string) => `${tp}oidc-client:${model}:${clientId}`,
    rateLimiter: (prefix: string) => `${tp}rl:${prefix}`,
  };
}
const clientIdOf = (payload: string | null): string => {
  const clientId = payload ? (JSON.parse(payload) as { clientId?: unknown }).clientId : undefined;
  return typeof clientId === 'string' ? clientId : '';
};

export type RedisStoreOptions = { onError?: (err: Error) => void };

export async function openRedisStore(redisUrl: string, o: RedisStoreOptions = {}): Promise<RootShortLivedStore> {
  const connection = parseRedisUrl(redisUrl);
  const client: Client =
    connection.mode === 'cluster' ? new Cluster(connection.nodes, connection.options) : new Redis(connection.options);
  // Without a listener ioredis prints every reconnect failure to stderr; the caller decides.
  client.on('error', (err: Error) => o.onError?.(err));
  for (const [name, lua] of Object.entries(SCRIPTS)) client.defineCommand(name, { numberOfKeys: 1, lua });
  const redis = client as Client & Scripts;
  try {
    await redis.ping();
  } catch (err) {
    client.disconnect();
    throw new Error(`REDIS_URL: cannot reach Redis (${(err as Error).message})`);
  }
  const kind = `redis-${connection.mode}`;
  const bound = (tp: string): Omit<ShortLivedStore, 'close'> => {
    const keys = keysOf(tp);
    return {
      kind,
      oidc: createRedisOidcStore(redis, connection.keyPrefix, keys),
      rateLimiter: (options: RateLimiterOptions) =>
        new RateLimiterRedis({ storeClient: redis, ...options, keyPrefix: keys.rateLimiter(options.keyPrefix) }),
      async ping() {
        await redis.ping();
      },
    };
  };
  const root: RootShortLivedStore = {
    ...bound(tenantKeyPrefix(DEFAULT_TENANT)),
    async close() {
      await redis.quit().catch(() => undefined);
      redis.disconnect();
    },
    forTenant: (id) => (id === DEFAULT_TENANT ? root : { ...bound(tenantKeyPrefix(tenantId(id))), async close() {} }),
    async purgeTenant(id) {
      if (tenantId(id) === DEFAULT_TENANT) throw new Error('the default tenant cannot be purged');
      return purgeKeys(redis, connection.keyPrefix, tenantKeyPrefix(id));
    },
  };
  return root;
}

/** A tenant id as contract.ts defines it: anything else would not stay inside its own key space. */
function tenantId(id: string): string {
  if (!TENANT_ID_PATTERN.test(id)) throw new Error(`not a tenant id: ${JSON.stringify(id)}`);
  return id;
}

/**
 * Every key under `{keyPrefix}{tp}`, SCANned on every primary (a Cluster spreads a tenant's keys over
 * all of them) and UNLINKed (freed in the background) one SCAN page at a time. ioredis prefixes the keys
 * of commands but not a MATCH pattern, nor the keys SCAN returns: those are stripped of the URL's prefix
 * before the client adds it back. In a Cluster, each UNLINK names one key (keys of one page lie in many
 * slots; a multi-key command would fail with CROSSSLOT).
 */
async function purgeKeys(redis: Client, keyPrefix: string, tp: string): Promise<number> {
  const pattern = `${globEscape(keyPrefix)}${globEscape(tp)}*`;
  const nodes: Redis[] = redis instanceof Cluster ? redis.nodes('master') : [redis];
  let n = 0;
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      const keys = found.map((k) => k.slice(keyPrefix.length));
      if (keys.length === 0) continue;
      if (redis instanceof Cluster) n += (await Promise.all(keys.map((k) => redis.unlink(k)))).reduce((a, b) => a + b, 0);
      else n += await redis.unlink(...keys);
    } while (cursor !== '0');
  }
  return n;
}

function createRedisOidcStore(redis: Client & Scripts, keyPrefix: string, keys: ReturnType<typeof keysOf>): OidcModelStore {
  const { record: recordKey, recordOf, uid: uidKey, userCode: userCodeKey, grant: grantKey, account: accountKey, client: clientKey } = keys;
  const read = async (model: string, id: string): Promise<(OidcPayload & Record<string, unknown>) | undefined> => {
    const [payload, consumed] = await redis.hmget(recordKey(model, id), 'payload', 'consumed');
    if (payload === null || payload === undefined) return undefined;
    const parsed = JSON.parse(payload) as OidcPayload;
    return consumed ? { ...parsed, consumed: Math.floor(Number(consumed) / 1000) } : parsed;
  };
  const byPointer = async (pointer: string, model: string, field: 'uid' | 'userCode', value: string) => {
    const id = await redis.get(pointer);
    if (id === null) return undefined;
    const record = await read(model, id);
    // A re-saved record may have moved to another uid/userCode; the old pointer then leads nowhere.
    return record?.[field] === value ? record : undefined;
  };

  return {
    async upsert(model, id, payload, expiresIn) {
      // undefined: no expiry; anything else is seconds from now (at least 1 ms for Redis to accept it)
      const ttl = expiresIn === undefined ? '' : String(Math.max(1, Math.round(expiresIn * 1000)));
      const key = recordKey(model, id);
      const { uid, userCode } = payload;
      const grantId = grantOf(model, payload);
      const accountId = typeof payload.accountId === 'string' ? payload.accountId : '';
      const clientId = typeof payload.clientId === 'string' ? payload.clientId : '';
      await Promise.all([
        clientId ? redis.ghIndex(clientKey(model, clientId), id, ttl) : undefined,
        grantId ? redis.ghIndex(grantKey(grantId), key, ttl) : undefined,
        accountId ? redis.ghIndex(accountKey(model, accountId), id, ttl) : undefined,
        uid ? setPointer(redis, uidKey(model, uid), id, ttl) : undefined,
        userCode ? setPointer(redis, userCodeKey(model, userCode), id, ttl) : undefined,
      ]);
      await redis.ghUpsert(key, JSON.stringify(payload), grantId ?? '', uid ?? '', userCode ?? '', ttl, accountId);
    },
    find: read,
    findByUid: (model, uid) => byPointer(uidKey(model, uid), model, 'uid', uid),
    findByUserCode: (model, userCode) => byPointer(userCodeKey(model, userCode), model, 'userCode', userCode),
    consume: async (model, id) => (await redis.ghConsume(recordKey(model, id), String(Date.now()))) === 1,
    async destroy(model, id) {
      const key = recordKey(model, id);
      const [uid, userCode, grantId, accountId, payload] = await redis.hmget(key, 'uid', 'userCode', 'grantId', 'accountId', 'payload');
      const clientId = clientIdOf(payload ?? null);
      await redis.del(key);
      await Promise.all([
        uid ? redis.ghDeletePointer(uidKey(model, uid), id) : undefined,
        userCode ? redis.ghDeletePointer(userCodeKey(model, userCode), id) : undefined,
        grantId ? redis.srem(grantKey(grantId), key) : undefined,
        accountId ? redis.srem(accountKey(model, accountId), id) : undefined,
        clientId ? redis.srem(clientKey(model, clientId), id) : undefined,
      ]);
    },
    async revokeByGrantId(grantId) {
      const setKey = grantKey(grantId);
      const members = await redis.smembers(setKey);
      // Only records that still carry this grant go; SREM (not DEL) keeps members added meanwhile. A record
      // that goes leaves its account's and client's sets too, as in destroy: left there, an erased
      // account's id would stay in a key name until the longest of its records would have expired.
      await Promise.all(members.map(async (key) => {
        const [accountId, payload] = await redis.hmget(key, 'accountId', 'payload');
        if ((await redis.ghDeleteIfGrant(key, grantId)) !== 1) return;
        const { model, id } = recordOf(key);
        const clientId = clientIdOf(payload ?? null);
        await Promise.all([
          accountId ? redis.srem(accountKey(model, accountId), id) : undefined,
          clientId ? redis.srem(clientKey(model, clientId), id) : undefined,
        ]);
      }));
      if (members.length > 0) await redis.srem(setKey, ...members);
    },
    async findByAccountId(model, accountId) {
      const ids = await redis.smembers(accountKey(model, accountId));
      const records = await Promise.all(ids.sort().map((id) => read(model, id)));
      // Members are not pruned here: one may be indexed a moment before its record is written.
      // A record re-saved for another account (or expired, or revoked) is simply not returned.
      return records.filter((r): r is OidcPayload => r !== undefined && r.accountId === accountId);
    },
    async findByClientId(model, clientId) {
      const ids = await redis.smembers(clientKey(model, clientId));
      const records = await Promise.all(ids.sort().map((id) => read(model, id)));
      // as findByAccountId: a member whose record is gone or now names another client is not returned
      return records.filter((r): r is OidcPayload => r !== undefined && r.clientId === clientId);
    },
    /**
     * SCAN over the model's record keys (Redis expires them itself, so each one is live), on every
     * primary of a Cluster. O(keys) on the server, in small steps that do not block it; the console's
     * dashboard is its one caller. ioredis does not prefix a MATCH pattern: it is given whole.
     */
    async countLive(model) {
      const pattern = `${globEscape(keyPrefix)}${globEscape(recordKey(model, ''))}*`;
      const nodes: Redis[] = redis instanceof Cluster ? redis.nodes('master') : [redis];
      let n = 0;
      for (const node of nodes) {
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
          cursor = next;
          n += keys.length;
        } while (cursor !== '0');
      }
      return n;
    },
  };
}

const globEscape = (text: string) => text.replace(/[*?[\]\\]/g, '\\$&');

function setPointer(redis: Client, key: string, id: string, ttl: string): Promise<unknown> {
  return ttl ? redis.set(key, id, 'PX', Number(ttl)) : redis.set(key, id);
}
