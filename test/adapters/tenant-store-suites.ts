/**
 * What every SQL store's tenant tests share (test/adapters/sqlite-tenants.test.ts, postgres-tenants.test.ts):
 * a record in every tenant-owned table, and the suites that need only a fresh RootStore: isolation of two
 * tenants with the same ids and emails, the handles (forged ids refused, sweeps), and the registry. Each
 * store's file adds what needs its own SQL (rows counted per table after a delete, locks, collations).
 */
import assert from 'node:assert/strict';
import { DuplicateError, type RootStore, type Store, type TenantRecord } from '../../adapters/contract.js';

export const LIMIT = { keyPrefix: 'login', points: 5, duration: 60, blockDuration: 0 };

/** A registry record of tenant `id`. */
export const tenantRecord = (id: string, host: string | null = null, at = 1): TenantRecord => ({
  id, name: `Tenant ${id}`, host, settings: { theme: id }, version: 1, createdAt: at, updatedAt: at,
});

/** One record in every tenant-owned table (and a rate-limit counter and a lock), with the same ids in every tenant. */
export async function fill(store: Store, tag: string): Promise<void> {
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
  await store.settings.save('federation', `sealed-${tag}`, 0, t);
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
    secretsCiphertext: `wh-${tag}`, consecutiveFailures: 0, disabledReason: null, createdAt: t, updatedAt: t, format: 'standard-webhooks', audience: null,
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

/** `open`: a RootStore on a new, empty database; each suite closes what it opened. */
export function describeTenantSuites(open: () => Promise<RootStore>): void {
  describe('isolation', () => {
    let root: RootStore;
    let acme: Store;
    let globex: Store;
    before(async () => {
      root = await open();
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
      const root = await open();
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
      const root = await open();
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

  describe('the registry (TenantStore)', () => {
    let root: RootStore;
    before(async () => {
      root = await open();
    });
    after(() => root?.close());

    it('keeps tenants, found by id and by host; an id or a host is one tenant\'s', async () => {
      await root.tenants.create(tenantRecord('acme', 'login.acme.test'));
      await root.tenants.create(tenantRecord('globex'));
      await root.tenants.create(tenantRecord('initech'));
      assert.deepEqual(await root.tenants.find('acme'), tenantRecord('acme', 'login.acme.test'));
      assert.deepEqual(await root.tenants.findByHost('login.acme.test'), tenantRecord('acme', 'login.acme.test'));
      assert.equal(await root.tenants.findByHost('login.globex.test'), undefined);
      assert.equal(await root.tenants.find('nobody'), undefined);
      await assert.rejects(root.tenants.create(tenantRecord('acme')), (err) => err instanceof DuplicateError && err.what === 'tenant');
      await assert.rejects(root.tenants.create(tenantRecord('other', 'login.acme.test')), (err) => err instanceof DuplicateError && err.what === 'tenant');
      assert.equal(await root.tenants.count(), 3, 'tenants without a host do not clash');
    });

    it('lists tenants in pages, in code-point order', async () => {
      for (const id of ['b-2', 'a-1', 'z9', '0x']) await root.tenants.create(tenantRecord(id));
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
      const stored = { ...tenantRecord('globex'), ...changes, version: 2 };
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
}
