/**
 * The client credentials grant (RFC 6749 §4.4) for an API named by a resource indicator (RFC 8707), issuing
 * RFC 9068 JWT access tokens. openid-client is the machine client, jose's remote JWKS is the API.
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { basicAuth, expectOAuthError, tokenRequest } from '../helpers/oauth.js';
import { UserAgent, signIn } from '../helpers/user-agent.js';

const API = 'https://billing.example.test';
const OTHER_API = 'https://reports.example.test';

describe('client credentials grant for an API (RFC 6749 §4.4, RFC 8707, RFC 9068)', () => {
  let gh: TestGatehouse;
  let service: { client_id: string; client_secret: string };
  let limited: { client_id: string; client_secret: string };
  let webApp: { client_id: string; client_secret: string };

  const register = async (metadata: Record<string, unknown>) => {
    const c = await gh.context.clients.create(metadata);
    return { client_id: c.client_id, client_secret: String(c.client_secret) };
  };
  const machine = (c: { client_id: string; client_secret: string }) =>
    oidc.discovery(new URL(gh.issuer), c.client_id, c.client_secret, undefined, { execute: [oidc.allowInsecureRequests] });

  before(async () => {
    gh = await bootGatehouse();
    await gh.context.resources.create({
      identifier: API,
      name: 'Billing API',
      scopes: { 'invoices:read': 'Read invoices', 'invoices:write': 'Create invoices' },
      accessTokenTtl: 300, permissionsFromRoles: false });
    await gh.context.resources.create({ identifier: OTHER_API, scopes: { 'reports:read': 'Read reports' }, accessTokenTtl: 300, permissionsFromRoles: false });
    // A machine client: no redirect URIs, no response types, only this grant.
    // reports:read belongs to the other API and admin to none: what the resource defines still limits the grant
    service = await register({ client_name: 'Nightly job', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'invoices:read invoices:write reports:read admin' });
    // RFC 7591 §2: "scope ... scope values that the client can use when requesting access tokens"
    limited = await register({ client_name: 'Read-only job', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'invoices:read' });
    webApp = await register({ client_name: 'Web app', redirect_uris: ['http://127.0.0.1:9/cb'] });
  });
  after(() => gh.close());

  it('issues an RFC 9068 JWT access token for the requested resource that the API verifies with the JWKS', async () => {
    const rp = await machine(service);
    const tokens = await oidc.clientCredentialsGrant(rp, { resource: API, scope: 'invoices:read invoices:write' });
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.equal(tokens.expires_in, 300, 'the resource’s own access token lifetime');
    assert.equal(tokens.refresh_token, undefined, 'RFC 6749 §4.4.3: a refresh token SHOULD NOT be included');

    const jwks = createRemoteJWKSet(new URL(`${gh.issuer}/jwks`));
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, { issuer: gh.issuer, audience: API, typ: 'at+jwt', algorithms: ['RS256'] });
    // RFC 9068 §2.1: typ "at+jwt"; §2.2: iss, exp, aud, sub, client_id, iat, jti
    assert.equal(protectedHeader.typ, 'at+jwt');
    const published = (await (await fetch(`${gh.issuer}/jwks`)).json()) as { keys: { kid: string }[] };
    assert.ok(published.keys.some((k) => k.kid === protectedHeader.kid), 'the kid names a published key');
    assert.equal(payload.aud, API);
    assert.equal(payload.client_id, service.client_id);
    // RFC 9068 §2.2: with no resource owner, sub identifies the client
    assert.equal(payload.sub, service.client_id);
    assert.equal(payload.scope, 'invoices:read invoices:write');
    assert.equal(typeof payload.jti, 'string');
    assert.equal((payload.exp as number) - (payload.iat as number), 300);
  });

  it('grants only the scopes the resource defines, and names the granted scope when it differs (RFC 6749 §3.3, §5.1)', async () => {
    const rp = await machine(service);
    // reports:read is another API's: left out, and the response says so. (`admin`, which no API defines, is
    // invalid_scope since issue 11: test/protocol/token-scope.test.ts)
    const tokens = await oidc.clientCredentialsGrant(rp, { resource: API, scope: 'invoices:read reports:read' });
    assert.equal(tokens.scope, 'invoices:read');
    const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${gh.issuer}/jwks`)), { issuer: gh.issuer, audience: API });
    assert.equal(payload.scope, 'invoices:read');
  });

  it('grants only the scopes the client is registered for (RFC 7591 §2 "scope")', async () => {
    const rp = await machine(limited);
    const tokens = await oidc.clientCredentialsGrant(rp, { resource: API, scope: 'invoices:read' });
    const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${gh.issuer}/jwks`)), { issuer: gh.issuer, audience: API });
    assert.equal(payload.scope, 'invoices:read');

    // RFC 6749 §5.2 invalid_scope: "exceeds the scope granted by the resource owner" (here, the client's registration)
    const more = await tokenRequest(gh.issuer, { grant_type: 'client_credentials', resource: API, scope: 'invoices:read invoices:write' }, { authorization: basicAuth(limited.client_id, limited.client_secret) });
    await expectOAuthError(more, 'invalid_scope', 400);
    const other = await tokenRequest(gh.issuer, { grant_type: 'client_credentials', resource: API, scope: 'invoices:write' }, { authorization: basicAuth(limited.client_id, limited.client_secret) });
    await expectOAuthError(other, 'invalid_scope', 400);
  });

  it('limits what a person can grant a web client to the API scopes it registered, too (RFC 7591 §2, RFC 6749 §3.3)', async () => {
    const user = { email: 'ops@example.test', password: 'a password for the test' };
    await gh.context.accounts.create(user);
    const redirectUri = 'http://127.0.0.1:9/readonly';
    const c = await register({ client_name: 'Read-only dashboard', redirect_uris: [redirectUri], scope: 'openid invoices:read' });
    const rp = await machine(c);
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: redirectUri,
      scope: 'openid invoices:read invoices:write',
      resource: API,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const callback = await signIn(new UserAgent(), url.href, redirectUri, user);
    const tokens = await oidc.authorizationCodeGrant(rp, new URL(callback), { pkceCodeVerifier: verifier }, { resource: API });
    const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${gh.issuer}/jwks`)), { issuer: gh.issuer, audience: API });
    assert.equal(payload.scope, 'invoices:read');
    assert.equal(tokens.scope, 'invoices:read', 'RFC 6749 §5.1: the response names the narrower scope');
  });

  it('refuses a scope that is not a valid scope token with invalid_scope (RFC 6749 §3.3, §5.2)', async () => {
    const res = await tokenRequest(gh.issuer, { grant_type: 'client_credentials', resource: API, scope: 'invoices:read "quoted"' }, { authorization: basicAuth(service.client_id, service.client_secret) });
    await expectOAuthError(res, 'invalid_scope', 400);
  });

  it('refuses an unknown resource with invalid_target (RFC 8707 §2)', async () => {
    const rp = await machine(service);
    await assert.rejects(
      oidc.clientCredentialsGrant(rp, { resource: 'https://unknown.example.test', scope: 'invoices:read' }),
      (err: oidc.ResponseBodyError) => err.error === 'invalid_target' && err.status === 400,
    );
    // RFC 8707 §2: the indicator "MUST be an absolute URI ... MUST NOT include a fragment component"
    const fragment = await tokenRequest(gh.issuer, { grant_type: 'client_credentials', resource: `${API}#x` }, { authorization: basicAuth(service.client_id, service.client_secret) });
    await expectOAuthError(fragment, 'invalid_target', 400);
  });

  it('refuses two resources at once for this grant with invalid_target (RFC 8707 §2)', async () => {
    const params = new URLSearchParams({ grant_type: 'client_credentials', scope: 'invoices:read reports:read' });
    params.append('resource', API);
    params.append('resource', OTHER_API);
    const res = await fetch(`${gh.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(service.client_id, service.client_secret) },
      body: params,
    });
    await expectOAuthError(res, 'invalid_target', 400);
  });

  it('refuses a client that is not registered for this grant with unauthorized_client (RFC 6749 §5.2)', async () => {
    const rp = await machine(webApp);
    await assert.rejects(
      oidc.clientCredentialsGrant(rp, { resource: API, scope: 'invoices:read' }),
      (err: oidc.ResponseBodyError) => err.error === 'unauthorized_client' && err.status === 400,
    );
  });

  it('tells the API which token is which: the token is signed by the current key and not usable for another audience', async () => {
    const rp = await machine(service);
    const tokens = await oidc.clientCredentialsGrant(rp, { resource: API, scope: 'invoices:read' });
    const jwks = createRemoteJWKSet(new URL(`${gh.issuer}/jwks`));
    // RFC 9068 §4: the resource server MUST check aud
    await assert.rejects(jwtVerify(tokens.access_token, jwks, { issuer: gh.issuer, audience: OTHER_API }), { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
    const { kid } = decodeProtectedHeader(tokens.access_token);
    const [current] = await gh.context.store.signingKeys.list();
    assert.equal(kid, current?.kid);
  });
});
