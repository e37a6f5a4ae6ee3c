/**
 * /admin/v1/users/{id}/sessions and /grants (issue 13 item 3): a person signed in on a phone and a laptop
 * to two apps. The operator lists the sessions and ends the phone's: its app receives a back-channel
 * logout token for that session (Back-Channel Logout 1.0 §2.4). The operator lists the connected apps and
 * revokes one: its refresh token is refused with invalid_grant (RFC 6749 §5.2) while the other app's
 * still works. Another account's id with this person's session or app answers 404 and changes nothing
 * (ATTACKS.md "IDOR"), and a caller without an admin target's authority is refused (escalation).
 * Every answer is checked against the served OpenAPI document (admin-client.ts).
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { startLogoutReceiver, type LogoutReceiver } from '../helpers/logout-receiver.js';
import { startRelyingParty, type TestRelyingParty } from '../helpers/relying-party.js';
import { UserAgent, formAction } from '../helpers/user-agent.js';
import { submitPassword } from '../mfa/helpers.js';
import { ADMIN_SCOPES } from '../../src/admin/admin-scopes.js';
import { createAdminCaller, managementToken } from './admin-client.js';

type App = { rp: TestRelyingParty; config: oidc.Configuration; clientId: string };
type SessionItem = { uid: string; apps: string[]; amr: string[] };
type GrantItem = { client_id: string; name: string; scopes: string[]; granted_at?: string };

describe('management API: a user\'s sessions and grants', () => {
  let gh: TestGatehouse;
  let call: ReturnType<typeof createAdminCaller>;
  let root: string;
  let notes: App;
  let mail: App;
  let receiver: LogoutReceiver;
  const user = { email: 'sam@sessions.example.test', password: 'a quiet harbour at dusk' };
  let accountId: string;
  let otherId: string;

  async function app(name: string, backchannel: boolean): Promise<App> {
    const rp = await startRelyingParty();
    const client = await gh.context.clients.create({
      client_name: name, redirect_uris: [rp.redirectUri], grant_types: ['authorization_code', 'refresh_token'], token_endpoint_auth_method: 'client_secret_basic',
      ...(backchannel ? { backchannel_logout_uri: receiver.uri, backchannel_logout_session_required: true } : {}),
    });
    const config = await oidc.discovery(new URL(gh.issuer), client.client_id, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
    rp.connect(config);
    return { rp, config, clientId: client.client_id };
  }

  before(async () => {
    receiver = await startLogoutReceiver();
    gh = await bootGatehouse({ OUTBOUND_PRIVATE_HOSTS: '127.0.0.1' });
    call = createAdminCaller(gh);
    root = await managementToken(gh, Object.keys(ADMIN_SCOPES).join(' '));
    notes = await app('Notes app', true);
    mail = await app('Mail app', false);
    accountId = (await gh.context.accounts.create({ ...user, emailVerified: true })).id;
    otherId = (await gh.context.accounts.create({ email: 'kim@sessions.example.test', password: 'another harbour at dawn', emailVerified: true })).id;
  });
  after(async () => {
    await notes?.rp.close();
    await mail?.rp.close();
    await gh?.close();
    await receiver?.close();
  });

  /** Signs `agent` in to `a` (password, consent for offline_access) and returns the app's tokens. */
  async function signInTo(agent: UserAgent, a: App) {
    const atRp = (u: string) => u.startsWith(a.rp.origin);
    const url = await a.rp.authorizationUrl({ scope: 'openid offline_access', prompt: 'consent' });
    let page = await agent.open(url.href, atRp);
    if (!atRp(page.url) && page.html.includes('/login"')) page = await submitPassword(agent, page, user, atRp);
    if (!atRp(page.url)) page = await agent.submit(page, formAction(page.html, /\/consent$/), {}, atRp);
    await agent.open(page.url);
    const tokens = a.rp.callbacks.at(-1)!.tokens;
    assert.ok(tokens?.refresh_token, 'the app got a refresh token');
    return tokens;
  }

  /** the uid of the stored session that holds `sid` for `clientId` */
  async function uidOf(sid: string, clientId: string): Promise<string> {
    const sessions = (await gh.context.store.oidc.findByAccountId('Session', accountId)) as { uid: string; authorizations?: Record<string, { sid?: string }> }[];
    const found = sessions.find((s) => s.authorizations?.[clientId]?.sid === sid);
    assert.ok(found, 'the session is stored');
    return found.uid;
  }

  const refused = (a: App, token: string) => assert.rejects(oidc.refreshTokenGrant(a.config, token), (err: oidc.ResponseBodyError) => err.error === 'invalid_grant');

  it('lists the sessions, ends one (its app hears back-channel logout), and refuses another account\'s id with 404', async () => {
    const phone = new UserAgent();
    const laptop = new UserAgent();
    const phoneTokens = await signInTo(phone, notes);
    const laptopTokens = await signInTo(laptop, notes);
    const phoneSid = String(phoneTokens.claims()!.sid);
    const phoneUid = await uidOf(phoneSid, notes.clientId);

    const listed = await call('GET', `/users/${accountId}/sessions`, { token: root });
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    const items = listed.body.items as SessionItem[];
    assert.equal(items.length, 2);
    assert.ok(items.every((s) => s.apps.includes('Notes app')), JSON.stringify(items));
    assert.ok(items.some((s) => s.uid === phoneUid));

    // the phone's session through another account: as if it did not exist, and nothing ends
    assert.equal((await call('DELETE', `/users/${otherId}/sessions/${phoneUid}`, { token: root })).status, 404);
    assert.equal((await call('DELETE', `/users/${accountId}/sessions/no-such-uid`, { token: root })).status, 404);
    assert.equal((await call('GET', `/users/${accountId}/sessions`, { token: root })).body.items instanceof Array, true);
    assert.equal(((await call('GET', `/users/${accountId}/sessions`, { token: root })).body.items as SessionItem[]).length, 2);
    assert.equal(receiver.tokens.length, 0);

    const arrived = receiver.next();
    const ended = await call('DELETE', `/users/${accountId}/sessions/${phoneUid}`, { token: root });
    assert.equal(ended.status, 204);
    await arrived;
    const jwks = createRemoteJWKSet(new URL(`${gh.issuer}/jwks`));
    const verified = await Promise.all(receiver.tokens.map((t) => jwtVerify(t, jwks, { issuer: gh.issuer, audience: notes.clientId })));
    assert.ok(verified.some(({ payload }) => payload.sid === phoneSid), 'the phone session was logged out at the app');
    assert.ok(!verified.some(({ payload }) => payload.sid === laptopTokens.claims()!.sid), 'the laptop session was not');
    const after = (await call('GET', `/users/${accountId}/sessions`, { token: root })).body.items as SessionItem[];
    assert.deepEqual(after.map((s) => s.uid).includes(phoneUid), false);
    assert.equal(after.length, 1);
    // a second time: gone
    assert.equal((await call('DELETE', `/users/${accountId}/sessions/${phoneUid}`, { token: root })).status, 404);
    const events = await gh.context.store.audit.query({ accountId, types: ['admin.session.ended'] });
    assert.equal(events.length, 1);
  });

  it('lists the connected apps and revokes one: its refresh token is refused, the other app\'s still works', async () => {
    const laptop = new UserAgent();
    const notesTokens = await signInTo(laptop, notes);
    const mailTokens = await signInTo(laptop, mail);

    const listed = await call('GET', `/users/${accountId}/grants`, { token: root });
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    const items = listed.body.items as GrantItem[];
    assert.deepEqual(items.map((g) => g.name), ['Mail app', 'Notes app']);
    const mailItem = items.find((g) => g.client_id === mail.clientId)!;
    assert.ok(mailItem.scopes.includes('offline_access') && mailItem.scopes.includes('openid'), JSON.stringify(mailItem));
    assert.ok(mailItem.granted_at && !Number.isNaN(Date.parse(mailItem.granted_at)));

    // another account's id with this person's app: 404, and the app still refreshes
    assert.equal((await call('DELETE', `/users/${otherId}/grants/${mail.clientId}`, { token: root })).status, 404);
    assert.equal((await call('DELETE', `/users/${accountId}/grants/no-such-client`, { token: root })).status, 404);
    const mailRefresh = (await oidc.refreshTokenGrant(mail.config, mailTokens.refresh_token!)).refresh_token!;

    const revoked = await call('DELETE', `/users/${accountId}/grants/${mail.clientId}`, { token: root });
    assert.equal(revoked.status, 204);
    await refused(mail, mailRefresh);
    assert.equal((await oidc.tokenIntrospection(mail.config, mailTokens.access_token)).active, false, 'its access token is dead too');
    assert.ok((await oidc.refreshTokenGrant(notes.config, notesTokens.refresh_token!)).access_token, 'the other app still works');
    const left = (await call('GET', `/users/${accountId}/grants`, { token: root })).body.items as GrantItem[];
    assert.deepEqual(left.map((g) => g.client_id), [notes.clientId]);
    assert.equal((await call('DELETE', `/users/${accountId}/grants/${mail.clientId}`, { token: root })).status, 404);
    assert.equal((await gh.context.store.audit.query({ accountId, types: ['admin.grant.revoked'] })).length, 1);
  });

  it('answers an unknown account with 404, and refuses a caller without an admin target\'s authority', async () => {
    for (const [method, path] of [['GET', 'sessions'], ['GET', 'grants'], ['DELETE', 'sessions/x'], ['DELETE', 'grants/x']] as const) {
      assert.equal((await call(method, `/users/no-such-id/${path}`, { token: root })).status, 404, path);
    }
    const admin = await gh.context.accounts.create({ email: 'boss@sessions.example.test', password: 'a lighthouse beyond the bay', emailVerified: true });
    const etag = (await call('GET', `/users/${admin.id}`, { token: root })).headers.get('etag')!;
    assert.equal((await call('PATCH', `/users/${admin.id}`, { token: root, body: { roles: ['gatehouse:admin'] }, headers: { 'if-match': etag } })).status, 200);
    const narrow = await managementToken(gh, 'admin:users:read admin:sessions:write');
    for (const [method, path] of [['GET', 'sessions'], ['GET', 'grants'], ['DELETE', 'sessions/x'], ['DELETE', 'grants/x']] as const) {
      assert.equal((await call(method, `/users/${admin.id}/${path}`, { token: narrow })).status, 403, path);
    }
    // the same caller on an ordinary account is fine
    assert.equal((await call('GET', `/users/${accountId}/sessions`, { token: narrow })).status, 200);
  });
});
