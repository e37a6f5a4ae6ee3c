/// <reference lib="dom" />
// (the DOM types are for the page.evaluate callbacks, which run in the browser)
/**
 * The hosted sign-in pages in real headless Chromium: OpenID Connect Core §3.1 (authorization code flow)
 * with PKCE (RFC 7636) from the relying party's link to its callback, and RP-initiated logout (OpenID
 * Connect RP-Initiated Logout 1.0 §2–3). Each test has its own browser context. Screenshots go to
 * test-artifacts/screenshots/ for people to look at.
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import type { Page } from 'playwright-core';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { startRelyingParty, type TestRelyingParty } from '../helpers/relying-party.js';
import { useBrowser, screenshot, watchPage } from '../helpers/browser.js';
import { SCOPE_DESCRIPTIONS } from '../../src/oidc/claims.js';

const CLIENT_NAME = 'Example RP';
const SCOPE = 'openid profile email';

describe('sign-in pages in headless Chromium', () => {
  const browser = useBrowser();
  let gh: TestGatehouse;
  let rp: TestRelyingParty;
  let clientId: string;
  const user = { email: 'ada@example.test', password: 'correct horse battery staple', name: 'Ada Lovelace' };

  before(async () => {
    [gh, rp] = await Promise.all([bootGatehouse(), startRelyingParty()]);
    await gh.context.accounts.create({ ...user, emailVerified: true });
    const client = await gh.context.clients.create({
      client_name: CLIENT_NAME,
      redirect_uris: [rp.redirectUri],
      post_logout_redirect_uris: [rp.postLogoutRedirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'client_secret_basic',
    });
    clientId = client.client_id;
    rp.connect(await oidc.discovery(new URL(gh.issuer), clientId, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] }));
  });
  after(async () => {
    await rp?.close();
    await gh?.close();
  });

  /** Opens the relying party's authorization URL and waits for Gatehouse's login page. */
  async function openLogin(page: Page) {
    await page.goto((await rp.authorizationUrl({ scope: SCOPE })).href);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.ok(page.url().startsWith(`${gh.issuer}/interaction/`), page.url());
  }

  /** Login page → consent page → the relying party's callback page. */
  async function signIn(page: Page) {
    await openLogin(page);
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(`${rp.redirectUri}?**`);
  }

  it('signs in with the authorization code flow and PKCE, through the login and consent pages', async () => {
    const page = await browser().newPage();
    const watch = watchPage(page);

    await openLogin(page);
    assert.equal(await page.locator('.lead').innerText(), `to continue to ${CLIENT_NAME}`);
    await screenshot(page, 'login');

    // A wrong password: the page says so, keeps the email, and does not say whether the account exists
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.equal(await alert.innerText(), 'The email or password is incorrect.');
    assert.equal(await page.getByLabel('Email').inputValue(), user.email);
    assert.equal(await page.getByLabel('Password').inputValue(), '');
    assert.equal(await page.getByLabel('Email').getAttribute('aria-invalid'), 'true');
    assert.match(await page.title(), /^Error: Sign in/);
    await screenshot(page, 'login-error');

    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();

    // Consent: the client by name, and the scopes in plain words (never the raw scope names)
    await page.getByRole('heading', { name: `${CLIENT_NAME} wants to access your account` }).waitFor();
    assert.match(await page.locator('main').innerText(), new RegExp(`Signed in as ${user.email}`));
    const scopes = await page.locator('ul.scopes li').allInnerTexts();
    assert.deepEqual(scopes, SCOPE.split(' ').map((s) => SCOPE_DESCRIPTIONS[s]));
    assert.doesNotMatch(scopes.join('\n'), /\b(openid|profile|email)\b(?! address)/);
    await screenshot(page, 'consent');

    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(`${rp.redirectUri}?**`);
    // the relying party redeemed the code with openid-client and shows who signed in
    assert.equal(await page.locator('#email').innerText(), user.email);

    const callback = rp.callbacks.at(-1)!;
    assert.equal(callback.error, undefined);
    assert.ok(callback.url.searchParams.get('code'));
    assert.equal(callback.url.searchParams.get('iss'), gh.issuer); // RFC 9207
    const claims = callback.tokens!.claims()!;
    assert.equal(claims.iss, gh.issuer);
    assert.equal(claims.aud, clientId);
    assert.equal(claims.email, user.email);
    assert.equal(claims.name, user.name);
    assert.deepEqual(claims.amr, ['pwd']);

    // Every cookie Gatehouse set is httpOnly and SameSite=Lax
    const cookies = await page.context().cookies(gh.issuer);
    const names = cookies.map((c) => c.name);
    for (const expected of ['_session', 'gatehouse.csrf']) assert.ok(names.includes(expected), `no ${expected} cookie in ${names.join(', ')}`);
    for (const c of cookies) {
      assert.equal(c.httpOnly, true, `${c.name} is not httpOnly`);
      assert.equal(c.sameSite, 'Lax', `${c.name} is SameSite=${c.sameSite}`);
    }
    // Playwright reports a cookie without a SameSite attribute as 'Lax'; the DevTools protocol does not
    const cdp = await page.context().newCDPSession(page);
    const raw = (await cdp.send('Network.getCookies', { urls: [gh.issuer] })).cookies;
    assert.equal(raw.length, cookies.length);
    for (const c of raw) assert.equal(c.sameSite, 'Lax', `${c.name} has no explicit SameSite=Lax`);

    assert.deepEqual(watch.problems, []);
  });

  it('signs out through RP-initiated logout, after a confirmation page', async () => {
    const page = await browser().newPage();
    const watch = watchPage(page);
    await signIn(page);
    const idToken = rp.callbacks.at(-1)!.tokens!.id_token!;

    await page.goto(rp.logoutUrl({ id_token_hint: idToken, state: 'bye' }).href);
    await page.getByRole('heading', { name: 'Sign out' }).waitFor();
    assert.match(await page.locator('.lead').innerText(), new RegExp(`sign out of .* and ${CLIENT_NAME}\\?`));
    await screenshot(page, 'logout');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${rp.postLogoutRedirectUri}?state=bye`);
    assert.deepEqual((await page.context().cookies(gh.issuer)).filter((c) => c.name.startsWith('_session')), []);

    // the session is gone: the next sign-in asks for the password again
    await openLogin(page);
    assert.deepEqual(watch.problems, []);
  });

  it('works with the keyboard alone: email → password → Sign in, with a visible focus', async () => {
    const page = await browser().newPage();
    const watch = watchPage(page);
    await openLogin(page);
    const focused = () => page.evaluate(() => {
      const el = document.activeElement as HTMLElement;
      return { id: el.id, text: el.textContent?.trim(), outline: getComputedStyle(el).outlineStyle };
    });

    assert.equal((await focused()).id, 'email', 'the email field has focus when the page opens');
    // nothing focusable comes before it: Shift+Tab leaves the page, and Tab comes back to it
    await page.keyboard.press('Shift+Tab');
    assert.equal((await focused()).id, '');
    await page.keyboard.press('Tab');
    assert.equal((await focused()).id, 'email');
    await page.keyboard.type(user.email);
    await page.keyboard.press('Tab');
    assert.equal((await focused()).id, 'password');
    await page.keyboard.type(user.password);
    await page.keyboard.press('Tab');
    const button = await focused();
    assert.equal(button.text, 'Sign in');
    assert.notEqual(button.outline, 'none', 'the focused button shows a focus ring');
    await page.keyboard.press('Enter');

    await page.getByRole('button', { name: 'Allow' }).waitFor();
    await page.keyboard.press('Tab');
    assert.equal((await focused()).text, 'Allow');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${rp.redirectUri}?**`);
    assert.equal(await page.locator('#email').innerText(), user.email);
    assert.deepEqual(watch.problems, []);
  });

  it('fits a 375px-wide screen without horizontal scrolling', async () => {
    const page = await browser().newPage({ viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true });
    const watch = watchPage(page);
    const assertFits = async (what: string) => {
      const { scrollWidth, clientWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth }));
      assert.ok(scrollWidth <= clientWidth, `${what} scrolls sideways: ${scrollWidth}px content in a ${clientWidth}px viewport`);
    };

    await openLogin(page);
    await assertFits('the login page');
    await page.getByLabel('Email').fill('someone@example.test');
    await page.getByLabel('Password').fill('wrong');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('alert').waitFor();
    await assertFits('the login page with an error');
    await screenshot(page, 'login-error-375');

    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('button', { name: 'Allow' }).waitFor();
    await assertFits('the consent page');
    await screenshot(page, 'consent-375');
    assert.deepEqual(watch.problems, []);
  });

  it('shows a friendly page, not a stack trace, for an expired sign-in link', async () => {
    const page = await browser().newPage();
    const watch = watchPage(page);
    const res = await page.goto(`${gh.issuer}/interaction/no-such-interaction`);
    assert.equal(res?.status(), 400);
    await page.getByRole('heading', { name: 'We could not complete this request' }).waitFor();
    assert.match(await page.locator('main').innerText(), /This sign-in page has expired/);
    await screenshot(page, 'error');
    assert.deepEqual(watch.problems, []);
  });

  it('notices a CSP violation, so the checks above would catch one', async () => {
    const page = await browser().newPage();
    const watch = watchPage(page);
    await openLogin(page);
    // an inline style without the nonce, as a careless template would add
    const reported = page.waitForEvent('console', { predicate: (msg) => msg.type() === 'error' });
    await page.evaluate(() => document.head.append(Object.assign(document.createElement('style'), { textContent: 'body { color: red }' })));
    await reported;
    assert.equal(watch.problems.length, 1);
    assert.match(watch.problems[0]!, /violates the following Content Security Policy directive\W+style-src/);
  });
});
