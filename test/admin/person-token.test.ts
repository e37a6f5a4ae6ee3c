/**
 * A person calls the management API with a token from the normal code flow (resource urn:gatehouse:admin).
 * What the token carries comes from the person's roles (issue 14): a person without them gets no admin
 * scope whatever the client asks for; a gatehouse:user-admin can list users but not rotate keys. The role
 * must also still be held at the time of the call, so taking it away ends access at once; the audit
 * event names the person as well as the client.
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent, signIn } from '../helpers/user-agent.js';
import { createAdminCaller, managementToken } from './admin-client.js';

const REDIRECT_URI = 'http://127.0.0.1:9/cb';
const ADMIN = 'urn:gatehouse:admin';
const ASKED = 'openid admin:users:read admin:keys:write';

describe('management API: a person\'s token', () => {
  let gh: TestGatehouse;
  let call: ReturnType<typeof createAdminCaller>;
  let rp: oidc.Configuration;
  const operator = { email: 'operator@example.com', password: 'violet tangerine submarine 42' };
  const nobody = { email: 'nobody@example.com', password: 'saffron glacier harmonica 17' };
  let operatorId: string;

  async function personToken(user: { email: string; password: string }) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT_URI, scope: ASKED, resource: ADMIN, state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const callback = new URL(await signIn(new UserAgent(), url.href, REDIRECT_URI, user));
    return oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state }, { resource: ADMIN });
  }

  before(async () => {
    gh = await bootGatehouse();
    call = createAdminCaller(gh);
    operatorId = (await gh.context.accounts.create({ ...operator, emailVerified: true })).id;
    await gh.context.accounts.create({ ...nobody, emailVerified: true });
    await gh.context.accounts.setRoles(operator.email, ['gatehouse:user-admin']);
    const c = await gh.context.clients.create({ redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'], scope: ASKED });
    rp = await oidc.discovery(new URL(gh.issuer), c.client_id, String(c.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
  });
  after(() => gh.close());

  it('a gatehouse:user-admin gets admin:users:read but not admin:keys:write: lists users, cannot rotate keys', async () => {
    const tokens = await personToken(operator);
    // the access token's scope is the API's part (oidc-provider: the resource's scopes only)
    assert.equal(tokens.scope, 'admin:users:read');
    assert.equal((await call('GET', '/users', { token: tokens.access_token })).status, 200);
    const rotate = await call('POST', '/keys/rotate', { token: tokens.access_token, body: {} });
    assert.equal(rotate.status, 403);
    assert.match(rotate.headers.get('www-authenticate') ?? '', /insufficient_scope/);
  });

  it('a person without management roles gets no admin scope, whatever the client asks for', async () => {
    const tokens = await personToken(nobody);
    assert.equal(tokens.scope ?? '', '');
    const res = await call('GET', '/users', { token: tokens.access_token });
    assert.equal(res.status, 403);
  });

  it('taking the role away ends access at once, with the token already issued', async () => {
    const tokens = await personToken(operator);
    assert.equal((await call('GET', `/users/${operatorId}`, { token: tokens.access_token })).status, 200);
    await gh.context.accounts.setRoles(operator.email, []);
    try {
      assert.equal((await call('GET', `/users/${operatorId}`, { token: tokens.access_token })).status, 403);
    } finally {
      await gh.context.accounts.setRoles(operator.email, ['gatehouse:user-admin']);
    }
    assert.equal((await call('GET', `/users/${operatorId}`, { token: tokens.access_token })).status, 200);
  });

  it('audits the call with the person and the client', async () => {
    const tokens = await personToken(operator);
    await call('GET', `/users/${operatorId}`, { token: tokens.access_token });
    const reader = await managementToken(gh, 'admin:audit:read');
    const events = (await call('GET', `/audit?account=${operatorId}&type=admin.api.users.read`, { token: reader })).body.items as { account_id: string; client_id: string }[];
    assert.ok(events.length >= 1);
    assert.ok(events.every((e) => e.account_id === operatorId && typeof e.client_id === 'string'));
  });
});
