/** The SQLite store against the lifecycle contract. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../adapters/sqlite.js';
import { describeLifecycleStore } from './store-contract.js';

describeLifecycleStore('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-store-'));
  const store = openSqliteStore(`sqlite:${join(dir, 'store.db')}`);
  return { store, close: async () => { await store.close(); await rm(dir, { recursive: true, force: true }); } };
});
