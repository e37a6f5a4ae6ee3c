import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../adapters/sqlite.js';
import { describeStoreContract } from './store-contract.js';

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
});
