/**
 * Issue 10 item 9: changing the password with "sign out every other browser" ticked really signs the
 * others out. The person's phone signed in to a relying party (openid-client, offline_access) and holds
 * a refresh token; the person, or the attacker who knew the leaked password, is on the phone. From the
 * laptop the password is changed with the box ticked: the phone's refresh token is refused
 * (invalid_grant), its session no longer signs in silently (prompt=none), its app receives a back-channel
 * logout token for that session, and the laptop (its session and its own app's refresh token) still works.
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { startLogoutReceiver, type LogoutReceiver } from '../helpers/logout-receiver.js';
import { startRelyingParty, type TestRelyingParty } from '../helpers/relying-party.js';
import { UserAgent, formAction } from '../helpers/user-agent.js';
import { submitPassword } from '../mfa/helpers.js';

describe('security: a password change that signs out other browsers revokes their tokens (issue 10 item 9)', () => {
  let gh: TestGatehouse;
  let rp: TestRelyingParty;
  let config: oidc.Configuration;
  let clientId: string;
  let receiver: LogoutReceiver;
  const user = { email: 'pat@example.test', password: 'the first password of pat' };

  before(async () => {
    receiver = await startLogoutReceiver();
    // the receiver runs on loopback, which only OUTBOUND_PRIVATE_HOSTS lets the provider reach
    gh = await bootGatehouse({ OUTBOUND_PRIVATE_HOSTS: '127.0.0.1' });
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
  });
  after(async () => {
    await rp?.close();
    await gh?.close();
    await receiver?.close();
  });

  const atRp = (u: string) => u.startsWith(rp.origin);

  /** Signs `agent` in to the app (password, consent for offline_access) and returns the app's tokens. */
  async function signInToApp(agent: UserAgent) {
    const url = await rp.authorizationUrl({ scope: 'openid offline_access', prompt: 'consent' });
    let page = await agent.open(url.href, atRp);
    if (!atRp(page.url) && page.html.includes('/login"')) page = await submitPassword(agent, page, user, atRp);
    if (!atRp(page.url)) page = await agent.submit(page, formAction(page.html, /\/consent$/), {}, atRp);
    await agent.open(page.url);
    const tokens = rp.callbacks.at(-1)!.tokens;
    assert.ok(tokens?.refresh_token, 'the app got a refresh token');
    return tokens;
  }

  /** prompt=none from `agent`: the app's callback (a code redeemed, or an error). */
  async function silentSignIn(agent: UserAgent) {
    await agent.open((await rp.authorizationUrl({ prompt: 'none' })).href);
    return rp.callbacks.at(-1)!;
  }

  it('revokes the other browser\'s refresh token and session, tells its app, and keeps this browser signed in', async () => {
    const phone = new UserAgent();
    const laptop = new UserAgent();
    const phoneTokens = await signInToApp(phone);
    const phoneSid = String(phoneTokens.claims()!.sid);
    const home = await submitPassword(laptop, await laptop.open(`${gh.issuer}/account`), user);
    assert.match(home.html, /Your account/);
    const laptopTokens = await signInToApp(laptop);
    // the phone's refresh token works before the change
    const phoneRefresh = (await oidc.refreshTokenGrant(config, phoneTokens.refresh_token!)).refresh_token!;

    const account = (await gh.context.store.accounts.findByEmail(user.email))!;
    const grantsBefore = await gh.context.store.oidc.findByAccountId('Grant', account.id);
    const arrived = receiver.next();

    const changed = await laptop.submit(home, '/account/password', {
      current_password: user.password, new_password: 'the second password of pat', confirm_password: 'the second password of pat', sign_out_others: 'yes',
    });
    assert.match(changed.html, /every other browser was signed out/);

    // OAuth 2.0 (RFC 6749 §5.2): a revoked refresh token is invalid_grant; the rotated one and the original
    for (const token of [phoneRefresh, phoneTokens.refresh_token!]) {
      await assert.rejects(oidc.refreshTokenGrant(config, token), (err: oidc.ResponseBodyError) => err.error === 'invalid_grant');
    }
    assert.equal((await oidc.tokenIntrospection(config, phoneTokens.access_token)).active, false, 'its access token is dead too');

    // Back-Channel Logout 1.0 §2.4: a logout token for the phone's session, signed by the provider
    await arrived;
    const jwks = createRemoteJWKSet(new URL(`${gh.issuer}/jwks`));
    const verified = await Promise.all(receiver.tokens.map((t) => jwtVerify(t, jwks, { issuer: gh.issuer, audience: clientId })));
    assert.ok(verified.some(({ payload }) => payload.sid === phoneSid && payload.sub === phoneTokens.claims()!.sub), 'the phone session was logged out at the app');
    assert.ok(!verified.some(({ payload }) => payload.sid === laptopTokens.claims()!.sid), 'the laptop session was not');

    // the phone's session is gone: no silent sign-in, and the account pages ask it to sign in
    const phoneSilent = await silentSignIn(phone);
    assert.equal(phoneSilent.url.searchParams.get('error'), 'login_required');
    assert.equal(phoneSilent.tokens, undefined);

    // the laptop: still signed in, its app still refreshes, and it still signs in silently
    assert.match((await laptop.open(`${gh.issuer}/account`)).html, /Your account/);
    assert.ok((await oidc.refreshTokenGrant(config, laptopTokens.refresh_token!)).access_token);
    const laptopSilent = await silentSignIn(laptop);
    assert.ok(laptopSilent.tokens?.access_token, `the laptop signs in silently: ${laptopSilent.url.href}`);

    // in the store: one session left (the laptop's); the phone's grant is gone, the laptop's are kept
    const sessions = await gh.context.store.oidc.findByAccountId('Session', account.id);
    assert.equal(sessions.length, 1);
    const kept = new Set(Object.values((sessions[0] as { authorizations?: Record<string, { grantId?: string }> }).authorizations ?? {}).map((a) => a.grantId));
    const grantsAfter = (await gh.context.store.oidc.findByAccountId('Grant', account.id)).map((g) => String(g.jti));
    assert.ok(grantsAfter.every((id) => kept.has(id)), 'only the laptop session\'s grants remain');
    assert.ok(grantsBefore.length > grantsAfter.length);
    // the audit log says what was ended: the change (stored with the new password), then what it ended
    const events = await gh.context.store.audit.query({ accountId: account.id, types: ['password.changed', 'sessions.ended'] });
    assert.deepEqual(events.map((e) => e.type), ['password.changed', 'sessions.ended'], JSON.stringify(events));
    assert.equal(events[1]!.details.via, 'password_changed');
    assert.equal(events[1]!.details.sessionsEnded, 1);
  });

  it('unticked: the other browser and its refresh token stay', async () => {
    const phone = new UserAgent();
    const laptop = new UserAgent();
    user.password = 'the second password of pat';
    const phoneTokens = await signInToApp(phone);
    const home = await submitPassword(laptop, await laptop.open(`${gh.issuer}/account`), user);
    const changed = await laptop.submit(home, '/account/password', {
      current_password: user.password, new_password: 'the third password of pat', confirm_password: 'the third password of pat',
    });
    assert.match(changed.html, /Your password was changed\./);
    assert.ok((await oidc.refreshTokenGrant(config, phoneTokens.refresh_token!)).access_token);
  });
});
