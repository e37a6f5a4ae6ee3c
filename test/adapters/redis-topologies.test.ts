/**
 * The split store on a real Redis Cluster (3 masters) and behind a real Sentinel: the same contract
 * suite, through `redis+cluster://` and `redis+sentinel://` URLs. Every Redis command the store sends
 * touches one key, which is what lets it run on a Cluster at all (no CROSSSLOT).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../adapters/index.js';
import { startRedisCluster, startRedisSentinel, type RedisTopology } from '../helpers/services/redis-topologies.js';
import { describeStoreContract } from './store-contract.js';

for (const [name, start] of [['Cluster', startRedisCluster], ['Sentinel', startRedisSentinel]] as const) {
  describe(`SQLite + Redis ${name} split store`, function () {
    this.timeout(60_000);
    let topology: RedisTopology;
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), `gatehouse-${name.toLowerCase()}-`));
      topology = await start();
    });
    after(async () => {
      await topology?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    let empties = 0;
    describeStoreContract(`sqlite+redis-${name.toLowerCase()}`, {
      open: async () => {
        const store = await openStore({ databaseUrl: `sqlite:${join(dir, 'gatehouse.db')}`, redisUrl: topology.url });
        return { store, close: () => store.close() };
      },
      openEmpty: async () => {
        const store = await openStore({ databaseUrl: `sqlite:${join(dir, `empty-${empties++}.db`)}`, redisUrl: topology.url });
        return { store, close: () => store.close() };
      },
    });
  });
}
