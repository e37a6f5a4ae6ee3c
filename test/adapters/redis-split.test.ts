/**
 * REDIS_URL set: the split store (durable SQLite + short-lived Redis) must pass the same conformance
 * suite as a single store. Redis runs with its append-only file on, as production should, so that a
 * restart keeps what it acknowledged.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHORT_LIVED_RECORDS, type ShortLivedRecordKind } from '../../adapters/contract.js';
import { openStore } from '../../adapters/index.js';
import { openSqliteStore } from '../../adapters/sqlite.js';
import { startRedis, type RedisService } from '../helpers/services/redis-server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { describeStoreContract } from './store-contract.js';
import { describeTenantContract } from './tenant-contract.js';

describe('SQLite + Redis split store', function () {
  this.timeout(60_000);
  let redis: RedisService;
  let proxy: TcpProxy;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-split-'));
    redis = await startRedis({ appendOnly: true });
    proxy = await startTcpProxy(redis.port);
  });
  after(async () => {
    await proxy?.close();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  let empties = 0;
  describeStoreContract('sqlite+redis', {
    open: async () => {
      const store = await openStore({ databaseUrl: `sqlite:${join(dir, 'gatehouse.db')}`, redisUrl: `redis://127.0.0.1:${proxy.port}` });
      return {
        store,
        restartServer: () => redis.restart(),
        takeServerDown: async () => {
          await proxy.cut();
          return () => proxy.restore();
        },
        close: () => store.close(),
      };
    },
    openEmpty: async () => {
      const store = await openStore({ databaseUrl: `sqlite:${join(dir, `empty-${empties++}.db`)}`, redisUrl: `redis://127.0.0.1:${proxy.port}` });
      return { store, close: () => store.close() };
    },
  });

  describeTenantContract('sqlite+redis', {
    open: async () => {
      const store = await openStore({ databaseUrl: `sqlite:${join(dir, 'tenants.db')}`, redisUrl: `redis://127.0.0.1:${proxy.port}` });
      return { store, close: () => store.close() };
    },
  });

  it('keeps our short-lived records in Redis, not in the durable database, like the library\'s', async () => {
    const file = join(dir, 'routing.db');
    const split = await openStore({ databaseUrl: `sqlite:${file}`, redisUrl: `redis://127.0.0.1:${proxy.port}` });
    const durable = openSqliteStore(`sqlite:${file}`);
    try {
      const id = randomBytes(12).toString('base64url');
      for (const kind of Object.keys(SHORT_LIVED_RECORDS) as ShortLivedRecordKind[]) {
        await split.records.upsert(kind, id, { kind }, 60);
        assert.deepEqual(await split.records.find(kind, id), { kind });
        assert.equal(await durable.oidc.find(kind, id), undefined, `${kind} is not in the durable database`);
        assert.equal(await durable.records.find(kind, id), undefined);
      }
      await split.oidc.upsert('SamlRequest', `${id}-via-oidc`, {}, 60);
      assert.equal(await durable.oidc.find('SamlRequest', `${id}-via-oidc`), undefined, 'the model name routes the same way through oidc');
    } finally {
      await durable.close();
      await split.close();
    }
  });
});
