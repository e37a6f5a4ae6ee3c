/// <reference lib="dom" />
/**
 * The operators' console in headless Chromium (issue 19): sign-in through Gatehouse itself, every page
 * (with a screenshot each), every action changing the store as the management API would and writing its
 * audit event as the operator, keyboard-only use of the users page, and an operator without roles who
 * sees no actions and whose forged POST is refused. One server and one browser for the file.
 */
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { useBrowser, screenshot, watchPage } from '../helpers/browser.js';

const PASSWORD = 'correct horse battery staple';

describe('console in headless Chromium', () => {
  const browser = useBrowser();
  let gh: TestGatehouse;
  let admin: BrowserContext;
  const people = {
    admin: { email: 'root@example.test', name: 'Rooted Admin' },
    nobody: { email: 'nobody@example.test', name: 'No Roles' },
    target: { email: 'target@example.test', name: 'Tara Target' },
    doomed: { email: 'doomed@example.test', name: 'Doomed Account' },
  };
  const ids: Record<string, string> = {};

  before(async () => {
    gh = await bootGatehouse({ CONSOLE_ENABLED: 'true', CONSOLE_REQUIRE_MFA: 'false' });
    for (const [key, p] of Object.entries(people)) {
      ids[key] = (await gh.context.accounts.create({ ...p, password: PASSWORD, emailVerified: true })).id;
    }
    await gh.context.accounts.setRoles(people.admin.email, ['gatehouse:admin']);
  });
  after(async () => gh?.close());

  async function signIn(page: Page, email: string, path = '/console') {
    await page.goto(`${gh.issuer}${path}`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${gh.issuer}${path}`);
  }
  const eventsOf = async (type: string) => gh.context.audit.query({ types: [type] });
  const lastEvent = async (type: string) => (await eventsOf(type)).at(-1);

  async function adminPage(): Promise<Page> {
    const page = await admin.newPage();
    page.setDefaultTimeout(5_000);
    return page;
  }

  it('signs the operator in through Gatehouse (code + PKCE, consented by construction) and shows the dashboard', async () => {
    admin = await browser().browser.newContext();
    const page = await admin.newPage();
    page.setDefaultTimeout(5_000);
    const watch = watchPage(page);
    const redirect = await fetch(`${gh.issuer}/console`, { redirect: 'manual' });
    const auth = new URL(redirect.headers.get('location')!);
    assert.equal(auth.searchParams.get('client_id'), 'gatehouse-console');
    assert.equal(auth.searchParams.get('response_type'), 'code');
    assert.equal(auth.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(auth.searchParams.get('max_age'));

    await signIn(page, people.admin.email);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    assert.equal(await page.getByTestId('operator').innerText(), people.admin.email);
    const nav = page.getByRole('navigation', { name: 'Console' });
    for (const label of ['Users', 'Roles', 'Clients', 'APIs', 'Audit log', 'Signing keys']) assert.ok(await nav.getByRole('link', { name: label }).isVisible(), label);
    assert.match(await page.locator('figure.chart').first().innerText(), /Sign-ins, last 24 hours/);
    assert.equal(await page.locator('figure.chart svg').count(), 2);
    await screenshot(page, 'console-dashboard');
    assert.deepEqual(watch.problems, [], 'no CSP violation or script error');
    // the session cookie is httpOnly, SameSite=Strict and scoped to /console
    const cookie = (await admin.cookies()).find((c) => c.name === 'gatehouse.console');
    assert.ok(cookie?.httpOnly);
    assert.equal(cookie?.sameSite, 'Strict');
    assert.equal(cookie?.path, '/console');
  });

  it('users: search, detail, and each action changes the store and is audited as the operator', async () => {
    const page = await adminPage();
    await page.goto(`${gh.issuer}/console/users?q=tar`);
    assert.match(await page.getByTestId('users').innerText(), /target@example\.test/);
    assert.doesNotMatch(await page.getByTestId('users').innerText(), /doomed/);
    await screenshot(page, 'console-users');
    await page.getByRole('link', { name: people.target.email }).click();
    await page.getByRole('heading', { name: people.target.email }).waitFor();
    await screenshot(page, 'console-user');

    const act = async (button: string, notice: RegExp) => {
      await page.getByRole('button', { name: button, exact: true }).click();
      await page.getByRole('status').filter({ hasText: notice }).waitFor();
    };
    await act('Disable', /disabled/);
    assert.notEqual((await gh.context.accounts.findById(ids.target!))!.disabledAt, null);
    const disabled = await lastEvent('admin.user.disabled');
    assert.equal(disabled?.accountId, ids.target);
    assert.equal(disabled?.details.via, 'console');
    assert.equal(disabled?.details.actorAccountId, ids.admin);
    await act('Enable', /enabled/);
    assert.equal((await gh.context.accounts.findById(ids.target!))!.disabledAt, null);
    await act('Unlock', /lockouts are cleared/);
    assert.equal((await lastEvent('admin.user.unlocked'))?.details.actorAccountId, ids.admin);
    await act('Send password reset', /password reset link was sent/);
    assert.equal((await lastEvent('password.reset_requested'))?.accountId, ids.target);
    assert.equal((await lastEvent('admin.user.password_reset_sent'))?.details.actorAccountId, ids.admin);
    await act('Sign out everywhere', /signed out everywhere/);
    assert.equal((await lastEvent('admin.user.signed_out'))?.details.actorAccountId, ids.admin);

    await page.getByLabel('Assign a role').selectOption('gatehouse:auditor');
    await page.getByRole('button', { name: 'Assign', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'assigned' }).waitFor();
    assert.deepEqual((await gh.context.accounts.findById(ids.target!))!.roles, ['gatehouse:auditor']);
    assert.equal((await lastEvent('role.assigned'))?.details.by_account, ids.admin);
    await page.getByRole('button', { name: 'Remove role gatehouse:auditor' }).click();
    await page.getByRole('status').filter({ hasText: 'removed' }).waitFor();
    assert.deepEqual((await gh.context.accounts.findById(ids.target!))!.roles, []);

    // reset factors needs the email typed
    await page.getByLabel(/Remove every second factor/).fill('wrong@example.test');
    await page.getByRole('button', { name: 'Reset factors' }).click();
    await page.getByText(/To confirm, type target@example\.test exactly/).waitFor();
    await page.goBack();
    await page.getByLabel(/Remove every second factor/).fill(people.target.email);
    await page.getByRole('button', { name: 'Reset factors' }).click();
    await page.getByRole('status').filter({ hasText: 'second factor' }).waitFor();
    assert.equal((await lastEvent('admin.user.factors_reset'))?.details.actorAccountId, ids.admin);

    // delete, with the email typed
    await page.goto(`${gh.issuer}/console/users/${ids.doomed}`);
    await page.getByLabel(/Delete this account/).fill(people.doomed.email);
    await page.getByRole('button', { name: 'Delete account' }).click();
    await page.getByRole('status').filter({ hasText: 'deleted' }).waitFor();
    assert.equal(await gh.context.accounts.findById(ids.doomed!), undefined);
    assert.equal((await lastEvent('admin.user.deleted'))?.details.actorAccountId, ids.admin);
  });

  it('users page by keyboard only: search, open a person, act', async () => {
    const page = await adminPage();
    await page.goto(`${gh.issuer}/console/users`);
    const focused = () => page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      return el ? `${el.tagName.toLowerCase()}:${el.getAttribute('name') ?? el.textContent?.trim() ?? ''}` : '';
    });
    // Tab through the nav to the search field
    const order: string[] = [];
    for (let i = 0; i < 12; i += 1) {
      await page.keyboard.press('Tab');
      order.push(await focused());
      if (order.at(-1) === 'input:q') break;
    }
    assert.deepEqual(order.slice(0, 7), ['a:Dashboard', 'a:Users', 'a:Roles', 'a:Clients', 'a:APIs', 'a:Audit log', 'a:Signing keys'], order.join(' | '));
    assert.equal(order.at(-1), 'input:q', order.join(' | '));
    await page.keyboard.type('target');
    await page.keyboard.press('Enter');
    await page.waitForURL('**/console/users?q=target**');
    // Tab from the search form to the first result, and open it
    for (let i = 0; i < 20 && !(await focused()).startsWith('a:target@'); i += 1) await page.keyboard.press('Tab');
    assert.equal(await focused(), `a:${people.target.email}`);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: people.target.email }).waitFor();
    for (let i = 0; i < 20 && (await focused()) !== 'button:Disable'; i += 1) await page.keyboard.press('Tab');
    assert.equal(await focused(), 'button:Disable');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'disabled' }).waitFor();
    await page.getByRole('button', { name: 'Enable', exact: true }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'enabled' }).waitFor();
    // and on a phone-sized screen
    await page.setViewportSize({ width: 375, height: 800 });
    await page.goto(`${gh.issuer}/console/users`);
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'no horizontal scrolling');
    await screenshot(page, 'console-users-mobile');
  });

  it('roles, APIs, audit log (filters and paging) and signing keys (rotate, revoke with the kid typed)', async () => {
    const page = await adminPage();
    await page.goto(`${gh.issuer}/console/roles`);
    assert.match(await page.getByTestId('roles').innerText(), /gatehouse:admin[\s\S]*root@example\.test/);
    // create: a malformed permission is refused next to its field, then a good one
    await page.getByLabel('Name', { exact: true }).fill('orders-reader');
    await page.getByLabel(/^Permissions/).fill('not a permission');
    await page.getByRole('button', { name: 'Create role' }).click();
    assert.match(await page.locator('#err-permissions').innerText(), /is not API=scope/);
    await page.getByLabel(/^Permissions/).fill('urn:gatehouse:admin=admin:audit:read');
    await page.getByRole('button', { name: 'Create role' }).click();
    await page.getByRole('status').filter({ hasText: 'created' }).waitFor();
    assert.deepEqual((await gh.context.roles.list()).find((r) => r.name === 'orders-reader')?.permissions, [{ resource: 'urn:gatehouse:admin', scope: 'admin:audit:read' }]);
    assert.equal((await lastEvent('role.created'))?.details.role, 'orders-reader');
    await screenshot(page, 'console-roles');
    await page.getByLabel(/Delete orders-reader/).fill('orders-reader');
    await page.getByRole('button', { name: 'Delete role' }).click();
    await page.getByRole('status').filter({ hasText: 'deleted' }).waitFor();
    assert.equal((await gh.context.roles.list()).some((r) => r.name === 'orders-reader'), false);
    assert.equal((await lastEvent('role.deleted'))?.details.by_account, ids.admin);
    await page.goto(`${gh.issuer}/console/apis`);
    await page.getByRole('heading', { name: 'Gatehouse management API' }).waitFor();
    // register an API: a bad identifier is refused by its field, then a good one, then a scope added
    await page.getByLabel(/^Identifier/).fill('not a uri');
    await page.getByRole('button', { name: 'Register API' }).click();
    assert.match(await page.locator('#err-api-identifier').innerText(), /absolute URI/);
    await page.getByLabel(/^Identifier/).fill('https://orders.example.test');
    await page.getByLabel(/^Scopes/).fill('orders:read = Read your orders');
    await page.getByRole('button', { name: 'Register API' }).click();
    await page.getByRole('status').filter({ hasText: 'registered' }).waitFor();
    assert.deepEqual((await gh.context.resources.find('https://orders.example.test'))?.scopes, { 'orders:read': 'Read your orders' });
    assert.equal((await lastEvent('admin.resource.created'))?.accountId, ids.admin);
    const section = page.locator('section').filter({ has: page.getByTestId('api-https://orders.example.test') });
    await section.getByLabel('New scope').fill('orders:write');
    await section.getByLabel('Shown on the consent page as').fill('Change your orders');
    await section.getByRole('button', { name: /Add the scope/ }).click();
    await page.getByRole('status').filter({ hasText: 'scope was added' }).waitFor();
    assert.equal((await gh.context.resources.find('https://orders.example.test'))?.scopes['orders:write'], 'Change your orders');
    assert.equal((await lastEvent('admin.resource.updated'))?.details.identifier, 'https://orders.example.test');
    await screenshot(page, 'console-apis');

    await page.goto(`${gh.issuer}/console/audit`);
    await page.getByLabel(/Event type/).fill('admin.user.');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL('**/console/audit?type=admin.user.**');
    const rows = await page.getByTestId('audit').locator('tbody tr').allInnerTexts();
    assert.ok(rows.length >= 4 && rows.every((r) => r.includes('admin.user.')), rows.join('\n'));
    await screenshot(page, 'console-audit');
    // paging: more events than a page
    for (let i = 0; i < 55; i += 1) await gh.context.audit.record({ type: 'test.paging', details: { i } });
    await page.goto(`${gh.issuer}/console/audit?type=test.paging`);
    assert.equal(await page.getByTestId('audit').locator('tbody tr').count(), 50);
    await page.getByRole('link', { name: 'Older events' }).click();
    assert.equal(await page.getByTestId('audit').locator('tbody tr').count(), 5);

    await page.goto(`${gh.issuer}/console/keys`);
    const before = await gh.context.store.signingKeys.list();
    await page.getByRole('button', { name: 'Rotate key' }).click();
    await page.getByRole('status').filter({ hasText: 'scheduled' }).waitFor();
    const after = await gh.context.store.signingKeys.list();
    assert.equal(after.length, before.length + 1);
    assert.equal((await lastEvent('admin.key.rotated'))?.accountId, ids.admin);
    await screenshot(page, 'console-keys');
    const next = after.find((k) => !before.some((b) => b.kid === k.kid))!;
    const index = (await page.getByTestId('keys').locator('tbody tr').allInnerTexts()).findIndex((r) => r.includes(next.kid));
    await page.locator(`#confirm-revoke-${index}`).fill(next.kid);
    await page.locator(`#confirm-revoke-${index}`).press('Enter');
    await page.getByRole('status').filter({ hasText: 'revoked' }).waitFor();
    assert.ok(!(await gh.context.store.signingKeys.list()).some((k) => k.kid === next.kid));
    assert.equal((await lastEvent('admin.key.revoked'))?.details.kid, next.kid);
  });

  it('clients: create (secret shown once), validation errors by the fields, edit, rotate, delete', async () => {
    const page = await adminPage();
    await page.goto(`${gh.issuer}/console/clients`);
    await page.getByRole('link', { name: 'Register a client' }).click();
    await page.getByLabel('Name').fill('Console test app');
    await page.getByLabel(/Redirect URIs/).fill('not a url');
    await page.getByRole('button', { name: 'Register' }).click();
    await page.getByRole('alert').waitFor();
    const fieldError = page.locator('#err-redirect_uris');
    assert.match(await fieldError.innerText(), /redirect_uris/);
    assert.equal(await page.getByLabel(/Redirect URIs/).getAttribute('aria-invalid'), 'true');
    assert.equal(await page.getByLabel('Name').inputValue(), 'Console test app');
    await screenshot(page, 'console-client-new-errors');
    await page.getByLabel(/Redirect URIs/).fill('https://app.example.test/callback');
    await page.getByRole('button', { name: 'Register' }).click();
    const secret = await page.getByTestId('client-secret').innerText();
    const clientId = await page.getByTestId('client-id').innerText();
    assert.ok(secret.length >= 32);
    await screenshot(page, 'console-client-secret');
    assert.equal((await lastEvent('admin.client.created'))?.clientId, clientId);
    assert.ok(await gh.context.clients.find(clientId));

    // the secret is never shown again: not on the client's page, not on the list
    await page.goto(`${gh.issuer}/console/clients/${encodeURIComponent(clientId)}`);
    assert.doesNotMatch(await page.content(), new RegExp(secret));
    await page.getByLabel('Name').fill('Renamed app');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'saved' }).waitFor();
    assert.equal((await gh.context.clients.find(clientId))!.metadata.client_name, 'Renamed app');
    await screenshot(page, 'console-client');
    await page.goto(`${gh.issuer}/console/clients`);
    assert.doesNotMatch(await page.content(), new RegExp(secret));
    await screenshot(page, 'console-clients');

    await page.goto(`${gh.issuer}/console/clients/${encodeURIComponent(clientId)}`);
    await page.getByLabel(/Rotate the secret/).fill(clientId);
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    const rotated = await page.getByTestId('client-secret').innerText();
    assert.notEqual(rotated, secret);
    assert.equal(await gh.context.clients.currentSecretForPrevious?.(clientId, rotated), undefined);
    assert.equal((await lastEvent('admin.client.secret_rotated'))?.clientId, clientId);

    await page.goto(`${gh.issuer}/console/clients/${encodeURIComponent(clientId)}`);
    await page.getByLabel(/Delete this client/).fill(clientId);
    await page.getByRole('button', { name: 'Delete client' }).click();
    await page.getByRole('status').filter({ hasText: 'deleted' }).waitFor();
    assert.equal(await gh.context.clients.find(clientId), undefined);
    assert.equal((await lastEvent('admin.client.deleted'))?.clientId, clientId);
  });

  it('an operator without roles sees none of the sections or actions, and a forged POST is refused (403)', async () => {
    const page = await browser().newPage();
    await signIn(page, people.nobody.email);
    const nav = page.getByRole('navigation', { name: 'Console' });
    assert.deepEqual(await nav.getByRole('link').allInnerTexts(), ['Dashboard']);
    await screenshot(page, 'console-no-roles');
    const csrf = await page.locator('input[name=_csrf]').first().inputValue();
    const users = await page.goto(`${gh.issuer}/console/users`);
    assert.equal(users?.status(), 403);
    await screenshot(page, 'console-forbidden');
    // a POST the page never offered, with this browser's own valid CSRF token
    const forged = await page.request.post(`${gh.issuer}/console/users/${ids.target}/disable`, { form: { _csrf: csrf }, maxRedirects: 0 });
    assert.equal(forged.status(), 403);
    assert.equal((await gh.context.accounts.findById(ids.target!))!.disabledAt, null);
    const forgedKey = await page.request.post(`${gh.issuer}/console/keys/rotate`, { form: { _csrf: csrf }, maxRedirects: 0 });
    assert.equal(forgedKey.status(), 403);
    // and without the CSRF token, even the admin's browser is refused
    const noToken = await admin.request.post(`${gh.issuer}/console/users/${ids.target}/disable`, { form: {}, maxRedirects: 0 });
    assert.equal(noToken.status(), 403);
    assert.equal((await gh.context.accounts.findById(ids.target!))!.disabledAt, null);
  });

  it('a user-admin cannot act on an admin (no escalation), and signing out ends the console session', async () => {
    await gh.context.accounts.setRoles(people.nobody.email, ['gatehouse:user-admin']);
    const page = await browser().newPage();
    await signIn(page, people.nobody.email, `/console/users/${ids.admin}`);
    await page.getByRole('button', { name: 'Disable' }).click();
    await page.getByText(/which your roles do not give you/).waitFor();
    assert.equal((await gh.context.accounts.findById(ids.admin!))!.disabledAt, null);

    await page.goto(`${gh.issuer}/console`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: /yes|sign out/i }).first().click();
    await page.waitForURL(`${gh.issuer}/console/signed-out`);
    await screenshot(page, 'console-signed-out');
    await page.goto(`${gh.issuer}/console`);
    await page.getByLabel('Password').waitFor();
  });
});

describe('console defaults: a second factor for operators, and off unless enabled', () => {
  const browser = useBrowser();
  let gh: TestGatehouse;
  const operator = { email: 'mfa-admin@example.test', password: PASSWORD, name: 'Mfa Admin' };

  before(async () => {
    // CONSOLE_REQUIRE_MFA left at its default (true)
    gh = await bootGatehouse({ CONSOLE_ENABLED: 'true' });
    await gh.context.accounts.create({ ...operator, emailVerified: true });
    await gh.context.accounts.setRoles(operator.email, ['gatehouse:admin']);
  });
  after(async () => gh?.close());

  it('asks for a second factor (enrolling one when the operator has none) before the console opens', async () => {
    const { totpCode } = await import('../mfa/helpers.js');
    const redirect = await fetch(`${gh.issuer}/console/users`, { redirect: 'manual' });
    assert.equal(new URL(redirect.headers.get('location')!).searchParams.get('acr_values'), 'urn:gatehouse:acr:mfa');

    const page = await browser().newPage();
    await page.goto(`${gh.issuer}/console/users`);
    await page.getByLabel('Email').fill(operator.email);
    await page.getByLabel('Password').fill(operator.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    // no factor yet: the mfa prompt enrols one, the console does not open on a password alone
    const secret = String(await page.getByTestId('totp-secret').textContent()).replace(/\s/g, '');
    await page.getByLabel('Code from the app').fill(await totpCode(secret));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.getByTestId('recovery-codes').waitFor();
    await page.locator('a.button.primary').click();
    await page.waitForURL(`${gh.issuer}/console/users`);
    await page.getByRole('heading', { name: 'Users' }).waitFor();
  });

  it('is off by default outside development: /console answers 404 and no console client exists', async () => {
    const off = await bootGatehouse({});
    try {
      assert.equal(off.context.config.CONSOLE_ENABLED, false);
      assert.equal((await fetch(`${off.issuer}/console`, { redirect: 'manual' })).status, 404);
      assert.equal((await fetch(`${off.issuer}/console/callback?code=x&state=y`, { redirect: 'manual' })).status, 404);
      const auth = await fetch(`${off.issuer}/auth?client_id=gatehouse-console&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(`${off.issuer}/console/callback`)}&code_challenge=abcdefghijabcdefghijabcdefghijabcdefghijabc&code_challenge_method=S256`, { redirect: 'manual' });
      assert.equal(auth.status, 400);
    } finally {
      await off.close();
    }
  });
});
