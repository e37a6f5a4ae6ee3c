/**
 * Tenants on Redis (contract.ts: RootStore.forTenant): a tenant's handle reads and writes its own keys
 * only (under `t:{tenant}:` after the URL's prefix), the default tenant keeps the key names it always
 * had, and purgeTenant removes one tenant's keys and nothing else.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { openRedisStore, type RootShortLivedStore } from '../../adapters/redis.js';
import { startRedis, type RedisService } from '../helpers/services/redis-server.js';
import { startRedisCluster, type RedisTopology } from '../helpers/services/redis-topologies.js';

const rand = () => randomBytes(9).toString('base64url');

describe('Redis store: tenants', function () {
  this.timeout(30_000);
  let redis: RedisService;
  let store: RootShortLivedStore;
  let raw: Redis;
  before(async () => {
    redis = await startRedis();
    store = await openRedisStore(`${redis.url}?prefix=gh:`);
    raw = new Redis(redis.port, '127.0.0.1');
  });
  after(async () => {
    raw?.disconnect();
    await store?.close();
    await redis?.stop();
  });

  const scan = async (pattern: string) => {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await raw.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      out.push(...keys);
    } while (cursor !== '0');
    return out.sort();
  };

  /** One session with every secondary key: uid, user code, grant, account and client sets. */
  const save = (s: { oidc: RootShortLivedStore['oidc'] }, id: string, payload: Record<string, unknown>) =>
    s.oidc.upsert('Session', id, { accountId: 'acc', clientId: 'cli', grantId: 'g1', uid: `uid-${id}`, userCode: `code-${id}`, ...payload }, 60);

  it('keeps two tenants\' records with the same ids apart, lookups included', async () => {
    const id = rand();
    const a = store.forTenant('acme');
    const b = store.forTenant('globex');
    await save(a, id, { who: 'acme' });
    assert.equal(await b.oidc.find('Session', id), undefined);
    assert.equal(await b.oidc.findByUid('Session', `uid-${id}`), undefined);
    assert.equal(await b.oidc.findByUserCode('Session', `code-${id}`), undefined);
    assert.deepEqual(await b.oidc.findByAccountId('Session', 'acc'), []);
    assert.deepEqual(await b.oidc.findByClientId('Session', 'cli'), []);
    assert.equal(await store.oidc.find('Session', id), undefined, 'nor the default tenant');

    await save(b, id, { who: 'globex' });
    assert.equal((await a.oidc.find('Session', id))?.who, 'acme');
    assert.equal((await b.oidc.find('Session', id))?.who, 'globex');
    assert.equal((await a.oidc.findByUid('Session', `uid-${id}`))?.who, 'acme');
    assert.equal((await b.oidc.findByUserCode('Session', `code-${id}`))?.who, 'globex');
    assert.ok((await a.oidc.findByAccountId('Session', 'acc')).every((r) => r.who === 'acme'));
    assert.ok((await b.oidc.findByClientId('Session', 'cli')).some((r) => r.who === 'globex'));
    assert.equal(await a.oidc.countLive('Session'), (await scan('gh:t:acme:oidc:Session:*')).length);

    // consume and destroy in one tenant leave the other's record as it was
    assert.equal(await a.oidc.consume('Session', id), true);
    assert.equal((await b.oidc.find('Session', id))?.consumed, undefined);
    assert.equal(await b.oidc.consume('Session', id), true);
    await a.oidc.destroy('Session', id);
    assert.equal(await a.oidc.find('Session', id), undefined);
    assert.equal((await b.oidc.findByUid('Session', `uid-${id}`))?.who, 'globex');
  });

  it('revokes a grant in one tenant only', async () => {
    const grantId = rand();
    const a = store.forTenant('acme');
    const b = store.forTenant('globex');
    await a.oidc.upsert('AuthorizationCode', 'code1', { grantId, accountId: 'p' }, 60);
    await b.oidc.upsert('AuthorizationCode', 'code1', { grantId, accountId: 'p' }, 60);
    await store.oidc.upsert('AuthorizationCode', 'code1', { grantId, accountId: 'p' }, 60);
    await a.oidc.revokeByGrantId(grantId);
    assert.equal(await a.oidc.find('AuthorizationCode', 'code1'), undefined);
    assert.deepEqual(await a.oidc.findByAccountId('AuthorizationCode', 'p'), []);
    assert.equal((await b.oidc.find('AuthorizationCode', 'code1'))?.grantId, grantId);
    assert.equal((await store.oidc.find('AuthorizationCode', 'code1'))?.grantId, grantId);
    await store.oidc.revokeByGrantId(grantId);
    assert.equal(await store.oidc.find('AuthorizationCode', 'code1'), undefined);
    assert.equal((await b.oidc.find('AuthorizationCode', 'code1'))?.grantId, grantId);
  });

  it('counts rate limits separately per tenant', async () => {
    const options = { keyPrefix: `login-${rand()}`, points: 2, duration: 60, blockDuration: 0 };
    const a = store.forTenant('acme').rateLimiter(options);
    const b = store.forTenant('globex').rateLimiter(options);
    const root = store.rateLimiter(options);
    await a.consume('alice');
    await a.consume('alice');
    await assert.rejects(a.consume('alice'));
    assert.equal((await b.consume('alice')).remainingPoints, 1);
    assert.equal((await root.consume('alice')).remainingPoints, 1);
    assert.deepEqual(await scan(`gh:t:acme:rl:${options.keyPrefix}:*`), [`gh:t:acme:rl:${options.keyPrefix}:alice`]);
    assert.deepEqual(await scan(`gh:rl:${options.keyPrefix}:*`), [`gh:rl:${options.keyPrefix}:alice`]);
  });

  it('keeps the default tenant\'s key names as they were before tenants', async () => {
    const id = rand();
    await store.oidc.upsert('Session', id, { accountId: 'dflt', clientId: 'c', grantId: `g-${id}`, uid: `u-${id}`, userCode: `uc-${id}` }, 60);
    assert.equal(store.forTenant('default'), store, 'forTenant(default) is the root');
    assert.deepEqual(await scan(`gh:*${id}*`), [
      `gh:oidc-grant:g-${id}`, `gh:oidc-uid:Session:u-${id}`, `gh:oidc-user-code:Session:uc-${id}`, `gh:oidc:Session:${id}`,
    ].sort());
    assert.deepEqual(await raw.smembers(`gh:oidc-grant:g-${id}`), [`oidc:Session:${id}`]);
    assert.ok(await raw.sismember('gh:oidc-account:Session:dflt', id));
    assert.ok(await raw.sismember('gh:oidc-client:Session:c', id));
  });

  it('purges one tenant\'s keys and nothing else', async () => {
    const id = rand();
    const doomed = store.forTenant('doomed');
    const kept = store.forTenant('kept');
    for (const s of [doomed, kept, store]) {
      await save(s, id, {});
      await s.rateLimiter({ keyPrefix: 'purge', points: 5, duration: 60, blockDuration: 0 }).consume('x');
    }
    // a tenant whose id starts like the doomed one's is another tenant
    await save(store.forTenant('doomed-2'), id, {});
    const before = await scan('gh:*');
    const doomedKeys = before.filter((k) => k.startsWith('gh:t:doomed:'));
    assert.ok(doomedKeys.length >= 7, `record, uid, user code, grant, account, client and rate-limit keys: ${doomedKeys.join(' ')}`);
    assert.equal(await store.purgeTenant('doomed'), doomedKeys.length);
    assert.deepEqual(await scan('gh:*'), before.filter((k) => !doomedKeys.includes(k)));
    assert.equal(await doomed.oidc.find('Session', id), undefined);
    assert.ok(await kept.oidc.find('Session', id));
    assert.ok(await store.oidc.find('Session', id));
    assert.ok(await store.forTenant('doomed-2').oidc.find('Session', id));
    await assert.rejects(store.purgeTenant('default'), /default tenant/);
    assert.throws(() => store.forTenant('Not:A*Tenant'), /not a tenant id/);
  });
});

describe('Redis Cluster store: tenants', function () {
  this.timeout(60_000);
  let topology: RedisTopology;
  let store: RootShortLivedStore;
  before(async () => {
    topology = await startRedisCluster();
    store = await openRedisStore(topology.url);
  });
  after(async () => {
    await store?.close();
    await topology?.stop();
  });

  it('keeps tenants apart and purges one tenant\'s keys from every primary, one key per command', async () => {
    const a = store.forTenant('acme');
    const b = store.forTenant('globex');
    // enough keys to land in every primary's slots
    for (let i = 0; i < 30; i++) {
      for (const s of [a, b]) {
        await s.oidc.upsert('Session', `s${i}`, { accountId: `acc${i}`, clientId: 'cli', grantId: `g${i}`, uid: `u${i}` }, 60);
        await s.rateLimiter({ keyPrefix: 'login', points: 5, duration: 60, blockDuration: 0 }).consume(`k${i}`);
      }
    }
    await a.oidc.revokeByGrantId('g0');
    assert.equal(await a.oidc.find('Session', 's0'), undefined);
    assert.ok(await b.oidc.find('Session', 's0'));
    assert.equal(await a.oidc.countLive('Session'), 29);
    // 29 records, grant and account sets (revoked s0's emptied sets are gone), 30 uid pointers (a
    // revocation leaves s0's, which leads nowhere), 1 client set, 30 counters
    assert.equal(await store.purgeTenant('acme'), 29 * 3 + 30 + 1 + 30);
    assert.equal(await a.oidc.countLive('Session'), 0);
    assert.equal(await a.oidc.findByUid('Session', 'u1'), undefined);
    assert.equal(await b.oidc.countLive('Session'), 30);
    assert.ok(await b.oidc.findByUid('Session', 'u1'));
  });
});
