/**
 * The lifecycle pages in a real browser (headless Chromium): registration from a sign-in, the mailed
 * verification link, continuing to the app, and a password reset, with screenshots of each page under
 * test-artifacts/screenshots/ and no console error (so no CSP violation) on any of them. The mailed link
 * is opened in a second browser, as on another device.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { linkIn } from '../helpers/services/mail-catcher.js';
import { hashToken } from '../../src/accounts/account-tokens.js';
import { authorization, bootWithMail, registerRelyingParty, type LifecycleHarness, type RelyingParty } from './setup.js';
import { launchBrowser, screenshot, watchPage, type TestBrowser } from '../helpers/browser.js';

describe('lifecycle pages in a browser', () => {
  let h: LifecycleHarness;
  let rp: RelyingParty;
  let browser: TestBrowser;
  let page: Page;
  let watched: { readonly problems: string[] }[];

  /** A page in a fresh browser context, watched for console errors (CSP violations show there). */
  const open = async () => {
    const p = await browser.newPage({ viewport: { width: 520, height: 900 } });
    watched.push(watchPage(p));
    // the relying party's callback: answered here, as the app would
    await p.route('http://127.0.0.1:9/**', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>Acme Notes</h1>' }));
    return p;
  };

  before(async function () {
    this.timeout(60_000);
    h = await bootWithMail({ REGISTRATION_TERMS_URL: 'https://example.test/terms', BRAND_NAME: 'Acme ID' });
    rp = await registerRelyingParty(h.gh, { client_name: 'Acme Notes' });
    browser = await launchBrowser();
  });
  beforeEach(async () => {
    watched = [];
    page = await open();
  });
  afterEach(async () => {
    await browser.closeContexts();
    assert.deepEqual(watched.flatMap((w) => w.problems), [], 'no console errors or CSP violations');
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  it('registers, verifies the address from the mail, and continues to the app', async () => {
    await page.goto((await authorization(rp)).url);
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByRole('heading', { name: 'Create an account' }).waitFor();
    await screenshot(page, 'lifecycle-register');

    await page.getByLabel('Name').fill('Lin Lovelace');
    await page.getByLabel('Email').fill('lin@example.test');
    await page.getByLabel('Password').fill('password12345');
    await page.getByLabel('I accept the').check();
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('alert').waitFor();
    assert.match(await page.getByRole('alert').innerText(), /list of common passwords/);
    await screenshot(page, 'lifecycle-register-refused');

    await page.getByLabel('Password').fill('lanterns over the harbour');
    await page.getByLabel('I accept the').check();
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();
    await screenshot(page, 'lifecycle-register-check-inbox');

    const mail = await h.mail.waitFor((m) => m.to.includes('lin@example.test'));
    const link = linkIn(mail, `${h.gh.issuer}/verify-email?token=`);
    const mailView = await browser.newPage({ viewport: { width: 520, height: 900 } });
    await mailView.setContent(mail.html); // the HTML body, as a mail client would show it
    await screenshot(mailView, 'lifecycle-mail-verify-email');
    // the link opened in another browser (the person's phone, say): the first one continues afterwards
    const mailTab = await open();
    await mailTab.goto(link);
    await screenshot(mailTab, 'lifecycle-verify-email');
    await mailTab.getByRole('button', { name: 'Verify my email' }).click();
    await mailTab.getByRole('heading', { name: 'Your email address is verified' }).waitFor();
    await screenshot(mailTab, 'lifecycle-verify-email-done');

    await page.getByRole('button', { name: /I have verified my email/ }).click();
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(/^http:\/\/127\.0\.0\.1:9\/callback\?code=/);
  });

  it('resets a password from the sign-in page', async () => {
    await h.gh.context.accounts.create({ email: 'sam@example.test', password: 'a quiet walk by the river', emailVerified: true });
    await page.goto((await authorization(rp)).url);
    await screenshot(page, 'lifecycle-login-links');
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.getByLabel('Email').fill('sam@example.test');
    await screenshot(page, 'lifecycle-forgot-password');
    await page.getByRole('button', { name: 'Send the link' }).click();
    await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();
    await screenshot(page, 'lifecycle-forgot-password-sent');

    const link = linkIn(await h.mail.waitFor((m) => m.to.includes('sam@example.test')), `${h.gh.issuer}/password/reset?token=`);
    await page.goto(link);
    await page.getByLabel('New password', { exact: true }).fill('a quiet walk by the river');
    await page.getByLabel('Type it again').fill('a quiet walk by the river');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('alert').waitFor();
    assert.match(await page.getByRole('alert').innerText(), /This is your current password|used this password recently/);
    await screenshot(page, 'lifecycle-reset-refused');
    await page.getByLabel('New password', { exact: true }).fill('a brisk run up the hill');
    await page.getByLabel('Type it again').fill('a brisk run up the hill');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('heading', { name: 'Your password was changed' }).waitFor();
    await screenshot(page, 'lifecycle-reset-done');
    await page.getByRole('link', { name: /Sign in to Acme Notes/ }).click();
    await page.getByLabel('Email').fill('sam@example.test');
    await page.getByLabel('Password').fill('a brisk run up the hill');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(/^http:\/\/127\.0\.0\.1:9\/callback\?code=/);
  });

  it('explains a link that no longer works', async () => {
    const account = await h.gh.context.accounts.create({ email: 'kim@example.test', password: 'mountains and valleys' });
    await h.gh.context.store.accountTokens.issue({
      tokenHash: hashToken('k'.repeat(43)), purpose: 'reset-password', accountId: account.id, email: account.email, interactionUid: null,
      createdAt: Date.now() - 7_200_000, expiresAt: Date.now() - 3_600_000, consumedAt: null, supersededAt: null,
    });
    const res = await page.goto(`${h.gh.issuer}/password/reset?token=${'k'.repeat(43)}`);
    assert.equal(res?.status(), 410);
    await page.getByRole('heading', { name: 'This link has expired' }).waitFor();
    await screenshot(page, 'lifecycle-link-expired');
  });
});
