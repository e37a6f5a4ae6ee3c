/**
 * Issue 16 item 5: the security-relevant events as RFC 8417 Security Event Tokens in the OpenID Shared
 * Signals (CAEP / RISC) format, pushed as RFC 8935 describes to an endpoint of format
 * `security-event-token`. The receiver verifies each SET with jose against Gatehouse's JWKS (its
 * jwks_uri): issuer, audience, `typ: secevent+jwt`, the event URI and the subject. A 400 with an `err`
 * (RFC 8935 §2.4) is not retried. Endpoints are refused an audience-less or non-security filter.
 */
import assert from 'node:assert/strict';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { cliInProcess } from '../helpers/cli-in-process.js';
import { createAdminCaller, managementToken } from '../admin/admin-client.js';
import { ADMIN_SCOPES } from '../../src/admin/admin-scopes.js';
import { FAST_WEBHOOKS, startWebhookReceiver, type Received, type WebhookReceiver } from './webhook-receiver.js';

const AUDIENCE = 'https://receiver.example.test/ssf';
const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
const RISC = 'https://schemas.openid.net/secevent/risc/event-type/';

type Set = { jti: string; iss: string; aud: string; iat: number; sub_id?: { format: string; iss: string; sub: string }; events: Record<string, Record<string, unknown>> };

describe('events: Security Event Tokens (RFC 8417, pushed per RFC 8935)', () => {
  let gh: TestGatehouse;
  let receiver: WebhookReceiver;
  let call: ReturnType<typeof createAdminCaller>;
  let root: string;
  let endpointId: string;
  let jwks: ReturnType<typeof createRemoteJWKSet>;

  const verify = async (r: Received): Promise<Set> => {
    assert.equal(r.headers['content-type'], 'application/secevent+jwt');
    assert.equal(r.headers.accept, 'application/json');
    assert.equal(decodeProtectedHeader(r.body).typ, 'secevent+jwt');
    const { payload } = await jwtVerify(r.body, jwks, { issuer: gh.issuer, audience: AUDIENCE, typ: 'secevent+jwt', algorithms: ['RS256'] });
    return payload as unknown as Set;
  };

  before(async () => {
    receiver = await startWebhookReceiver();
    gh = await bootGatehouse({ ...FAST_WEBHOOKS });
    call = createAdminCaller(gh);
    root = await managementToken(gh, Object.keys(ADMIN_SCOPES).join(' '));
    const discovery = (await (await fetch(`${gh.issuer}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
    jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
    receiver.answers.push(...Array.from({ length: 50 }, () => 202)); // RFC 8935 §2.2: 202 Accepted
    const created = await call('POST', '/webhooks', { token: root, body: { url: receiver.url, format: 'security-event-token', audience: AUDIENCE } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.format, 'security-event-token');
    assert.equal(created.body.audience, AUDIENCE);
    assert.ok((created.body.event_types as string[]).includes('session.ended'), 'every security event when no filter is given');
    assert.equal((created.body.event_types as string[]).includes('user.created'), false);
    endpointId = String(created.body.id);
  });
  after(async () => {
    await gh?.close();
    await receiver?.close();
  });

  it('refuses a SET endpoint without an audience, with events that have no SET form, or at a private address; and an audience on a standard one', async () => {
    const bad = [
      { url: receiver.url, format: 'security-event-token' },
      { url: receiver.url, format: 'security-event-token', audience: AUDIENCE, event_types: ['user.created'] },
      { url: receiver.url, format: 'security-event-token', audience: ' ' },
      { url: receiver.url, format: 'security-event-token', audience: 'a\u0000b' },
      { url: 'http://10.0.0.7/ssf', format: 'security-event-token', audience: AUDIENCE },
      { url: receiver.url, audience: AUDIENCE },
      { url: receiver.url, format: 'SECURITY-EVENT-TOKEN', audience: AUDIENCE },
    ];
    for (const body of bad) {
      const answer = await call('POST', '/webhooks', { token: root, body });
      assert.equal(answer.status, 400, JSON.stringify(body));
      assert.equal(answer.headers.get('content-type')?.startsWith('application/problem+json'), true);
    }
    assert.equal(((await call('GET', '/webhooks', { token: root })).body.items as unknown[]).length, 1, 'nothing was created');
  });

  it('pushes credential changes, disabling, enabling, a verification and erasure as signed SETs about the person', async () => {
    const password = 'a password that is long enough 77';
    const user = await call('POST', '/users', { token: root, body: { email: 'set@example.com', password, email_verified: true } });
    assert.equal(user.status, 201);
    const userId = String(user.body.id);
    const newPassword = 'another password that is long enough 78';
    assert.equal((await cliInProcess(gh.context, ['users', 'set-password', '--email', 'set@example.com', '--password', newPassword])).code, 0);
    assert.equal((await call('POST', `/users/${userId}/disable`, { token: root, body: {} })).status, 200);
    assert.equal((await call('POST', `/users/${userId}/enable`, { token: root, body: {} })).status, 200);
    assert.equal((await call('POST', `/webhooks/${endpointId}/test`, { token: root })).status, 202);
    assert.equal((await call('DELETE', `/users/${userId}`, { token: root })).status < 300, true);

    await receiver.until('five SETs', (r) => r.length >= 5);
    const all = await Promise.all(receiver.received.map(verify));
    for (const [uri, claims] of [
      [`${CAEP}credential-change`, { credential_type: 'password', change_type: 'update' }],
      [`${RISC}account-disabled`, {}],
      [`${RISC}account-enabled`, {}],
      [`${RISC}account-purged`, {}],
    ] as const) {
      const sets = all.filter((s) => uri in s.events);
      assert.equal(sets.length, 1, uri);
      const set = sets[0]!;
      assert.deepEqual(set.sub_id, { format: 'iss_sub', iss: gh.issuer, sub: userId }, `${uri}: the person, by our issuer and sub`);
      const event = set.events[uri]!;
      assert.equal(typeof event.event_timestamp, 'number');
      for (const [k, v] of Object.entries(claims)) assert.equal(event[k], v, `${uri}.${k}`);
      assert.match(set.jti, /^msg_/);
    }
    const verification = all.filter((s) => 'https://schemas.openid.net/secevent/ssf/event-type/verification' in s.events);
    assert.equal(verification.length, 1, 'the test event is an SSF verification event');
    assert.equal(new Set(all.map((s) => s.jti)).size, all.length, 'one jti per event');
    assert.equal(all.some((s) => 'https://schemas.openid.net/secevent/caep/event-type/session-revoked' in s.events && !s.sub_id), false);
    for (const r of receiver.received) {
      const text = Buffer.from(r.body.split('.')[1]!, 'base64url').toString();
      assert.equal(text.includes(password) || text.includes(newPassword), false, 'no password in a SET');
      assert.equal(text.includes('set@example.com'), false, 'the person is named by sub, not by email');
    }
  });

  it('does not retry a push the receiver refused with a 400 (RFC 8935 §2.4), and retries a 503 with the same SET', async () => {
    receiver.answers.splice(0, receiver.answers.length, 400, 503, 202);
    const from = receiver.received.length;
    const user = await call('POST', '/users', { token: root, body: { email: 'set2@example.com', email_verified: true } });
    const userId = String(user.body.id);
    assert.equal((await call('POST', `/users/${userId}/disable`, { token: root, body: {} })).status, 200);
    await receiver.until('the refused push', (r) => r.length > from);
    assert.equal((await call('POST', `/users/${userId}/enable`, { token: root, body: {} })).status, 200);
    await receiver.until('the enable, refused with 503, then accepted', (r) => r.slice(from).some((x) => x.status === 202));
    const later = receiver.received.slice(from);
    assert.deepEqual(later.map((x) => x.status), [400, 503, 202], 'the 400 was not tried again');
    const [refused, first, second] = await Promise.all(later.map(verify));
    assert.ok(`${RISC}account-disabled` in refused!.events);
    assert.equal(first!.jti, second!.jti, 'a retry carries the same event (jti)');
    assert.ok(`${RISC}account-enabled` in second!.events);
    const deliveries = (await call('GET', `/webhooks/${endpointId}/deliveries`, { token: root })).body.items as { event_type: string; status: string; attempts: number; response_status: number }[];
    const disabled = deliveries.find((x) => x.event_type === 'user.disabled' && x.response_status === 400);
    assert.equal(disabled?.status, 'failed');
    assert.equal(disabled?.attempts, 1);
  });
});
