/**
 * Issue 16: every event Gatehouse emits reaches a real receiver once, signed as Standard Webhooks
 * specifies (verified with the `standardwebhooks` library), from every door that makes it: the
 * management API, the login and consent pages, the token endpoint, the CLI. No delivered body contains a
 * password, client secret, token, code or signing secret used in the test.
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent, formAction, signIn } from '../helpers/user-agent.js';
import { cliInProcess } from '../helpers/cli-in-process.js';
import { createAdminCaller, managementToken } from '../admin/admin-client.js';
import { ADMIN_SCOPES } from '../../src/admin/admin-scopes.js';
import { EVENT_TYPES } from '../../src/events/event-catalogue.js';
import { totpCode } from '../mfa/helpers.js';
import { FAST_WEBHOOKS, startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';

describe('webhooks: every event type, once, signed (Standard Webhooks)', () => {
  let gh: TestGatehouse;
  let receiver: WebhookReceiver;
  let call: ReturnType<typeof createAdminCaller>;
  let root: string;
  let secret: string;
  const secrets: string[] = []; // everything that must never appear in a delivered body
  const remember = (...values: (string | undefined)[]) => secrets.push(...values.filter((v): v is string => typeof v === 'string' && v.length >= 8));

  before(async () => {
    receiver = await startWebhookReceiver();
    gh = await bootGatehouse({ ...FAST_WEBHOOKS, LOGIN_MAX_FAILURES_PER_ACCOUNT: '3' });
    call = createAdminCaller(gh);
    root = await managementToken(gh, Object.keys(ADMIN_SCOPES).join(' '));
    remember(root);
    const created = await call('POST', '/webhooks', { token: root, body: { url: receiver.url, description: 'every event' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    secret = String(created.body.secret);
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    remember(secret);
  });
  after(async () => {
    await gh.close();
    await receiver.close();
  });

  it('delivers what the doors did, each event once, with a signature the standardwebhooks library accepts', async () => {
    const person = { email: 'ada@example.com', password: 'correct horse battery staple 1815', name: 'Ada' };
    const other = { email: 'locked@example.com', password: 'another long passphrase 2024' };
    remember(person.password, other.password);

    // the management API
    const user = await call('POST', '/users', { token: root, body: { ...person, email_verified: true } });
    assert.equal(user.status, 201, JSON.stringify(user.body));
    const userId = String(user.body.id);
    const read = await call('GET', `/users/${userId}`, { token: root });
    assert.equal((await call('PATCH', `/users/${userId}`, { token: root, body: { name: 'Ada L.' }, headers: { 'if-match': read.headers.get('etag')! } })).status, 200);
    const client = await call('POST', '/clients', { token: root, body: { redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'], response_types: ['code'], scope: 'openid email' } });
    assert.equal(client.status, 201);
    const clientId = String(client.body.client_id);
    remember(String(client.body.client_secret));
    const readClient = await call('GET', `/clients/${clientId}`, { token: root });
    assert.equal((await call('PATCH', `/clients/${clientId}`, { token: root, body: { client_name: 'Orders' }, headers: { 'if-match': readClient.headers.get('etag')! } })).status, 200);
    const rotated = await call('POST', `/clients/${clientId}/rotate-secret`, { token: root, body: { overlap_seconds: 60 } });
    remember(String(rotated.body.client_secret));
    const clientSecret = String(rotated.body.client_secret);
    assert.equal((await call('POST', '/keys/rotate', { token: root, body: {} })).status < 300, true);

    // the login page: a wrong password, a lockout of another account, then a sign-in and the token endpoint
    await gh.context.accounts.create({ ...other, emailVerified: true });
    const rp = await oidc.discovery(new URL(gh.issuer), clientId, clientSecret, undefined, { execute: [oidc.allowInsecureRequests] });
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(rp, { redirect_uri: REDIRECT_URI, scope: 'openid email', state: 's1', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const agent = new UserAgent();
    const login = await agent.open(url.href);
    await agent.submit(login, formAction(login.html, /\/login$/), { email: person.email, password: 'not the password at all' });
    for (let i = 0; i < 3; i++) {
      const browser = new UserAgent();
      const again = await browser.open(url.href);
      await browser.submit(again, formAction(again.html, /\/login$/), { email: other.email, password: `wrong guess number ${i}` });
    }
    const callback = new URL(await signIn(new UserAgent(), url.href, REDIRECT_URI, person));
    remember(callback.searchParams.get('code') ?? undefined);
    const tokens = await oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: 's1' });
    remember(tokens.access_token, tokens.id_token, tokens.refresh_token);

    // the management API again: the grant, the sessions, the account's state, its factors, its erasure
    assert.equal((await call('DELETE', `/users/${userId}/grants/${clientId}`, { token: root })).status, 204);
    assert.equal((await call('POST', `/users/${userId}/sign-out`, { token: root, body: {} })).status, 200);
    assert.equal((await call('POST', `/users/${userId}/disable`, { token: root, body: {} })).status, 200);
    assert.equal((await call('POST', `/users/${userId}/enable`, { token: root, body: {} })).status, 200);
    assert.equal((await call('POST', `/users/${userId}/reset-factors`, { token: root, body: {} })).status, 200);
    // roles (issue 14)
    assert.equal((await call('POST', '/roles', { token: root, body: { name: 'clerks' } })).status, 201);
    assert.equal((await call('POST', `/users/${userId}/roles`, { token: root, body: { role: 'clerks' } })).status, 200);
    assert.equal((await call('DELETE', `/users/${userId}/roles/clerks`, { token: root })).status, 200);
    assert.equal((await call('DELETE', '/roles/clerks', { token: root })).status, 204);

    // the CLI (in this process, on the server's context: the CLI itself runs no delivery worker)
    const cliPassword = 'a password typed at the terminal 77';
    remember(cliPassword);
    assert.equal((await cliInProcess(gh.context, ['users', 'create', '--email', 'cli@example.com', '--password', cliPassword])).code, 0);
    assert.equal((await cliInProcess(gh.context, ['users', 'set-password', '--email', 'cli@example.com', '--password', `${cliPassword} new`])).code, 0);

    assert.equal((await call('DELETE', `/users/${userId}`, { token: root })).status < 300, true);
    assert.equal((await call('DELETE', `/clients/${clientId}`, { token: root })).status, 204);
    const endpoint = ((await call('GET', '/webhooks', { token: root })).body.items as { id: string }[])[0]!;
    assert.equal((await call('POST', `/webhooks/${endpoint.id}/test`, { token: root })).status, 202);

    const expected = [
      'user.created', 'user.updated', 'client.created', 'client.updated', 'client.secret_rotated', 'key.rotated', 'user.sign_in_failed',
      'user.locked_out', 'user.signed_in', 'token.issued', 'grant.revoked', 'session.ended', 'user.disabled', 'user.enabled', 'user.mfa_removed',
      'user.password_changed', 'user.deleted', 'client.deleted', 'webhook.test', 'role.created', 'role.assigned', 'role.removed', 'role.deleted',
    ];
    await receiver.until('every expected type', (r) => expected.every((t) => r.some((x) => x.body.includes(`"type":"${t}"`))));
    // a few more polls: nothing arrives twice
    await new Promise((resolve) => setTimeout(resolve, 300));
    const events = receiver.verified(secret);
    const ids = events.map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, 'each event once');
    for (const e of events) {
      assert.match(e.id, /^msg_/);
      assert.ok(e.type in EVENT_TYPES, e.type);
      // the payload is exactly the allow-list of its type
      for (const field of Object.keys(e.data)) assert.ok((EVENT_TYPES[e.type as keyof typeof EVENT_TYPES].fields as readonly string[]).includes(field), `${e.type}.${field}`);
    }
    const ofType = (t: string) => events.filter((e) => e.type === t);
    assert.deepEqual(ofType('user.created').map((e) => e.data.via).sort(), ['admin_api', 'cli']);
    assert.equal(ofType('user.deleted')[0]!.data.user_id, userId, 'the erased account\'s id, not its audit pseudonym');
    assert.equal(ofType('user.signed_in')[0]!.data.user_id, userId);
    assert.equal(ofType('user.signed_in')[0]!.data.client_id, clientId);
    assert.deepEqual(ofType('token.issued')[0]!.data, { client_id: clientId, user_id: userId, grant_type: 'authorization_code' });
    assert.equal(ofType('user.locked_out').length, 1);
    assert.equal(ofType('user.sign_in_failed')[0]!.data.user_id, userId);

    // no delivered body carries a secret used above
    for (const r of receiver.received) for (const s of secrets) assert.ok(!r.body.includes(s), `a body contains a secret: ${r.body}`);
    // nor a member named like one, nor anything shaped like a JWT or a webhook secret
    for (const r of receiver.received) assert.doesNotMatch(r.body, /"[a-z_]*(password|secret|token|seed|otp|code)[a-z_]*":|whsec_|eyJ/i);
  });

  it('a second factor added and removed by its owner: user.mfa_enrolled, then user.mfa_removed', async () => {
    const account = await gh.context.accounts.create({ email: 'factors@example.com', password: 'yet another long passphrase 9', emailVerified: true });
    // the services the account pages and the mfa prompt are given (context.ts wraps them with the audit)
    const enrolment = (await gh.context.factors.totp.startEnrolment(account.id, account.email))!;
    remember(enrolment.secret);
    assert.equal(await gh.context.factors.totp.confirmEnrolment(account.id, await totpCode(enrolment.secret)), true);
    assert.equal((await gh.context.factors.account.removeTotp(account.id)).ok, true);
    const mine = () => receiver.received.filter((r) => r.body.includes(account.id));
    await receiver.until('both factor events', () => mine().length === 2);
    assert.deepEqual(mine().map((r) => JSON.parse(r.body) as { type: string; data: object }).map((e) => [e.type, e.data]), [
      ['user.mfa_enrolled', { user_id: account.id, factor: 'totp' }],
      ['user.mfa_removed', { user_id: account.id, factor: 'totp' }],
    ]);
    for (const r of mine()) assert.ok(!r.body.includes(enrolment.secret), 'no TOTP seed');
  });

  it('lists the deliveries with status, response code and timing, and redelivers one with the same webhook-id', async () => {
    const endpoint = ((await call('GET', '/webhooks', { token: root })).body.items as { id: string }[])[0]!;
    const list = await call('GET', `/webhooks/${endpoint.id}/deliveries?limit=5`, { token: root });
    assert.equal(list.status, 200);
    const items = list.body.items as { id: string; event_id: string; status: string; response_status: number; duration_ms: number; attempts: number }[];
    assert.equal(items.length, 5);
    for (const d of items) {
      assert.equal(d.status, 'succeeded');
      assert.equal(d.response_status, 200);
      assert.equal(d.attempts, 1);
      assert.ok(d.duration_ms >= 0);
    }
    const before = receiver.received.length;
    const again = await call('POST', `/webhooks/${endpoint.id}/deliveries/${items[0]!.id}/redeliver`, { token: root });
    assert.equal(again.status, 202);
    await receiver.until('the redelivery', (r) => r.length > before);
    assert.equal(receiver.received.at(-1)!.id, items[0]!.event_id);
  });

  it('answers 404 for another endpoint\'s delivery and for an unknown endpoint (no existence leak)', async () => {
    const endpoint = ((await call('GET', '/webhooks', { token: root })).body.items as { id: string }[])[0]!;
    const mine = ((await call('GET', `/webhooks/${endpoint.id}/deliveries`, { token: root })).body.items as { id: string }[])[0]!;
    const second = await call('POST', '/webhooks', { token: root, body: { url: receiver.url, event_types: ['user.created'], enabled: false } });
    assert.equal((await call('POST', `/webhooks/${String(second.body.id)}/deliveries/${mine.id}/redeliver`, { token: root })).status, 404);
    assert.equal((await call('GET', '/webhooks/ep_nothere/deliveries', { token: root })).status, 404);
    assert.equal((await call('DELETE', `/webhooks/${String(second.body.id)}`, { token: root })).status, 204);
  });

  it('PATCH needs If-Match, refuses unknown fields and event types, and never shows the secret again', async () => {
    const endpoint = ((await call('GET', '/webhooks', { token: root })).body.items as { id: string }[])[0]!;
    const read = await call('GET', `/webhooks/${endpoint.id}`, { token: root });
    assert.equal(read.body.secret, undefined);
    assert.equal((await call('PATCH', `/webhooks/${endpoint.id}`, { token: root, body: { description: 'x' } })).status, 428);
    assert.equal((await call('PATCH', `/webhooks/${endpoint.id}`, { token: root, body: { description: 'x' }, headers: { 'if-match': '"stale"' } })).status, 412);
    const etag = read.headers.get('etag')!;
    assert.equal((await call('PATCH', `/webhooks/${endpoint.id}`, { token: root, body: { secrets: 'x' }, headers: { 'if-match': etag } })).status, 400);
    assert.equal((await call('PATCH', `/webhooks/${endpoint.id}`, { token: root, body: { event_types: ['user.teleported'] }, headers: { 'if-match': etag } })).status, 400);
    const ok = await call('PATCH', `/webhooks/${endpoint.id}`, { token: root, body: { description: 'all of them' }, headers: { 'if-match': etag } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.description, 'all of them');
    const audit = await call('GET', '/audit?type=admin.webhook.', { token: root });
    assert.ok((audit.body.items as { type: string }[]).some((e) => e.type === 'admin.webhook.updated'));
  });
});
