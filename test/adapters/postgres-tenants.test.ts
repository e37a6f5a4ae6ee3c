/**
 * Tenants in the PostgreSQL store (contract.ts: RootStore, TenantStore): two tenants in one database share
 * no record, whatever ids and emails they use; removing a tenant removes every row it owns in every table
 * (counted with raw SQL, so a table the store forgot would show) and nothing of any other; the registry;
 * transaction locks of one tenant do not hold up another's.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { RootStore } from '../../adapters/contract.js';
import { describeTenantSuites, fill, tenantRecord } from './tenant-store-suites.js';
import { openPostgresStore } from '../../adapters/postgres.js';
import { TENANT_COLUMN, TENANT_OWNED_TABLES, tenantKeyPrefix } from '../../adapters/record-schema.js';
import { startPostgres, type PostgresService } from '../helpers/services/postgres-server.js';

/** Every table's rows of the tenant, counted in SQL; rate_limits and store_locks by the tenant's key prefix. */
async function rowsOf(url: string, tenant: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const count = async (sql: string, values: unknown[]) => (await client.query<{ n: number }>(sql, values)).rows[0]!.n;
    const counts: Record<string, number> = {};
    for (const t of TENANT_OWNED_TABLES) {
      counts[t.name] = await count(`SELECT count(*)::integer AS n FROM ${t.name} WHERE ${TENANT_COLUMN} = $1`, [tenant]);
    }
    const prefix = tenantKeyPrefix(tenant);
    // the default tenant's keys have no prefix: its rows are those that start with no tenant's prefix
    const ofPrefix = (table: string, column: string) => (prefix
      ? count(`SELECT count(*)::integer AS n FROM ${table} WHERE left(${column}, $1) = $2`, [prefix.length, prefix])
      : count(`SELECT count(*)::integer AS n FROM ${table} WHERE left(${column}, 2) <> 't:'`, []));
    counts.rate_limits = await ofPrefix('rate_limits', 'key');
    counts.store_locks = await ofPrefix('store_locks', 'name');
    return counts;
  } finally {
    await client.end();
  }
}

describe('PostgreSQL store: tenants', function () {
  this.timeout(60_000);
  let server: PostgresService;
  before(async () => {
    server = await startPostgres();
  });
  after(() => server?.stop());

  /**
   * A new database, and its URL for raw SQL. `icu`: its collation is ICU's English, as a deployment's may
   * be, which orders text unlike code points (`:` after `;`, letters before or after digits by locale rules).
   */
  async function openDatabase(o: { icu?: boolean } = {}): Promise<{ root: RootStore; url: string }> {
    const name = `tenants_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    const collation = o.icu ? " TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'" : '';
    await admin.query(`CREATE DATABASE ${name}${collation}`).finally(() => admin.end());
    const url = new URL(server.url);
    url.pathname = `/${name}`;
    return { root: await openPostgresStore(url.href), url: url.href };
  }

  describeTenantSuites(async () => (await openDatabase()).root);

  describe('TenantStore.delete', () => {
    for (const icu of [false, true]) {
      it(`removes every row of the tenant from every table, its counters and locks, and nothing of any other tenant${icu ? ' (ICU collation)' : ''}`, async () => {
        await deleteOneOfFour(await openDatabase({ icu }));
      });
    }

    it('removes nothing for an id that is no tenant\'s, even one whose key prefix starts another tenant\'s keys', async () => {
      const { root, url } = await openDatabase();
      try {
        await fill(root.forTenant('acme'), 'acme');
        const before = await rowsOf(url, 'acme');
        // tenantKeyPrefix('acme:login') is t:acme:login:, inside acme's own key range
        for (const id of ['acme:login', 'ACME', ' acme', 'acme\0']) assert.equal(await root.tenants.delete(id), false, JSON.stringify(id));
        assert.deepEqual(await rowsOf(url, 'acme'), before);
      } finally {
        await root.close();
      }
    });

    async function deleteOneOfFour({ root, url }: { root: RootStore; url: string }): Promise<void> {
      try {
        await root.tenants.create(tenantRecord('acme'));
        // acme-2 shares acme's first letters: its keys must not look like acme's
        for (const id of ['acme', 'acme-2', 'globex']) await fill(root.forTenant(id), id);
        await fill(root, 'default');
        const before = Object.fromEntries(await Promise.all(['acme', 'acme-2', 'globex', 'default'].map(async (id) => [id, await rowsOf(url, id)] as const)));
        for (const [table, n] of Object.entries(before.acme!)) assert.ok(n > 0, `the fill put a row of acme in ${table}`);

        assert.equal(await root.tenants.delete('acme'), true);
        assert.deepEqual(await rowsOf(url, 'acme'), Object.fromEntries(Object.keys(before.acme!).map((table) => [table, 0])));
        for (const id of ['acme-2', 'globex', 'default']) assert.deepEqual(await rowsOf(url, id), before[id], `${id} keeps every row`);
        assert.equal(await root.tenants.find('acme'), undefined);
        assert.equal((await root.forTenant('globex').accounts.findByEmail('ada@example.test'))?.name, 'Ada of globex');

        // no registry row: false, and its records go all the same
        assert.equal(await root.tenants.delete('globex'), false);
        assert.equal(Object.values(await rowsOf(url, 'globex')).reduce((a, b) => a + b), 0);
        assert.equal(await root.tenants.delete('acme'), false);
      } finally {
        await root.close();
      }
    }

    it('refuses to delete the default tenant', async () => {
      const { root } = await openDatabase();
      try {
        await fill(root, 'default');
        await assert.rejects(root.tenants.delete('default'), /default tenant/);
        assert.ok(await root.accounts.findById('acc-1'));
      } finally {
        await root.close();
      }
    });
  });

  describe('transaction locks', () => {
    it('holds up a writer of the same key in the same tenant only', async () => {
      const { root, url } = await openDatabase();
      const holder = new pg.Client({ connectionString: url });
      await holder.connect();
      try {
        // what replaceRecoveryCodes takes (postgres-sql.ts: lockedTransaction), held by another session for acme's acc-1
        await holder.query('BEGIN');
        await holder.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', ['recovery_codes', JSON.stringify(['acme', 'acc-1'])]);
        await root.forTenant('globex').factors.replaceRecoveryCodes('acc-1', ['g-1'], 1);
        await root.factors.replaceRecoveryCodes('acc-1', ['d-1'], 1);
        let done = false;
        const waiting = root.forTenant('acme').factors.replaceRecoveryCodes('acc-1', ['a-1'], 1).then(() => {
          done = true;
        });
        await new Promise((resolve) => setTimeout(resolve, 300)); // no event tells that a query is waiting on a lock
        assert.equal(done, false, 'acme\'s writer waits for the lock on acme\'s acc-1');
        await holder.query('COMMIT');
        await waiting;
        assert.equal(await root.forTenant('acme').factors.countUnusedRecoveryCodes('acc-1'), 1);
      } finally {
        await holder.end();
        await root.close();
      }
    });
  });

  describe('the registry in a database of another collation', () => {
    it('pages in code-point order all the same (a glibc locale, where `-` is ignored at first, would not)', async () => {
      const { root } = await openDatabase({ icu: true });
      try {
        const ids = ['b-2', 'a-1', 'a1', 'a', 'z9', '0x', 'a-b', 'ab'];
        for (const id of ids) await root.tenants.create(tenantRecord(id));
        const listed: string[] = [];
        for (let after: string | null = null; ;) {
          const page = await root.tenants.list({ limit: 3, after });
          listed.push(...page.tenants.map((t) => t.id));
          if (!page.next) break;
          after = page.next;
        }
        assert.deepEqual(listed, [...ids].sort());
        assert.deepEqual((await root.tenants.list({ limit: 10, after: 'a\0zzz' })).tenants.map((t) => t.id), ['a-1', 'a-b', 'a1', 'ab', 'b-2', 'z9'],
          'a cursor with U+0000 pages on from what comes before it');
      } finally {
        await root.close();
      }
    });
  });
});
