/**
 * /admin/v1/users: list and search, and the account lifecycle over HTTP, on the same service as the CLI's
 * `gatehouse users ...`. Every answer is checked against the served OpenAPI document (admin-client.ts).
 */
import assert from 'node:assert/strict';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { ADMIN_SCOPES } from '../../src/admin/admin-scopes.js';
import { createAdminCaller, managementToken } from './admin-client.js';

type User = { id: string; email: string; status: string; roles: string[]; email_verified: boolean };

describe('management API: users list and lifecycle', () => {
  let gh: TestGatehouse;
  let call: ReturnType<typeof createAdminCaller>;
  let all: string;
  const create = async (email: string, extra: Record<string, unknown> = {}) => {
    const res = await call('POST', '/users', { token: all, body: { email, password: 'a long enough passphrase here', ...extra } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as unknown as User;
  };
  const signIn = (email: string) => gh.context.accounts.authenticate(email, 'a long enough passphrase here');

  before(async () => {
    gh = await bootGatehouse();
    call = createAdminCaller(gh);
    all = await managementToken(gh, Object.keys(ADMIN_SCOPES).join(' '));
  });
  after(() => gh.close());

  it('lists every account once over pages, and filters by email prefix and status', async () => {
    const made = [];
    for (let i = 0; i < 7; i++) made.push(await create(`page${i}@list.example.com`));
    const seen: string[] = [];
    let path: string | undefined = '/users?limit=3&email_prefix=PAGE';
    while (path) {
      const res = await call('GET', path.replace(/^\/admin\/v1/, ''), { token: all });
      assert.equal(res.status, 200);
      seen.push(...(res.body.items as User[]).map((u) => u.email));
      path = res.body.next as string | undefined;
    }
    assert.deepEqual(seen, made.map((u) => u.email));
    await call('POST', `/users/${made[0]!.id}/disable`, { token: all });
    const disabled = await call('GET', '/users?status=disabled&email_prefix=page', { token: all });
    assert.deepEqual((disabled.body.items as User[]).map((u) => u.email), [made[0]!.email]);
  });

  it('refuses a cursor it did not give out, and a malformed filter, with a problem', async () => {
    assert.equal((await call('GET', '/users?cursor=bm90LWEtY3Vyc29y', { token: all })).status, 400);
    assert.equal((await call('GET', '/users?created_after=yesterday', { token: all })).status, 400);
    assert.equal((await call('GET', '/users?status=gone', { token: all })).status, 400);
  });

  it('disables (no sign-in, sessions and grants ended) and enables again', async () => {
    const u = await create('grace@lifecycle.example.com');
    assert.ok(await signIn(u.email));
    const res = await call('POST', `/users/${u.id}/disable`, { token: all });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal((res.body.user as User).status, 'disabled');
    assert.equal(typeof res.body.sessions_ended, 'number');
    assert.equal((await gh.context.accounts.findById(u.id))?.disabledAt !== null, true);
    assert.equal((await call('GET', `/users/${u.id}`, { token: all })).body.status, 'disabled');
    const back = await call('POST', `/users/${u.id}/enable`, { token: all });
    assert.equal((back.body.user as User).status, 'active');
  });

  it('answers an unknown account with 404 for every action, changing nothing', async () => {
    for (const action of ['disable', 'enable', 'unlock', 'reset-factors', 'sign-out']) {
      const res = await call('POST', `/users/no-such-id/${action}`, { token: all });
      assert.equal(res.status, 404, action);
      assert.equal(res.body.type, 'urn:gatehouse:problem:not-found');
    }
    assert.equal((await call('DELETE', '/users/no-such-id', { token: all })).status, 404);
  });

  it('changes the email, and refuses one another account has in any letter case with 409, changing nothing', async () => {
    const a = await create('ada@email.example.com');
    await create('taken@email.example.com');
    const moved = await call('POST', `/users/${a.id}/email`, { token: all, body: { email: 'Ada.New@Email.Example.com', verified: true } });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    assert.equal((moved.body.user as User).email, 'ada.new@email.example.com');
    const clash = await call('POST', `/users/${a.id}/email`, { token: all, body: { email: 'TAKEN@email.example.com' } });
    assert.equal(clash.status, 409, JSON.stringify(clash.body));
    assert.equal((await gh.context.accounts.findById(a.id))?.email, 'ada.new@email.example.com');
  });

  it('lets no caller act on an account with more management authority than its token holds', async () => {
    const admin = await create('root@escalation.example.com');
    await gh.context.accounts.setRoles(admin.email, ['gatehouse:admin']);
    const userAdmin = await managementToken(gh, 'admin:users:read admin:users:write');
    for (const [method, path, body] of [['POST', `/users/${admin.id}/disable`], ['POST', `/users/${admin.id}/email`, { email: 'mine@escalation.example.com' }], ['POST', `/users/${admin.id}/reset-factors`], ['DELETE', `/users/${admin.id}`]] as const) {
      const res = await call(method, path, { token: userAdmin, ...(body ? { body } : {}) });
      assert.equal(res.status, 403, `${method} ${path}`);
    }
    const etag = (await call('GET', `/users/${admin.id}`, { token: all })).headers.get('etag')!;
    const renamed = await call('PATCH', `/users/${admin.id}`, { token: userAdmin, body: { name: 'Not an admin any more' }, headers: { 'if-match': etag } });
    assert.equal(renamed.status, 403);
    const after = await gh.context.accounts.findById(admin.id);
    assert.equal(after?.name, null);
    assert.equal(after?.disabledAt, null);
    assert.equal(after?.email, 'root@escalation.example.com');
  });

  it('erases an account: gone from the API, its audit events kept under a pseudonym', async () => {
    const u = await create('erase-me@lifecycle.example.com');
    const res = await call('DELETE', `/users/${u.id}`, { token: all });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.match(String(res.body.pseudonym), /^erased:[0-9a-f-]{36}$/);
    assert.equal((await call('GET', `/users/${u.id}`, { token: all })).status, 404);
    assert.equal(await gh.context.accounts.findById(u.id), undefined);
    const kept = await call('GET', `/audit?account=${encodeURIComponent(String(res.body.pseudonym))}`, { token: all });
    assert.ok((kept.body.items as unknown[]).length > 0, JSON.stringify(kept.body));
    const none = await call('GET', `/audit?account=${u.id}`, { token: all });
    assert.deepEqual(none.body.items, []);
  });
});
