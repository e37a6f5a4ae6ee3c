/**
 * The login and MFA pages in each shipped locale, rendered by Chromium with a screenshot each
 * (test-artifacts/screenshots/i18n-login-<locale>.png, i18n-mfa-<locale>.png): the language chosen by ui_locales, the page's
 * lang and dir, no CSP violation; Arabic is right to left and its layout mirrored (the heading and the
 * labels start at the right edge of the card, the switcher's links run from the right).
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { startRelyingParty, type TestRelyingParty } from '../helpers/relying-party.js';
import { useBrowser, screenshot, watchPage } from '../helpers/browser.js';
import { LOCALES } from '../../src/i18n/locale-list.js';
import { totpCode } from '../mfa/helpers.js';

const HEADINGS: Record<string, string> = { en: 'Sign in', de: 'Anmelden', fr: 'Se connecter', es: 'Iniciar sesión', ar: 'تسجيل الدخول' };

describe('the login page in every locale (Chromium)', () => {
  const browser = useBrowser();
  let gh: TestGatehouse;
  let rp: TestRelyingParty;
  const user = { email: 'hypatia@example.test', password: 'conic sections of alexandria', name: 'Hypatia' };

  before(async () => {
    [gh, rp] = await Promise.all([bootGatehouse(), startRelyingParty()]);
    const client = await gh.context.clients.create({
      client_name: 'Example RP', redirect_uris: [rp.redirectUri], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic',
    });
    const account = await gh.context.accounts.create({ ...user, emailVerified: true });
    const enrolment = (await gh.context.factors.totp.startEnrolment(account.id, account.email))!;
    assert.equal(await gh.context.factors.totp.confirmEnrolment(account.id, await totpCode(enrolment.secret)), true);
    rp.connect(await oidc.discovery(new URL(gh.issuer), client.client_id, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] }));
  });
  after(async () => {
    await rp?.close();
    await gh?.close();
  });

  const positions: Record<string, { heading: number; card: { left: number; right: number } }> = {};

  for (const locale of LOCALES) {
    it(`renders the login page in ${locale}`, async () => {
      const page = await browser().newPage({ viewport: { width: 800, height: 900 } });
      const watch = watchPage(page);
      await page.goto((await rp.authorizationUrl({ scope: 'openid', ui_locales: locale })).href);
      await page.getByRole('heading', { name: HEADINGS[locale] }).waitFor();
      assert.equal(await page.getAttribute('html', 'lang'), locale);
      assert.equal(await page.getAttribute('html', 'dir'), locale === 'ar' ? 'rtl' : 'ltr');
      const heading = (await page.locator('h1').boundingBox())!;
      const card = (await page.locator('main.card').boundingBox())!;
      positions[locale] = { heading: heading.x + (locale === 'ar' ? heading.width : 0), card: { left: card.x, right: card.x + card.width } };
      assert.equal(await page.locator('label[for=email]').evaluate((el) => getComputedStyle(el).direction), locale === 'ar' ? 'rtl' : 'ltr');
      await screenshot(page, `i18n-login-${locale}`);
      assert.deepEqual(watch.problems, []);
    });
  }

  it('the switcher, clicked in the browser, keeps the sign-in and changes its language', async () => {
    const page = await browser().newPage({ viewport: { width: 800, height: 900 } });
    const watch = watchPage(page);
    await page.goto((await rp.authorizationUrl({ scope: 'openid', ui_locales: 'en' })).href);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    const before = new URL(page.url()).pathname;
    await page.getByRole('link', { name: 'Deutsch' }).click();
    await page.getByRole('heading', { name: 'Anmelden' }).waitFor();
    assert.equal(new URL(page.url()).pathname, before);
    // and the sign-in goes on from there, in German
    await page.locator('#email').fill(user.email);
    await page.locator('#password').fill(user.password);
    await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
    await page.getByRole('button', { name: 'Bestätigen', exact: true }).waitFor();
    assert.equal(await page.getAttribute('html', 'lang'), 'de');
    assert.deepEqual(watch.problems, []);
  });

  const MFA: Record<string, string> = { en: 'Verify', de: 'Bestätigen', fr: 'Valider', es: 'Verificar', ar: 'تحقّق' };
  const buttons: Record<string, { x: number; width: number; left: number; right: number }> = {};
  for (const locale of LOCALES) {
    it(`renders the MFA page in ${locale}`, async () => {
      const page = await browser().newPage({ viewport: { width: 800, height: 900 } });
      const watch = watchPage(page);
      await page.goto((await rp.authorizationUrl({ scope: 'openid', ui_locales: locale })).href);
      await page.locator('#email').fill(user.email);
      await page.locator('#password').fill(user.password);
      await page.locator('form[action$="/login"] button[type=submit]').click();
      await page.getByRole('button', { name: MFA[locale], exact: true }).waitFor();
      assert.equal(await page.getAttribute('html', 'lang'), locale);
      assert.equal(await page.getAttribute('html', 'dir'), locale === 'ar' ? 'rtl' : 'ltr');
      const label = (await page.locator('label[for=code]').boundingBox())!;
      const card = (await page.locator('main.card').boundingBox())!;
      buttons[locale] = { x: label.x, width: label.width, left: card.x, right: card.x + card.width };
      assert.equal(await page.locator('button.primary').evaluate((el) => getComputedStyle(el).direction), locale === 'ar' ? 'rtl' : 'ltr');
      await screenshot(page, `i18n-mfa-${locale}`);
      assert.deepEqual(watch.problems, []);
    });
  }

  it('mirrors the Arabic MFA page: the code label hugs the right edge, English\'s the left', () => {
    const en = buttons.en!;
    const ar = buttons.ar!;
    assert.ok(Math.abs((en.x - en.left) - (ar.right - (ar.x + ar.width))) < 2, JSON.stringify({ en, ar }));
  });

  it('mirrors Arabic: the heading starts at the right edge of the card, the others at the left', () => {
    const padding = (p: { heading: number; card: { left: number; right: number } }, rtl: boolean) => (rtl ? p.card.right - p.heading : p.heading - p.card.left);
    const en = positions.en!;
    const ar = positions.ar!;
    assert.ok(Math.abs(padding(en, false) - padding(ar, true)) < 2, JSON.stringify({ en, ar }));
    assert.ok(ar.heading > ar.card.left + (ar.card.right - ar.card.left) / 2, 'the Arabic heading is on the right half');
  });
});
