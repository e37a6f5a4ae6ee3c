/**
 * Everything Gatehouse keeps lives in its store: a restart on the same SQLite file loses nothing a person,
 * a relying party or an API relies on.
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent, signIn } from '../helpers/user-agent.js';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const API = 'https://api.example.test';
const user = { email: 'ada@example.test', password: 'the analytical engine weaves' };

describe('a restart on the same store', () => {
  let gh: TestGatehouse;
  let client: { client_id: string; client_secret: string };
  const discover = () => oidc.discovery(new URL(gh.issuer), client.client_id, client.client_secret, undefined, { execute: [oidc.allowInsecureRequests] });
  const kids = async () => ((await (await fetch(`${gh.issuer}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid).sort();

  before(async () => {
    gh = await bootGatehouse();
  });
  after(() => gh.close());

  it('keeps accounts, clients and their secrets, resources, signing keys, browser sessions and refresh tokens', async () => {
    await gh.context.accounts.create({ ...user, emailVerified: true });
    await gh.context.resources.create({ identifier: API, scopes: { 'read:things': 'Read your things' }, accessTokenTtl: 600, permissionsFromRoles: false });
    const c = await gh.context.clients.create({ redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', 'refresh_token'] });
    client = { client_id: c.client_id, client_secret: String(c.client_secret) };

    let rp = await discover();
    const agent = new UserAgent();
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid offline_access read:things',
      resource: API,
      prompt: 'consent',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const callback = new URL(await signIn(agent, url.href, REDIRECT_URI, user));
    const tokens = await oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier }, { resource: API });
    const sub = tokens.claims()!.sub;
    const kidsBefore = await kids();

    await gh.restart();
    rp = await discover();

    // signing keys: the same key set is published, and tokens signed before still verify
    assert.deepEqual(await kids(), kidsBefore);
    const jwks = createRemoteJWKSet(new URL(`${gh.issuer}/jwks`));
    await jwtVerify(tokens.access_token, jwks, { issuer: gh.issuer, audience: API, typ: 'at+jwt' });
    await jwtVerify(tokens.id_token!, jwks, { issuer: gh.issuer, audience: client.client_id });
    // and introspection still knows the access token issued before
    assert.equal((await oidc.tokenIntrospection(rp, tokens.access_token)).active, true);

    // the client's secret (encrypted at rest) still authenticates it, and the refresh token still works
    const refreshed = await oidc.refreshTokenGrant(rp, tokens.refresh_token!, { resource: API });
    assert.equal((await jwtVerify(refreshed.access_token, jwks, { issuer: gh.issuer, audience: API })).payload.sub, sub);

    // the browser session: prompt=none returns a code without showing the login page
    const silentVerifier = oidc.randomPKCECodeVerifier();
    const silent = await agent.open(
      oidc.buildAuthorizationUrl(rp, {
        redirect_uri: REDIRECT_URI,
        scope: 'openid',
        prompt: 'none',
        code_challenge: await oidc.calculatePKCECodeChallenge(silentVerifier),
        code_challenge_method: 'S256',
      }).href,
      (u) => u.startsWith(REDIRECT_URI),
    );
    const silentCallback = new URL(silent.url);
    assert.equal(silentCallback.searchParams.get('error'), null, silent.url);
    assert.ok(silentCallback.searchParams.get('code'));
    const silentTokens = await oidc.authorizationCodeGrant(rp, silentCallback, { pkceCodeVerifier: silentVerifier });
    assert.equal(silentTokens.claims()!.sub, sub);

    // the account: a new browser signs in with the same password
    const fresh = new UserAgent();
    const freshVerifier = oidc.randomPKCECodeVerifier();
    const freshUrl = oidc.buildAuthorizationUrl(rp, { redirect_uri: REDIRECT_URI, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(freshVerifier), code_challenge_method: 'S256' });
    const freshTokens = await oidc.authorizationCodeGrant(rp, new URL(await signIn(fresh, freshUrl.href, REDIRECT_URI, user)), { pkceCodeVerifier: freshVerifier });
    assert.equal(freshTokens.claims()!.sub, sub);

    // the resource is still registered
    assert.equal((await gh.context.resources.find(API))?.scopes['read:things'], 'Read your things');
  });
});
