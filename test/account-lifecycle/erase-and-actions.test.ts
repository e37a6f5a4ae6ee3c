/**
 * Issue 13: erasure leaves nothing of the account in the store (store-text.ts reads every row of every
 * table of SQLite or PostgreSQL, and every key of Redis) but its audit events, under a pseudonym; unlock lifts a lockout; reset-factors
 * removes every second factor and recovery code; set-email refuses an address another account has, in
 * another letter case, and changes nothing. On SQLite and on PostgreSQL + Redis.
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { startRelyingParty, type TestRelyingParty } from '../helpers/relying-party.js';
import { UserAgent, formAction } from '../helpers/user-agent.js';
import { cliInProcess } from '../helpers/cli-in-process.js';
import { storeText } from './store-text.js';
import { submitPassword } from '../mfa/helpers.js';
import { DEFAULT_SCOPE } from '../../src/accounts/account-lifecycle.js';
import { STORES } from '../admin/stores.js';

for (const store of STORES) {
describe(`account lifecycle: erase, unlock, reset factors, set email (issue 13, ${store.name})`, function () {
  this.timeout(60_000);
  let services: Awaited<ReturnType<typeof store.start>>;
  let gh: TestGatehouse;
  let rp: TestRelyingParty;
  const by = { via: 'test' };
  const atRp = (u: string) => u.startsWith(rp.origin);

  before(async () => {
    services = await store.start();
    gh = await bootGatehouse({ ...services.env, LOGIN_MAX_FAILURES_PER_ACCOUNT: '3' });
    rp = await startRelyingParty();
    const client = await gh.context.clients.create({
      client_name: 'Notes app', redirect_uris: [rp.redirectUri], grant_types: ['authorization_code', 'refresh_token'], token_endpoint_auth_method: 'client_secret_basic',
    });
    rp.connect(await oidc.discovery(new URL(gh.issuer), client.client_id, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] }));
  });
  after(async () => {
    await rp?.close();
    await gh?.close();
    await services?.stop();
  });
  const everythingStored = () => storeText({ dataDir: gh.dataDir, env: services.env });

  async function login(user: { email: string; password: string }, consent = true) {
    const agent = new UserAgent();
    const url = await rp.authorizationUrl({ scope: 'openid offline_access', prompt: 'consent' });
    let page = await submitPassword(agent, await agent.open(url.href, atRp), user, atRp);
    if (consent && !atRp(page.url) && page.html.includes('/consent"')) page = await agent.submit(page, formAction(page.html, /\/consent$/), {}, atRp);
    if (atRp(page.url)) await agent.open(page.url);
    return page;
  }

  it('delete: no row of the account is left in any table, but its audit events under a pseudonym', async () => {
    const user = { email: 'Erin.Erased@example.test', password: 'violet seven harbour lamps', name: 'Erin Uniquename' };
    const account = await gh.context.accounts.create({ ...user, emailVerified: true });
    await login(user);
    assert.ok(rp.callbacks.at(-1)?.tokens?.refresh_token, 'signed in to the app');
    await login({ ...user, password: 'a wrong password here' }, false); // a failure counter under the account id
    await gh.context.accounts.setPassword(account, 'quiet copper mountain rivers');
    const s = gh.context.store;
    const t = Date.now();
    await s.factors.saveTotp({ accountId: account.id, secretCiphertext: gh.context.cipher.encrypt('JBSWY3DPEHPK3PXP'), confirmedAt: t, lastUsedStep: null, createdAt: t });
    await s.factors.createWebAuthn({ id: 'erin-cred', accountId: account.id, name: 'key', publicKey: 'pk', counter: 0, transports: [], deviceType: 'singleDevice', backedUp: false, createdAt: t, lastUsedAt: null });
    await s.factors.replaceRecoveryCodes(account.id, ['erin-code-hash'], t);
    await s.federation.createLink({ providerId: 'corp', externalId: 'erin-external-id', accountId: account.id, createdAt: t, lastLoginAt: t });
    await s.federation.setRoles(account.id, 'corp', ['ops']);
    await gh.context.accountTokens.issue({ purpose: 'reset-password', account, ttlSeconds: 600 });
    // a reset asked for by mail: the address's mail quota counts it under the address
    const forgot = new UserAgent();
    await forgot.submit(await forgot.open(`${gh.issuer}/password/forgot`), '/password/forgot', { email: user.email });
    await new Promise((r) => setTimeout(r, 200));
    const before = await everythingStored();
    for (const trace of [account.id, account.email, user.name, `mail-address:${account.email}`, `login-account:account:${account.id}`]) {
      assert.ok(before.includes(trace), `the store holds ${trace} before`);
    }

    const run = await cliInProcess(gh.context, ['users', 'delete', '--email', user.email, '--yes', '--output', 'json']);
    assert.equal(run.code, 0, run.stderr);
    const { audit_pseudonym: pseudonym, audit_events_kept: kept } = JSON.parse(run.stdout) as { audit_pseudonym: string; audit_events_kept: number };
    assert.ok(kept > 0);

    const after = await everythingStored();
    for (const trace of [account.id, account.email, user.name, 'erin-cred', 'erin-external-id', 'erin-code-hash']) {
      const line = after.split('\n').find((l) => l.includes(trace));
      assert.equal(line, undefined, `${trace} is still stored: ${line}`);
    }
    const events = await s.audit.query({ accountId: pseudonym });
    assert.ok(events.length >= kept && events.some((e) => e.type === 'login.success') && events.some((e) => e.type === 'admin.user.deleted'));
    assert.ok(events.every((e) => e.ip === null && e.userAgent === null || e.type === 'admin.user.deleted'));
    // the address can be registered again, as a new person
    const again = await gh.context.accounts.create({ email: user.email, password: 'a brand new password' });
    assert.notEqual(again.id, account.id);
  });

  it('unlock lifts a lockout at once', async () => {
    const user = { email: 'lou@example.test', password: 'the password of lou' };
    await gh.context.accounts.create({ ...user, emailVerified: true });
    for (let i = 0; i < 3; i++) await login({ ...user, password: `wrong password ${i}` }, false);
    const locked = await login(user);
    assert.equal(locked.status, 429, 'locked out, even with the right password');
    const run = await cliInProcess(gh.context, ['users', 'unlock', '--email', user.email, '--output', 'json']);
    assert.equal(run.code, 0, run.stderr);
    const after = await login(user);
    assert.notEqual(after.status, 429);
    assert.ok(atRp(after.url) || after.html.includes('/consent"'), `signs in after unlock: ${after.status} ${after.url}`);
  });

  it('reset-factors removes every second factor and recovery code', async () => {
    const account = await gh.context.accounts.create({ email: 'fay@example.test', password: 'the password of fay' });
    const s = gh.context.store;
    const t = Date.now();
    await s.factors.saveTotp({ accountId: account.id, secretCiphertext: gh.context.cipher.encrypt('JBSWY3DPEHPK3PXP'), confirmedAt: t, lastUsedStep: null, createdAt: t });
    for (const id of ['fay-1', 'fay-2']) {
      await s.factors.createWebAuthn({ id, accountId: account.id, name: id, publicKey: 'pk', counter: 0, transports: [], deviceType: 'multiDevice', backedUp: true, createdAt: t, lastUsedAt: null });
    }
    await s.factors.replaceRecoveryCodes(account.id, ['a', 'b', 'c'], t);
    const r = await gh.context.accountLifecycle.resetFactors({ scope: DEFAULT_SCOPE, account: { email: 'FAY@example.test' }, by });
    assert.deepEqual([r.totpRemoved, r.webauthnRemoved], [true, 2]);
    assert.equal(await s.factors.findTotp(account.id), undefined);
    assert.deepEqual(await s.factors.listWebAuthn(account.id), []);
    assert.equal(await s.factors.countUnusedRecoveryCodes(account.id), 0);
    const [event] = await s.audit.query({ accountId: account.id, types: ['admin.user.factors_reset'] });
    assert.equal(event?.details.via, 'test');
  });

  it('set-email refuses an address another account has in another letter case, and changes nothing', async () => {
    const a = await gh.context.accounts.create({ email: 'gil@example.test', password: 'the password of gil' });
    await gh.context.accounts.create({ email: 'taken.address@example.test', password: 'the password of tak' });
    const run = await cliInProcess(gh.context, ['users', 'set-email', '--email', a.email, '--new-email', 'Taken.ADDRESS@Example.test']);
    assert.equal(run.code, 4, run.stderr);
    assert.deepEqual(await gh.context.store.accounts.findById(a.id), a);
    // a free address: stored lower-cased, unverified, with a verification link on its way
    const moved = await gh.context.accountLifecycle.setEmail({ scope: DEFAULT_SCOPE, account: { id: a.id }, email: ' Gil.New@Example.test ', by });
    assert.equal(moved.account.email, 'gil.new@example.test');
    assert.equal(moved.verificationSent, true);
    const stored = await gh.context.store.accounts.findById(a.id);
    assert.deepEqual([stored?.email, stored?.emailVerified], ['gil.new@example.test', false]);
  });
});
}
