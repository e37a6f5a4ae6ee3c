/**
 * Issue 10 item 10: tokens are not stored in the clear. After a real code flow with refresh, nothing in the
 * database (any table, any row) contains an access token, refresh token, authorization code or session cookie,
 * and every one of them still works: userinfo, refresh, introspection, revocation, sign-out of other sessions.
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { sqliteText } from '../helpers/sqlite-text.js';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { basicAuth, tokenRequest } from '../helpers/oauth.js';
import { UserAgent, signIn } from '../helpers/user-agent.js';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';

describe('security: bearer values are stored only as hashes (issue 10 item 10)', () => {
  let gh: TestGatehouse;
  let rp: oidc.Configuration;
  let client: { client_id: string; client_secret: string };
  const user = { email: 'ada@example.test', password: 'correct horse battery staple', name: 'Ada' };

  before(async () => {
    gh = await bootGatehouse();
    await gh.context.accounts.create({ ...user, emailVerified: true });
    const c = await gh.context.clients.create({ client_name: 'RP', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', 'refresh_token'], scope: 'openid email offline_access' });
    client = { client_id: c.client_id, client_secret: String(c.client_secret) };
    rp = await oidc.discovery(new URL(gh.issuer), client.client_id, client.client_secret, undefined, { execute: [oidc.allowInsecureRequests] });
  });
  after(() => gh.close());

  const databaseText = () => sqliteText(gh.dataDir);

  async function codeFlow(agent: UserAgent) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT_URI, scope: 'openid email offline_access', prompt: 'consent', state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const callback = new URL(await signIn(agent, url.href, REDIRECT_URI, user));
    const code = callback.searchParams.get('code')!;
    const tokens = await oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
    return { code, tokens };
  }

  it('no row contains the code, access token, refresh token or session cookie, and they all still work', async () => {
    const agent = new UserAgent();
    const { code, tokens } = await codeFlow(agent);
    const refreshed = await oidc.refreshTokenGrant(rp, tokens.refresh_token!);
    const session = agent.cookies.get('_session');
    assert.ok(session, 'the browser holds a session cookie');
    const secrets = { code, access: tokens.access_token, refresh: tokens.refresh_token!, access2: refreshed.access_token, refresh2: refreshed.refresh_token!, session };

    const text = databaseText();
    for (const [name, value] of Object.entries(secrets)) assert.ok(!text.includes(value), `${name} is not in the database`);

    // the hashes a reader would find are not usable as tokens
    const info = await oidc.fetchUserInfo(rp, refreshed.access_token, tokens.claims()!.sub);
    assert.equal(info.email, user.email);
    assert.equal((await oidc.tokenIntrospection(rp, refreshed.refresh_token!)).active, true);
    assert.equal((await oidc.tokenIntrospection(rp, tokens.access_token)).active, true);
    // the session cookie still signs the browser in (prompt=none gives a code)
    const again = await codeFlow(agent);
    assert.ok(again.code);
    // the old refresh token was rotated; the new one works, then is revoked
    const third = await oidc.refreshTokenGrant(rp, refreshed.refresh_token!);
    await oidc.tokenRevocation(rp, third.refresh_token!);
    assert.equal((await oidc.tokenIntrospection(rp, third.refresh_token!)).active, false);
    const after = await tokenRequest(gh.issuer, { grant_type: 'refresh_token', refresh_token: third.refresh_token! }, { authorization: basicAuth(client.client_id, client.client_secret) });
    assert.equal(after.status, 400);
    // a replayed code is refused
    const replay = await tokenRequest(gh.issuer, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: 'x'.repeat(43) }, { authorization: basicAuth(client.client_id, client.client_secret) });
    assert.equal(replay.status, 400);
  });

  it('the stored keys presented as tokens find nothing', async () => {
    const { tokens } = await codeFlow(new UserAgent());
    const { storageKey } = await import('../../src/oidc/adapter.js');
    for (const token of [tokens.access_token, tokens.refresh_token!]) {
      for (const forged of [storageKey(token), `~${storageKey(token)}`]) {
        assert.equal((await oidc.tokenIntrospection(rp, forged)).active, false);
        const res = await fetch(`${gh.issuer}/me`, { headers: { authorization: `Bearer ${forged}` } });
        assert.equal(res.status, 401);
      }
    }
  });

  it('signing out every other browser still finds and ends the sessions', async () => {
    const agent = new UserAgent();
    await codeFlow(agent);
    const account = await gh.context.accounts.findByEmail(user.email);
    const result = await gh.context.signOutEverywhere(account!.id);
    assert.ok(result.sessions >= 1);
    const res = await agent.fetch(oidc.buildAuthorizationUrl(rp, { redirect_uri: REDIRECT_URI, scope: 'openid', prompt: 'none', code_challenge: 'a'.repeat(43), code_challenge_method: 'S256' }).href, { redirect: 'manual' });
    assert.match(String(res.headers.get('location')), /error=login_required/);
  });
});
