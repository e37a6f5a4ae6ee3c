import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../adapters/sqlite.js';
import { describeStoreConformance } from './conformance.js';

describe('SQLite store', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-sqlite-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  // Two stores on one file stand for two processes (the server and the CLI) sharing it.
  describeStoreConformance('sqlite', async () => {
    const store = openSqliteStore(`sqlite:${join(dir, 'gatehouse.db')}`);
    return { store, close: () => store.close() };
  });
});
