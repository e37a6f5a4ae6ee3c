/**
 * Managing roles (issue 14 items 1, 2, 5): /admin/v1/roles and /admin/v1/users/{id}/roles over real HTTP
 * (every body checked against the served OpenAPI document), built-in and federation-mapped roles that
 * cannot be deleted, start-up refusing a federation file that maps a group to a role that does not exist,
 * and a role change on one replica applying at the next refresh on the other (PostgreSQL + Redis).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { seedRole } from '../helpers/roles.js';
import { startReplicas, type Replicas } from '../helpers/replicas.js';
import { startPostgres, type PostgresService } from '../helpers/services/postgres-server.js';
import { startRedis, type RedisService } from '../helpers/services/redis-server.js';
import { UserAgent, signIn } from '../helpers/user-agent.js';
import { freePort } from '../helpers/services/free-port.js';
import { ADMIN_SCOPES } from '../../src/admin/admin-scopes.js';
import { createAdminCaller, managementToken } from '../admin/admin-client.js';

const ORDERS = 'https://orders.example.test';
const REDIRECT_URI = 'http://127.0.0.1:9/cb';

/** A federation file whose LDAP directory maps a group to `role` (start-up does not bind to it). */
async function federationFile(dir: string, role: string): Promise<string> {
  const file = join(dir, 'federation.json');
  await writeFile(file, JSON.stringify({
    ldap: [{
      id: 'corp', name: 'Corp', urls: [`ldap://127.0.0.1:${await freePort()}`], bindDn: 'cn=reader,dc=example,dc=org', bindPassword: 'x',
      userBase: 'ou=people,dc=example,dc=org', userFilter: '(uid={{localPart}})', claims: { email: 'mail' },
      groups: { memberOf: true }, roles: { 'cn=ops,ou=groups,dc=example,dc=org': [role] }, domains: ['corp.example.test'],
    }],
  }));
  return file;
}

describe('roles over the management API', () => {
  let gh: TestGatehouse;
  let call: ReturnType<typeof createAdminCaller>;
  let token: string;
  let work: string;
  let userId: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'gatehouse-roles-'));
    gh = await bootGatehouse({ FEDERATION_FILE: await federationFile(work, 'mapped') }, { seed: (store) => seedRole(store, 'mapped') });
    call = createAdminCaller(gh);
    token = await managementToken(gh, Object.keys(ADMIN_SCOPES).join(' '));
    await gh.context.resources.create({ identifier: ORDERS, scopes: { 'orders:read': 'Read orders', 'orders:write': 'Change orders' }, accessTokenTtl: 300 });
    userId = (await gh.context.accounts.create({ email: 'holder@example.test', password: 'quartz meadow pelican 4' })).id;
  });
  after(async () => {
    await gh?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('lists the built-in roles, marked system, and refuses to change or delete them', async () => {
    const list = await call('GET', '/roles', { token });
    assert.equal(list.status, 200);
    const names = (list.body.items as { name: string; system: boolean }[]).filter((r) => r.system).map((r) => r.name);
    assert.deepEqual(names, ['gatehouse:admin', 'gatehouse:auditor', 'gatehouse:user-admin']);
    const etag = (await call('GET', '/roles/gatehouse%3Aauditor', { token })).headers.get('etag')!;
    assert.equal((await call('PATCH', '/roles/gatehouse:auditor', { token, body: { permissions: [] }, headers: { 'if-match': etag } })).status, 409);
    assert.equal((await call('DELETE', '/roles/gatehouse:admin', { token })).status, 409);
    assert.equal((await call('POST', '/roles', { token, body: { name: 'gatehouse:admin' } })).status, 409);
  });

  it('creates a role whose permissions name registered APIs and scopes only', async () => {
    const bad = [
      { name: 'has spaces' },
      { name: 'x', permissions: [{ resource: 'https://nowhere.example.test', scope: 'a' }] },
      { name: 'x', permissions: [{ resource: ORDERS, scope: 'orders:delete' }] },
      { name: 'x', permissions: [{ resource: ORDERS }] },
    ];
    for (const body of bad) {
      const res = await call('POST', '/roles', { token, body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.type, 'urn:gatehouse:problem:invalid-input');
    }
    assert.equal(await gh.context.roles.find('x'), undefined, 'nothing was stored');
    const created = await call('POST', '/roles', { token, body: { name: 'orders-clerk', description: 'Reads orders', permissions: [{ resource: ORDERS, scope: 'orders:read' }, { resource: ORDERS, scope: 'orders:read' }] } });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body.permissions, [{ resource: ORDERS, scope: 'orders:read' }], 'distinct');
    assert.equal((await call('POST', '/roles', { token, body: { name: 'orders-clerk' } })).status, 409);
  });

  it('PATCH needs the current ETag: a stale one is 412 and changes nothing', async () => {
    const read = await call('GET', '/roles/orders-clerk', { token });
    const etag = read.headers.get('etag')!;
    const changed = await call('PATCH', '/roles/orders-clerk', { token, body: { permissions: [{ resource: ORDERS, scope: 'orders:write' }] }, headers: { 'if-match': etag } });
    assert.equal(changed.status, 200);
    const stale = await call('PATCH', '/roles/orders-clerk', { token, body: { description: 'late' }, headers: { 'if-match': etag } });
    assert.equal(stale.status, 412);
    assert.equal((await gh.context.roles.find('orders-clerk'))?.description, 'Reads orders');
    assert.equal((await call('PATCH', '/roles/orders-clerk', { token, body: { description: 'x' } })).status, 428);
  });

  it('assigns and removes a role; lists who holds it; audits both', async () => {
    const assigned = await call('POST', `/users/${userId}/roles`, { token, body: { role: 'orders-clerk' } });
    assert.equal(assigned.status, 200);
    assert.deepEqual(assigned.body.assigned, ['orders-clerk']);
    assert.equal((await call('POST', `/users/${userId}/roles`, { token, body: { role: 'no-such-role' } })).status, 400);
    const holders = await call('GET', '/roles/orders-clerk/users', { token });
    assert.deepEqual((holders.body.items as { id: string }[]).map((u) => u.id), [userId]);
    const removed = await call('DELETE', `/users/${userId}/roles/orders-clerk`, { token });
    assert.deepEqual(removed.body.assigned, []);
    const events = (await call('GET', `/audit?account=${userId}&type=role.`, { token })).body.items as { type: string }[];
    assert.deepEqual(events.map((e) => e.type).sort(), ['role.assigned', 'role.removed']);
  });

  it('operators assigning different roles at the same moment lose none; the same role at once is audited once', async () => {
    const id = (await gh.context.accounts.create({ email: 'busy@example.test', password: 'quartz meadow pelican 4' })).id;
    const names = Array.from({ length: 8 }, (_, n) => `team-${n}`);
    for (const name of [...names, 'on-call']) await seedRole(gh.context.store, name);
    const answers = await Promise.all(names.map((role) => call('POST', `/users/${id}/roles`, { token, body: { role } })));
    assert.deepEqual(answers.map((r) => r.status), names.map(() => 200));
    assert.deepEqual((await call('GET', `/users/${id}/roles`, { token })).body.assigned, names);
    await Promise.all(Array.from({ length: 6 }, () => call('POST', `/users/${id}/roles`, { token, body: { role: 'on-call' } })));
    const events = (await call('GET', `/audit?account=${id}&type=role.assigned`, { token })).body.items as { details: { role: string } }[];
    assert.equal(events.filter((e) => e.details.role === 'on-call').length, 1, 'one change, one event');
  });

  it('deleting a role removes every assignment of it; a role the federation file maps to cannot be deleted', async () => {
    await call('POST', `/users/${userId}/roles`, { token, body: { role: 'orders-clerk' } });
    assert.equal((await call('DELETE', '/roles/orders-clerk', { token })).status, 204);
    assert.deepEqual((await call('GET', `/users/${userId}/roles`, { token })).body.assigned, []);
    assert.equal((await call('DELETE', '/roles/orders-clerk', { token })).status, 404);
    const mapped = await call('DELETE', '/roles/mapped', { token });
    assert.equal(mapped.status, 409);
    assert.match(String(mapped.body.detail), /federation provider "corp"/);
    assert.ok(await gh.context.roles.find('mapped'));
  });

  it('start-up refuses a federation file that maps a group to a role that does not exist, naming it and the provider', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-roles-ghost-'));
    try {
      await assert.rejects(bootGatehouse({ FEDERATION_FILE: await federationFile(dir, 'ghost') }), /roles that do not exist: "ghost" \(provider "corp"\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a role change on one replica applies on the other (PostgreSQL + Redis)', function () {
  this.timeout(60_000);
  let postgres: PostgresService;
  let redis: RedisService;
  let r: Replicas;
  const user = { email: 'replica@example.test', password: 'ember cobalt thistle 8' };

  before(async () => {
    [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
    r = await startReplicas({ DATABASE_URL: postgres.url, REDIS_URL: redis.url });
  });
  after(async () => {
    await r?.close();
    await Promise.all([postgres?.stop(), redis?.stop()]);
  });

  it('a role taken away through replica B shrinks the next token replica A issues, and given back widens it', async () => {
    const a = r.primary.context;
    await a.resources.create({ identifier: ORDERS, scopes: { 'orders:write': 'Change orders' }, accessTokenTtl: 300 });
    await a.roles.create({ name: 'writer', permissions: [{ resource: ORDERS, scope: 'orders:write' }] });
    await a.accounts.create({ ...user, emailVerified: true });
    await a.accounts.setRoles(user.email, ['writer']);
    const c = await a.clients.create({ redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', 'refresh_token'], scope: 'openid offline_access orders:write' });
    const rp = await oidc.discovery(new URL(r.primary.issuer), c.client_id, String(c.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT_URI, scope: 'openid offline_access orders:write', resource: ORDERS, prompt: 'consent',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const callback = await signIn(new UserAgent(), url.href, REDIRECT_URI, user);
    const tokens = await oidc.authorizationCodeGrant(rp, new URL(callback), { pkceCodeVerifier: verifier }, { resource: ORDERS });
    assert.equal(tokens.scope, 'orders:write');

    await r.secondary.context.accounts.setRoles(user.email, []);
    const shrunk = await oidc.refreshTokenGrant(rp, tokens.refresh_token!, { resource: ORDERS });
    assert.equal(shrunk.scope ?? '', '');
    await r.secondary.context.accounts.setRoles(user.email, ['writer']);
    const widened = await oidc.refreshTokenGrant(rp, shrunk.refresh_token!, { resource: ORDERS });
    assert.equal(widened.scope, 'orders:write');
  });
});
