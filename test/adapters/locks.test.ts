/**
 * Store.tryLock, the one primitive that lets replicas take turns at writes (signing-key maintenance):
 * one holder at a time, renewable by its owner, free again once it lapses. On SQLite and PostgreSQL
 * (MongoDB too when MONGODB_URI is set).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Store } from '../../adapters/contract.js';
import { openStore } from '../../adapters/index.js';
import { startPostgres, type PostgresService } from '../helpers/services/postgres-server.js';

function lockSuite(name: string, open: () => Promise<{ stores: [Store, Store]; close(): Promise<void> }>) {
  describe(`Store.tryLock on ${name}`, function () {
    this.timeout(60_000);
    let a: Store;
    let b: Store;
    let close: () => Promise<void>;
    before(async () => {
      const opened = await open();
      [a, b] = opened.stores;
      close = opened.close;
    });
    after(() => close?.());

    it('gives a free lock to exactly one of many racing callers, on two connections', async () => {
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).tryLock('race', 30, `owner-${i}`)));
      assert.equal(results.filter(Boolean).length, 1);
    });

    it('lets the holder renew it and refuses the others until it lapses', async () => {
      assert.equal(await a.tryLock('held', 1, 'one'), true);
      assert.equal(await b.tryLock('held', 1, 'two'), false);
      assert.equal(await a.tryLock('held', 1, 'one'), true);
      assert.equal(await b.tryLock('other-name', 1, 'two'), true, 'locks are per name');
      await delay(1_100); // the lock's own 1s TTL: what is under test is that it lapses
      assert.equal(await b.tryLock('held', 1, 'two'), true);
      assert.equal(await a.tryLock('held', 1, 'one'), false);
    });
  });
}

lockSuite('SQLite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-locks-'));
  const url = `sqlite:${join(dir, 'locks.db')}`;
  const stores = [await openStore({ databaseUrl: url }), await openStore({ databaseUrl: url })] as [Store, Store];
  return { stores, close: async () => { await Promise.all(stores.map((s) => s.close())); await rm(dir, { recursive: true, force: true }); } };
});

let postgres: PostgresService | undefined;
lockSuite('PostgreSQL', async () => {
  postgres = await startPostgres();
  const stores = [await openStore({ databaseUrl: postgres.url }), await openStore({ databaseUrl: postgres.url })] as [Store, Store];
  return { stores, close: async () => { await Promise.all(stores.map((s) => s.close())); await postgres?.stop(); } };
});

if (process.env.MONGODB_URI) {
  const uri = process.env.MONGODB_URI;
  lockSuite('MongoDB', async () => {
    const stores = [await openStore({ databaseUrl: uri }), await openStore({ databaseUrl: uri })] as [Store, Store];
    return { stores, close: async () => { await Promise.all(stores.map((s) => s.close())); } };
  });
}
