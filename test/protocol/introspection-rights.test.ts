/**
 * RFC 7662 §2.1, §4: a client may introspect only tokens issued to itself, or tokens whose audience is an
 * API it is registered to serve (`gatehouse resources introspector`). Every other token is `active: false`,
 * the same answer as for a token that does not exist, so a caller learns nothing about other clients' tokens.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { bootGatehouse, TEST_ENCRYPTION_KEY, type TestGatehouse } from '../helpers/gatehouse.js';
import { runCli } from '../helpers/run-cli.js';
import { UserAgent, signIn } from '../helpers/user-agent.js';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const INVOICES = 'https://invoices.example.test';
const PAYROLL = 'https://payroll.example.test';
const user = { email: 'grace@example.test', password: 'compilers and bugs', name: 'Grace Hopper' };
const insecure = { execute: [oidc.allowInsecureRequests] };

describe('who may introspect what (RFC 7662 §2.1, §4)', () => {
  let gh: TestGatehouse;
  let a: oidc.Configuration; // the client the tokens are issued to
  let b: oidc.Configuration; // another confidential client
  let rs: oidc.Configuration; // the invoices API's own credentials
  let rsId: string;

  const cli = (...args: string[]) =>
    runCli({ DATABASE_URL: `sqlite:${join(gh.dataDir, 'gatehouse.db')}`, ISSUER: gh.issuer, KEY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEY }, 'resources', ...args);

  async function confidential(name: string, extra: Record<string, unknown> = {}) {
    const c = await gh.context.clients.create({
      client_name: name,
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      scope: 'openid offline_access invoices:read payroll:read',
      token_endpoint_auth_method: 'client_secret_basic',
      ...extra,
    });
    return { id: c.client_id, rp: await oidc.discovery(new URL(gh.issuer), c.client_id, String(c.client_secret), undefined, insecure) };
  }

  before(async () => {
    gh = await bootGatehouse();
    await gh.context.accounts.create({ ...user, emailVerified: true });
    await gh.context.resources.create({ identifier: INVOICES, scopes: { 'invoices:read': 'Read invoices' }, accessTokenTtl: 600, permissionsFromRoles: false });
    await gh.context.resources.create({ identifier: PAYROLL, scopes: { 'payroll:read': 'Read payroll' }, accessTokenTtl: 600, permissionsFromRoles: false });
    a = (await confidential('Client A')).rp;
    b = (await confidential('Client B')).rp;
    const server = await confidential('Invoices API');
    rs = server.rp;
    rsId = server.id;
    const run = await cli('introspector', '--identifier', INVOICES, '--client-id', rsId);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout).gatehouse_introspects, [INVOICES]);
  });
  after(() => gh.close());

  it("answers another client's JWT access token with exactly {active: false}, and the token stays active", async () => {
    const { access_token } = await oidc.clientCredentialsGrant(a, { resource: INVOICES, scope: 'invoices:read' });
    // an attacker holding B's credentials tries it many times at once
    const answers = await Promise.all(Array.from({ length: 10 }, () => oidc.tokenIntrospection(b, access_token)));
    for (const answer of answers) assert.deepEqual(answer, { active: false });
    const own = await oidc.tokenIntrospection(a, access_token);
    assert.equal(own.active, true);
    assert.equal(own.aud, INVOICES);
  });

  it("lets the API's registered resource server introspect tokens for that API, and only that API", async () => {
    const invoices = await oidc.clientCredentialsGrant(a, { resource: INVOICES, scope: 'invoices:read' });
    const answer = await oidc.tokenIntrospection(rs, invoices.access_token);
    assert.equal(answer.active, true);
    assert.equal(answer.client_id, (a.clientMetadata() as { client_id: string }).client_id);
    assert.equal(answer.scope, 'invoices:read');

    const payroll = await oidc.clientCredentialsGrant(a, { resource: PAYROLL, scope: 'payroll:read' });
    assert.deepEqual(await oidc.tokenIntrospection(rs, payroll.access_token), { active: false });
    assert.equal((await oidc.tokenIntrospection(a, payroll.access_token)).active, true);
  });

  it("answers another client's opaque access and refresh tokens with {active: false}, also for a resource server", async () => {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(a, {
      redirect_uri: REDIRECT_URI, scope: 'openid offline_access', prompt: 'consent', state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const tokens = await oidc.authorizationCodeGrant(a, new URL(await signIn(new UserAgent(), url.href, REDIRECT_URI, user)), { pkceCodeVerifier: verifier, expectedState: state });
    for (const token of [tokens.access_token, tokens.refresh_token!]) {
      assert.ok(!token.includes('.'), 'opaque');
      assert.deepEqual(await oidc.tokenIntrospection(b, token), { active: false });
      // the userinfo token's audience is not the invoices API
      assert.deepEqual(await oidc.tokenIntrospection(rs, token), { active: false });
      assert.equal((await oidc.tokenIntrospection(a, token)).active, true);
    }
  });

  it('refuses a registration for an unknown API or client, and a malformed one, changing nothing', async () => {
    const unknownApi = await cli('introspector', '--identifier', 'https://nowhere.example.test', '--client-id', rsId);
    assert.notEqual(unknownApi.code, 0);
    const unknownClient = await cli('introspector', '--identifier', PAYROLL, '--client-id', 'no-such-client');
    assert.notEqual(unknownClient.code, 0);
    const record = (await gh.context.clients.list()).find((r) => r.clientId === rsId);
    assert.deepEqual(record?.metadata.gatehouse_introspects, [INVOICES]);
    await assert.rejects(gh.context.clients.create({
      client_name: 'Bad', redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'client_secret_basic', gatehouse_introspects: 'https://invoices.example.test',
    }));
  });

  it('withdraws the right with --remove', async () => {
    const { access_token } = await oidc.clientCredentialsGrant(a, { resource: INVOICES, scope: 'invoices:read' });
    const run = await cli('introspector', '--identifier', INVOICES, '--client-id', rsId, '--remove');
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await oidc.tokenIntrospection(rs, access_token), { active: false });
    assert.equal((await oidc.tokenIntrospection(a, access_token)).active, true);
  });
});
