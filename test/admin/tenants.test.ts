/**
 * /admin/v1/tenants (issue 15 §4): create, list, read, change (If-Match) and delete tenants, with the
 * deployment's policy floors enforced and every record of a deleted tenant gone.
 */
import assert from 'node:assert/strict';
import type { RootStore } from '../../adapters/contract.js';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { createAdminCaller, managementToken } from './admin-client.js';

describe('management API: tenants', function () {
  this.timeout(60_000);
  let gh: TestGatehouse;
  let call: ReturnType<typeof createAdminCaller>;
  let token: string;
  let readOnly: string;

  before(async () => {
    gh = await bootGatehouse({ PASSWORD_MIN_LENGTH: '12', SESSION_TTL: '1d' });
    call = createAdminCaller(gh);
    token = await managementToken(gh, 'admin:tenants:read admin:tenants:write');
    readOnly = await managementToken(gh, 'admin:tenants:read');
  });
  after(() => gh?.close());

  const problemPath = (body: Record<string, unknown>) => (body.errors as { path: string }[] | undefined)?.[0]?.path;

  it('creates a tenant at {ISSUER}/t/{id}, with its settings, and refuses the same id again', async () => {
    const res = await call('POST', '/tenants', {
      token, body: { id: 'acme', name: 'Acme Corp', settings: { policy: { passwordMinLength: 16, mfaRequired: true }, branding: { name: 'Acme', primaryColor: '#aa0000' } } },
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('location'), '/admin/v1/tenants/acme');
    assert.equal(res.body.issuer, `${gh.issuer}/t/acme`);
    assert.equal(res.body.version, 1);
    assert.deepEqual(res.body.settings, { policy: { passwordMinLength: 16, mfaRequired: true }, branding: { name: 'Acme', primaryColor: '#aa0000' } });
    assert.equal((await call('POST', '/tenants', { token, body: { id: 'acme', name: 'Again' } })).status, 409);
    const audit = await gh.context.audit.query({ types: ['tenant.'] });
    assert.ok(audit.some((e) => e.type === 'tenant.created' && e.details.tenant === 'acme'));
  });

  it('refuses ids that are not DNS labels, the default tenant\'s id, and the deployment\'s own host', async () => {
    for (const id of ['Acme', 'acme corp', '-acme', 'acme-', 'a_b', 'x'.repeat(64), 'ac/me', 'acme\u0000']) {
      const res = await call('POST', '/tenants', { token, body: { id, name: 'Bad' } });
      assert.equal(res.status, 400, `id ${JSON.stringify(id)}`);
    }
    assert.equal((await call('POST', '/tenants', { token, body: { id: 'default', name: 'Default' } })).status, 409);
    const host = new URL(gh.issuer).hostname;
    const own = await call('POST', '/tenants', { token, body: { id: 'own-host', name: 'Own', host: host.toUpperCase() } });
    assert.equal(own.status, 400);
    assert.equal(problemPath(own.body), 'body.host');
  });

  it('a tenant can only be stricter than the deployment: weaker policy values are 400 naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ passwordMinLength: 10 }, 'body.settings.policy.passwordMinLength'],
      [{ sessionTtl: 2 * 86400 }, 'body.settings.policy.sessionTtl'],
      [{ lockoutMaxFailures: 50 }, 'body.settings.policy.lockoutMaxFailures'],
      [{ allowedIpRanges: ['10.0.0.0/33'] }, 'body.settings.policy.allowedIpRanges.0'],
      [{ unknownSetting: true }, 'body.settings.policy'],
    ];
    for (const [policy, path] of cases) {
      const res = await call('POST', '/tenants', { token, body: { id: 'weak', name: 'Weak', settings: { policy } } });
      assert.equal(res.status, 400, JSON.stringify(policy));
      assert.equal(problemPath(res.body), path);
    }
    assert.equal((await call('GET', '/tenants/weak', { token })).status, 404, 'nothing was stored');
    const logo = await call('POST', '/tenants', { token, body: { id: 'weak', name: 'Weak', settings: { branding: { logoUrl: 'javascript:alert(1)' } } } });
    assert.equal(logo.status, 400);
  });

  it('lists tenants in id order, page by page', async () => {
    for (const id of ['list-b', 'list-a', 'list-c']) assert.equal((await call('POST', '/tenants', { token, body: { id, name: id } })).status, 201);
    const seen: string[] = [];
    let next: string | undefined = '/tenants?limit=2';
    while (next) {
      const res: Awaited<ReturnType<typeof call>> = await call('GET', next.replace('/admin/v1', ''), { token: readOnly });
      assert.equal(res.status, 200);
      seen.push(...(res.body.items as { id: string }[]).map((t) => t.id));
      next = res.body.next as string | undefined;
    }
    assert.deepEqual(seen.filter((id) => id.startsWith('list-')), ['list-a', 'list-b', 'list-c']);
    assert.ok(!seen.includes('default'), 'the default tenant is not listed');
  });

  it('changes settings with If-Match: 428 without, 412 when stale; branding alone keeps the policy', async () => {
    const read = await call('GET', '/tenants/acme', { token });
    const etag = read.headers.get('etag')!;
    assert.equal((await call('PATCH', '/tenants/acme', { token, body: { name: 'Acme' } })).status, 428);
    assert.equal((await call('PATCH', '/tenants/acme', { token, body: { name: 'Acme' }, headers: { 'if-match': '"stale"' } })).status, 412);
    const res = await call('PATCH', '/tenants/acme', { token, body: { settings: { branding: { name: 'Acme Inc' } } }, headers: { 'if-match': etag } });
    assert.equal(res.status, 200);
    assert.equal(res.body.version, 2);
    assert.deepEqual(res.body.settings, { policy: { passwordMinLength: 16, mfaRequired: true }, branding: { name: 'Acme Inc' } });
    assert.equal((await call('PATCH', '/tenants/acme', { token, body: { name: 'Again' }, headers: { 'if-match': etag } })).status, 412, 'the old ETag is stale now');
    assert.equal((await call('PATCH', '/tenants/acme', { token: readOnly, body: { name: 'X' }, headers: { 'if-match': res.headers.get('etag')! } })).status, 403);
  });

  it('deletes a tenant with all its data; the default tenant cannot be deleted', async () => {
    assert.equal((await call('POST', '/tenants', { token, body: { id: 'doomed', name: 'Doomed' } })).status, 201);
    const store = (gh.context.store as RootStore).forTenant('doomed');
    const t = Date.now();
    await store.accounts.create({ id: 'p1', email: 'p1@doomed.test', emailVerified: true, name: null, passwordHash: null, roles: [], createdAt: t, updatedAt: t, disabledAt: null, lastLoginAt: null });
    await store.clients.create({ clientId: 'app', metadata: { client_id: 'app' }, secretCiphertext: null, createdAt: t });
    assert.equal((await call('DELETE', '/tenants/doomed', { token: readOnly })).status, 403);
    assert.equal((await call('DELETE', '/tenants/doomed', { token })).status, 204);
    assert.equal(await store.accounts.findById('p1'), undefined);
    assert.equal(await store.clients.find('app'), undefined);
    assert.equal((await call('GET', '/tenants/doomed', { token })).status, 404);
    assert.equal((await call('DELETE', '/tenants/doomed', { token })).status, 404);
    assert.equal((await call('DELETE', '/tenants/default', { token })).status, 400);
    assert.equal((await call('GET', '/tenants/default', { token })).status, 404);
  });
});
