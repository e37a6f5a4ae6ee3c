/**
 * OpenID Connect Core §3.1 (authorization code flow) with PKCE (RFC 7636), end to end: openid-client as
 * the relying party, the real login and consent pages as form posts, jose as the resource server.
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent, signIn, formAction } from '../helpers/user-agent.js';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const API = 'https://api.example.test';

describe('authorization code + PKCE, end to end', () => {
  let gh: TestGatehouse;
  let rp: oidc.Configuration;
  let clientId: string;
  const user = { email: 'ada@example.test', password: 'correct horse battery staple', name: 'Ada Lovelace' };

  before(async () => {
    gh = await bootGatehouse();
    await gh.context.accounts.create({ ...user, emailVerified: true });
    await gh.context.resources.create({ identifier: API, name: 'Example API', scopes: { 'read:things': 'Read your things' }, accessTokenTtl: 600, permissionsFromRoles: false });
    const client = await gh.context.clients.create({
      client_name: 'Example RP',
      redirect_uris: [REDIRECT_URI],
      post_logout_redirect_uris: ['http://127.0.0.1:9/'],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'openid profile email offline_access read:things',
    });
    clientId = client.client_id;
    rp = await oidc.discovery(new URL(gh.issuer), clientId, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
  });
  after(() => gh.close());

  async function login(extra: Record<string, string> = {}) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid profile email offline_access read:things',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      prompt: 'consent',
      resource: API,
      ...extra,
    });
    const agent = new UserAgent();
    const callback = await signIn(agent, url.href, REDIRECT_URI, user);
    return { agent, callback: new URL(callback), verifier, state, nonce };
  }

  it('signs in through the hosted pages and issues RS256 ID, access and refresh tokens', async () => {
    const { agent, callback, verifier, state, nonce } = await login();
    // RFC 9207: the issuer is named in the authorization response
    assert.equal(callback.searchParams.get('iss'), gh.issuer);

    const tokens = await oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce }, { resource: API });
    const claims = tokens.claims()!;
    assert.equal(claims.iss, gh.issuer);
    assert.equal(claims.aud, clientId);
    assert.equal(claims.nonce, nonce);
    assert.equal(claims.email, user.email);
    assert.equal(claims.email_verified, true);
    assert.equal(claims.name, user.name);
    assert.equal(typeof claims.auth_time, 'number');
    assert.equal(claims.acr, 'urn:gatehouse:acr:password');
    assert.deepEqual(claims.amr, ['pwd']);

    // The ID token's signature, checked against the JWKS as any RP library would
    const jwks = createRemoteJWKSet(new URL(`${gh.issuer}/jwks`));
    const idHeader = decodeProtectedHeader(tokens.id_token!);
    assert.equal(idHeader.alg, 'RS256');
    assert.ok(idHeader.kid);
    await jwtVerify(tokens.id_token!, jwks, { issuer: gh.issuer, audience: clientId });

    // RFC 9068: the API verifies the access token offline
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, { issuer: gh.issuer, audience: API, typ: 'at+jwt' });
    assert.equal(protectedHeader.alg, 'RS256');
    assert.ok(protectedHeader.kid);
    assert.equal(payload.client_id, clientId);
    assert.equal(payload.sub, claims.sub);
    assert.equal(payload.scope, 'read:things');
    // RFC 6749 §5.1: scope differs from the request, so the response states it
    assert.equal(tokens.scope, 'read:things');
    assert.ok(tokens.refresh_token);

    // Userinfo needs an access token for the OpenID scopes: refresh without a resource
    const refreshed = await oidc.refreshTokenGrant(rp, tokens.refresh_token!);
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'refresh tokens rotate');
    const info = await oidc.fetchUserInfo(rp, refreshed.access_token, claims.sub);
    assert.equal(info.email, user.email);
    assert.equal(info.name, user.name);

    // Introspection (RFC 7662) answers for every kind of token issued here
    const jwtAt = await oidc.tokenIntrospection(rp, tokens.access_token);
    assert.equal(jwtAt.active, true);
    assert.equal(jwtAt.aud, API);
    assert.equal(jwtAt.client_id, clientId);
    assert.equal(jwtAt.sub, claims.sub);
    const opaqueAt = await oidc.tokenIntrospection(rp, refreshed.access_token);
    assert.equal(opaqueAt.active, true);
    assert.equal(opaqueAt.sub, claims.sub);
    const rt = await oidc.tokenIntrospection(rp, refreshed.refresh_token!);
    assert.equal(rt.active, true);
    assert.equal(rt.client_id, clientId);
    // the rotated-away refresh token is no longer active
    assert.equal((await oidc.tokenIntrospection(rp, tokens.refresh_token!)).active, false);

    // Revocation (RFC 7009): of the JWT access token, and of the refresh token
    await oidc.tokenRevocation(rp, tokens.access_token);
    assert.equal((await oidc.tokenIntrospection(rp, tokens.access_token)).active, false);
    await oidc.tokenRevocation(rp, refreshed.refresh_token!);
    assert.equal((await oidc.tokenIntrospection(rp, refreshed.refresh_token!)).active, false);
    await assert.rejects(oidc.refreshTokenGrant(rp, refreshed.refresh_token!), (err: oidc.ResponseBodyError) => err.error === 'invalid_grant');

    // RP-initiated logout: confirmation page, then back to the registered post-logout URI
    const endSession = oidc.buildEndSessionUrl(rp, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'http://127.0.0.1:9/', state: 'bye' });
    const confirm = await agent.open(endSession.href);
    assert.equal(confirm.status, 200);
    assert.match(confirm.html, /Sign out/);
    const done = await agent.submit(confirm, formAction(confirm.html, /\/session\/end\/confirm$/), { logout: 'yes' }, (u) => u.startsWith('http://127.0.0.1:9/'));
    assert.equal(done.url, 'http://127.0.0.1:9/?state=bye');
    // the session is gone: a new authorization request shows the login page again
    const again = await agent.open(oidc.buildAuthorizationUrl(rp, { redirect_uri: REDIRECT_URI, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256' }).href);
    assert.match(again.html, /action="\/interaction\/[^"]+\/login"/);
  });

  it('accepts the authorization request as a form POST (OpenID Connect Core §3.1.2.1)', async () => {
    const verifier = oidc.randomPKCECodeVerifier();
    const params = new URLSearchParams({
      client_id: clientId, response_type: 'code', scope: 'openid', redirect_uri: REDIRECT_URI,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'post-state',
    });
    const agent = new UserAgent();
    const res = await agent.fetch(`${gh.issuer}/auth`, { method: 'POST', body: params, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(res.status, 303);
    const callback = await signIn(agent, new URL(res.headers.get('location')!, gh.issuer).href, REDIRECT_URI, user);
    assert.equal(new URL(callback).searchParams.get('state'), 'post-state');
    assert.ok(new URL(callback).searchParams.get('code'));
  });
});
