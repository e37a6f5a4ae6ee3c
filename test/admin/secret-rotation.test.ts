/**
 * Rotating a client secret with an overlap window: the old secret keeps working at the token endpoints
 * for the window (so a deployment can be rolled), and not after; the new one works at once. The window
 * is set small by the test (1 s), and the test waits only until the old secret is refused.
 */
import assert from 'node:assert/strict';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { basicAuth, tokenRequest } from '../helpers/oauth.js';
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

  it('refuses an overlap out of range, and a client without a secret', async () => {
    const { id } = await newClient();
    assert.equal((await call('POST', `/clients/${id}/rotate-secret`, { token, body: { overlap_seconds: -1 } })).status, 400);
    const pub = await call('POST', '/clients', { token, body: { token_endpoint_auth_method: 'none', redirect_uris: ['https://rp.example.com/cb'] } });
    assert.equal((await call('POST', `/clients/${pub.body.client_id as string}/rotate-secret`, { token, body: {} })).status, 400);
  });
});
}
