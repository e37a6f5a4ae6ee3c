/**
 * Issue 10 item 8: scopes fail closed. A client that registered no `scope` (RFC 7591 §2) gets the OpenID scopes
 * and no API scope, whichever grant it uses; a client with `scope` gets only those. Clients registered before the
 * rule are the attack surface, so they are written to the store directly, as an older Gatehouse wrote them.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { bootGatehouse, TEST_ENCRYPTION_KEY, type TestGatehouse } from '../helpers/gatehouse.js';
import { basicAuth, expectOAuthError, tokenRequest } from '../helpers/oauth.js';
import { UserAgent, signIn } from '../helpers/user-agent.js';
import { runCli } from '../helpers/run-cli.js';

const API = 'https://billing.example.test';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const insecure = { execute: [oidc.allowInsecureRequests] };

describe('security: a client without registered scope gets no API scope (issue 10 item 8)', () => {
  let gh: TestGatehouse;
  const user = { email: 'grace@example.test', password: 'compiler of the first order', name: 'Grace' };

  /** A client as Gatehouse before this rule stored it: no `scope`, secret encrypted. */
  async function legacyClient(metadata: Record<string, unknown>) {
    const clientId = randomBytes(16).toString('base64url');
    const secret = randomBytes(32).toString('base64url');
    await gh.context.store.clients.create({ clientId, metadata: { ...metadata, client_id: clientId }, secretCiphertext: gh.context.cipher.encrypt(secret), createdAt: Date.now() });
    return { client_id: clientId, client_secret: secret };
  }
  const cli = (...args: string[]) =>
    runCli({ DATABASE_URL: `sqlite:${gh.dataDir}/gatehouse.db`, KEY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEY, ISSUER: gh.issuer }, ...args);
  const oidcRows = async () => JSON.stringify(await gh.context.store.oidc.findByAccountId('ClientCredentials', 'none'));

  before(async () => {
    gh = await bootGatehouse();
    await gh.context.accounts.create({ ...user, emailVerified: true });
    await gh.context.resources.create({ identifier: API, name: 'Billing', scopes: { 'invoices:read': 'Read invoices', 'invoices:write': 'Create invoices' }, accessTokenTtl: 300, permissionsFromRoles: false });
  });
  after(() => gh.close());

  it('refuses to register a client_credentials client without scope, and stores nothing', async () => {
    const before = (await gh.context.clients.list()).length;
    for (const scope of [undefined, '', '   ']) {
      await assert.rejects(
        gh.context.clients.create({ client_name: 'Job', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], ...(scope === undefined ? {} : { scope }) }),
        /client_credentials grant must register the API scopes/,
      );
    }
    assert.equal((await gh.context.clients.list()).length, before);
    const run = await cli('clients', 'create', '--json', JSON.stringify({ grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }));
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /must register the API scopes/);
    assert.equal((await gh.context.clients.list()).length, before);
  });

  it('client_credentials: a legacy client without scope asking for API scopes gets invalid_scope (RFC 6749 §5.2), in parallel too', async () => {
    const job = await legacyClient({ client_name: 'Old job', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] });
    const clientsBefore = JSON.stringify(await gh.context.store.clients.find(job.client_id));
    const rowsBefore = await oidcRows();
    const asks = ['invoices:read', 'invoices:read invoices:write', 'INVOICES:READ', ' invoices:read'];
    const answers = await Promise.all(
      asks.flatMap((scope) => [1, 2, 3].map(() => tokenRequest(gh.issuer, { grant_type: 'client_credentials', resource: API, scope }, { authorization: basicAuth(job.client_id, job.client_secret) }))),
    );
    for (const res of answers) await expectOAuthError(res, 'invalid_scope', 400);
    // no scope asked: a token with no API scope at all
    const bare = await tokenRequest(gh.issuer, { grant_type: 'client_credentials', resource: API }, { authorization: basicAuth(job.client_id, job.client_secret) });
    if (bare.ok) {
      const body = (await bare.json()) as { access_token: string; scope?: string };
      const { payload } = await jwtVerify(body.access_token, createRemoteJWKSet(new URL(`${gh.issuer}/jwks`)), { issuer: gh.issuer, audience: API });
      assert.ok(!payload.scope, `no API scope, got ${String(payload.scope)}`);
    } else {
      assert.ok(bare.status === 400, `refused as an OAuth error, not ${bare.status}`);
    }
    assert.equal(JSON.stringify(await gh.context.store.clients.find(job.client_id)), clientsBefore, 'the client record is unchanged');
    assert.equal(await oidcRows(), rowsBefore);
  });

  it('authorization code with a resource indicator: a legacy client without scope gets an access token with no API scope', async () => {
    const web = await legacyClient({ client_name: 'Old web app', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] });
    const rp = await oidc.discovery(new URL(gh.issuer), web.client_id, web.client_secret, undefined, insecure);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT_URI, scope: 'openid email invoices:read invoices:write', resource: API, prompt: 'consent', state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const callback = new URL(await signIn(new UserAgent(), url.href, REDIRECT_URI, user));
    const tokens = await oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state }, { resource: API });
    const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${gh.issuer}/jwks`)), { issuer: gh.issuer, audience: API });
    assert.ok(!String(payload.scope ?? '').includes('invoices'), `no API scope in the token, got ${String(payload.scope)}`);
    assert.ok(!String(tokens.scope ?? '').includes('invoices'), `no API scope in the answer, got ${String(tokens.scope)}`);
    // the OpenID scopes still work for it
    assert.equal(tokens.claims()?.sub !== undefined, true);
  });

  it('a client with scope gets only those, and `clients set-scope` migrates a legacy client', async () => {
    const job = await legacyClient({ client_name: 'Old job 2', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] });
    const run = await cli('clients', 'set-scope', '--client-id', job.client_id, '--scope', 'invoices:read');
    assert.equal(run.code, 0, run.stderr);
    const record = await gh.context.store.clients.find(job.client_id);
    assert.equal(record?.metadata.scope, 'invoices:read');
    const auth = { authorization: basicAuth(job.client_id, job.client_secret) };
    const ok = await tokenRequest(gh.issuer, { grant_type: 'client_credentials', resource: API, scope: 'invoices:read' }, auth);
    assert.equal(ok.status, 200, await ok.clone().text());
    const { payload } = await jwtVerify(((await ok.json()) as { access_token: string }).access_token, createRemoteJWKSet(new URL(`${gh.issuer}/jwks`)), { issuer: gh.issuer, audience: API });
    assert.equal(payload.scope, 'invoices:read');
    await expectOAuthError(await tokenRequest(gh.issuer, { grant_type: 'client_credentials', resource: API, scope: 'invoices:read invoices:write' }, auth), 'invalid_scope', 400);
    // removing the scope of a client_credentials client is refused, and the record stays
    const refused = await cli('clients', 'set-scope', '--client-id', job.client_id, '--scope', '');
    assert.notEqual(refused.code, 0);
    assert.equal((await gh.context.store.clients.find(job.client_id))?.metadata.scope, 'invoices:read');
  });
});
