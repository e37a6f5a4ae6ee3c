/**
 * Tenant isolation, for every store (issue 15 §2): each adapter's test file calls
 * `describeTenantContract` with a function that opens a root store on its real server. Two tenants
 * hold records with the same ids and the same email; each sees only its own, through every kind of
 * lookup; deleting one leaves nothing of it and everything of the other. (The whole store contract
 * also runs inside a tenant: store-contract.ts, called with forTenant.)
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DEFAULT_TENANT, DuplicateError, type AccountRecord, type RootStore, type Store, type TenantRecord } from '../../adapters/contract.js';

const rand = () => randomBytes(8).toString('hex');

export type TenantOpeners = { open(): Promise<{ store: RootStore; close(): Promise<void> }> };

const tenantRecord = (id: string, extra: Partial<TenantRecord> = {}): TenantRecord => ({
  id, name: `Tenant ${id}`, host: null, settings: { policy: {}, branding: {} }, version: 1, createdAt: Date.now(), updatedAt: Date.now(), ...extra,
});

const accountRecord = (id: string, email: string): AccountRecord => ({
  id, email, emailVerified: true, name: 'Ada', passwordHash: null, roles: ['ops'], createdAt: Date.now(), updatedAt: Date.now(), disabledAt: null, lastLoginAt: null,
});

/** One of everything a tenant holds, under ids that the other tenant uses too. */
async function fill(s: Store, ids: { account: string; client: string; grant: string; email: string }): Promise<void> {
  const t = Date.now();
  await s.accounts.create(accountRecord(ids.account, ids.email));
  await s.clients.create({ clientId: ids.client, metadata: { client_id: ids.client }, secretCiphertext: 'v1.secret', createdAt: t });
  await s.resources.create({ identifier: 'https://api.example.test', name: 'API', scopes: { read: 'Read' }, accessTokenTtl: 600, permissionsFromRoles: true, tokenClaims: [], createdAt: t });
  await s.roles.create({ name: 'ops', description: '', permissions: [], system: false, createdAt: t, updatedAt: t });
  await s.signingKeys.save({ kid: 'kid-1', alg: 'RS256', state: 'current', publicJwk: { kty: 'RSA' }, privateJwkCiphertext: 'v1.key', createdAt: t, activatesAt: t, expiresAt: null });
  await s.factors.saveTotp({ accountId: ids.account, secretCiphertext: 'v1.totp', confirmedAt: t, lastUsedStep: null, createdAt: t });
  await s.factors.createWebAuthn({ id: 'cred-1', accountId: ids.account, name: 'key', publicKey: 'pk', counter: 0, transports: [], deviceType: 'singleDevice', backedUp: false, createdAt: t, lastUsedAt: null });
  await s.factors.replaceRecoveryCodes(ids.account, ['code-hash-1'], t);
  await s.federation.createLink({ providerId: 'ldap', externalId: 'ext-1', accountId: ids.account, createdAt: t, lastLoginAt: t });
  await s.federation.setRoles(ids.account, 'ldap', ['ldap-group']);
  await s.settings.save('federation', 'v1.sealed', 0, t);
  await s.accountTokens.issue({ tokenHash: 'token-hash-1', purpose: 'reset-password', accountId: ids.account, email: ids.email, interactionUid: null, createdAt: t, expiresAt: t + 600_000, consumedAt: null, supersededAt: null });
  await s.passwordHistory.add(ids.account, { passwordHash: 'old-hash', createdAt: t }, 5);
  await s.audit.append({ id: rand(), time: t, type: 'login.success', result: 'success', accountId: ids.account, clientId: ids.client, ip: null, userAgent: null, requestId: null, reason: null, details: {} });
  await s.webhooks.createEndpoint({ id: 'wh-1', url: 'https://hooks.example.test/', description: '', eventTypes: [], enabled: true, secretsCiphertext: 'v1.wh', consecutiveFailures: 0, disabledReason: null, createdAt: t, updatedAt: t, format: 'standard-webhooks', audience: null });
  for (const model of ['Session', 'AccessToken']) {
    await s.oidc.upsert(model, 'artifact-1', { accountId: ids.account, clientId: ids.client, grantId: ids.grant, uid: 'uid-1', kind: model }, 600);
  }
  await s.oidc.upsert('DeviceCode', 'device-1', { userCode: 'USER-CODE', grantId: ids.grant, clientId: ids.client }, 600);
  await s.records.upsert('WebAuthnChallenge', 'challenge-1', { challenge: 'c' }, 600);
}

/** What a tenant holds of fill(), seen through its handle: every lookup that could leak. */
async function holdings(s: Store, ids: { account: string; client: string; email: string }) {
  return {
    account: (await s.accounts.findById(ids.account))?.email ?? null,
    byEmail: (await s.accounts.findByEmail(ids.email.toUpperCase()))?.id ?? null,
    accounts: await s.accounts.count(),
    listed: (await s.accounts.list({ limit: 10 })).accounts.map((a) => a.id),
    clients: (await s.clients.list()).map((c) => c.clientId),
    resources: (await s.resources.list()).map((r) => r.identifier),
    roles: (await s.roles.list()).map((r) => r.name),
    keys: (await s.signingKeys.list()).map((k) => k.kid),
    secrets: (await s.encryptedSecrets.list()).length,
    totp: (await s.factors.findTotp(ids.account)) !== undefined,
    webauthn: (await s.factors.findWebAuthn('cred-1'))?.accountId ?? null,
    recoveryCodes: await s.factors.countUnusedRecoveryCodes(ids.account),
    link: (await s.federation.findLink('ldap', 'ext-1'))?.accountId ?? null,
    fedRoles: await s.federation.rolesOf(ids.account),
    token: (await s.accountTokens.find('token-hash-1'))?.accountId ?? null,
    history: (await s.passwordHistory.recent(ids.account, 5)).length,
    audit: (await s.audit.query({ accountId: ids.account })).length,
    endpoints: (await s.webhooks.listEndpoints()).map((e) => e.id),
    session: (await s.oidc.find('Session', 'artifact-1'))?.accountId ?? null,
    byUid: (await s.oidc.findByUid('Session', 'uid-1'))?.accountId ?? null,
    byUserCode: (await s.oidc.findByUserCode('DeviceCode', 'USER-CODE'))?.clientId ?? null,
    byAccount: (await s.oidc.findByAccountId('AccessToken', ids.account)).length,
    byClient: (await s.oidc.findByClientId('AccessToken', ids.client)).length,
    liveSessions: await s.oidc.countLive('Session'),
    challenge: (await s.records.find('WebAuthnChallenge', 'challenge-1')) !== undefined,
    settings: (await s.settings.find('federation'))?.value ?? null,
  };
}

const EMPTY = {
  account: null, byEmail: null, accounts: 0, listed: [], clients: [], resources: [], roles: [], keys: [], secrets: 0, totp: false, webauthn: null,
  recoveryCodes: 0, link: null, fedRoles: [], token: null, history: 0, audit: 0, endpoints: [], session: null, byUid: null, byUserCode: null,
  byAccount: 0, byClient: 0, liveSessions: 0, challenge: false, settings: null,
};

export function describeTenantContract(name: string, { open }: TenantOpeners): void {
  describe(`${name} store (tenants)`, function () {
    this.timeout(30_000);
    let root: RootStore;
    let close: () => Promise<void>;
    before(async () => {
      ({ store: root, close } = await open());
    });
    after(() => close?.());

    it('keeps two tenants apart: the same ids and email in each, every lookup sees its own tenant only', async () => {
      const [a, b, c] = [`a-${rand()}`, `b-${rand()}`, `c-${rand()}`];
      const ids = { account: 'acct-1', client: 'client-1', grant: 'grant-1', email: `ada-${rand()}@example.test` };
      await fill(root.forTenant(a), ids);
      await fill(root.forTenant(b), { ...ids, account: 'acct-1' });
      const ofA = await holdings(root.forTenant(a), ids);
      assert.equal(ofA.account, ids.email);
      assert.equal(ofA.accounts, 1);
      assert.deepEqual(ofA.clients, ['client-1']);
      assert.equal(ofA.secrets, 4, 'key, client secret, TOTP secret and webhook secret of this tenant only');
      assert.deepEqual(await holdings(root.forTenant(b), ids), ofA, 'the other tenant holds the same, separately');
      assert.deepEqual(await holdings(root.forTenant(c), ids), EMPTY, 'a third tenant sees nothing');
      const ofDefault = await holdings(root.forTenant(DEFAULT_TENANT), ids);
      assert.equal(ofDefault.account, null, 'the default tenant sees none of them');
      assert.equal(ofDefault.session, null);
      assert.strictEqual(root.forTenant(DEFAULT_TENANT), root, 'the default tenant is the root itself');
    });

    it('changes in one tenant leave the other alone: consume, revoke a grant, delete an account, counters and locks', async () => {
      const [a, b] = [`a-${rand()}`, `b-${rand()}`];
      const ids = { account: 'acct-1', client: 'client-1', grant: 'grant-1', email: `ada-${rand()}@example.test` };
      await fill(root.forTenant(a), ids);
      await fill(root.forTenant(b), ids);
      const [ta, tb] = [root.forTenant(a), root.forTenant(b)];
      assert.equal(await ta.oidc.consume('AccessToken', 'artifact-1'), true);
      assert.equal(await tb.oidc.consume('AccessToken', 'artifact-1'), true, 'consumed in A is not consumed in B');
      assert.equal(await ta.factors.useRecoveryCode('acct-1', 'code-hash-1', Date.now()), true);
      assert.equal(await tb.factors.countUnusedRecoveryCodes('acct-1'), 1);
      await ta.oidc.revokeByGrantId('grant-1');
      assert.equal(await ta.oidc.find('Session', 'artifact-1'), undefined);
      assert.notEqual(await tb.oidc.find('Session', 'artifact-1'), undefined, 'B\'s grant of the same id is intact');
      assert.equal(await ta.accounts.delete('acct-1'), true);
      assert.equal((await tb.accounts.findById('acct-1'))?.email, ids.email);
      assert.equal((await tb.federation.linksOf('acct-1')).length, 1, 'B\'s links stay');
      assert.equal(await ta.roles.delete('ops'), true);
      assert.deepEqual((await tb.accounts.findById('acct-1'))?.roles, ['ops'], 'deleting A\'s role leaves B\'s assignments');

      const limiter = (s: Store) => s.rateLimiter({ keyPrefix: 'contract', points: 1, duration: 60, blockDuration: 0 });
      await limiter(ta).consume('key');
      await limiter(tb).consume('key');
      await assert.rejects(limiter(ta).consume('key'), 'A\'s second point is refused');
      assert.equal(await ta.tryLock('job', 60, 'replica-a'), true);
      assert.equal(await tb.tryLock('job', 60, 'replica-b'), true, 'a lock of the same name in B is another lock');
      assert.equal(await ta.tryLock('job', 60, 'replica-b'), false);
    });

    it('a record cannot point at an account of another tenant', async () => {
      const [a, b] = [`a-${rand()}`, `b-${rand()}`];
      await root.forTenant(a).accounts.create(accountRecord('only-in-a', `x-${rand()}@example.test`));
      await assert.rejects(root.forTenant(b).federation.createLink({ providerId: 'ldap', externalId: 'e', accountId: 'only-in-a', createdAt: 1, lastLoginAt: 1 }));
    });

    it('the registry: create, find by id and host, page in id order, update with the version, duplicates refused', async () => {
      const base = `r${rand()}`;
      const host = `${base}.example.test`;
      await root.tenants.create(tenantRecord(`${base}-1`, { host }));
      await root.tenants.create(tenantRecord(`${base}-2`));
      await root.tenants.create(tenantRecord(`${base}-3`));
      await assert.rejects(root.tenants.create(tenantRecord(`${base}-1`)), DuplicateError);
      await assert.rejects(root.tenants.create(tenantRecord(`${base}-4`, { host })), DuplicateError, 'a host names one tenant');
      assert.equal((await root.tenants.findByHost(host))?.id, `${base}-1`);
      assert.equal(await root.tenants.find(`${base}-9`), undefined);

      const ids: string[] = [];
      for (let after: string | null = null; ;) {
        const page = await root.tenants.list({ limit: 2, after });
        ids.push(...page.tenants.map((t) => t.id));
        if (!page.next) break;
        after = page.next;
      }
      const mine = ids.filter((id) => id.startsWith(base));
      assert.deepEqual(mine, [`${base}-1`, `${base}-2`, `${base}-3`]);
      assert.deepEqual([...ids].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)), ids, 'code-point order');
      assert.equal(await root.tenants.count() >= 3, true);

      const changes = { name: 'Renamed', host: null, settings: { policy: { mfaRequired: true }, branding: {} }, updatedAt: Date.now() };
      const [first, second] = await Promise.all([root.tenants.update(`${base}-2`, changes, 1), root.tenants.update(`${base}-2`, { ...changes, name: 'Other' }, 1)]);
      assert.equal([first, second].filter((r) => r !== undefined).length, 1, 'of two updates of version 1, one wins');
      const stored = await root.tenants.find(`${base}-2`);
      assert.equal(stored?.version, 2);
      assert.deepEqual(stored?.settings, changes.settings);
      assert.equal(await root.tenants.update(`${base}-2`, changes, 1), undefined, 'a stale version changes nothing');
      await assert.rejects(root.tenants.update(`${base}-3`, { ...changes, host }, 1), DuplicateError);
      assert.equal((await root.tenants.update(`${base}-1`, { ...changes, host: null }))?.host, null, 'without a version: unconditional');
      assert.equal((await root.tenants.findByHost(host)), undefined);
    });

    it('deleting a tenant removes every record it holds, and nothing of another tenant', async () => {
      const [doomed, kept] = [`d-${rand()}`, `k-${rand()}`];
      const ids = { account: 'acct-1', client: 'client-1', grant: 'grant-1', email: `ada-${rand()}@example.test` };
      await root.tenants.create(tenantRecord(doomed));
      await root.tenants.create(tenantRecord(kept));
      for (const id of [doomed, kept]) {
        await fill(root.forTenant(id), ids);
        await root.forTenant(id).rateLimiter({ keyPrefix: 'contract', points: 5, duration: 60, blockDuration: 0 }).consume('key');
        await root.forTenant(id).tryLock('job', 60, 'replica');
      }
      const before = await holdings(root.forTenant(kept), ids);
      assert.equal(await root.tenants.delete(doomed), true);
      assert.equal(await root.tenants.find(doomed), undefined);
      assert.deepEqual(await holdings(root.forTenant(doomed), ids), EMPTY);
      assert.equal(await root.forTenant(doomed).tryLock('job', 60, 'another'), true, 'its locks went too');
      const limited = await root.forTenant(doomed).rateLimiter({ keyPrefix: 'contract', points: 5, duration: 60, blockDuration: 0 }).consume('key');
      assert.equal(limited.consumedPoints, 1, 'its counters went too');
      assert.deepEqual(await holdings(root.forTenant(kept), ids), before, 'the other tenant keeps everything');
      assert.equal(await root.tenants.delete(doomed), false, 'a second delete finds nothing');
      await assert.rejects(root.tenants.delete(DEFAULT_TENANT));
    });

    it('the root\'s sweep removes the expired records of every tenant', async () => {
      const t = `s-${rand()}`;
      await root.forTenant(t).oidc.upsert('AccessToken', 'short', { accountId: 'x' }, 1);
      await new Promise((resolve) => setTimeout(resolve, 1100)); // the one record's TTL: no event tells it has passed
      assert.equal(await root.forTenant(t).oidc.find('AccessToken', 'short'), undefined, 'expired records are not found');
      assert.equal(await root.sweepExpired() >= 1, true);
    });
  });
}
