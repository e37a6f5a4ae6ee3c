/**
 * Tenants in the SQLite store (contract.ts: RootStore, TenantStore): two tenants on one file share no
 * record, whatever ids and emails they use; removing a tenant removes every row it owns in every table
 * (counted with raw SQL, so a table the store forgot would show) and nothing of any other; the registry.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { RootStore } from '../../adapters/contract.js';
import { describeTenantSuites, fill, tenantRecord } from './tenant-store-suites.js';
import { TENANT_COLUMN, TENANT_OWNED_TABLES, tenantKeyPrefix } from '../../adapters/record-schema.js';
import { openSqliteStore } from '../../adapters/sqlite.js';

/** Every table's rows of the tenant, counted in SQL; rate_limits and store_locks by the tenant's key prefix. */
function rowsOf(file: string, tenant: string): Record<string, number> {
  const db = new Database(file, { readonly: true });
  try {
    const counts: Record<string, number> = {};
    for (const t of TENANT_OWNED_TABLES) {
      counts[t.name] = db.prepare<[string], { n: number }>(`SELECT COUNT(*) AS n FROM ${t.name} WHERE ${TENANT_COLUMN} = ?`).get(tenant)!.n;
    }
    const prefix = tenantKeyPrefix(tenant);
    // the default tenant's keys have no prefix: its rows are those that start with no tenant's prefix
    const ofPrefix = (table: string, column: string) => (prefix
      ? db.prepare<[number, string], { n: number }>(`SELECT COUNT(*) AS n FROM ${table} WHERE substr(${column}, 1, ?) = ?`).get(prefix.length, prefix)!.n
      : db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM ${table} WHERE ${column} NOT LIKE 't:%'`).get()!.n);
    counts.rate_limits = ofPrefix('rate_limits', 'key');
    counts.store_locks = ofPrefix('store_locks', 'name');
    return counts;
  } finally {
    db.close();
  }
}

describe('SQLite store: tenants', () => {
  let dir: string;
  let files = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-sqlite-tenants-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** A new file, and the path of it for raw SQL. */
  function openFile(): { root: RootStore; file: string } {
    const file = join(dir, `t-${files++}.db`);
    return { root: openSqliteStore(`sqlite:${file}`), file };
  }

  describeTenantSuites(async () => openFile().root);

  describe('TenantStore.delete', () => {
    it('removes every row of the tenant from every table, its counters and locks, and nothing of any other tenant', async () => {
      const { root, file } = openFile();
      try {
        await root.tenants.create(tenantRecord('acme'));
        // acme-2 shares acme's first letters: its keys must not look like acme's
        for (const id of ['acme', 'acme-2', 'globex']) await fill(root.forTenant(id), id);
        await fill(root, 'default');
        const before = Object.fromEntries(['acme', 'acme-2', 'globex', 'default'].map((id) => [id, rowsOf(file, id)]));
        for (const [table, n] of Object.entries(before.acme!)) assert.ok(n > 0, `the fill put a row of acme in ${table}`);

        assert.equal(await root.tenants.delete('acme'), true);
        assert.deepEqual(rowsOf(file, 'acme'), Object.fromEntries(Object.keys(before.acme!).map((table) => [table, 0])));
        for (const id of ['acme-2', 'globex', 'default']) assert.deepEqual(rowsOf(file, id), before[id], `${id} keeps every row`);
        assert.equal(await root.tenants.find('acme'), undefined);
        assert.equal((await root.forTenant('globex').accounts.findByEmail('ada@example.test'))?.name, 'Ada of globex');

        // no registry row: false, and its records go all the same
        assert.equal(await root.tenants.delete('globex'), false);
        assert.equal(Object.values(rowsOf(file, 'globex')).reduce((a, b) => a + b), 0);
        assert.equal(await root.tenants.delete('acme'), false);
      } finally {
        await root.close();
      }
    });

    it('refuses to delete the default tenant', async () => {
      const { root } = openFile();
      try {
        await fill(root, 'default');
        await assert.rejects(root.tenants.delete('default'), /default tenant/);
        assert.ok(await root.accounts.findById('acc-1'));
      } finally {
        await root.close();
      }
    });
  });
});
