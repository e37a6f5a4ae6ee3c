/**
 * Issue 11 items 1-2: every token response says what it granted (RFC 6749 §3.3, §5.1), and a client_credentials
 * token always names one registered API and scopes it defines (RFC 6749 §4.4, §5.2; RFC 8707 §2).
 * openid-client is the strict client; the refusals are sent as raw requests, as an attacker would.
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { basicAuth, expectOAuthError, tokenRequest } from '../helpers/oauth.js';
import { UserAgent, signIn, formAction, type Page } from '../helpers/user-agent.js';

const BILLING = 'https://billing.example.test';
const REPORTS = 'https://reports.example.test';
const ARCHIVE = 'https://archive.example.test';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';
const insecure = { execute: [oidc.allowInsecureRequests] };

type Creds = { client_id: string; client_secret: string };

describe('protocol: the token response says what was granted; client_credentials tokens name an API (issue 11 items 1-2)', () => {
  let gh: TestGatehouse;
  let job: Creds;
  let withDefault: Creds;
  let issued = 0;
  const user = { email: 'ada@example.test', password: 'analytical engine notes', name: 'Ada' };

  const register = async (metadata: Record<string, unknown>): Promise<Creds> => {
    const c = await gh.context.clients.create(metadata);
    return { client_id: c.client_id, client_secret: String(c.client_secret) };
  };
  const machine = (metadata: Record<string, unknown>) =>
    register({ client_name: 'Job', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], ...metadata });
  const cc = (c: Creds, params: Record<string, string>) =>
    tokenRequest(gh.issuer, { grant_type: 'client_credentials', ...params }, { authorization: basicAuth(c.client_id, c.client_secret) });
  const rpOf = (c: Creds) => oidc.discovery(new URL(gh.issuer), c.client_id, c.client_secret, undefined, insecure);
  const verifyFor = async (token: string, audience: string) =>
    (await jwtVerify(token, createRemoteJWKSet(new URL(`${gh.issuer}/jwks`)), { issuer: gh.issuer, audience, typ: 'at+jwt' })).payload;

  /** a refusal: the spec's status and error, and no token issued for it */
  async function refused(res: Promise<Response>, error: string, description?: RegExp) {
    const before = issued;
    const body = await expectOAuthError(await res, error, 400);
    if (description) assert.match(String(body.error_description), description);
    assert.equal(issued, before, 'no token was issued');
    return body;
  }

  before(async () => {
    gh = await bootGatehouse();
    gh.context.providers.current.on('grant.success', () => { issued += 1; });
    await gh.context.accounts.create({ ...user, emailVerified: true });
    await gh.context.resources.create({ identifier: BILLING, name: 'Billing', scopes: { 'invoices:read': 'Read invoices', 'invoices:write': 'Create invoices' }, accessTokenTtl: 300, permissionsFromRoles: false });
    await gh.context.resources.create({ identifier: REPORTS, name: 'Reports', scopes: { 'reports:read': 'Read reports', 'shared:read': 'Read shared files' }, accessTokenTtl: 300, permissionsFromRoles: false });
    await gh.context.resources.create({ identifier: ARCHIVE, name: 'Archive', scopes: { 'shared:read': 'Read shared files' }, accessTokenTtl: 300, permissionsFromRoles: false });
    // `admin` and `openid` are registered, so the refusals below are about the API, not the registration
    job = await machine({ scope: 'invoices:read invoices:write reports:read shared:read admin openid' });
    withDefault = await machine({ scope: 'invoices:read reports:read', gatehouse_default_resource: BILLING });
  });
  after(() => gh.close());

  describe('client_credentials: unknown or unusable scopes (RFC 6749 §5.2 invalid_scope)', () => {
    it('refuses scope=nope, with and without a resource, in parallel, and issues nothing', async () => {
      const asks: Record<string, string>[] = [{ scope: 'nope' }, { scope: 'nope', resource: BILLING }, { scope: 'invoices:read nope' }, { scope: 'NOPE' }];
      await Promise.all(asks.flatMap((ask) => [1, 2, 3, 4, 5].map(() => refused(cc(job, ask), 'invalid_scope'))));
    });

    it('refuses a registered scope that no registered API defines', async () => {
      await refused(cc(job, { scope: 'admin' }), 'invalid_scope', /no registered API defines admin/);
      await refused(cc(job, { scope: 'invoices:read admin', resource: BILLING }), 'invalid_scope', /no registered API defines admin/);
    });

    it('refuses OpenID scopes: client_credentials has no person to describe', async () => {
      await refused(cc(job, { scope: 'openid' }), 'invalid_scope', /OpenID scopes/);
      await refused(cc(job, { scope: 'openid invoices:read', resource: BILLING }), 'invalid_scope', /OpenID scopes/);
    });

    it('refuses a resource that defines none of the requested scopes, naming what it defines for this client', async () => {
      await refused(cc(job, { scope: 'reports:read', resource: BILLING }), 'invalid_scope', /invoices:read, invoices:write/);
    });

    it('refuses a request without scope, resource or default API (RFC 6749 §3.3: no pre-defined default → invalid_scope)', async () => {
      await refused(cc(job, {}), 'invalid_scope', /no scope requested and no default API/);
    });
  });

  describe('client_credentials: which API, without `resource` (RFC 8707 §2)', () => {
    it('uses the one API that defines all requested scopes, and says what was granted', async () => {
      const tokens = await oidc.clientCredentialsGrant(await rpOf(job), { scope: 'invoices:read' });
      assert.equal(tokens.scope, 'invoices:read');
      assert.equal((await verifyFor(tokens.access_token, BILLING)).scope, 'invoices:read');
    });

    it('refuses scopes two APIs define with invalid_target naming both', async () => {
      const body = await refused(cc(job, { scope: 'shared:read' }), 'invalid_target', /more than one API/);
      assert.match(String(body.error_description), new RegExp(`${REPORTS}.*${ARCHIVE}|${ARCHIVE}.*${REPORTS}`));
      // naming one is accepted
      const tokens = await oidc.clientCredentialsGrant(await rpOf(job), { scope: 'shared:read', resource: ARCHIVE });
      assert.equal(tokens.scope, 'shared:read');
      assert.equal((await verifyFor(tokens.access_token, ARCHIVE)).scope, 'shared:read');
    });

    it('refuses scopes of two different APIs with invalid_scope saying which belongs where', async () => {
      const body = await refused(cc(job, { scope: 'invoices:read reports:read' }), 'invalid_scope', /no single API/);
      assert.match(String(body.error_description), new RegExp(`invoices:read \\(${BILLING}\\).*reports:read \\(${REPORTS}\\)`));
    });

    it('uses the client’s gatehouse_default_resource', async () => {
      const rp = await rpOf(withDefault);
      const tokens = await oidc.clientCredentialsGrant(rp, { scope: 'invoices:read' });
      assert.equal(tokens.scope, 'invoices:read');
      assert.equal((await verifyFor(tokens.access_token, BILLING)).aud, BILLING);
      // the default API does not define reports:read: refused, not silently dropped
      await refused(cc(withDefault, { scope: 'reports:read' }), 'invalid_scope', /defines none of the requested scopes/);
      // an explicit resource still wins
      const reports = await oidc.clientCredentialsGrant(rp, { scope: 'reports:read', resource: REPORTS });
      assert.equal((await verifyFor(reports.access_token, REPORTS)).scope, 'reports:read');
    });

    it('without scope, grants the client’s registered scopes of the API, and says so (RFC 6749 §3.3 default)', async () => {
      const viaDefault = await oidc.clientCredentialsGrant(await rpOf(withDefault), {});
      assert.equal(viaDefault.scope, 'invoices:read');
      assert.equal((await verifyFor(viaDefault.access_token, BILLING)).scope, 'invoices:read');
      const named = await oidc.clientCredentialsGrant(await rpOf(job), { resource: BILLING });
      assert.equal(named.scope, 'invoices:read invoices:write');
      assert.equal((await verifyFor(named.access_token, BILLING)).scope, 'invoices:read invoices:write');
    });

    it('narrows to the named API’s scopes and names the granted scope (RFC 6749 §5.1)', async () => {
      const tokens = await oidc.clientCredentialsGrant(await rpOf(job), { scope: 'invoices:read reports:read', resource: BILLING });
      assert.equal(tokens.scope, 'invoices:read');
    });

    it('registers gatehouse_default_resource only when it names a registered API, and stores nothing otherwise', async () => {
      const before = (await gh.context.clients.list()).length;
      for (const value of ['https://unknown.example.test', `${BILLING}#x`, 'not a uri', 42, ` ${BILLING}`]) {
        await assert.rejects(
          machine({ scope: 'invoices:read', gatehouse_default_resource: value }),
          (err: Error & { error_description?: string }) => /gatehouse_default_resource/.test(`${err.message} ${err.error_description ?? ''}`),
          String(value),
        );
      }
      assert.equal((await gh.context.clients.list()).length, before);
    });
  });

  describe('user grants: the response names the granted scope', () => {
    it('authorization_code narrowed to the registered API scopes, then refresh_token with a narrower scope', async () => {
      const web = await register({ client_name: 'Dashboard', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], scope: 'openid offline_access email invoices:read' });
      const rp = await rpOf(web);
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const url = oidc.buildAuthorizationUrl(rp, {
        redirect_uri: REDIRECT_URI, scope: 'openid offline_access email invoices:read invoices:write', resource: BILLING, prompt: 'consent', state,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
      });
      const callback = new URL(await signIn(new UserAgent(), url.href, REDIRECT_URI, user));
      const tokens = await oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state }, { resource: BILLING });
      assert.equal(tokens.scope, 'invoices:read', 'the access token is for Billing, with the one scope the client may have');
      assert.equal((await verifyFor(tokens.access_token, BILLING)).scope, 'invoices:read');
      assert.ok(tokens.refresh_token);

      // RFC 6749 §6: a narrower scope on refresh; the response names it
      const narrower = await oidc.refreshTokenGrant(rp, tokens.refresh_token, { scope: 'openid email' });
      assert.equal(narrower.scope, 'openid email');
      // and wider is refused (RFC 6749 §6: "MUST NOT include any scope not originally granted")
      const wider = await tokenRequest(gh.issuer, { grant_type: 'refresh_token', refresh_token: narrower.refresh_token!, scope: 'openid profile' }, { authorization: basicAuth(web.client_id, web.client_secret) });
      await expectOAuthError(wider, 'invalid_scope', 400);
    });

    it('device_code narrowed to the registered API scopes (RFC 8628 §3.5)', async () => {
      const tv = await register({
        client_name: 'Wall display', grant_types: [DEVICE_CODE, 'refresh_token'], response_types: [], redirect_uris: [],
        token_endpoint_auth_method: 'none', application_type: 'native', scope: 'openid invoices:read',
      });
      const rp = await oidc.discovery(new URL(gh.issuer), tv.client_id, undefined, oidc.None(), insecure);
      const started = await oidc.initiateDeviceAuthorization(rp, { scope: 'openid invoices:read invoices:write', resource: BILLING });
      const phone = new UserAgent();
      let page: Page = await phone.open(started.verification_uri);
      page = await phone.submit(page, formAction(page.html, /\/device$/), { user_code: started.user_code });
      for (let step = 0; step < 5 && !/Your device is connected/.test(page.html); step++) {
        if (/action="[^"]*\/login"/.test(page.html)) page = await phone.submit(page, formAction(page.html, /\/login$/), user);
        else if (/action="[^"]*\/consent"/.test(page.html)) page = await phone.submit(page, formAction(page.html, /\/consent$/), {});
        else if (/op\.deviceConfirmForm/.test(page.html)) page = await phone.submit(page, formAction(page.html, /\/device$/), {});
        else assert.fail(`unexpected page ${page.status} ${page.url}`);
      }
      assert.match(page.html, /Your device is connected/);
      // one poll, after the person approved: no interval to wait for
      const res = await tokenRequest(gh.issuer, { grant_type: DEVICE_CODE, device_code: started.device_code, client_id: tv.client_id, resource: BILLING });
      const body = (await res.json()) as { access_token: string; scope?: string };
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.scope, 'invoices:read');
      assert.equal((await verifyFor(body.access_token, BILLING)).scope, 'invoices:read');
    });
  });
});
