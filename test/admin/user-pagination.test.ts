/**
 * Issue 13, Tests: "pagination over 1,000 users with no duplicates or gaps while users are being created".
 * 1,000 accounts (no password, so no bcrypt) are seeded in the server's own process, many in the same
 * millisecond; then GET /admin/v1/users is paged by following `next` while another loop creates accounts
 * through the API. Every account that existed before paging began is seen exactly once, in (created_at,
 * id) order, the keyset order of the cursor (adapters/account-list.ts). Real HTTP, every body checked
 * against the served OpenAPI document, on SQLite and on PostgreSQL + Redis.
 */
import assert from 'node:assert/strict';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { STORES } from './stores.js';
import { createAdminCaller, managementToken } from './admin-client.js';

type Item = { id: string; email: string; created_at: string };

const SEEDED = 1000;

/** (created_at, id): the order the list promises (ISO times of one width compare as text). */
const precedes = (a: Item, b: Item) => a.created_at < b.created_at || (a.created_at === b.created_at && a.id < b.id);

for (const store of STORES) {
describe(`management API: paging 1,000 users while users are being created (${store.name})`, function () {
  this.timeout(120_000);
  let services: Awaited<ReturnType<typeof store.start>>;
  let gh: TestGatehouse;
  let call: ReturnType<typeof createAdminCaller>;
  let token: string;

  /** Every account id in the store now, read from the store itself (not through the API under test). */
  async function storedIds(emailPrefix?: string): Promise<Set<string>> {
    const ids = new Set<string>();
    let cursor: string | null = null;
    do {
      const page = await gh.context.store.accounts.list({ limit: 1000, cursor, ...(emailPrefix ? { emailPrefix } : {}) });
      for (const a of page.accounts) ids.add(a.id);
      cursor = page.next;
    } while (cursor);
    return ids;
  }

  before(async () => {
    services = await store.start();
    // the limiter counts per management client; this test makes a few hundred calls
    gh = await bootGatehouse({ ...services.env, ADMIN_REQUESTS_PER_MINUTE: '100000' });
    call = createAdminCaller(gh);
    token = await managementToken(gh, 'admin:users:read admin:users:write');
    // batches of 50 at once: many accounts share a created_at millisecond, so the id breaks the ties
    for (let batch = 0; batch < SEEDED / 50; batch++) {
      await Promise.all(Array.from({ length: 50 }, (_, i) => gh.context.accounts.create({ email: `paged-${batch}-${i}@example.test`, name: `Paged ${batch} ${i}` })));
    }
    assert.equal((await storedIds()).size, SEEDED);
  });
  after(async () => {
    await gh?.close();
    await services?.stop();
  });

  /** Follows `next` from `first`, with `during` running between pages; the items in the order served. */
  async function pageThrough(first: string, limit: number, during: () => Promise<void>): Promise<Item[]> {
    const seen: Item[] = [];
    let path: string | undefined = first;
    while (path) {
      const res = await call('GET', path, { token });
      assert.equal(res.status, 200);
      const items = res.body.items as Item[];
      assert.ok(items.length <= limit && (items.length === limit || !res.body.next), `a full page unless it is the last (${items.length})`);
      seen.push(...items);
      await during();
      path = typeof res.body.next === 'string' ? res.body.next.replace(/^\/admin\/v1/, '') : undefined;
    }
    return seen;
  }

  function assertNoDuplicatesNoGaps(seen: Item[], expected: Set<string>): void {
    const ids = seen.map((i) => i.id);
    assert.equal(new Set(ids).size, ids.length, 'no account twice');
    const missing = [...expected].filter((id) => !ids.includes(id));
    assert.deepEqual(missing, [], 'no account that existed before paging began is left out');
    for (let i = 1; i < seen.length; i++) assert.ok(precedes(seen[i - 1]!, seen[i]!), `ordered by (created_at, id) at ${i}`);
  }

  for (const limit of [50, 37]) {
    it(`limit=${limit}: every existing account once, in order, while another loop creates accounts`, async () => {
      const existing = await storedIds();
      let created = 0;
      let stop = false;
      // the other loop: accounts created through the API as fast as it answers, until paging is done
      const creating = (async () => {
        while (!stop) {
          const res = await call('POST', '/users', { token, body: { email: `added-${limit}-${created}@example.test` } });
          assert.equal(res.status, 201);
          created++;
        }
      })();
      let pages = 0;
      const seen = await pageThrough(`/users?limit=${limit}`, limit, async () => {
        pages++;
        // at least one account lands between every two pages, and more as the other loop runs
        await call('POST', '/users', { token, body: { email: `between-${limit}-${pages}@example.test` } });
      });
      stop = true;
      await creating;
      assert.ok(created > 0 && pages >= Math.ceil(existing.size / limit), `${created} accounts created over ${pages} pages`);
      assertNoDuplicatesNoGaps(seen, existing);
    });
  }

  it('a search (email prefix) pages the same way while matching accounts are being created', async () => {
    const expected = await storedIds('paged-1');
    // paged-1-*, paged-1x-* : 50 + 10 * 50 seeded ones start with paged-1
    assert.equal(expected.size, 550);
    let n = 0;
    const seen = await pageThrough('/users?limit=29&email_prefix=paged-1', 29, async () => {
      await call('POST', '/users', { token, body: { email: `paged-1-late-${n++}@example.test` } });
    });
    assertNoDuplicatesNoGaps(seen, expected);
    assert.ok(seen.every((i) => i.email.startsWith('paged-1')));
  });
});
}
