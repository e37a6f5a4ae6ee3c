/**
 * Who may call /admin/v1 (RFC 6750 §3, RFC 9068 §4): every route × no token, a token for another API,
 * a token without the route's scope, the right scope. Every answer is checked against the served
 * OpenAPI document (admin-client.ts).
 */
import assert from 'node:assert/strict';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { ADMIN_SCOPES } from '../../src/admin/admin-scopes.js';
import { createAdminCaller, managementToken } from './admin-client.js';

type Case = { method: string; path: string; scope: string; body?: unknown; headers?: Record<string, string> };

const ROUTES: Case[] = [
  { method: 'POST', path: '/users', scope: 'admin:users:write', body: { email: 'matrix@example.com', password: 'a long enough passphrase here' } },
  { method: 'GET', path: '/users/nobody', scope: 'admin:users:read' },
  { method: 'GET', path: '/users', scope: 'admin:users:read' },
  { method: 'POST', path: '/users/nobody/disable', scope: 'admin:users:write' },
  { method: 'POST', path: '/users/nobody/enable', scope: 'admin:users:write' },
  { method: 'POST', path: '/users/nobody/unlock', scope: 'admin:users:write' },
  { method: 'POST', path: '/users/nobody/reset-factors', scope: 'admin:users:write' },
  { method: 'POST', path: '/users/nobody/email', scope: 'admin:users:write', body: { email: 'moved@example.com' } },
  { method: 'POST', path: '/users/nobody/sign-out', scope: 'admin:sessions:write' },
  { method: 'GET', path: '/users/nobody/sessions', scope: 'admin:users:read' },
  { method: 'DELETE', path: '/users/nobody/sessions/nobody', scope: 'admin:sessions:write' },
  { method: 'GET', path: '/users/nobody/grants', scope: 'admin:users:read' },
  { method: 'DELETE', path: '/users/nobody/grants/nobody', scope: 'admin:sessions:write' },
  { method: 'DELETE', path: '/users/nobody', scope: 'admin:users:write' },
  { method: 'PATCH', path: '/users/nobody', scope: 'admin:users:write', body: { name: 'X' }, headers: { 'if-match': '"x"' } },
  { method: 'GET', path: '/clients', scope: 'admin:clients:read' },
  { method: 'GET', path: '/clients/nobody', scope: 'admin:clients:read' },
  { method: 'POST', path: '/clients', scope: 'admin:clients:write', body: { redirect_uris: ['https://rp.example.com/cb'] } },
  { method: 'PATCH', path: '/clients/nobody', scope: 'admin:clients:write', body: { client_name: 'X' }, headers: { 'if-match': '"x"' } },
  { method: 'DELETE', path: '/clients/nobody', scope: 'admin:clients:write' },
  { method: 'POST', path: '/clients/nobody/rotate-secret', scope: 'admin:clients:write', body: {} },
  { method: 'GET', path: '/apis', scope: 'admin:apis:read' },
  { method: 'GET', path: '/apis/urn%3Agatehouse%3Aadmin', scope: 'admin:apis:read' },
  { method: 'PATCH', path: '/apis/nobody', scope: 'admin:apis:write', body: { name: 'X' }, headers: { 'if-match': '"x"' } },
  { method: 'POST', path: '/apis', scope: 'admin:apis:write', body: { identifier: 'https://matrix.example.com', scopes: { 'm:read': 'Read' } } },
  { method: 'GET', path: '/audit', scope: 'admin:audit:read' },
  { method: 'GET', path: '/roles', scope: 'admin:roles:read' },
  { method: 'GET', path: '/roles/nobody', scope: 'admin:roles:read' },
  { method: 'POST', path: '/roles', scope: 'admin:roles:write', body: { name: 'matrix-role' } },
  { method: 'PATCH', path: '/roles/nobody', scope: 'admin:roles:write', body: { description: 'X' }, headers: { 'if-match': '"x"' } },
  { method: 'DELETE', path: '/roles/nobody', scope: 'admin:roles:write' },
  { method: 'GET', path: '/roles/nobody/users', scope: 'admin:users:read' },
  { method: 'GET', path: '/users/nobody/roles', scope: 'admin:users:read' },
  { method: 'POST', path: '/users/nobody/roles', scope: 'admin:users:write', body: { role: 'matrix-role' } },
  { method: 'DELETE', path: '/users/nobody/roles/nobody', scope: 'admin:users:write' },
  { method: 'GET', path: '/keys', scope: 'admin:keys:read' },
  { method: 'POST', path: '/keys/rotate', scope: 'admin:keys:write', body: {} },
  { method: 'POST', path: '/keys/nobody/revoke', scope: 'admin:keys:write', body: {} },
  { method: 'GET', path: '/identity-providers', scope: 'admin:federation:read' },
  { method: 'GET', path: '/identity-providers/nobody', scope: 'admin:federation:read' },
  { method: 'POST', path: '/identity-providers', scope: 'admin:federation:write', body: { protocol: 'oidc', id: 'matrix-idp', name: 'M', issuer: 'https://idp.example.test', clientId: 'c', clientSecret: 's' } },
  { method: 'PUT', path: '/identity-providers/nobody', scope: 'admin:federation:write', body: { protocol: 'oidc', name: 'M', issuer: 'https://idp.example.test', clientId: 'c', clientSecret: 's' }, headers: { 'if-match': '"x"' } },
  { method: 'DELETE', path: '/identity-providers/nobody', scope: 'admin:federation:write' },
  { method: 'GET', path: '/webhooks', scope: 'admin:webhooks:read' },
  { method: 'POST', path: '/webhooks', scope: 'admin:webhooks:write', body: { url: 'http://10.0.0.1/hook' } },
  { method: 'GET', path: '/webhooks/nobody', scope: 'admin:webhooks:read' },
  { method: 'PATCH', path: '/webhooks/nobody', scope: 'admin:webhooks:write', body: { enabled: false }, headers: { 'if-match': '"x"' } },
  { method: 'DELETE', path: '/webhooks/nobody', scope: 'admin:webhooks:write' },
  { method: 'POST', path: '/webhooks/nobody/rotate-secret', scope: 'admin:webhooks:write', body: {} },
  { method: 'POST', path: '/webhooks/nobody/test', scope: 'admin:webhooks:write' },
  { method: 'GET', path: '/webhooks/nobody/deliveries', scope: 'admin:webhooks:read' },
  { method: 'POST', path: '/webhooks/nobody/deliveries/nobody/redeliver', scope: 'admin:webhooks:write' },
  { method: 'GET', path: '/tenants', scope: 'admin:tenants:read' },
  { method: 'POST', path: '/tenants', scope: 'admin:tenants:write', body: { id: 'matrix-tenant', name: 'Matrix' } },
  { method: 'GET', path: '/tenants/nobody', scope: 'admin:tenants:read' },
  { method: 'PATCH', path: '/tenants/nobody', scope: 'admin:tenants:write', body: { name: 'X' }, headers: { 'if-match': '"x"' } },
  { method: 'DELETE', path: '/tenants/nobody', scope: 'admin:tenants:write' },
];

describe('management API: who may call it (RFC 6750, RFC 9068)', () => {
  let gh: TestGatehouse;
  let call: ReturnType<typeof createAdminCaller>;
  let all: string;
  let otherAudience: string;
  let unrelatedScope: string;
  let keysReadOnly: string; // for the one route that needs admin:sessions:write
  before(async () => {
    gh = await bootGatehouse();
    call = createAdminCaller(gh);
    await gh.context.resources.create({ identifier: 'https://orders.example.com', scopes: { 'orders:read': 'Read orders' }, accessTokenTtl: 600, permissionsFromRoles: false });
    all = await managementToken(gh, Object.keys(ADMIN_SCOPES).join(' '));
    otherAudience = await managementToken(gh, 'orders:read', { resource: 'https://orders.example.com' });
    unrelatedScope = await managementToken(gh, 'admin:sessions:write');
    keysReadOnly = await managementToken(gh, 'admin:keys:read');
  });
  after(() => gh.close());

  it('registers urn:gatehouse:admin at start-up with a scope per area and verb', async () => {
    const api = await gh.context.resources.find('urn:gatehouse:admin');
    assert.deepEqual(Object.keys(api?.scopes ?? {}).sort(), Object.keys(ADMIN_SCOPES).sort());
  });

  it('covers every route of the served document', async () => {
    const doc = (await (await fetch(`${gh.issuer}/admin/v1/openapi.json`)).json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    assert.equal(doc.openapi, '3.1.0');
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
    const tested = ROUTES.map((r) => `${r.method} ${r.path}`.replace(/\/nobody|\/urn%3Agatehouse%3Aadmin/g, (s) => (s === '/nobody' ? '/{x}' : '/{x}')));
    for (const d of documented) assert.ok(tested.includes(d.replace(/\{[^}]+\}/g, '{x}')), `the matrix tests ${d}`);
  });

  for (const r of ROUTES) {
    describe(`${r.method} ${r.path}`, () => {
      it('no token: 401 with a Bearer challenge and no error code (RFC 6750 §3.1)', async () => {
        const res = await call(r.method, r.path, { body: r.body, headers: r.headers });
        assert.equal(res.status, 401);
        assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="gatehouse-admin"');
        assert.equal(res.body.type, 'urn:gatehouse:problem:unauthorized');
      });
      it('a token for another API: 401 invalid_token', async () => {
        const res = await call(r.method, r.path, { token: otherAudience, body: r.body, headers: r.headers });
        assert.equal(res.status, 401);
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm="gatehouse-admin", error="invalid_token"/);
      });
      it('a forged or garbage token: 401 invalid_token', async () => {
        const res = await call(r.method, r.path, { token: `${all.slice(0, -4)}AAAA`, body: r.body, headers: r.headers });
        assert.equal(res.status, 401);
        assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
      });
      it(`without ${r.scope}: 403 insufficient_scope naming it`, async () => {
        const res = await call(r.method, r.path, { token: r.scope === 'admin:sessions:write' ? keysReadOnly : unrelatedScope, body: r.body, headers: r.headers });
        assert.equal(res.status, 403);
        assert.equal(res.headers.get('www-authenticate'), `Bearer realm="gatehouse-admin", error="insufficient_scope", scope="${r.scope}"`);
        assert.equal(res.body.scope, r.scope);
      });
      it(`with ${r.scope}: past the gate`, async () => {
        const res = await call(r.method, r.path, { token: all, body: r.body, headers: r.headers });
        assert.ok(![401, 403].includes(res.status), `${res.status} ${JSON.stringify(res.body)}`);
        assert.ok(res.status < 500);
      });
    });
  }

  it('a revoked token stops working at once (the ledger is asked)', async () => {
    const token = await managementToken(gh, 'admin:keys:read');
    assert.equal((await call('GET', '/keys', { token })).status, 200);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { jti: string };
    await gh.context.ledger.forget(claims.jti);
    assert.equal((await call('GET', '/keys', { token })).status, 401);
  });

  it('audits a refusal for a missing scope with the acting client', async () => {
    const clientId = (JSON.parse(Buffer.from(unrelatedScope.split('.')[1]!, 'base64url').toString()) as { client_id: string }).client_id;
    await call('GET', '/keys', { token: unrelatedScope });
    const events = (await call('GET', `/audit?client=${clientId}&type=admin.api.keys.list`, { token: all })).body.items as { result: string; details: { status: number } }[];
    assert.ok(events.some((e) => e.result === 'failure' && e.details.status === 403), JSON.stringify(events));
  });

  it('answers HEAD like GET, without a body', async () => {
    const res = await fetch(`${gh.issuer}/admin/v1/keys`, { method: 'HEAD', headers: { authorization: `Bearer ${all}` } });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '');
  });

  it('a token in the query string is not read (RFC 6750 §2.3 is not offered)', async () => {
    const res = await call('GET', `/keys?access_token=${all}`);
    assert.equal(res.status, 401);
  });

  it('audits each call with the acting client', async () => {
    const token = await managementToken(gh, 'admin:audit:read');
    const clientId = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { client_id: string }).client_id;
    await call('GET', '/audit', { token });
    const res = await call('GET', `/audit?client=${clientId}&type=admin.api.`, { token });
    const items = res.body.items as { type: string; client_id: string }[];
    assert.ok(items.some((e) => e.type === 'admin.api.audit.query' && e.client_id === clientId), JSON.stringify(items));
  });
});
