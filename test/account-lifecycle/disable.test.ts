/**
 * Issue 13 item 3, from the attacker's side: an operator disables an account that is signed in to an app
 * and holds a refresh token. At once the refresh token is refused (invalid_grant), the access token is
 * refused at userinfo and inactive at introspection, the app receives a back-channel logout token for the
 * session, and the password no longer signs in (the page says what a wrong password says). Enabling it
 * lets the person sign in again. A disable racing a sign-in never leaves a session that gets tokens. On
 * SQLite and on PostgreSQL + Redis (the store of sessions and tokens differs: the refusals must not).
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { startLogoutReceiver, type LogoutReceiver } from '../helpers/logout-receiver.js';
import { startRelyingParty, type TestRelyingParty } from '../helpers/relying-party.js';
import { UserAgent, formAction } from '../helpers/user-agent.js';
import { cliInProcess } from '../helpers/cli-in-process.js';
import { submitPassword } from '../mfa/helpers.js';
import { DEFAULT_SCOPE } from '../../src/accounts/account-lifecycle.js';
import { STORES } from '../admin/stores.js';

const WRONG = 'The email or password is incorrect.';

for (const store of STORES) {
describe(`account lifecycle: a disabled account signs in nowhere and its tokens die at once (issue 13, ${store.name})`, () => {
  let services: Awaited<ReturnType<typeof store.start>>;
  let gh: TestGatehouse;
  let rp: TestRelyingParty;
  let config: oidc.Configuration;
  let clientId: string;
  let receiver: LogoutReceiver;
  const user = { email: 'lee@example.test', password: 'the password of lee ok' };
  const by = { via: 'test', operator: 'tester' };

  before(async () => {
    [receiver, services] = await Promise.all([startLogoutReceiver(), store.start()]);
    gh = await bootGatehouse({ ...services.env, OUTBOUND_PRIVATE_HOSTS: '127.0.0.1' });
    rp = await startRelyingParty();
    const client = await gh.context.clients.create({
      client_name: 'Notes app', redirect_uris: [rp.redirectUri], grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'client_secret_basic',
      backchannel_logout_uri: receiver.uri,
      backchannel_logout_session_required: true,
    });
    clientId = client.client_id;
    config = await oidc.discovery(new URL(gh.issuer), client.client_id, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
    rp.connect(config);
    await gh.context.accounts.create({ ...user, emailVerified: true });
    await gh.context.accounts.create({ email: 'someone.else@example.test', password: 'another long passphrase', emailVerified: true });
  });
  after(async () => {
    await rp?.close();
    await gh?.close();
    await receiver?.close();
    await services?.stop();
  });

  const atRp = (u: string) => u.startsWith(rp.origin);

  async function signInToApp(agent: UserAgent) {
    const url = await rp.authorizationUrl({ scope: 'openid offline_access', prompt: 'consent' });
    let page = await agent.open(url.href, atRp);
    if (!atRp(page.url)) page = await submitPassword(agent, page, user, atRp);
    if (!atRp(page.url)) page = await agent.submit(page, formAction(page.html, /\/consent$/), {}, atRp);
    await agent.open(page.url);
    const tokens = rp.callbacks.at(-1)!.tokens;
    assert.ok(tokens?.refresh_token, `the app got a refresh token: ${page.url}`);
    return tokens;
  }

  /** The login page's answer to this email and password, in a fresh browser. */
  async function tryPassword(email: string, password: string) {
    const agent = new UserAgent();
    const page = await agent.open((await rp.authorizationUrl({ scope: 'openid' })).href, atRp);
    return submitPassword(agent, page, { email, password }, atRp);
  }

  it('refuses the refresh token, userinfo and introspection, tells the app, and refuses the password', async () => {
    const tokens = await signInToApp(new UserAgent());
    const sid = String(tokens.claims()!.sid);
    const sub = tokens.claims()!.sub;
    assert.ok(await oidc.fetchUserInfo(config, tokens.access_token, sub), 'userinfo works before');
    const arrived = receiver.next();

    const run = await cliInProcess(gh.context, ['users', 'disable', '--email', user.email.toUpperCase(), '--output', 'json']);
    assert.equal(run.code, 0, run.stderr);
    const printed = JSON.parse(run.stdout) as { status: string; sessions_ended: number; grants_revoked: number };
    assert.equal(printed.status, 'disabled');
    assert.equal(printed.sessions_ended, 1);

    await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token!), (err: oidc.ResponseBodyError) => err.error === 'invalid_grant');
    await assert.rejects(oidc.fetchUserInfo(config, tokens.access_token, sub));
    assert.equal((await oidc.tokenIntrospection(config, tokens.access_token)).active, false);

    // Back-Channel Logout 1.0 §2.4: a signed logout token for that session
    await arrived;
    const jwks = createRemoteJWKSet(new URL(`${gh.issuer}/jwks`));
    const verified = await Promise.all(receiver.tokens.map((t) => jwtVerify(t, jwks, { issuer: gh.issuer, audience: clientId })));
    assert.ok(verified.some(({ payload }) => payload.sid === sid && payload.sub === sub));

    // the right password gets exactly what a wrong one gets: status and words
    const right = await tryPassword(user.email, user.password);
    const wrong = await tryPassword(user.email, 'not the password at all');
    const unknown = await tryPassword('nobody.here@example.test', user.password);
    for (const page of [right, wrong, unknown]) {
      assert.equal(page.status, 401);
      assert.ok(page.html.includes(WRONG), page.html.slice(0, 400));
    }
    assert.ok(!atRp(right.url));
    const events = await gh.context.store.audit.query({ types: ['admin.user.disabled'] });
    assert.equal(typeof events.at(-1)?.details.operator, 'string', 'who did it is recorded');
    assert.equal(events.at(-1)?.details.via, 'cli');
  });

  it('enable lets the person sign in again', async () => {
    await gh.context.accountLifecycle.enable({ scope: DEFAULT_SCOPE, account: { email: user.email }, by });
    const tokens = await signInToApp(new UserAgent());
    assert.ok((await oidc.refreshTokenGrant(config, tokens.refresh_token!)).access_token);
    const account = await gh.context.store.accounts.findByEmail(user.email);
    assert.ok(account!.lastLoginAt! > Date.now() - 60_000, 'the sign-in is dated');
  });

  it('a disable racing sign-ins leaves no session that gets tokens', async () => {
    const attempts = Array.from({ length: 6 }, async () => {
      const agent = new UserAgent();
      const page = await agent.open((await rp.authorizationUrl({ scope: 'openid offline_access', prompt: 'consent' })).href, atRp);
      let next = await submitPassword(agent, page, user, atRp);
      if (!atRp(next.url) && next.html.includes('/consent"')) next = await agent.submit(next, formAction(next.html, /\/consent$/), {}, atRp);
      if (atRp(next.url)) await agent.open(next.url);
      return agent;
    });
    const disabling = gh.context.accountLifecycle.disable({ scope: DEFAULT_SCOPE, account: { email: user.email }, by });
    const agents = await Promise.all(attempts);
    await disabling;
    // whatever won the race, after the disable nothing of the account works: no refresh, no silent sign-in
    for (const cb of rp.callbacks.filter((c) => c.tokens?.refresh_token)) {
      await assert.rejects(oidc.refreshTokenGrant(config, cb.tokens!.refresh_token!), (err: oidc.ResponseBodyError) => err.error === 'invalid_grant');
    }
    for (const agent of agents) {
      const before = rp.callbacks.length;
      await agent.open((await rp.authorizationUrl({ prompt: 'none' })).href);
      const cb = rp.callbacks.at(-1)!;
      assert.ok(rp.callbacks.length > before, 'the app got an answer');
      assert.equal(cb.tokens, undefined, `no tokens for a disabled account: ${cb.url.href}`);
    }
  });
});
}
