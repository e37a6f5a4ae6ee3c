/// <reference lib="dom" />
/**
 * The console's second round (issue 19), each action changing the store as the management API would and
 * writing the API's audit event as the operator: webhooks (add with the secret shown once, enable / disable,
 * test event, deliveries with status, code and time, redelivery, rotation with an overlap, delete with the
 * URL typed; an operator without the webhooks scopes sees no section and a forged POST is refused, 403);
 * a role's page (description and permissions, grant / revoke, holders, a stale form, the no-escalation
 * rule); a client secret rotated with an overlap; the dashboard's active sessions and Redis line; the idle
 * timeout. One browser, and one server for the file (restarted with Redis, then with a short idle timeout).
 */
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { useBrowser, screenshot, watchPage } from '../helpers/browser.js';
import { Webhook } from 'standardwebhooks';
import { startRedis, type RedisService } from '../helpers/services/redis-server.js';
import { FAST_WEBHOOKS, startWebhookReceiver, type WebhookReceiver } from '../events/webhook-receiver.js';

const PASSWORD = 'correct horse battery staple';
const ADMIN = 'urn:gatehouse:admin';

describe('console, second round, in headless Chromium', () => {
  const browser = useBrowser();
  let gh: TestGatehouse;
  let receiver: WebhookReceiver;
  let redis: RedisService | undefined;
  let admin: BrowserContext;
  const people = {
    admin: { email: 'root2@example.test', name: 'Rooted Admin' },
    helper: { email: 'helper@example.test', name: 'User Admin' },
    member: { email: 'member@example.test', name: 'Mem Ber' },
    editor: { email: 'editor@example.test', name: 'Role Editor' },
  };
  const ids: Record<string, string> = {};

  before(async () => {
    receiver = await startWebhookReceiver();
    gh = await bootGatehouse({ ...FAST_WEBHOOKS, CONSOLE_ENABLED: 'true', CONSOLE_REQUIRE_MFA: 'false' });
    for (const [key, p] of Object.entries(people)) {
      ids[key] = (await gh.context.accounts.create({ ...p, password: PASSWORD, emailVerified: true })).id;
    }
    await gh.context.accounts.setRoles(people.admin.email, ['gatehouse:admin']);
    await gh.context.accounts.setRoles(people.helper.email, ['gatehouse:user-admin']);
    // may edit roles and assign them, but holds no other management authority
    await gh.context.roles.create({ name: 'role-editor', permissions: ['admin:roles:read', 'admin:roles:write', 'admin:users:read', 'admin:users:write'].map((scope) => ({ resource: ADMIN, scope })) });
    await gh.context.accounts.setRoles(people.editor.email, ['role-editor']);
    await gh.context.roles.create({ name: 'support', description: 'Helps people', permissions: [{ resource: ADMIN, scope: 'admin:audit:read' }] });
    admin = await browser().browser.newContext();
    await signIn(await admin.newPage(), people.admin.email);
  });
  after(async () => {
    await gh?.close();
    await receiver?.close();
    await redis?.stop();
  });

  async function signIn(page: Page, email: string, path = '/console') {
    page.setDefaultTimeout(5_000);
    await page.goto(`${gh.issuer}${path}`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${gh.issuer}${path}`);
  }
  const lastEvent = async (type: string) => (await gh.context.audit.query({ types: [type] })).at(-1);
  const endpoints = () => gh.context.store.webhooks.listEndpoints();
  async function adminPage(): Promise<Page> {
    const page = await admin.newPage();
    page.setDefaultTimeout(5_000);
    return page;
  }
  const notice = (page: Page, text: RegExp | string) => page.getByRole('status').filter({ hasText: text }).waitFor();

  it('webhooks: add (secret shown once), test event and its delivery, redeliver, disable / enable, rotate with an overlap, delete', async () => {
    const page = await adminPage();
    const watch = watchPage(page);
    await page.goto(`${gh.issuer}/console`);
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
    // a refused URL is shown by its field, and nothing is stored
    await page.getByLabel(/^URL/).fill('http://169.254.169.254/latest');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.locator('#err-url').waitFor();
    assert.equal(await page.getByLabel(/^URL/).getAttribute('aria-invalid'), 'true');
    assert.equal((await endpoints()).length, 0);

    await page.getByLabel(/^URL/).fill(receiver.url);
    await page.getByLabel(/^Description/).fill('Orders service');
    await page.getByLabel(/^webhook\.test/).check();
    await page.getByLabel(/^user\.created/).check();
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const secret = await page.getByTestId('webhook-secret').innerText();
    assert.match(secret, /^whsec_/);
    await screenshot(page, 'console-webhook-secret');
    const [endpoint] = await endpoints();
    assert.ok(endpoint);
    assert.deepEqual(endpoint.eventTypes, ['user.created', 'webhook.test']);
    assert.equal(endpoint.description, 'Orders service');
    const created = await lastEvent('admin.webhook.created');
    assert.equal(created?.accountId, ids.admin);
    assert.equal(created?.details.endpoint_id, endpoint.id);
    assert.equal(created?.details.via, 'console');

    // the secret is never shown again: not on the list, not on the endpoint's page, not in the store
    await page.goto(`${gh.issuer}/console/webhooks`);
    assert.doesNotMatch(await page.content(), new RegExp(secret));
    assert.match(await page.getByTestId('webhooks').innerText(), /Orders service/);
    await screenshot(page, 'console-webhooks');
    await page.getByRole('link', { name: endpoint.url }).click();
    assert.doesNotMatch(await page.content(), new RegExp(secret));
    assert.doesNotMatch(JSON.stringify(endpoint), new RegExp(secret));

    // a test event, delivered (signed with the secret shown), listed with status, code and time
    await page.getByRole('button', { name: 'Send a test event' }).click();
    await notice(page, 'test event was queued');
    assert.equal((await lastEvent('admin.webhook.tested'))?.details.endpoint_id, endpoint.id);
    await receiver.until('the test event', (r) => r.length === 1);
    assert.equal(receiver.verified(secret)[0]?.type, 'webhook.test');
    await waitForDelivery(endpoint.id, (d) => d.status === 'succeeded');
    await page.reload();
    const row = page.getByTestId('deliveries').locator('tbody tr').first();
    assert.match(await row.innerText(), /webhook\.test[\s\S]*succeeded[\s\S]*200[\s\S]*\d+ ms/);
    await screenshot(page, 'console-webhook');

    // redeliver: the same webhook-id again
    await row.getByRole('button', { name: /Redeliver/ }).click();
    await notice(page, 'queued again');
    await receiver.until('the redelivery', (r) => r.length === 2);
    assert.equal(receiver.received[1]!.id, receiver.received[0]!.id);
    assert.equal((await lastEvent('admin.webhook.redelivered'))?.accountId, ids.admin);

    await page.getByRole('button', { name: 'Disable', exact: true }).click();
    await notice(page, 'is disabled');
    assert.equal((await gh.context.store.webhooks.findEndpoint(endpoint.id))?.enabled, false);
    assert.deepEqual((await lastEvent('admin.webhook.updated'))?.details.changed, ['enabled']);
    await page.getByRole('button', { name: 'Enable', exact: true }).click();
    await notice(page, 'is enabled');
    assert.equal((await gh.context.store.webhooks.findEndpoint(endpoint.id))?.enabled, true);

    // rotate with a day's overlap: both secrets sign the next delivery
    await page.getByLabel('The old secret keeps signing for').selectOption({ label: '24 hours' });
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    const rotated = await page.getByTestId('webhook-secret').innerText();
    assert.notEqual(rotated, secret);
    assert.match(await page.getByRole('status').innerText(), /previous secret also signs/);
    assert.equal((await lastEvent('admin.webhook.secret_rotated'))?.details.overlap_seconds, 86_400);
    await page.getByTestId('webhook-link').click();
    await page.getByRole('button', { name: 'Send a test event' }).click();
    await receiver.until('the test event after rotation', (r) => r.length === 3);
    const third = receiver.received[2]!;
    const headers = { 'webhook-id': String(third.headers['webhook-id']), 'webhook-timestamp': String(third.headers['webhook-timestamp']), 'webhook-signature': String(third.headers['webhook-signature']) };
    for (const s of [secret, rotated]) new Webhook(s).verify(third.body, headers);

    // delete: the URL typed
    await page.getByLabel(/Delete this endpoint/).fill('https://wrong.example.test/');
    await page.getByRole('button', { name: 'Delete endpoint' }).click();
    await page.getByText(/To confirm, type/).waitFor();
    assert.equal((await endpoints()).length, 1);
    await page.goBack();
    await page.getByLabel(/Delete this endpoint/).fill(endpoint.url);
    await page.getByRole('button', { name: 'Delete endpoint' }).click();
    await notice(page, 'endpoint was deleted');
    assert.equal((await endpoints()).length, 0);
    assert.equal((await lastEvent('admin.webhook.deleted'))?.details.endpoint_id, endpoint.id);
    assert.deepEqual(watch.problems, [], 'no CSP violation or script error');
  });

  it('webhooks: a delivery of another endpoint is 404, and an unknown endpoint too', async () => {
    const page = await adminPage();
    const a = await createEndpoint(`${receiver.url}/a`);
    const b = await createEndpoint(`${receiver.url}/b`);
    const delivery = await gh.context.store.webhooks.listDeliveries(a, 1);
    assert.ok(delivery[0], 'a delivery of endpoint a');
    await page.goto(`${gh.issuer}/console/webhooks/${b}`);
    const csrf = await page.locator('input[name=_csrf]').first().inputValue();
    const foreign = await page.request.post(`${gh.issuer}/console/webhooks/${b}/deliveries/${delivery[0].id}/redeliver`, { form: { _csrf: csrf }, maxRedirects: 0 });
    assert.equal(foreign.status(), 404);
    const unknown = await page.goto(`${gh.issuer}/console/webhooks/ep_nothing`);
    assert.equal(unknown?.status(), 404);
  });

  it('an operator without the webhooks scopes sees no webhooks section, and a forged POST is refused (403)', async () => {
    const id = await createEndpoint(`${receiver.url}/c`);
    const page = await browser().newPage();
    await signIn(page, people.helper.email);
    const nav = page.getByRole('navigation', { name: 'Console' });
    assert.ok(!(await nav.getByRole('link').allInnerTexts()).includes('Webhooks'));
    assert.equal((await page.goto(`${gh.issuer}/console/webhooks`))?.status(), 403);
    assert.equal((await page.goto(`${gh.issuer}/console/webhooks/${id}`))?.status(), 403);
    await page.goto(`${gh.issuer}/console`);
    const csrf = await page.locator('input[name=_csrf]').first().inputValue();
    for (const path of ['/console/webhooks', `/console/webhooks/${id}/disable`, `/console/webhooks/${id}/rotate-secret`, `/console/webhooks/${id}/test`]) {
      const forged = await page.request.post(`${gh.issuer}${path}`, { form: { _csrf: csrf, url: 'https://evil.example.test/', confirm: `${receiver.url}/c` }, maxRedirects: 0 });
      assert.equal(forged.status(), 403, path);
    }
    const forgedDelete = await page.request.post(`${gh.issuer}/console/webhooks/${id}/delete`, { form: { _csrf: csrf, confirm: `${receiver.url}/c` }, maxRedirects: 0 });
    assert.equal(forgedDelete.status(), 403);
    const kept = await gh.context.store.webhooks.findEndpoint(id);
    assert.equal(kept?.enabled, true);
    assert.equal((await endpoints()).filter((e) => e.url.startsWith('https://evil')).length, 0);
  });

  it('roles: change the description and permissions (whole list, add one, remove one), assign and remove holders, a stale form refused', async () => {
    const page = await adminPage();
    await page.goto(`${gh.issuer}/console/roles`);
    await page.getByRole('link', { name: 'support', exact: true }).click();
    await page.getByRole('heading', { name: 'support', level: 1 }).waitFor();
    const role = () => gh.context.roles.find('support');

    // a permission of no registered API is refused by its field
    await page.getByLabel(/^Permissions/).fill('https://nowhere.example.test=orders:read');
    await page.getByRole('button', { name: 'Save role' }).click();
    assert.match(await page.locator('#err-permissions').innerText(), /no API is registered/);
    assert.deepEqual((await role())?.permissions, [{ resource: ADMIN, scope: 'admin:audit:read' }]);

    await page.getByLabel('Description').fill('Answers the help desk');
    await page.getByLabel(/^Permissions/).fill(`${ADMIN}=admin:audit:read\n${ADMIN}=admin:users:read`);
    await page.getByRole('button', { name: 'Save role' }).click();
    await notice(page, 'role was saved');
    assert.equal((await role())?.description, 'Answers the help desk');
    assert.deepEqual((await role())?.permissions.map((p) => p.scope), ['admin:audit:read', 'admin:users:read']);
    const updated = await lastEvent('role.updated');
    assert.equal(updated?.details.role, 'support');
    assert.equal(updated?.details.by_account, ids.admin);
    assert.equal(updated?.details.via, 'console');

    await page.getByLabel(/^Add one permission/).fill(`${ADMIN}=admin:keys:read`);
    await page.getByRole('button', { name: 'Add permission' }).click();
    await notice(page, 'permission was added');
    assert.ok((await role())?.permissions.some((p) => p.scope === 'admin:keys:read'));
    await page.getByRole('button', { name: `Remove permission admin:audit:read at ${ADMIN}` }).click();
    await notice(page, 'permission was removed');
    assert.deepEqual((await role())?.permissions.map((p) => p.scope), ['admin:keys:read', 'admin:users:read']);

    // holders: an unknown email by its field, then assign, then remove
    await page.getByLabel(/Give the role to/).fill('nobody-here@example.test');
    await page.getByRole('button', { name: 'Assign role' }).click();
    assert.match(await page.locator('#err-email').innerText(), /No account/);
    await page.getByLabel(/Give the role to/).fill(people.member.email);
    await page.getByRole('button', { name: 'Assign role' }).click();
    await notice(page, 'role was assigned');
    assert.deepEqual((await gh.context.accounts.findById(ids.member!))?.roles, ['support']);
    assert.equal((await lastEvent('role.assigned'))?.details.by_account, ids.admin);
    assert.match(await page.getByTestId('role-holders').innerText(), /member@example\.test/);
    await screenshot(page, 'console-role');
    await page.getByRole('button', { name: `Remove the role from ${people.member.email}` }).click();
    await notice(page, 'role was removed');
    assert.deepEqual((await gh.context.accounts.findById(ids.member!))?.roles, []);
    assert.equal((await lastEvent('role.removed'))?.accountId, ids.member);

    // two operators edit one role: the form read before the other's save is refused, nothing lost
    const other = await adminPage();
    await other.goto(`${gh.issuer}/console/roles/support`);
    await page.getByLabel('Description').fill('First save');
    await page.getByRole('button', { name: 'Save role' }).click();
    await notice(page, 'role was saved');
    await other.getByLabel('Description').fill('Second save');
    await other.getByRole('button', { name: 'Save role' }).click();
    await other.getByText(/Someone changed this role after you opened it/).waitFor();
    assert.equal((await role())?.description, 'First save');

    // a built-in role has no forms, and a forged change is refused
    await page.goto(`${gh.issuer}/console/roles/gatehouse%3Aauditor`);
    assert.equal(await page.getByRole('button', { name: 'Save role' }).count(), 0);
    const csrf = await page.locator('input[name=_csrf]').first().inputValue();
    const auditor = (await gh.context.roles.find('gatehouse:auditor'))!;
    const forged = await page.request.post(`${gh.issuer}/console/roles/gatehouse%3Aauditor`, { form: { _csrf: csrf, description: 'owned', permissions: '', updated_at: String(auditor.updatedAt) }, maxRedirects: 0 });
    assert.equal(forged.status(), 400);
    assert.deepEqual((await gh.context.roles.find('gatehouse:auditor'))?.permissions, auditor.permissions);
  });

  it('roles: an operator cannot give a role (or a person) management authority they do not hold', async () => {
    const page = await browser().newPage();
    await signIn(page, people.editor.email, '/console/roles/support');
    // adding admin:webhooks:write, which the editor does not hold
    await page.getByLabel(/^Add one permission/).fill(`${ADMIN}=admin:webhooks:write`);
    await page.getByRole('button', { name: 'Add permission' }).click();
    await page.getByText(/which your roles do not give you/).waitFor();
    assert.ok(!(await gh.context.roles.find('support'))?.permissions.some((p) => p.scope === 'admin:webhooks:write'));
    // the role already holds admin:keys:read: the editor may neither change it nor hand it out
    await page.goto(`${gh.issuer}/console/roles/support`);
    await page.getByLabel('Description').fill('Taken over');
    await page.getByRole('button', { name: 'Save role' }).click();
    await page.getByText(/admin:keys:read, which your roles do not give you/).waitFor();
    await page.goto(`${gh.issuer}/console/roles/support`);
    await page.getByLabel(/Give the role to/).fill(people.editor.email);
    await page.getByRole('button', { name: 'Assign role' }).click();
    await page.getByText(/which your roles do not give you/).waitFor();
    assert.deepEqual((await gh.context.accounts.findById(ids.editor!))?.roles, ['role-editor']);
    assert.notEqual((await gh.context.roles.find('support'))?.description, 'Taken over');
  });

  it('clients: rotate the secret with an overlap (none, 1 h, 24 h, 7 d): the old one keeps working that long', async () => {
    const created = await gh.context.clients.create({ client_name: 'Overlap app', redirect_uris: ['https://overlap.example.test/cb'] });
    const clientId = created.client_id;
    const old = String(created.client_secret);
    const page = await adminPage();
    await page.goto(`${gh.issuer}/console/clients/${encodeURIComponent(clientId)}`);
    assert.deepEqual(await page.getByLabel('The old secret keeps working for').locator('option').allInnerTexts(), ['none: the old secret stops working now', '1 hour', '24 hours', '7 days']);
    await page.getByLabel('The old secret keeps working for').selectOption({ label: '24 hours' });
    await page.getByLabel(/Rotate the secret/).fill(clientId);
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    const rotated = await page.getByTestId('client-secret').innerText();
    assert.match(await page.getByTestId('previous-secret').innerText(), /keeps working until/);
    await screenshot(page, 'console-client-rotated-overlap');
    // the old secret is still accepted (it stands for the new one), for a day
    assert.equal(await gh.context.clients.currentSecretForPrevious?.(clientId, old), rotated);
    const event = await lastEvent('admin.client.secret_rotated');
    assert.equal(event?.clientId, clientId);
    assert.equal(event?.details.overlap_seconds, 86_400);
    assert.equal(event?.accountId, ids.admin);
    // a value the select does not offer is refused, and nothing rotates
    const csrf = await page.locator('input[name=_csrf]').first().inputValue();
    const forged = await page.request.post(`${gh.issuer}/console/clients/${encodeURIComponent(clientId)}/rotate-secret`, { form: { _csrf: csrf, confirm: clientId, overlap: '999999999' }, maxRedirects: 0 });
    assert.equal(forged.status(), 400);
    assert.equal(await gh.context.clients.currentSecretForPrevious?.(clientId, old), rotated);
    // none: the previous window ends too
    await page.goto(`${gh.issuer}/console/clients/${encodeURIComponent(clientId)}`);
    await page.getByLabel(/Rotate the secret/).fill(clientId);
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    assert.match(await page.getByTestId('previous-secret').innerText(), /stopped working/);
    assert.equal(await gh.context.clients.currentSecretForPrevious?.(clientId, old), undefined);
  });

  it('dashboard: active sessions (the store\'s live sessions), and with REDIS_URL a Redis health line', async () => {
    const page = await adminPage();
    await page.goto(`${gh.issuer}/console`);
    const figure = async () => Number(await page.getByTestId('active-sessions').locator('.figure').innerText());
    const live = await gh.context.store.oidc.countLive('Session');
    assert.ok(live >= 1, `the operators signed in so far: ${live}`);
    assert.equal(await figure(), live);
    assert.deepEqual((await page.getByTestId('health').locator('li').allInnerTexts()).map((t) => t.replace(/\d+ ms/, 'N ms')), ['Store (sqlite), as /health/ready checks it\nanswering, N ms']);

    // the same server with Redis: sessions move there (a sign-in again), and Redis gets its own line
    redis = await startRedis();
    await gh.restart({ ...FAST_WEBHOOKS, CONSOLE_ENABLED: 'true', CONSOLE_REQUIRE_MFA: 'false', REDIS_URL: redis.url });
    const fresh = await browser().newPage();
    await signIn(fresh, people.admin.email);
    assert.equal(await gh.context.store.oidc.countLive('Session'), 1);
    assert.equal(Number(await fresh.getByTestId('active-sessions').locator('.figure').innerText()), 1);
    const health = await fresh.getByTestId('health').locator('li').allInnerTexts();
    assert.match(health.join('|'), /Store \(sqlite\+redis-standalone\)[^|]*answering[^|]*\|Redis \(sessions, sign-in state, rate limits\)\s+answering, \d+ ms/);
    await screenshot(fresh, 'console-dashboard-redis');
  });

  // last: the same server started again with a two-second idle timeout
  it('idle timeout: each request renews the console session; unused for CONSOLE_IDLE_TIMEOUT it ends, and signing in again asks for the password', async () => {
    await gh.restart({ ...FAST_WEBHOOKS, CONSOLE_ENABLED: 'true', CONSOLE_REQUIRE_MFA: 'false', CONSOLE_IDLE_TIMEOUT: '2s', ...(redis ? { REDIS_URL: redis.url } : {}) });
    const context = await browser().browser.newContext();
    const page = await context.newPage();
    await signIn(page, people.admin.email, '/console/users');
    const seen = async () => {
      const raw = (await context.cookies()).find((c) => c.name === 'gatehouse.console')?.value;
      return (JSON.parse(decodeURIComponent(raw ?? '{}')) as { seen?: number }).seen ?? 0;
    };
    const first = await seen();
    assert.ok(first > 0);
    await page.goto(`${gh.issuer}/console/roles`);
    await page.getByRole('heading', { name: 'Roles', level: 1 }).waitFor();
    const renewed = await seen();
    assert.ok(renewed > first, 'a request renews the last-activity time');

    // unused past the timeout (a timer to the cookie's own deadline, not a guess)
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, renewed + 2_000 + 100 - Date.now())));
    const csrf = await page.locator('input[name=_csrf]').first().inputValue();
    const late = await page.request.post(`${gh.issuer}/console/users/${ids.member}/disable`, { form: { _csrf: csrf }, maxRedirects: 0 });
    assert.equal(late.status(), 302, 'an action after the idle end is not carried out');
    assert.equal(new URL(late.headers().location!).searchParams.get('prompt'), 'login');
    assert.equal((await gh.context.accounts.findById(ids.member!))?.disabledAt, null);

    const auth: string[] = [];
    page.on('request', (r) => { if (r.url().startsWith(`${gh.issuer}/auth?`)) auth.push(r.url()); });
    await page.goto(`${gh.issuer}/console/users`);
    await page.getByLabel('Password').waitFor();
    assert.equal(new URL(auth[0]!).searchParams.get('prompt'), 'login', 'the provider session alone does not bring the console back');
    assert.equal(new URL(auth[0]!).searchParams.get('max_age'), '2');
    await screenshot(page, 'console-idle-sign-in');
    await page.getByLabel('Email').fill(people.admin.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${gh.issuer}/console/users`);
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    await context.close();
  });

  async function createEndpoint(url: string): Promise<string> {
    const page = await adminPage();
    await page.goto(`${gh.issuer}/console/webhooks`);
    await page.getByLabel(/^URL/).fill(url);
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.getByTestId('webhook-secret').waitFor();
    const found = (await endpoints()).find((e) => e.url === url);
    assert.ok(found);
    await page.getByTestId('webhook-link').click();
    await page.getByRole('button', { name: 'Send a test event' }).click();
    await notice(page, 'test event was queued');
    await page.close();
    return found.id;
  }

  async function waitForDelivery(endpointId: string, done: (d: { status: string }) => boolean): Promise<void> {
    for (let i = 0; i < 200; i += 1) {
      const [d] = await gh.context.store.webhooks.listDeliveries(endpointId, 1);
      if (d && done(d)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.fail('the delivery did not settle');
  }
});
