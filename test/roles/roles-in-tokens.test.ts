/**
 * Roles decide what a person may get at an API that takes permissions from roles (issue 14): the access
 * token's scope is what was asked ∩ what the client may ask for ∩ what the person's roles grant; consent
 * lists only that; every refresh re-evaluates it, so taking a role away shrinks the next token and giving
 * it back restores it (within what the person consented to). A resource server verifying with jose
 * refuses the scope the token lacks. Opt-in `roles` / `permissions` claims; client_credentials keeps the
 * client's registered scope; an API registered without roles behaves as before.
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent, formAction, type Page } from '../helpers/user-agent.js';
import { submitPassword, authorizationRequest } from '../mfa/helpers.js';

const REDIRECT_URI = 'http://127.0.0.1:9/cb';
const ORDERS = 'https://orders.example.test';
const LEGACY = 'https://legacy.example.test';
const insecure = { execute: [oidc.allowInsecureRequests] };

describe('roles and permissions in tokens', function () {
  this.timeout(60_000);
  let gh: TestGatehouse;
  let rp: oidc.Configuration;
  let jwks: ReturnType<typeof createRemoteJWKSet>;
  const reader = { email: 'reader@example.test', password: 'copper kettle wintergreen 9' };
  const writer = { email: 'writer@example.test', password: 'marble lantern quietude 7' };

  /** The resource server's own check: our JWKS, our issuer, its audience, then the scope it needs. */
  async function resourceServerAllows(token: string, needed: string): Promise<JWTPayload> {
    const { payload } = await jwtVerify(token, jwks, { issuer: gh.issuer, audience: ORDERS, typ: 'at+jwt' });
    const scopes = String(payload.scope ?? '').split(' ');
    if (!scopes.includes(needed)) throw new Error(`insufficient_scope: ${needed}`);
    return payload;
  }

  /** The code flow for ORDERS (and LEGACY); returns the consent page it showed and the tokens. */
  async function signInFor(user: { email: string; password: string }, scope: string, resource = ORDERS) {
    const agent = new UserAgent();
    const atClient = (u: string) => u.startsWith(REDIRECT_URI);
    const request = await authorizationRequest(rp, REDIRECT_URI, { scope, resource, prompt: 'consent' });
    let page: Page = await submitPassword(agent, await agent.open(request.url, atClient), user, atClient);
    const consent = page;
    assert.match(consent.html, /\/consent"/, 'the consent page is shown');
    page = await agent.submit(page, formAction(page.html, /\/consent$/), {}, atClient);
    const tokens = await oidc.authorizationCodeGrant(rp, new URL(page.url), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce }, { resource });
    return { consent: consent.html, tokens };
  }

  before(async () => {
    gh = await bootGatehouse();
    const { resources, roles, accounts, clients } = gh.context;
    await resources.create({ identifier: ORDERS, scopes: { 'orders:read': 'Read your orders', 'orders:write': 'Change your orders' }, accessTokenTtl: 300, tokenClaims: ['roles', 'permissions'] });
    await resources.create({ identifier: LEGACY, scopes: { 'legacy:read': 'Read the old ledger' }, accessTokenTtl: 300, permissionsFromRoles: false });
    await roles.create({ name: 'orders-reader', permissions: [{ resource: ORDERS, scope: 'orders:read' }] });
    await roles.create({ name: 'orders-writer', permissions: [{ resource: ORDERS, scope: 'orders:write' }] });
    await accounts.create({ ...reader, emailVerified: true });
    await accounts.create({ ...writer, emailVerified: true });
    await accounts.setRoles(reader.email, ['orders-reader']);
    await accounts.setRoles(writer.email, ['orders-reader', 'orders-writer']);
    const c = await clients.create({
      redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      scope: 'openid offline_access orders:read orders:write legacy:read',
    });
    rp = await oidc.discovery(new URL(gh.issuer), c.client_id, String(c.client_secret), undefined, insecure);
    jwks = createRemoteJWKSet(new URL(`${gh.issuer}/jwks`));
  });
  after(() => gh.close());

  it('a person without the role gets a narrowed token, consent lists only what they can get, and the resource server refuses the missing scope', async () => {
    const { consent, tokens } = await signInFor(reader, 'openid offline_access orders:read orders:write');
    assert.match(consent, /Read your orders/);
    assert.doesNotMatch(consent, /Change your orders/, 'consent does not offer what the roles do not grant');
    assert.equal(tokens.scope?.split(' ').includes('orders:write'), false);
    const payload = await resourceServerAllows(tokens.access_token, 'orders:read');
    await assert.rejects(resourceServerAllows(tokens.access_token, 'orders:write'), /insufficient_scope/);
    assert.deepEqual(payload.roles, ['orders-reader'], 'the opt-in roles claim');
    assert.deepEqual(payload.permissions, ['orders:read'], 'the opt-in permissions claim');
  });

  it('asking only for what the roles do not grant gives a token with no scope of that API, whatever the request says', async () => {
    const { tokens } = await signInFor(reader, 'openid orders:write');
    await assert.rejects(resourceServerAllows(tokens.access_token, 'orders:write'), /insufficient_scope/);
  });

  it('removing a role shrinks the next refreshed token; giving it back widens it again; the refresh token keeps working', async () => {
    const { consent, tokens } = await signInFor(writer, 'openid offline_access orders:read orders:write');
    assert.match(consent, /Change your orders/);
    await resourceServerAllows(tokens.access_token, 'orders:write');
    assert.ok(tokens.refresh_token);

    await gh.context.accounts.setRoles(writer.email, ['orders-reader']);
    const shrunk = await oidc.refreshTokenGrant(rp, tokens.refresh_token!, { resource: ORDERS });
    await resourceServerAllows(shrunk.access_token, 'orders:read');
    await assert.rejects(resourceServerAllows(shrunk.access_token, 'orders:write'), /insufficient_scope/);
    assert.equal(shrunk.scope?.split(' ').includes('orders:write'), false, 'the token response says what the token holds (RFC 6749 §5.1)');

    await gh.context.accounts.setRoles(writer.email, []);
    const empty = await oidc.refreshTokenGrant(rp, shrunk.refresh_token!, { resource: ORDERS });
    await assert.rejects(resourceServerAllows(empty.access_token, 'orders:read'), /insufficient_scope/);

    await gh.context.accounts.setRoles(writer.email, ['orders-reader', 'orders-writer']);
    const widened = await oidc.refreshTokenGrant(rp, empty.refresh_token!, { resource: ORDERS });
    await resourceServerAllows(widened.access_token, 'orders:write');
  });

  it('changing a role\'s permissions applies at the next refresh of everyone holding it', async () => {
    await gh.context.accounts.setRoles(writer.email, ['orders-reader', 'orders-writer']);
    const { tokens } = await signInFor(writer, 'openid offline_access orders:read orders:write');
    await gh.context.roles.revoke('orders-writer', [{ resource: ORDERS, scope: 'orders:write' }]);
    try {
      const next = await oidc.refreshTokenGrant(rp, tokens.refresh_token!, { resource: ORDERS });
      await assert.rejects(resourceServerAllows(next.access_token, 'orders:write'), /insufficient_scope/);
    } finally {
      await gh.context.roles.grant('orders-writer', [{ resource: ORDERS, scope: 'orders:write' }]);
    }
  });

  it('a disabled-then-deleted role grants nothing: deleting it removes the assignment', async () => {
    await gh.context.roles.create({ name: 'orders-temp', permissions: [{ resource: ORDERS, scope: 'orders:write' }] });
    await gh.context.accounts.setRoles(reader.email, ['orders-reader', 'orders-temp']);
    assert.equal(await gh.context.roles.delete('orders-temp'), true);
    assert.deepEqual((await gh.context.accounts.findByEmail(reader.email))?.roles, ['orders-reader']);
  });

  it('an API registered with permissionsFromRoles false gives people what the client may ask for, as before roles', async () => {
    const { tokens } = await signInFor(reader, 'openid legacy:read', LEGACY);
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: gh.issuer, audience: LEGACY });
    assert.equal(payload.scope, 'legacy:read');
    assert.equal(payload.roles, undefined, 'no opt-in claims on this API');
  });

  it('client_credentials: the client\'s registered scope, whatever roles exist (roles are people\'s)', async () => {
    const tokens = await oidc.clientCredentialsGrant(rp, { resource: ORDERS, scope: 'orders:read orders:write' });
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: gh.issuer, audience: ORDERS });
    assert.equal(payload.scope, 'orders:read orders:write');
    assert.equal(payload.roles, undefined);
  });

  it('an assignment must name a role record; role names are exact', async () => {
    await assert.rejects(gh.context.accounts.setRoles(reader.email, ['no-such-role']), /no role is named "no-such-role"/);
    await assert.rejects(gh.context.accounts.setRoles(reader.email, ['Orders-Reader']), /no role is named/);
    assert.deepEqual((await gh.context.accounts.findByEmail(reader.email))?.roles, ['orders-reader'], 'a refused change leaves the roles as they were');
  });

  it('built-in roles exist, cannot be deleted or changed, and hold the management scopes', async () => {
    const admin = await gh.context.roles.find('gatehouse:admin');
    assert.ok(admin?.permissions.some((p) => p.resource === 'urn:gatehouse:admin' && p.scope === 'admin:keys:write'));
    const userAdmin = await gh.context.roles.find('gatehouse:user-admin');
    assert.ok(userAdmin && !userAdmin.permissions.some((p) => p.scope === 'admin:keys:write'));
    assert.ok(await gh.context.roles.find('gatehouse:auditor'));
    await assert.rejects(gh.context.roles.delete('gatehouse:admin'), /built-in/);
    await assert.rejects(gh.context.roles.update('gatehouse:auditor', { permissions: [] }), /built-in/);
  });
});
