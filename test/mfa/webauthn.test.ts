/**
 * WebAuthn in a real browser: headless Chromium with a DevTools-protocol virtual authenticator registers
 * a passkey on the account page, uses it as the second factor after the password, signs in with it and
 * no password (discoverable credential, user verification), and cannot sign in once it is removed.
 * The ID token's amr/acr are checked by openid-client; screenshots of the pages go to
 * test-artifacts/screenshots/.
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import type { BrowserContext, Page } from 'playwright-core';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { freePort } from '../helpers/services/free-port.js';
import { authorizationRequest, totpCode } from './helpers.js';
import { launchBrowser, screenshot, virtualAuthenticator, type TestBrowser, type VirtualAuthenticator } from '../helpers/browser.js';

describe('MFA: WebAuthn security keys and passkeys in Chromium', function () {
  this.timeout(120_000);
  let gh: TestGatehouse;
  let issuer: string;
  let rp: oidc.Configuration;
  let browser: TestBrowser;
  let context: BrowserContext;
  let page: Page;
  let authenticator: VirtualAuthenticator;
  let refuseAutofill = 0;
  let app: Server;
  let REDIRECT_URI: string;
  const user = { email: 'pat@example.test', password: 'pat-password-123', name: 'Pat Passkey' };

  before(async () => {
    // WebAuthn needs a domain as RP ID (an IP address is refused), so this issuer is http://localhost:PORT
    const port = await freePort();
    issuer = `http://localhost:${port}`;
    // the relying party's redirect URI is a real page (the browser follows the provider's redirect there)
    app = createServer((_req, res) => res.end('back at the app')).listen(0, '127.0.0.1');
    await once(app, 'listening');
    REDIRECT_URI = `http://localhost:${(app.address() as { port: number }).port}/callback`;
    gh = await bootGatehouse({ PORT: String(port), ISSUER: issuer });
    await gh.context.accounts.create({ ...user, emailVerified: true });
    const client = await gh.context.clients.create({
      client_name: 'Passkey RP', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic',
    });
    rp = await oidc.discovery(new URL(issuer), client.client_id, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 900, height: 1000 } });
    page = await context.newPage();
    authenticator = await virtualAuthenticator(page);
    // the relying party's callback is answered in the browser, and its URL handed to openid-client
    // The virtual authenticator takes a conditional-mediation (autofill) request at once, as if the person
    // picked the passkey from the username field's suggestions. Tests that want the password first refuse
    // the next autofill request's options here (the page then simply offers no autofill).
    await context.route((url) => /^\/interaction\/[^/]+\/webauthn\/options$/.test(url.pathname), async (route) => {
      if (refuseAutofill > 0) {
        refuseAutofill--;
        return route.abort();
      }
      return route.continue();
    });
  });
  after(async () => {
    await browser?.close();
    await gh?.close();
    app?.closeAllConnections();
    await new Promise((resolve) => app?.close(resolve));
  });

  const shot = (name: string) => screenshot(page, name);

  async function signInWithPassword() {
    await page.fill('#email', user.email);
    await page.fill('#password', user.password);
    await Promise.all([page.waitForNavigation(), page.click('button.primary[type=submit]')]);
  }

  /** Starts an authorization request in the browser; `finish` exchanges the code the browser came back with. */
  async function authorize(extra: Record<string, string> = {}) {
    const req = await authorizationRequest(rp, REDIRECT_URI, extra);
    await page.goto(req.url, { waitUntil: 'commit' });
    return {
      async finish() {
        // the consent page comes first the first time this client is used
        const atClient = (u: URL) => u.href.startsWith(REDIRECT_URI);
        const consent = page.locator('form[action$="/consent"] button');
        await Promise.race([page.waitForURL(atClient).catch(() => undefined), consent.waitFor().catch(() => undefined)]);
        if (!atClient(new URL(page.url()))) await Promise.all([page.waitForURL(atClient), consent.click()]);
        const tokens = await oidc.authorizationCodeGrant(rp, new URL(page.url()), { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
        return tokens.claims()!;
      },
    };
  }

  it('registers a passkey on the account page', async () => {
    await page.goto(`${issuer}/account`);
    await signInWithPassword();
    assert.match(page.url(), /\/account$/);
    await shot('account-profile');

    await page.goto(`${issuer}/account/security`);
    await page.fill('#passkey-name', 'Laptop passkey');
    await Promise.all([page.waitForURL(/\/interaction\//), page.click('form[data-webauthn="register"] button[type=submit]')]);
    // the account now has a second factor, which the account pages require (issue 10 item 1): the
    // password-only session steps up with the new passkey before the security page opens again
    assert.match(await page.locator('h1').innerText(), /Two-step verification/);
    await Promise.all([page.waitForURL(/\/account\/security$/), page.click('[data-webauthn-start]')]);
    const items = page.locator('[data-testid="passkey-list"] li');
    assert.equal(await items.count(), 1);
    // (used once already: the step-up above)
    assert.match(await items.first().innerText(), /Laptop passkey/);
    await shot('account-security-passkey-list');

    const [credential] = await authenticator.credentials();
    assert.ok(credential?.isResidentCredential, 'a discoverable credential (passkey)');
    const stored = await gh.context.store.factors.findWebAuthn(Buffer.from(credential.credentialId, 'base64').toString('base64url'));
    assert.equal(stored?.name, 'Laptop passkey');
  });

  it('uses the passkey as the second factor after the password (amr pwd+hwk+user+mfa, acr phr)', async () => {
    await context.clearCookies();
    refuseAutofill = 1;
    const flow = await authorize();
    await page.locator('[data-webauthn-start]').waitFor({ state: 'visible' });
    await shot('login-page');
    await signInWithPassword();
    assert.equal(refuseAutofill, 0, 'the login page asked for autofill');
    assert.match(await page.locator('h1').innerText(), /Two-step verification/);
    await shot('mfa-security-key');
    await page.click('[data-webauthn-start]');
    const claims = await flow.finish();
    assert.deepEqual(claims.amr, ['pwd', 'hwk', 'user', 'mfa']);
    assert.equal(claims.acr, 'urn:gatehouse:acr:phr');
    const [credential] = await authenticator.credentials();
    assert.ok(credential!.signCount >= 1, 'the authenticator counted the signature');
  });

  it('signs in with the passkey and no password from the button (discoverable credential, user verified)', async () => {
    await context.clearCookies();
    refuseAutofill = 1;
    const flow = await authorize({ acr_values: 'urn:gatehouse:acr:phr' });
    assert.equal(await page.getAttribute('#email', 'autocomplete'), 'username webauthn', 'passkeys are offered in autofill');
    await page.click('[data-webauthn-start]');
    const claims = await flow.finish();
    assert.deepEqual(claims.amr, ['hwk', 'user', 'mfa']);
    assert.equal(claims.acr, 'urn:gatehouse:acr:phr');
  });

  it('signs in with the passkey from the username field\'s autofill (conditional mediation)', async () => {
    await context.clearCookies();
    const flow = await authorize();
    // nothing is clicked: the autofill request started with the page
    const claims = await flow.finish();
    assert.deepEqual(claims.amr, ['hwk', 'user', 'mfa']);

    const account = await gh.context.store.accounts.findByEmail(user.email);
    const [stored] = await gh.context.store.factors.listWebAuthn(account!.id);
    assert.ok(stored!.lastUsedAt, 'last use is recorded');
    assert.ok(stored!.counter >= 2, 'the signature counter is stored');
  });

  it('refuses a disabled account\'s passkey as it refuses an unknown one; enabled, it signs in again (issue 13)', async () => {
    const account = await gh.context.store.accounts.findByEmail(user.email);
    const target = { scope: {}, account: { id: account!.id }, by: { via: 'test' } };
    await gh.context.accountLifecycle.disable(target);
    await context.clearCookies();
    await authorize();
    // the autofill request is answered by the authenticator: the credential is valid, the account is not
    const error = page.locator('[data-webauthn-error]').first();
    await error.waitFor({ state: 'visible' });
    assert.match(await error.innerText(), /not accepted/);
    assert.ok(page.url().startsWith(`${issuer}/interaction/`), 'still on the login page');

    await gh.context.accountLifecycle.enable(target);
    await context.clearCookies();
    const claims = await (await authorize()).finish();
    assert.deepEqual(claims.amr, ['hwk', 'user', 'mfa']);
  });

  it('shows TOTP enrolment with a QR code and the code entry page', async () => {
    await page.goto(`${issuer}/account/security/totp`, { waitUntil: 'commit' });
    // signed in by the passkey in autofill, back on the enrolment page
    await page.waitForURL(/\/account\/security\/totp$/);
    assert.ok(await page.locator('img.qr').isVisible());
    const secret = (await page.locator('[data-testid="totp-secret"]').textContent())!.replace(/\s/g, '');
    await shot('totp-enrolment');
    await page.fill('#code', await totpCode(secret, -1));
    await Promise.all([page.waitForNavigation(), page.click('button.primary[type=submit]')]);
    assert.equal(await page.locator('[data-testid="recovery-codes"] li').count(), 10);
    await shot('recovery-codes');

    await context.clearCookies();
    refuseAutofill = 1;
    await authorize();
    await signInWithPassword();
    assert.ok(await page.locator('#code').isVisible(), 'the code field is offered next to the passkey');
    await shot('mfa-code-entry');
  });

  it('a removed passkey can no longer sign in', async () => {
    await context.clearCookies();
    await page.goto(`${issuer}/account/security`, { waitUntil: 'commit' });
    await page.waitForURL(/\/account\/security$/); // signed in by the passkey in autofill
    await Promise.all([page.waitForURL(/notice=passkey-removed/), page.click('[data-testid="passkey-list"] button')]);
    assert.equal(await page.locator('[data-testid="passkey-list"]').count(), 0);

    await context.clearCookies();
    await authorize();
    // the autofill request is answered by the authenticator, which still holds the credential: refused
    const error = page.locator('[data-webauthn-error]').first();
    await error.waitFor({ state: 'visible' });
    assert.match(await error.innerText(), /not accepted/);
    // and so is the button
    await page.click('[data-webauthn-start]');
    await page.waitForResponse((r) => r.url().endsWith('/webauthn') && r.status() === 401);
    assert.match(await error.innerText(), /not accepted/);
    assert.ok(page.url().startsWith(`${issuer}/interaction/`), 'still on the login page');
    await shot('login-removed-passkey');

    // a German page says its own words, not the answer's English error_description (issue 20)
    await context.clearCookies();
    await page.setExtraHTTPHeaders({ 'accept-language': 'de' });
    await authorize();
    assert.equal(await page.getAttribute('html', 'lang'), 'de');
    await error.waitFor({ state: 'visible' });
    assert.match(await error.innerText(), /Dieser Sicherheitsschlüssel oder Passkey wurde nicht akzeptiert/);
    assert.doesNotMatch(await error.innerText(), /not accepted/);
    await page.setExtraHTTPHeaders({});
  });
});
