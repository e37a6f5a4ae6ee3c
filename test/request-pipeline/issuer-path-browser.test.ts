/// <reference lib="dom" />
/**
 * ISSUER=http://127.0.0.1:PORT/auth in headless Chromium, which applies cookie paths and the CSP as a
 * person's browser does: the console and the account pages sign in, navigate, post forms and sign out
 * entirely under /auth, with no script error, CSP violation or missing asset, and every cookie the
 * browser holds is scoped to /auth.
 */
import assert from 'node:assert/strict';
import type { BrowserContext } from 'playwright-core';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { useBrowser, watchPage } from '../helpers/browser.js';

const PASSWORD = 'correct horse battery staple';
const BASE = '/auth';

describe('ISSUER with a path, in headless Chromium', () => {
  const browser = useBrowser();
  let gh: TestGatehouse;
  const admin = { email: 'root@example.test', name: 'Rooted Admin' };
  const target = { email: 'target@example.test', name: 'Tara Target' };
  let targetId: string;

  before(async () => {
    gh = await bootGatehouse({ CONSOLE_ENABLED: 'true', CONSOLE_REQUIRE_MFA: 'false' }, { issuerPath: BASE });
    await gh.context.accounts.create({ ...admin, password: PASSWORD, emailVerified: true });
    targetId = (await gh.context.accounts.create({ ...target, password: PASSWORD, emailVerified: true })).id;
    await gh.context.accounts.setRoles(admin.email, ['gatehouse:admin']);
  });
  after(async () => gh?.close());

  const assertCookiesUnderBase = async (context: BrowserContext) => {
    const cookies = await context.cookies();
    assert.ok(cookies.length > 0);
    for (const c of cookies) assert.ok(c.path === BASE || c.path.startsWith(`${BASE}/`), `${c.name}: Path=${c.path}`);
  };

  it('the console: sign-in, navigation, an action and its redirect, sign-out', async () => {
    const context = await browser().browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(5_000);
    const watch = watchPage(page);
    await page.goto(`${gh.issuer}/console`);
    assert.ok(new URL(page.url()).pathname.startsWith(`${BASE}/interaction/`), page.url());
    await page.getByLabel('Email').fill(admin.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${gh.issuer}/console`);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();

    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Users' }).click();
    await page.waitForURL(`${gh.issuer}/console/users`);
    await page.getByRole('link', { name: target.email }).click();
    await page.waitForURL(`${gh.issuer}/console/users/${targetId}`);
    await page.getByRole('button', { name: 'Disable', exact: true }).click();
    await page.getByRole('status').filter({ hasText: /disabled/ }).waitFor();
    assert.equal(new URL(page.url()).pathname, `${BASE}/console/users/${targetId}`);
    assert.notEqual((await gh.context.accounts.findById(targetId))!.disabledAt, null);
    await page.getByRole('button', { name: 'Enable', exact: true }).click();
    await page.getByRole('status').filter({ hasText: /enabled/ }).waitFor();

    const consoleCookie = (await context.cookies()).find((c) => c.name === 'gatehouse.console');
    assert.equal(consoleCookie?.path, `${BASE}/console`);
    await assertCookiesUnderBase(context);

    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('button', { name: /yes|sign out/i }).first().click();
    await page.waitForURL(`${gh.issuer}/console/signed-out`);
    await page.getByRole('link', { name: 'Sign in again' }).click();
    await page.getByLabel('Password').waitFor();
    assert.ok(new URL(page.url()).pathname.startsWith(`${BASE}/interaction/`), page.url());
    assert.deepEqual(watch.problems, [], 'no CSP violation, script error or missing asset');
  });

  it('the account pages: sign-in, the stylesheet, a saved profile, the security page', async () => {
    const context = await browser().browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(5_000);
    const watch = watchPage(page);
    const failed: string[] = [];
    page.on('response', (res) => { if (res.status() >= 400) failed.push(`${res.status()} ${res.url()}`); });
    await page.goto(`${gh.issuer}/account`);
    await page.getByLabel('Email').fill(target.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${gh.issuer}/account`);
    // the stylesheet under the base was applied (not a 404 left unstyled)
    const styled = await page.evaluate(() => Array.from(document.styleSheets).some((s) => (s.href ?? '').endsWith('/auth/assets/gatehouse.css') && s.cssRules.length > 0));
    assert.ok(styled);

    await page.getByLabel('Name').fill('Tara T.');
    await page.getByRole('button', { name: /save/i }).first().click();
    await page.waitForURL(/\/auth\/account\?notice=profile-saved$/);
    assert.equal((await gh.context.accounts.findById(targetId))!.name, 'Tara T.');

    await page.getByRole('link', { name: 'Sign-in & security' }).click();
    await page.waitForURL(`${gh.issuer}/account/security`);
    await assertCookiesUnderBase(context);
    assert.deepEqual(failed, []);
    assert.deepEqual(watch.problems, [], 'no CSP violation, script error or missing asset');
  });
});
