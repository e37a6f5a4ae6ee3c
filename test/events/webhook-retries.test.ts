/**
 * Issue 16 item 3: retries with back-off on 5xx, 408, 429 and connection errors, none on other 4xx; a
 * receiver that was down gets everything once it is back, in order per subject; an endpoint that keeps
 * failing is disabled and an event says so; secret rotation with two signatures during the overlap; and
 * the SSRF guard at creation and at delivery (a private address is refused).
 */
import assert from 'node:assert/strict';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { cliInProcess } from '../helpers/cli-in-process.js';
import { createAdminCaller, managementToken } from '../admin/admin-client.js';
import { ADMIN_SCOPES } from '../../src/admin/admin-scopes.js';
import { createWebhookSender } from '../../src/events/webhook-sender.js';
import { Webhook } from 'standardwebhooks';
import { FAST_WEBHOOKS, startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

type Delivery = { id: string; status: string; attempts: number; response_status: number | null; error: string | null; event_type: string };

let n = 0;
const newUser = async (gh: TestGatehouse) => {
  const email = `person${++n}@example.com`;
  assert.equal((await cliInProcess(gh.context, ['users', 'create', '--email', email, '--password', 'a long enough passphrase 42'])).code, 0);
  return email;
};

describe('webhooks: retries, order, disabling, rotation, SSRF', () => {
  let gh: TestGatehouse;
  let call: ReturnType<typeof createAdminCaller>;
  let root: string;
  let receiver: WebhookReceiver;
  const endpoint = async (body: Record<string, unknown>) => {
    const res = await call('POST', '/webhooks', { token: root, body: { url: receiver.url, ...body } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return { id: String(res.body.id), secret: String(res.body.secret) };
  };
  const deliveries = async (id: string) => (await call('GET', `/webhooks/${id}/deliveries`, { token: root })).body.items as Delivery[];

  before(async () => {
    gh = await bootGatehouse(FAST_WEBHOOKS);
    call = createAdminCaller(gh);
    root = await managementToken(gh, Object.keys(ADMIN_SCOPES).join(' '));
    receiver = await startWebhookReceiver();
  });
  after(async () => {
    await gh.close();
    await receiver.close();
  });
  afterEach(async () => {
    for (const e of (await call('GET', '/webhooks', { token: root })).body.items as { id: string }[]) await call('DELETE', `/webhooks/${e.id}`, { token: root });
    receiver.received.length = 0;
    receiver.answers.length = 0;
  });

  it('a receiver answering 500 twice gets the event on the third try, with the same webhook-id', async () => {
    const ep = await endpoint({ event_types: ['user.created'] });
    receiver.answers.push(500, 500);
    await newUser(gh);
    await receiver.until('three attempts', (r) => r.length === 3);
    assert.deepEqual(receiver.received.map((r) => r.status), [500, 500, 200]);
    assert.equal(new Set(receiver.received.map((r) => r.id)).size, 1);
    assert.equal(receiver.verified(ep.secret).length, 1);
    const [d] = await deliveries(ep.id);
    assert.equal(d!.status, 'succeeded');
    assert.equal(d!.attempts, 3);
  });

  it('408 and 429 are retried; any other 4xx ends the delivery as failed, kept for inspection', async () => {
    const ep = await endpoint({ event_types: ['user.created'] });
    receiver.answers.push(429, 408);
    await newUser(gh);
    await receiver.until('the third attempt', (r) => r.length === 3);
    receiver.answers.push(410);
    await newUser(gh);
    await receiver.until('the 410', (r) => r.length === 4);
    await new Promise((resolve) => setTimeout(resolve, 300)); // several polls and back-offs: no retry comes
    assert.equal(receiver.received.length, 4);
    const [gone, ok] = await deliveries(ep.id);
    assert.equal(gone!.status, 'failed');
    assert.equal(gone!.response_status, 410);
    assert.equal(gone!.attempts, 1);
    assert.equal(ok!.status, 'succeeded');
  });

  it('a receiver that is down gets everything once it is back, in order per subject', async () => {
    const types = ['user.disabled', 'user.enabled', 'user.mfa_removed', 'user.updated'];
    const ep = await endpoint({ event_types: types });
    await receiver.down();
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const created = await call('POST', '/users', { token: root, body: { email: `order${i}@example.com`, password: 'a long enough passphrase 42' } });
      ids.push(String(created.body.id));
    }
    // the two subjects' steps interleaved: A disable, B disable, A enable, B enable, ...
    for (const step of ['disable', 'enable', 'reset-factors']) {
      for (const id of ids) assert.equal((await call('POST', `/users/${id}/${step}`, { token: root, body: {} })).status, 200);
    }
    for (const id of ids) {
      const read = await call('GET', `/users/${id}`, { token: root });
      assert.equal((await call('PATCH', `/users/${id}`, { token: root, body: { name: 'Later' }, headers: { 'if-match': read.headers.get('etag')! } })).status, 200);
    }
    // the first event of each subject has failed at least twice while the receiver was down
    const failing = async () => (await deliveries(ep.id)).filter((d) => d.attempts >= 2).length >= 2;
    for (let t = Date.now(); !(await failing()); ) {
      assert.ok(Date.now() - t < 10_000, 'the deliveries are being retried');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok((await deliveries(ep.id)).every((d) => d.status === 'pending'));
    await receiver.up();
    await receiver.until('all eight', (r) => new Set(r.map((x) => x.id)).size === 8);
    const events = receiver.verified(ep.secret);
    for (const id of ids) {
      const theirs = events.filter((e) => e.data.user_id === id).map((e) => e.type);
      assert.deepEqual(theirs, types, `the events of ${id} in the order they happened`);
    }
  });

  it('rotation with an overlap signs with both secrets; after it, only the new one verifies', async () => {
    const ep = await endpoint({ event_types: ['user.created'] });
    const rotated = await call('POST', `/webhooks/${ep.id}/rotate-secret`, { token: root, body: { overlap_seconds: 3600 } });
    assert.equal(rotated.status, 200);
    const fresh = String(rotated.body.secret);
    await newUser(gh);
    await receiver.until('the event', (r) => r.length === 1);
    assert.equal(String(receiver.received[0]!.headers['webhook-signature']).split(' ').length, 2);
    receiver.verified(ep.secret);
    receiver.verified(fresh);
    const final = await call('POST', `/webhooks/${ep.id}/rotate-secret`, { token: root, body: { overlap_seconds: 0 } });
    await newUser(gh);
    await receiver.until('the second event', (r) => r.length === 2);
    const last = receiver.received[1]!;
    const headers = { 'webhook-id': last.id, 'webhook-timestamp': String(last.headers['webhook-timestamp']), 'webhook-signature': String(last.headers['webhook-signature']) };
    assert.throws(() => new Webhook(fresh).verify(last.body, headers));
    new Webhook(String(final.body.secret)).verify(last.body, headers);
    // a replayed delivery with an old timestamp is refused by the library (the timestamp is signed)
    assert.throws(() => new Webhook(String(final.body.secret)).verify(last.body, { ...headers, 'webhook-timestamp': String(Math.floor(Date.now() / 1000) - 3600) }));
  });

  it('the sender refuses a name that resolves to loopback unless the host is allowed', async () => {
    const strict = createWebhookSender({ privateHosts: [], timeoutMs: 2000 });
    const url = `http://localhost:${receiver.port}/hooks`;
    const refused = await strict(url, {}, '{}');
    assert.equal(refused.status, null);
    assert.equal(refused.refused, true);
    const literal = await strict(`http://127.0.0.1:${receiver.port}/hooks`, {}, '{}');
    assert.equal(literal.refused, true);
    assert.equal(receiver.received.length, 0);
  });

  it('a private-address URL is refused at creation, and at delivery once the host is no longer allowed', async () => {
    const ep = await endpoint({ event_types: ['user.created'] });
    await gh.restart({ ...FAST_WEBHOOKS, OUTBOUND_PRIVATE_HOSTS: '' });
    call = createAdminCaller(gh);
    for (const url of [receiver.url, `http://localhost:${receiver.port}/`, 'http://10.1.2.3/', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/', 'http://[::ffff:127.0.0.1]/', 'http://0.0.0.0/', 'ftp://example.com/']) {
      const res = await call('POST', '/webhooks', { token: root, body: { url } });
      assert.equal(res.status, 400, `${url}: ${JSON.stringify(res.body)}`);
    }
    await newUser(gh);
    for (let t = Date.now(); (await deliveries(ep.id))[0]?.status !== 'failed'; ) {
      assert.ok(Date.now() - t < 10_000, 'the delivery is refused');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const [d] = await deliveries(ep.id);
    assert.match(d!.error ?? '', /refused/);
    assert.equal(d!.attempts, 1, 'a refused address is not retried');
    assert.equal(receiver.received.length, 0);
  });
});

describe('webhooks: an endpoint that keeps failing', () => {
  let gh: TestGatehouse;
  let receiver: WebhookReceiver;
  let watcher: WebhookReceiver;
  before(async () => {
    gh = await bootGatehouse({ ...FAST_WEBHOOKS, WEBHOOK_DISABLE_AFTER: '3' });
    receiver = await startWebhookReceiver();
    watcher = await startWebhookReceiver();
  });
  after(async () => {
    await gh.close();
    await receiver.close();
    await watcher.close();
  });

  it('is disabled after WEBHOOK_DISABLE_AFTER failed attempts in a row, and webhook.endpoint_disabled is sent', async () => {
    const call = createAdminCaller(gh);
    const root = await managementToken(gh, Object.keys(ADMIN_SCOPES).join(' '));
    const failing = await call('POST', '/webhooks', { token: root, body: { url: receiver.url, event_types: ['user.created'] } });
    const watching = await call('POST', '/webhooks', { token: root, body: { url: watcher.url, event_types: ['webhook.endpoint_disabled'] } });
    receiver.answers.push(500, 500, 500, 500, 500);
    await newUser(gh);
    await watcher.until('webhook.endpoint_disabled', (r) => r.length === 1);
    const [event] = watcher.verified(String(watching.body.secret));
    assert.equal(event!.type, 'webhook.endpoint_disabled');
    assert.deepEqual(event!.data, { endpoint_id: failing.body.id, consecutive_failures: 3 });
    const read = await call('GET', `/webhooks/${String(failing.body.id)}`, { token: root });
    assert.equal(read.body.enabled, false);
    assert.match(String(read.body.disabled_reason), /3 failed attempts/);
    assert.equal(receiver.received.length, 3);
    // enabled again, the pending delivery goes out
    const enabled = await call('PATCH', `/webhooks/${String(failing.body.id)}`, { token: root, body: { enabled: true }, headers: { 'if-match': read.headers.get('etag')! } });
    assert.equal(enabled.body.consecutive_failures, 0);
    await receiver.until('the delivery after enabling', (r) => r.some((x) => x.status === 200));
  });
});
