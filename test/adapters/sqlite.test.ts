import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../adapters/sqlite.js';
import { describeStoreContract } from './store-contract.js';
import { describeTenantContract } from './tenant-contract.js';

describe('SQLite store', () => {
  let dir: string;
  let empties = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-sqlite-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  describeStoreContract('sqlite', {
    // Two stores on one file stand for two processes (the server and the CLI) sharing it.
    open: async () => {
      const store = openSqliteStore(`sqlite:${join(dir, 'gatehouse.db')}`);
      return { store, close: () => store.close() };
    },
    openEmpty: async () => {
      const store = openSqliteStore(`sqlite:${join(dir, `empty-${empties++}.db`)}`);
      return { store, close: () => store.close() };
    },
  });

  // The same contract inside a tenant other than the default, on the file the default tenant's run filled:
  // every method of a tenant's handle behaves as the root does, seeing only its own tenant's records. An
  // "empty" store is a tenant of its own on that same full file: what it counts and sweeps is its own only.
  describeStoreContract('sqlite, tenant acme', {
    open: async () => {
      const root = openSqliteStore(`sqlite:${join(dir, 'gatehouse.db')}`);
      return { store: root.forTenant('acme'), close: () => root.close() };
    },
    openEmpty: async () => {
      const root = openSqliteStore(`sqlite:${join(dir, 'gatehouse.db')}`);
      return { store: root.forTenant(`empty-${empties++}`), close: () => root.close() };
    },
  });

  describeTenantContract('sqlite', {
    open: async () => {
      const store = openSqliteStore(`sqlite:${join(dir, 'tenants.db')}`);
      return { store, close: () => store.close() };
    },
  });
});
