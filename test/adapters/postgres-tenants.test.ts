/**
 * Tenants in the PostgreSQL store (contract.ts: RootStore, TenantStore): two tenants in one database share
 * no record, whatever ids and emails they use; removing a tenant removes every row it owns in every table
 * (counted with raw SQL, so a table the store forgot would show) and nothing of any other; the registry;
 * transaction locks of one tenant do not hold up another's.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { DuplicateError, type RootStore, type Store, type TenantRecord } from '../../adapters/contract.js';
import { openPostgresStore } from '../../adapters/postgres.js';
import { TENANT_COLUMN, TENANT_OWNED_TABLES, tenantKeyPrefix } from '../../adapters/record-schema.js';
import { startPostgres, type PostgresService } from '../helpers/services/postgres-server.js';

const LIMIT = { keyPrefix: 'login', points: 5, duration: 60, blockDuration: 0 };

/** One record in every tenant-owned table (and a rate-limit counter and a lock), with the same ids in every tenant. */
async function fill(store: Store, tag: string): Promise<void> {
  const t = 1_700_000_000_000;
  await store.accounts.create({
    id: 'acc-1', email: 'ada@example.test', emailVerified: true, name: `Ada of ${tag}`, passwordHash: null, roles: ['ops'],
    createdAt: t, updatedAt: t, disabledAt: null, lastLoginAt: null,
  });
  await store.clients.create({ clientId: 'client-1', metadata: { client_name: tag }, secretCiphertext: `secret-${tag}`, createdAt: t });
  await store.resources.create({
    identifier: 'https://api.example.test', name: `API of ${tag}`, scopes: { read: 'Read' }, accessTokenTtl: 600,
    permissionsFromRoles: false, tokenClaims: [], createdAt: t,
  });
  await store.roles.create({ name: 'ops', description: `ops of ${tag}`, permissions: [], system: false, createdAt: t, updatedAt: t });
  await store.signingKeys.save({
    kid: 'kid-1', alg: 'ES256', state: 'current', publicJwk: { kty: 'EC', tag }, privateJwkCiphertext: `key-${tag}`,
    createdAt: t, activatesAt: null, expiresAt: null,
  });
  await store.factors.saveTotp({ accountId: 'acc-1', secretCiphertext: `totp-${tag}`, confirmedAt: t, lastUsedStep: null, createdAt: t });
  await store.factors.createWebAuthn({
    id: 'cred-1', accountId: 'acc-1', name: `key of ${tag}`, publicKey: 'pk', counter: 0, transports: ['usb'], deviceType: 'singleDevice',
    backedUp: false, createdAt: t, lastUsedAt: null,
  });
  await store.factors.replaceRecoveryCodes('acc-1', ['code-1', 'code-2'], t);
  await store.federation.createLink({ providerId: 'ldap', externalId: 'uuid-1', accountId: 'acc-1', createdAt: t, lastLoginAt: t });
  await store.federation.setRoles('acc-1', 'ldap', [`ldap-${tag}`]);
  await store.accountTokens.issue({
    tokenHash: 'hash-1', purpose: 'verify-email', accountId: 'acc-1', email: 'ada@example.test', interactionUid: null,
    createdAt: t, expiresAt: t + 60_000, consumedAt: null, supersededAt: null,
  });
  await store.passwordHistory.add('acc-1', { passwordHash: `pw-${tag}`, createdAt: t }, 5);
  await store.audit.append(
    { id: 'ev-1', time: t, type: 'account.created', result: 'success', accountId: 'acc-1', clientId: null, ip: null, userAgent: null, requestId: null, reason: tag, details: {} },
    { id: 'ev-1', type: 'account.created', subject: 'acc-1', time: t, body: tag },
  );
  // the event's own outbox row stays; a second event of the same id is fanned out into a delivery
  await store.webhooks.createEndpoint({
    id: 'wh-1', url: `https://${tag}.example.test/hook`, description: tag, eventTypes: ['account.created'], enabled: true,
    secretsCiphertext: `wh-${tag}`, consecutiveFailures: 0, disabledReason: null, createdAt: t, updatedAt: t,
  });
  await store.webhooks.enqueue([{
    id: 'del-1', endpointId: 'wh-1', eventId: 'ev-1', eventType: 'account.created', subject: 'acc-1', eventSeq: 1, body: tag, status: 'pending',
    attempts: 0, nextAttemptAt: t, leaseOwner: null, leaseUntil: null, lastAttemptAt: null, responseStatus: null, durationMs: null, error: null, createdAt: t,
  }]);
  await store.oidc.upsert('AccessToken', 'at-1', { jti: 'at-1', kind: 'AccessToken', accountId: 'acc-1', clientId: 'client-1', tag }, 3600);
  await store.rateLimiter(LIMIT).consume('ip-1');
  assert.equal(await store.tryLock('keys', 60, `owner-${tag}`), true);
}

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

const tenant = (id: string, host: string | null = null, at = 1): TenantRecord => ({
  id, name: `Tenant ${id}`, host, settings: { theme: id }, version: 1, createdAt: at, updatedAt: at,
});

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

  describe('isolation', () => {
    let root: RootStore;
    let acme: Store;
    let globex: Store;
    before(async () => {
      ({ root } = await openDatabase());
      acme = root.forTenant('acme');
      globex = root.forTenant('globex');
      await fill(acme, 'acme');
      await fill(globex, 'globex');
    });
    after(() => root?.close());

    it('lets two tenants use the same ids and the same email, each seeing only its own records', async () => {
      for (const [store, tag] of [[acme, 'acme'], [globex, 'globex']] as const) {
        assert.equal((await store.accounts.findByEmail('ADA@example.test'))?.name, `Ada of ${tag}`);
        assert.equal((await store.accounts.findById('acc-1'))?.name, `Ada of ${tag}`);
        assert.equal(await store.accounts.count(), 1);
        assert.deepEqual((await store.accounts.list({ limit: 10 })).accounts.map((a) => a.name), [`Ada of ${tag}`]);
        assert.deepEqual((await store.accounts.list({ limit: 10, role: `ldap-${tag}` })).accounts.map((a) => a.name), [`Ada of ${tag}`]);
        assert.deepEqual((await store.clients.list()).map((c) => c.metadata), [{ client_name: tag }]);
        assert.equal((await store.resources.find('https://api.example.test'))?.name, `API of ${tag}`);
        assert.deepEqual((await store.roles.list()).map((r) => r.description), [`ops of ${tag}`]);
        assert.deepEqual((await store.signingKeys.list()).map((k) => k.privateJwkCiphertext), [`key-${tag}`]);
        assert.equal((await store.factors.findTotp('acc-1'))?.secretCiphertext, `totp-${tag}`);
        assert.equal((await store.factors.findWebAuthn('cred-1'))?.name, `key of ${tag}`);
        assert.equal(await store.factors.countUnusedRecoveryCodes('acc-1'), 2);
        assert.deepEqual(await store.federation.rolesOf('acc-1'), [`ldap-${tag}`]);
        assert.equal((await store.federation.findLink('ldap', 'uuid-1'))?.accountId, 'acc-1');
        assert.equal((await store.accountTokens.find('hash-1'))?.accountId, 'acc-1');
        assert.deepEqual(await store.passwordHistory.recent('acc-1', 5), [{ passwordHash: `pw-${tag}`, createdAt: 1_700_000_000_000 }]);
        assert.deepEqual((await store.audit.query({})).map((e) => e.reason), [tag]);
        assert.deepEqual((await store.webhooks.outbox(10)).map((e) => e.body), [tag]);
        assert.deepEqual((await store.webhooks.listEndpoints()).map((e) => e.description), [tag]);
        assert.deepEqual((await store.oidc.find('AccessToken', 'at-1'))?.tag, tag);
        assert.equal((await store.oidc.findByAccountId('AccessToken', 'acc-1')).length, 1);
        assert.equal(await store.oidc.countLive('AccessToken'), 1);
        assert.deepEqual(
          (await store.encryptedSecrets.list()).map((s) => s.ciphertext).sort(),
          [`key-${tag}`, `secret-${tag}`, `totp-${tag}`, `wh-${tag}`],
        );
      }
    });

    it('shows a new tenant, and the default one, none of them', async () => {
      for (const store of [root, root.forTenant('initech')]) {
        assert.equal(await store.accounts.findById('acc-1'), undefined);
        assert.equal(await store.accounts.findByEmail('ada@example.test'), undefined);
        assert.equal(await store.accounts.count(), 0);
        assert.deepEqual(await store.clients.list(), []);
        assert.deepEqual(await store.roles.list(), []);
        assert.equal(await store.factors.findWebAuthn('cred-1'), undefined);
        assert.equal(await store.federation.findLink('ldap', 'uuid-1'), undefined);
        assert.deepEqual(await store.audit.query({}), []);
        assert.deepEqual(await store.webhooks.outbox(10), []);
        assert.equal(await store.oidc.find('AccessToken', 'at-1'), undefined);
        assert.deepEqual(await store.encryptedSecrets.list(), []);
      }
    });

    it('changes and removes only the record of its own tenant', async () => {
      await acme.accounts.update('acc-1', { name: 'Ada renamed' });
      assert.equal((await globex.accounts.findById('acc-1'))?.name, 'Ada of globex');
      assert.equal(await acme.factors.useRecoveryCode('acc-1', 'code-1', 2), true);
      assert.equal(await globex.factors.countUnusedRecoveryCodes('acc-1'), 2, 'the same code of another tenant is still unused');
      await acme.oidc.destroy('AccessToken', 'at-1');
      assert.ok(await globex.oidc.find('AccessToken', 'at-1'));
      assert.equal(await acme.roles.delete('ops'), true);
      assert.ok(await globex.roles.find('ops'));
      assert.deepEqual((await globex.accounts.findById('acc-1'))?.roles, ['ops'], 'deleting a role unassigns it in its tenant only');
      assert.equal(await acme.accounts.delete('acc-1'), true);
      assert.equal((await globex.federation.linksOf('acc-1')).length, 1);
      assert.equal((await globex.factors.listWebAuthn('acc-1')).length, 1);
    });

    it('claims, counts and locks per tenant', async () => {
      const claimed = await globex.webhooks.claim('worker', 1_800_000_000_000, 1_800_000_060_000, 10);
      assert.deepEqual(claimed.map((d) => d.body), ['globex']);
      assert.deepEqual(await globex.webhooks.claim('worker', 1_800_000_000_000, 1_800_000_060_000, 10), [], 'leased already');
      const limiter = (store: Store) => store.rateLimiter(LIMIT);
      assert.equal((await limiter(globex).consume('ip-1')).consumedPoints, 2);
      assert.equal((await limiter(root.forTenant('initech')).consume('ip-1')).consumedPoints, 1);
      assert.equal(await globex.tryLock('keys', 60, 'someone-else'), false);
      assert.equal(await root.forTenant('initech').tryLock('keys', 60, 'someone-else'), true, 'a lock of the same name in another tenant is another lock');
    });

    it('refuses a link to an account of another tenant', async () => {
      await assert.rejects(root.forTenant('initech').federation.createLink({ providerId: 'ldap', externalId: 'x', accountId: 'acc-1', createdAt: 1, lastLoginAt: 1 }));
    });
  });

  describe('handles', () => {
    it('gives the root for the default tenant, refuses an id that is no DNS label, and closes nothing from a handle', async () => {
      const { root } = await openDatabase();
      try {
        assert.equal(root.forTenant('default'), root);
        for (const id of ['Not_A_Label', 'ACME', ' acme', 'acme ', 'acme\0', 't:acme', 'acme:x', '', '-acme', 'a'.repeat(64), 'acme.example.test']) {
          assert.throws(() => root.forTenant(id), RangeError, JSON.stringify(id));
        }
        assert.equal(root.forTenant('acme'), root.forTenant('acme'), 'a recent handle is kept, not made again');
        await root.forTenant('acme').close();
        await root.forTenant('acme').ping();
      } finally {
        await root.close();
      }
    });

    it('sweeps every tenant from the root, and only its own from a tenant handle', async () => {
      const { root } = await openDatabase();
      try {
        const stores = [root, root.forTenant('acme'), root.forTenant('globex')];
        for (const store of stores) {
          await store.oidc.upsert('AccessToken', 'gone', { jti: 'gone', kind: 'AccessToken' }, -60);
          await store.accountTokens.issue({
            tokenHash: 'gone', purpose: 'reset-password', accountId: 'a', email: 'a@example.test', interactionUid: null,
            createdAt: 1, expiresAt: 2, consumedAt: null, supersededAt: null,
          });
        }
        assert.equal(await stores[1]!.sweepExpired(), 1);
        assert.equal(await stores[1]!.accountTokens.deleteExpiredBefore(Date.now()), 1);
        assert.equal(await root.sweepExpired(), 2, 'the default tenant\'s and globex\'s');
        assert.equal(await root.accountTokens.deleteExpiredBefore(Date.now()), 2);
      } finally {
        await root.close();
      }
    });
  });

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
        await root.tenants.create(tenant('acme'));
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
        for (const id of ids) await root.tenants.create(tenant(id));
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

  describe('the registry (TenantStore)', () => {
    let root: RootStore;
    before(async () => {
      ({ root } = await openDatabase());
    });
    after(() => root?.close());

    it('keeps tenants, found by id and by host; an id or a host is one tenant\'s', async () => {
      await root.tenants.create(tenant('acme', 'login.acme.test'));
      await root.tenants.create(tenant('globex'));
      await root.tenants.create(tenant('initech'));
      assert.deepEqual(await root.tenants.find('acme'), tenant('acme', 'login.acme.test'));
      assert.deepEqual(await root.tenants.findByHost('login.acme.test'), tenant('acme', 'login.acme.test'));
      assert.equal(await root.tenants.findByHost('login.globex.test'), undefined);
      assert.equal(await root.tenants.find('nobody'), undefined);
      await assert.rejects(root.tenants.create(tenant('acme')), (err) => err instanceof DuplicateError && err.what === 'tenant');
      await assert.rejects(root.tenants.create(tenant('other', 'login.acme.test')), (err) => err instanceof DuplicateError && err.what === 'tenant');
      assert.equal(await root.tenants.count(), 3, 'tenants without a host do not clash');
    });

    it('lists tenants in pages, in code-point order', async () => {
      for (const id of ['b-2', 'a-1', 'z9', '0x']) await root.tenants.create(tenant(id));
      const ids: string[] = [];
      let after: string | null = null;
      let pages = 0;
      do {
        const page = await root.tenants.list({ limit: 2, after });
        ids.push(...page.tenants.map((t) => t.id));
        after = page.next;
        pages++;
      } while (after !== null);
      assert.deepEqual(ids, ['0x', 'a-1', 'acme', 'b-2', 'globex', 'initech', 'z9']);
      assert.equal(pages, 4);
      assert.deepEqual((await root.tenants.list({ limit: 1000 })).next, null);
      for (const limit of [0, 1001, 1.5]) await assert.rejects(root.tenants.list({ limit }), RangeError);
    });

    it('updates a tenant, one version more each time, and only from the expected version when one is given', async () => {
      const changes = { name: 'Globex Corp', host: 'id.globex.test', settings: { theme: 'dark' }, updatedAt: 5 };
      const stored = { ...tenant('globex'), ...changes, version: 2 };
      assert.deepEqual(await root.tenants.update('globex', changes), stored);
      assert.deepEqual(await root.tenants.find('globex'), stored);
      assert.deepEqual(await root.tenants.findByHost('id.globex.test'), stored);
      assert.equal(await root.tenants.update('globex', { ...changes, name: 'stale' }, 1), undefined);
      assert.deepEqual(await root.tenants.find('globex'), stored, 'a stale version changes nothing');
      assert.deepEqual(await root.tenants.update('globex', { ...changes, host: null }, 2), { ...stored, host: null, version: 3 });
      assert.equal(await root.tenants.update('nobody', changes), undefined);
      await assert.rejects(root.tenants.update('globex', { ...changes, host: 'login.acme.test' }), (err) => err instanceof DuplicateError && err.what === 'tenant');
      assert.equal((await root.tenants.find('globex'))?.version, 3);
    });
  });
});
