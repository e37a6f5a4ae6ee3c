/**
 * The management API's contract: problem details (RFC 9457) for every refusal, ETag / If-Match on PATCH
 * (RFC 9110 §13.1.1, RFC 6585 §3), cursor pagination without duplicates or gaps, and each area's routes.
 * Every answer is checked against the served OpenAPI document (admin-client.ts).
 */
import assert from 'node:assert/strict';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { tokenRequest, basicAuth } from '../helpers/oauth.js';
import { ADMIN_SCOPES } from '../../src/admin/admin-scopes.js';
import { STORES } from './stores.js';
import { createAdminCaller, managementToken } from './admin-client.js';

for (const store of STORES) {
describe(`management API behaviour (${store.name})`, () => {
  let services: Awaited<ReturnType<typeof store.start>>;
  let gh: TestGatehouse;
  let call: ReturnType<typeof createAdminCaller>;
  let token: string;
  before(async () => {
    services = await store.start();
    gh = await bootGatehouse(services.env);
    for (const name of ['ops', 'audit']) await gh.context.roles.create({ name });
    call = createAdminCaller(gh);
    token = await managementToken(gh, Object.keys(ADMIN_SCOPES).join(' '));
  });
  after(async () => {
    await gh?.close();
    await services?.stop();
  });

  describe('problem details (RFC 9457)', () => {
    it('a malformed JSON body: 400 malformed-json, no stack trace', async () => {
      const res = await call('POST', '/clients', { token, raw: '{"redirect_uris": [' });
      assert.equal(res.status, 400);
      assert.equal(res.body.type, 'urn:gatehouse:problem:malformed-json');
      assert.doesNotMatch(JSON.stringify(res.body), /at \w+ \(|\.ts:\d+/);
    });
    it('a schema violation lists the failing fields', async () => {
      const res = await call('POST', '/apis', { token, body: { identifier: 42, scopes: 'no', extra: true } });
      assert.equal(res.status, 400);
      assert.equal(res.body.type, 'urn:gatehouse:problem:invalid-input');
      const paths = (res.body.errors as { path: string }[]).map((e) => e.path);
      assert.ok(paths.includes('body.identifier') && paths.includes('body.scopes'), JSON.stringify(paths));
    });
    it('a body that is not application/json: 415', async () => {
      const res = await call('POST', '/clients', { token, raw: '{}', headers: { 'content-type': 'text/plain' } });
      assert.equal(res.status, 415);
      assert.equal(res.body.type, 'urn:gatehouse:problem:unsupported-media-type');
    });
    it('an unknown route: 404 not-found, before any token check', async () => {
      const res = await call('GET', '/nothing-here');
      assert.equal(res.status, 404);
      assert.equal(res.body.type, 'urn:gatehouse:problem:not-found');
    });
    it('a method the route does not have: 405 with Allow', async () => {
      const res = await call('PUT', '/clients', { token, body: {} });
      assert.equal(res.status, 405);
      assert.equal(res.body.type, 'urn:gatehouse:problem:method-not-allowed');
      assert.match(res.headers.get('allow') ?? '', /GET/);
    });
    it('an unknown record: 404; a duplicate: 409', async () => {
      assert.equal((await call('GET', '/clients/unknown-client', { token })).status, 404);
      const body = { client_id: 'dup-client', redirect_uris: ['https://rp.example.com/cb'] };
      assert.equal((await call('POST', '/clients', { token, body })).status, 201);
      const again = await call('POST', '/clients', { token, body });
      assert.equal(again.status, 409);
      assert.equal(again.body.type, 'urn:gatehouse:problem:conflict');
    });
    it('client metadata oidc-provider refuses: 400 with its reason', async () => {
      const res = await call('POST', '/clients', { token, body: { redirect_uris: ['not a url'] } });
      assert.equal(res.status, 400);
      assert.equal(res.body.type, 'urn:gatehouse:problem:invalid-input');
    });
  });

  describe('ETag / If-Match on PATCH', () => {
    it('428 without If-Match, 412 with a stale ETag, 200 with the current one', async () => {
      const created = await call('POST', '/clients', { token, body: { client_name: 'Before', redirect_uris: ['https://rp.example.com/cb'] } });
      const id = created.body.client_id as string;
      const read = await call('GET', `/clients/${id}`, { token });
      const etag = read.headers.get('etag')!;
      assert.ok(etag);
      const missing = await call('PATCH', `/clients/${id}`, { token, body: { client_name: 'After' } });
      assert.equal(missing.status, 428);
      assert.equal(missing.body.type, 'urn:gatehouse:problem:precondition-required');
      const first = await call('PATCH', `/clients/${id}`, { token, body: { client_name: 'After' }, headers: { 'if-match': etag } });
      assert.equal(first.status, 200);
      assert.equal((first.body.metadata as { client_name: string }).client_name, 'After');
      assert.notEqual(first.headers.get('etag'), etag);
      // the second admin still holds the old ETag
      const second = await call('PATCH', `/clients/${id}`, { token, body: { client_name: 'Lost' }, headers: { 'if-match': etag } });
      assert.equal(second.status, 412);
      assert.equal(second.body.type, 'urn:gatehouse:problem:precondition-failed');
      assert.equal(((await call('GET', `/clients/${id}`, { token })).body.metadata as { client_name: string }).client_name, 'After');
    });
    it('a PATCH is validated as at creation, and cannot set client_id or client_secret', async () => {
      const created = await call('POST', '/clients', { token, body: { redirect_uris: ['https://rp.example.com/cb'] } });
      const id = created.body.client_id as string;
      const etag = (await call('GET', `/clients/${id}`, { token })).headers.get('etag')!;
      const bad = await call('PATCH', `/clients/${id}`, { token, body: { redirect_uris: ['javascript:alert(1)'] }, headers: { 'if-match': etag } });
      assert.equal(bad.status, 400);
      const secret = await call('PATCH', `/clients/${id}`, { token, body: { client_secret: 'x'.repeat(40) }, headers: { 'if-match': etag } });
      assert.equal(secret.status, 400);
      assert.equal((await call('GET', `/clients/${id}`, { token })).headers.get('etag'), etag, 'nothing changed');
    });
    it('users: PATCH name, roles and email_verified under If-Match', async () => {
      const created = await call('POST', '/users', { token, body: { email: 'Grace@Example.com', password: 'a long enough passphrase here', name: 'Grace' } });
      assert.equal(created.status, 201);
      assert.equal(created.body.email, 'grace@example.com');
      assert.equal('password' in created.body || 'passwordHash' in created.body, false);
      const id = created.body.id as string;
      const etag = (await call('GET', `/users/${id}`, { token })).headers.get('etag')!;
      assert.equal((await call('PATCH', `/users/${id}`, { token, body: { roles: ['ops'] } })).status, 428);
      const ok = await call('PATCH', `/users/${id}`, { token, body: { name: 'Grace H.', roles: ['ops', 'audit'], email_verified: true }, headers: { 'if-match': etag } });
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.body.roles, ['audit', 'ops']);
      assert.equal(ok.body.email_verified, true);
      assert.equal((await call('PATCH', `/users/${id}`, { token, body: { name: 'X' }, headers: { 'if-match': etag } })).status, 412);
      const badRole = await call('PATCH', `/users/${id}`, { token, body: { roles: ['no spaces'] }, headers: { 'if-match': ok.headers.get('etag')! } });
      assert.equal(badRole.status, 400);
      assert.equal((await call('POST', '/users', { token, body: { email: 'grace@example.com', password: 'a long enough passphrase here' } })).status, 409);
      assert.equal((await call('POST', '/users', { token, body: { email: 'weak@example.com', password: 'short' } })).status, 400);
      // without a password: no hash, and password sign-in cannot succeed
      const bare = await call('POST', '/users', { token, body: { email: 'nopass@example.com', name: 'No Pass' } });
      assert.equal(bare.status, 201);
      assert.equal(bare.body.has_password, false);
      assert.equal(await gh.context.accounts.authenticate('nopass@example.com', ''), undefined);
    });
  });

  describe('cursor pagination', () => {
    it('follows next links without duplicates or gaps while clients are being created', async () => {
      for (let i = 0; i < 7; i++) await gh.context.clients.create({ client_name: `page ${i}`, redirect_uris: ['https://rp.example.com/cb'] });
      const before = (await gh.context.clients.list()).map((c) => c.clientId);
      const seen: string[] = [];
      let path: string | undefined = '/clients?limit=3';
      let pages = 0;
      while (path) {
        const res = await call('GET', path, { token });
        assert.equal(res.status, 200);
        const items = res.body.items as { client_id: string }[];
        assert.ok(items.length <= 3);
        seen.push(...items.map((c) => c.client_id));
        // a client added mid-way sorts after every existing one (created later): it may appear, never displace
        if (pages === 0) await gh.context.clients.create({ client_name: 'added while paging', redirect_uris: ['https://rp.example.com/cb'] });
        path = typeof res.body.next === 'string' ? (res.body.next as string).replace(/^\/admin\/v1/, '') : undefined;
        pages++;
      }
      assert.equal(new Set(seen).size, seen.length, 'no duplicates');
      for (const id of before) assert.ok(seen.includes(id), `no gap: ${id}`);
    });
    it('an invented cursor is a 400, a limit out of range lists the field', async () => {
      assert.equal((await call('GET', '/clients?cursor=bm9wZQ', { token })).status, 400);
      const res = await call('GET', '/clients?limit=5000', { token });
      assert.equal(res.status, 400);
      assert.deepEqual((res.body.errors as { path: string }[]).map((e) => e.path), ['query.limit']);
    });
    it('pages a busy audit log by client in pages of 3 without duplicates or gaps (many events per millisecond)', async () => {
      const clientId = `busy-${Date.now()}`;
      // 40 events, interleaved with other clients' events, many of them in one millisecond
      await Promise.all(Array.from({ length: 80 }, (_, i) => gh.context.audit.record({ type: 'test.busy', clientId: i % 2 ? clientId : 'someone-else', details: { i } })));
      const seen: number[] = [];
      let path: string | undefined = `/audit?client=${clientId}&type=test.busy&limit=3`;
      while (path) {
        const res = await call('GET', path, { token });
        seen.push(...(res.body.items as { details: { i: number } }[]).map((e) => e.details.i));
        path = typeof res.body.next === 'string' ? (res.body.next as string).replace(/^\/admin\/v1/, '') : undefined;
      }
      assert.equal(seen.length, 40);
      assert.equal(new Set(seen).size, 40);
    });
    it('pages the audit log by (time, id) with the filters kept in the next link', async () => {
      for (let i = 0; i < 5; i++) await gh.context.audit.record({ type: 'test.page', accountId: 'acct-page', details: { i } });
      const seen: number[] = [];
      let path: string | undefined = '/audit?account=acct-page&type=test.page&limit=2';
      while (path) {
        const res = await call('GET', path, { token });
        seen.push(...(res.body.items as { details: { i: number } }[]).map((e) => e.details.i));
        path = typeof res.body.next === 'string' ? (res.body.next as string).replace(/^\/admin\/v1/, '') : undefined;
      }
      // ordered by (time, id): events of one millisecond come in id order, each exactly once
      assert.equal(seen.length, 5);
      assert.deepEqual([...seen].sort(), [0, 1, 2, 3, 4]);
    });
  });

  describe('areas', () => {
    it('clients: create shows a generated secret once, which works; rotate replaces it; delete removes the client', async () => {
      const created = await call('POST', '/clients', { token, body: { grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'admin:keys:read' } });
      const id = created.body.client_id as string;
      const secret = created.body.client_secret as string;
      assert.ok(secret.length >= 32);
      assert.equal('client_secret' in (await call('GET', `/clients/${id}`, { token })).body, false);
      const ok = await tokenRequest(gh.issuer, { grant_type: 'client_credentials', scope: 'admin:keys:read' }, { authorization: basicAuth(id, secret) });
      assert.equal(ok.status, 200);
      const rotated = await call('POST', `/clients/${id}/rotate-secret`, { token, body: {} });
      assert.equal(rotated.status, 200);
      const fresh = rotated.body.client_secret as string;
      assert.notEqual(fresh, secret);
      assert.equal((await tokenRequest(gh.issuer, { grant_type: 'client_credentials', scope: 'admin:keys:read' }, { authorization: basicAuth(id, fresh) })).status, 200);
      assert.equal((await tokenRequest(gh.issuer, { grant_type: 'client_credentials', scope: 'admin:keys:read' }, { authorization: basicAuth(id, secret) })).status, 401);
      assert.equal((await call('DELETE', `/clients/${id}`, { token })).status, 204);
      assert.equal((await call('GET', `/clients/${id}`, { token })).status, 404);
      assert.equal((await tokenRequest(gh.issuer, { grant_type: 'client_credentials', scope: 'admin:keys:read' }, { authorization: basicAuth(id, fresh) })).status, 401);
    });
    it('clients: deleting a client ends its access tokens at once (introspection, this API)', async () => {
      const doomed = await managementToken(gh, 'admin:keys:read');
      const clientId = (JSON.parse(Buffer.from(doomed.split('.')[1]!, 'base64url').toString()) as { client_id: string }).client_id;
      assert.equal((await call('GET', '/keys', { token: doomed })).status, 200);
      assert.equal((await call('DELETE', `/clients/${clientId}`, { token })).status, 204);
      assert.equal((await call('GET', '/keys', { token: doomed })).status, 401);
      assert.equal(await gh.context.accessTokenVerifier.verify(doomed), undefined);
    });
    it('clients: an imported secret is kept', async () => {
      const imported = 'imported-secret-from-the-old-idp-0123456789';
      const created = await call('POST', '/clients', { token, body: { client_secret: imported, grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'admin:keys:read' } });
      assert.equal(created.body.client_secret, imported);
      const id = created.body.client_id as string;
      assert.equal((await tokenRequest(gh.issuer, { grant_type: 'client_credentials', scope: 'admin:keys:read' }, { authorization: basicAuth(id, imported) })).status, 200);
    });
    it('APIs: create, read (percent-encoded identifier), list', async () => {
      const created = await call('POST', '/apis', { token, body: { identifier: 'https://billing.example.com', name: 'Billing', scopes: { 'billing:read': 'Read invoices' }, access_token_ttl: 300 } });
      assert.equal(created.status, 201);
      const read = await call('GET', `/apis/${encodeURIComponent('https://billing.example.com')}`, { token });
      assert.equal(read.body.name, 'Billing');
      assert.equal((await call('POST', '/apis', { token, body: { identifier: 'https://billing.example.com#frag', scopes: {} } })).status, 400);
      const path = `/apis/${encodeURIComponent('https://billing.example.com')}`;
      const etag = read.headers.get('etag')!;
      assert.equal((await call('PATCH', path, { token, body: { scopes: { 'billing:write': 'Pay' } } })).status, 428);
      const changed = await call('PATCH', path, { token, body: { scopes: { 'billing:read': 'Read invoices', 'billing:write': 'Pay invoices' } }, headers: { 'if-match': etag } });
      assert.equal(changed.status, 200);
      assert.deepEqual(Object.keys(changed.body.scopes as object).sort(), ['billing:read', 'billing:write']);
      assert.equal((await call('PATCH', path, { token, body: { name: 'Stale' }, headers: { 'if-match': etag } })).status, 412);
      assert.equal((await call('PATCH', path, { token, body: { scopes: { 'bad scope': 'x' } }, headers: { 'if-match': changed.headers.get('etag')! } })).status, 400);
      const own = await call('GET', `/apis/${encodeURIComponent('urn:gatehouse:admin')}`, { token });
      assert.equal((await call('PATCH', `/apis/${encodeURIComponent('urn:gatehouse:admin')}`, { token, body: { scopes: {} }, headers: { 'if-match': own.headers.get('etag')! } })).status, 409);
      const list = await call('GET', '/apis', { token });
      assert.ok((list.body.items as { identifier: string }[]).some((a) => a.identifier === 'urn:gatehouse:admin'));
    });
    it('keys: list, rotate now, revoke (never key material)', async () => {
      const listed = await call('GET', '/keys', { token });
      assert.doesNotMatch(JSON.stringify(listed.body), /"d"|private/i);
      const rotated = await call('POST', '/keys/rotate', { token, body: { now: true } });
      assert.equal(rotated.status, 200);
      const kid = rotated.body.kid as string;
      const old = (listed.body.items as { kid: string; state: string }[]).find((k) => k.state === 'current')!;
      const revoked = await call('POST', `/keys/${encodeURIComponent(old.kid)}/revoke`, { token, body: {} });
      assert.equal(revoked.status, 200);
      assert.equal(revoked.body.revoked, old.kid);
      assert.equal((await call('POST', '/keys/unknown-kid/revoke', { token, body: {} })).status, 404);
      assert.ok(kid);
    });
  });
});
}
