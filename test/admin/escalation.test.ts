/**
 * ATTACKS.md "Escalation" and "Mass assignment": a caller with admin:clients:write or admin:users:write
 * cannot hand out (to a client it creates, changes or re-keys, or to a person's roles) management
 * authority that its own token does not hold.
 */
import assert from 'node:assert/strict';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { ADMIN_SCOPES } from '../../src/admin/admin-scopes.js';
import { createAdminCaller, managementToken } from './admin-client.js';

describe('management API: no escalation', () => {
  let gh: TestGatehouse;
  let call: ReturnType<typeof createAdminCaller>;
  let narrow: string;
  let root: string;
  before(async () => {
    gh = await bootGatehouse();
    call = createAdminCaller(gh);
    narrow = await managementToken(gh, 'admin:clients:write admin:clients:read admin:users:write admin:users:read admin:roles:write admin:roles:read');
    root = await managementToken(gh, Object.keys(ADMIN_SCOPES).join(' '));
  });
  after(() => gh.close());

  const cc = (scope: string) => ({ grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope });

  it('cannot create a client with admin scopes it lacks, can with those it holds', async () => {
    const res = await call('POST', '/clients', { token: narrow, body: cc('admin:keys:write') });
    assert.equal(res.status, 403);
    assert.equal(res.body.scope, 'admin:keys:write');
    assert.equal((await call('POST', '/clients', { token: narrow, body: cc('admin:users:read') })).status, 201);
  });

  it('cannot PATCH admin scopes onto a client, nor re-key or delete a client with more authority', async () => {
    const mine = await call('POST', '/clients', { token: narrow, body: cc('admin:users:read') });
    const id = mine.body.client_id as string;
    const etag = (await call('GET', `/clients/${id}`, { token: narrow })).headers.get('etag')!;
    assert.equal((await call('PATCH', `/clients/${id}`, { token: narrow, body: { scope: 'admin:users:read admin:audit:read' }, headers: { 'if-match': etag } })).status, 403);
    const strong = await call('POST', '/clients', { token: root, body: cc('admin:keys:write') });
    const strongId = strong.body.client_id as string;
    assert.equal((await call('POST', `/clients/${strongId}/rotate-secret`, { token: narrow, body: {} })).status, 403);
    assert.equal((await call('DELETE', `/clients/${strongId}`, { token: narrow })).status, 403);
    const strongEtag = (await call('GET', `/clients/${strongId}`, { token: narrow })).headers.get('etag')!;
    assert.equal((await call('PATCH', `/clients/${strongId}`, { token: narrow, body: { client_name: 'mine now' }, headers: { 'if-match': strongEtag } })).status, 403);
    assert.equal((await call('POST', `/clients/${strongId}/rotate-secret`, { token: root, body: {} })).status, 200);
  });

  it('cannot give a person gatehouse:admin or a role with admin permissions it lacks; ordinary roles and ones within its own authority are fine', async () => {
    const created = await call('POST', '/users', { token: narrow, body: { email: 'climber@example.com' } });
    const id = created.body.id as string;
    let etag = created.headers.get('etag')!;
    await gh.context.roles.create({ name: 'support' });
    await gh.context.roles.create({ name: 'user-reader', permissions: [{ resource: 'urn:gatehouse:admin', scope: 'admin:users:read' }] });
    await gh.context.roles.create({ name: 'key-keeper', permissions: [{ resource: 'urn:gatehouse:admin', scope: 'admin:keys:write' }] });
    for (const role of ['gatehouse:admin', 'key-keeper']) {
      const res = await call('PATCH', `/users/${id}`, { token: narrow, body: { roles: [role] }, headers: { 'if-match': etag } });
      assert.equal(res.status, 403, role);
    }
    const ok = await call('PATCH', `/users/${id}`, { token: narrow, body: { roles: ['support', 'user-reader'] }, headers: { 'if-match': etag } });
    assert.equal(ok.status, 200);
    etag = ok.headers.get('etag')!;
    const promoted = await call('PATCH', `/users/${id}`, { token: root, body: { roles: ['gatehouse:admin'] }, headers: { 'if-match': etag } });
    assert.equal(promoted.status, 200);
    // nor take it away: demoting the holder of more authority is refused too
    assert.equal((await call('PATCH', `/users/${id}`, { token: narrow, body: { roles: [] }, headers: { 'if-match': promoted.headers.get('etag')! } })).status, 403);
  });

  it('cannot create, widen or delete a role with admin permissions it lacks', async () => {
    const keys = [{ resource: 'urn:gatehouse:admin', scope: 'admin:keys:write' }];
    assert.equal((await call('POST', '/roles', { token: narrow, body: { name: 'sneaky', permissions: keys } })).status, 403);
    const mine = await call('POST', '/roles', { token: narrow, body: { name: 'readers', permissions: [{ resource: 'urn:gatehouse:admin', scope: 'admin:users:read' }] } });
    assert.equal(mine.status, 201);
    assert.equal((await call('PATCH', '/roles/readers', { token: narrow, body: { permissions: keys }, headers: { 'if-match': mine.headers.get('etag')! } })).status, 403);
    const strong = await call('POST', '/roles', { token: root, body: { name: 'strong', permissions: keys } });
    assert.equal(strong.status, 201);
    assert.equal((await call('DELETE', '/roles/strong', { token: narrow })).status, 403);
    const target = (await call('POST', '/users', { token: narrow, body: { email: 'assignee@example.com' } })).body.id as string;
    assert.equal((await call('POST', `/users/${target}/roles`, { token: narrow, body: { role: 'strong' } })).status, 403);
    assert.equal((await call('POST', `/users/${target}/roles`, { token: narrow, body: { role: 'readers' } })).status, 200);
    assert.deepEqual((await call('GET', '/roles/strong', { token: root })).body.permissions, keys, 'a refused change leaves the role as it was');
  });
});
