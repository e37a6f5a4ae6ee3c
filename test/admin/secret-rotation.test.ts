/**
 * Rotating a client secret with an overlap window: the old secret keeps working at the token endpoints
 * for the window (so a deployment can be rolled), and not after; the new one works at once. The window
 * is set small by the test (1 s), and the test waits only until the old secret is refused (or, for
 * client_secret_post, until the store no longer holds the previous secret). The previous secret works in
 * HTTP Basic and in the form body (client_secret_post) alike, at token, introspection and revocation.
 */
import assert from 'node:assert/strict';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { basicAuth, expectOAuthError, tokenRequest } from '../helpers/oauth.js';
import { STORES } from './stores.js';
import { createAdminCaller, managementToken } from './admin-client.js';

for (const store of STORES) {
describe(`management API: client secret rotation with an overlap window (${store.name})`, () => {
  let services: Awaited<ReturnType<typeof store.start>>;
  let gh: TestGatehouse;
  let call: ReturnType<typeof createAdminCaller>;
  let token: string;
  before(async () => {
    services = await store.start();
    gh = await bootGatehouse(services.env);
    call = createAdminCaller(gh);
    token = await managementToken(gh, 'admin:clients:write admin:audit:read admin:keys:read');
  });
  after(async () => {
    await gh?.close();
    await services?.stop();
  });

  const grant = (id: string, secret: string) => tokenRequest(gh.issuer, { grant_type: 'client_credentials', scope: 'admin:keys:read' }, { authorization: basicAuth(id, secret) });
  const newClient = async () => {
    const created = await call('POST', '/clients', { token, body: { grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'admin:keys:read' } });
    return { id: created.body.client_id as string, secret: created.body.client_secret as string };
  };

  it('the old secret works during the window and not after; the new one works at once', async () => {
    const { id, secret: old } = await newClient();
    const rotated = await call('POST', `/clients/${id}/rotate-secret`, { token, body: { overlap_seconds: 1 } });
    assert.equal(rotated.status, 200);
    assert.ok(rotated.body.previous_secret_valid_until);
    const fresh = rotated.body.client_secret as string;
    assert.equal((await grant(id, fresh)).status, 200);
    assert.equal((await grant(id, old)).status, 200, 'old secret inside the window');
    assert.equal((await grant(id, 'x'.repeat(old.length))).status, 401, 'any other value is still refused');
    const deadline = Date.now() + 4000;
    let status = 200;
    while (status === 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      status = (await grant(id, old)).status;
    }
    assert.equal(status, 401, 'old secret after the window');
    assert.equal((await grant(id, fresh)).status, 200);
  });

  it('a rotation without overlap ends the window of an earlier one', async () => {
    const { id, secret: first } = await newClient();
    const second = (await call('POST', `/clients/${id}/rotate-secret`, { token, body: { overlap_seconds: 3600 } })).body.client_secret as string;
    assert.equal((await grant(id, first)).status, 200);
    const third = (await call('POST', `/clients/${id}/rotate-secret`, { token, body: {} })).body.client_secret as string;
    assert.equal((await grant(id, first)).status, 401);
    assert.equal((await grant(id, second)).status, 401);
    assert.equal((await grant(id, third)).status, 200);
  });

  it('is audited, without the secret', async () => {
    const { id } = await newClient();
    const rotated = await call('POST', `/clients/${id}/rotate-secret`, { token, body: { overlap_seconds: 60 } });
    const events = (await call('GET', `/audit?type=admin.client.secret_rotated`, { token })).body.items as { client_id: string; details: unknown }[];
    const mine = events.find((e) => e.client_id === id);
    assert.ok(mine);
    assert.doesNotMatch(JSON.stringify(events), new RegExp(rotated.body.client_secret as string));
  });

  describe('client_secret_post', () => {
    const form = (path: string, params: Record<string, string>, headers: Record<string, string> = {}) =>
      fetch(`${gh.issuer}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(params) });
    const post = (id: string, secret: string) => form('/token', { grant_type: 'client_credentials', scope: 'admin:keys:read', client_id: id, client_secret: secret });
    const postClient = async () => {
      const body = { grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'admin:keys:read', token_endpoint_auth_method: 'client_secret_post' };
      const created = await call('POST', '/clients', { token, body });
      assert.equal(created.status, 201);
      return { id: created.body.client_id as string, secret: created.body.client_secret as string };
    };
    /** Resolves once the store no longer holds the previous secret: its window has ended. */
    const windowEnded = async (id: string) => {
      const deadline = Date.now() + 5000;
      while (await gh.context.store.records.find('ClientPreviousSecret', id)) {
        assert.ok(Date.now() < deadline, 'the overlap record expires');
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    it('the previous secret in the form works at token, introspection and revocation within the window, and not after', async () => {
      const { id, secret: old } = await postClient();
      const fresh = (await call('POST', `/clients/${id}/rotate-secret`, { token, body: { overlap_seconds: 1 } })).body.client_secret as string;
      const issued = await post(id, old);
      assert.equal(issued.status, 200, 'token endpoint, old secret inside the window');
      const accessToken = ((await issued.json()) as { access_token: string }).access_token;
      assert.equal((await post(id, fresh)).status, 200, 'the current secret works at once');
      const introspected = await form('/token/introspection', { token: accessToken, client_id: id, client_secret: old });
      assert.equal(introspected.status, 200, 'introspection, old secret inside the window');
      assert.equal(typeof ((await introspected.json()) as { active?: unknown }).active, 'boolean');
      assert.equal((await form('/token/revocation', { token: 'not-a-token', client_id: id, client_secret: old })).status, 200, 'revocation');
      assert.equal((await post(id, 'x'.repeat(old.length))).status, 401, 'any other value is still refused');

      await windowEnded(id);
      await expectOAuthError(await post(id, old), 'invalid_client', 401);
      await expectOAuthError(await form('/token/introspection', { token: accessToken, client_id: id, client_secret: old }), 'invalid_client', 401);
      await expectOAuthError(await form('/token/revocation', { token: 'not-a-token', client_id: id, client_secret: old }), 'invalid_client', 401);
      assert.equal((await post(id, fresh)).status, 200);
    });

    it("another client's previous secret is refused", async () => {
      const a = await postClient();
      const b = await postClient();
      await call('POST', `/clients/${a.id}/rotate-secret`, { token, body: { overlap_seconds: 3600 } });
      await expectOAuthError(await post(b.id, a.secret), 'invalid_client', 401);
      assert.equal((await post(b.id, b.secret)).status, 200);
    });

    it('the rest of the form reaches the provider as sent: the scope asked for, and the parameters it refuses', async () => {
      const { id, secret: old } = await postClient();
      await call('POST', `/clients/${id}/rotate-secret`, { token, body: { overlap_seconds: 3600 } });
      // a scope the client was not registered for is still refused: only the secret was changed
      await expectOAuthError(await form('/token', { grant_type: 'client_credentials', scope: 'admin:users:write', client_id: id, client_secret: old }), 'invalid_scope');
      // the old secret twice: not one value, so nothing is mended and the provider refuses the form
      const twice = `grant_type=client_credentials&client_id=${id}&client_secret=${old}&client_secret=${old}`;
      const res = await fetch(`${gh.issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: twice });
      assert.ok(res.status === 400 || res.status === 401, `refused (${res.status})`);
      // the old secret both in Basic and in the form: two methods at once, refused as before
      const both = await form('/token', { grant_type: 'client_credentials', client_id: id, client_secret: old }, { authorization: basicAuth(id, old) });
      assert.ok(both.status === 400 || both.status === 401, `refused (${both.status})`);
      // a body over the provider's limit is not mended: refused as it would be without the overlap
      const long = await form('/token', { grant_type: 'client_credentials', client_id: id, client_secret: old, pad: 'x'.repeat(57 * 1024) });
      await expectOAuthError(long, 'invalid_client', 401);
      // odd bytes elsewhere in the form are kept as sent (and parsed by the provider as it would)
      const odd = `grant_type=client_credentials&scope=admin%3Akeys%3Aread&junk=%zz%&client_id=${id}&client_secret=${old}&&empty=`;
      const kept = await fetch(`${gh.issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: odd });
      assert.equal(kept.status, 200, await kept.clone().text());
    });
  });

  it('refuses an overlap out of range, and a client without a secret', async () => {
    const { id } = await newClient();
    assert.equal((await call('POST', `/clients/${id}/rotate-secret`, { token, body: { overlap_seconds: -1 } })).status, 400);
    const pub = await call('POST', '/clients', { token, body: { token_endpoint_auth_method: 'none', redirect_uris: ['https://rp.example.com/cb'] } });
    assert.equal((await call('POST', `/clients/${pub.body.client_id as string}/rotate-secret`, { token, body: {} })).status, 400);
  });
});
}
