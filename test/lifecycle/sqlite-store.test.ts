/** The SQLite store against the lifecycle contract, and its migration of an existing version-1 file. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../adapters/sqlite.js';
import { describeLifecycleStore } from './store-contract.js';

describeLifecycleStore('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-store-'));
  const store = openSqliteStore(`sqlite:${join(dir, 'store.db')}`);
  return { store, close: async () => { await store.close(); await rm(dir, { recursive: true, force: true }); } };
});

describe('sqlite store: migration 2', () => {
  it('indexes the sessions and grants a version-1 database already holds by account', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-store-'));
    const file = join(dir, 'store.db');
    try {
      // a database written by the previous release: only migration 1
      const v1 = new Database(file);
      const migration1 = /`(CREATE TABLE oidc_models[\s\S]*?)`,/.exec(await import('node:fs').then((fs) => fs.readFileSync(new URL('../../adapters/sqlite.ts', import.meta.url), 'utf8')))![1]!;
      v1.exec(migration1);
      v1.pragma('user_version = 1');
      v1.prepare('INSERT INTO oidc_models (model, id, payload, expires_at) VALUES (?, ?, ?, ?)').run('Session', 's-old', JSON.stringify({ accountId: 'acc-9', uid: 'u' }), Date.now() + 60_000);
      v1.close();

      const store = openSqliteStore(`sqlite:${file}`);
      assert.deepEqual(await store.oidc.findIdsByAccountId('Session', 'acc-9'), ['s-old']);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
