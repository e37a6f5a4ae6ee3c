/**
 * A person calls the management API with a token from the normal code flow (resource urn:gatehouse:admin):
 * the token's scope is needed, and so is a role allowing it, held at the time of the call; the audit
 * event names the person as well as the client.
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent, signIn } from '../helpers/user-agent.js';
import { createAdminCaller, managementToken } from './admin-client.js';

const REDIRECT_URI = 'http://127.0.0.1:9/cb';
const ADMIN = 'urn:gatehouse:admin';

describe('management API: a person\'s token', () => {
  let gh: TestGatehouse;
  let call: ReturnType<typeof createAdminCaller>;
  let personToken: string;
  let accountId: string;
  const user = { email: 'operator@example.com', password: 'violet tangerine submarine 42' };
  before(async () => {
    gh = await bootGatehouse();
    call = createAdminCaller(gh);
    const account = await gh.context.accounts.create({ ...user, emailVerified: true });
    accountId = account.id;
    const c = await gh.context.clients.create({ redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'], scope: 'openid admin:users:read' });
    const rp = await oidc.discovery(new URL(gh.issuer), c.client_id, String(c.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT_URI, scope: 'openid admin:users:read', resource: ADMIN, state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const callback = new URL(await signIn(new UserAgent(), url.href, REDIRECT_URI, user));
    const tokens = await oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state }, { resource: ADMIN });
    personToken = tokens.access_token;
  });
  after(() => gh.close());

  it('is refused without a role allowing the scope, accepted with it, refused again once it is taken away', async () => {
    assert.equal((await call('GET', `/users/${accountId}`, { token: personToken })).status, 403);
    await gh.context.accounts.setRoles(user.email, ['admin:users:read']);
    const ok = await call('GET', `/users/${accountId}`, { token: personToken });
    assert.equal(ok.status, 200);
    await gh.context.accounts.setRoles(user.email, ['gatehouse:admin']);
    assert.equal((await call('GET', `/users/${accountId}`, { token: personToken })).status, 200);
    await gh.context.accounts.setRoles(user.email, []);
    assert.equal((await call('GET', `/users/${accountId}`, { token: personToken })).status, 403);
  });

  it('the role does not widen the token: a scope the token lacks is still 403 insufficient_scope', async () => {
    await gh.context.accounts.setRoles(user.email, ['gatehouse:admin']);
    const res = await call('GET', '/clients', { token: personToken });
    assert.equal(res.status, 403);
    assert.match(res.headers.get('www-authenticate') ?? '', /insufficient_scope/);
  });

  it('audits the call with the person and the client', async () => {
    await gh.context.accounts.setRoles(user.email, ['gatehouse:admin']);
    await call('GET', `/users/${accountId}`, { token: personToken });
    const reader = await managementToken(gh, 'admin:audit:read');
    const events = (await call('GET', `/audit?account=${accountId}&type=admin.api.users.read`, { token: reader })).body.items as { account_id: string; client_id: string }[];
    assert.ok(events.length >= 1);
    assert.ok(events.every((e) => e.account_id === accountId && typeof e.client_id === 'string'));
  });
});
