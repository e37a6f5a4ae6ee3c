/**
 * REDIS_URL set: the split store (durable SQLite + short-lived Redis) must pass the same conformance
 * suite as a single store. Redis runs with its append-only file on, as production should, so that a
 * restart keeps what it acknowledged.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../adapters/index.js';
import { startRedis, type RedisService } from '../helpers/services/redis-server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { describeStoreConformance } from './conformance.js';

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

  describeStoreConformance('sqlite+redis', async () => {
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
  });
});
