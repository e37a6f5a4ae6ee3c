/**
 * Issue 13: a disabled account's passkey signs in nowhere, on SQLite and on PostgreSQL + Redis. The person
 * registers a passkey on the account page (Chromium with a virtual authenticator), an operator disables
 * the account through the management API, and the passkey the login page's autofill offers is refused
 * as an unknown one is; enabled again, the same passkey signs in. One browser for both stores.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import * as oidc from 'openid-client';
import type { BrowserContext, Page } from 'playwright-core';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { freePort } from '../helpers/services/free-port.js';
import { launchBrowser, virtualAuthenticator, type TestBrowser } from '../helpers/browser.js';
import { authorizationRequest } from '../mfa/helpers.js';
import { STORES } from '../admin/stores.js';
import { createAdminCaller, managementToken } from '../admin/admin-client.js';

describe('account lifecycle: a disabled account\'s passkey (Chromium)', function () {
  this.timeout(120_000);
  let browser: TestBrowser;
  let app: Server;
  let redirectUri: string;
  before(async () => {
    // the relying party's redirect URI is a real page (the browser follows the provider's redirect there)
    app = createServer((_req, res) => res.end('back at the app')).listen(0, '127.0.0.1');
    await once(app, 'listening');
    redirectUri = `http://localhost:${(app.address() as { port: number }).port}/callback`;
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    app?.closeAllConnections();
    await new Promise((resolve) => app?.close(resolve));
  });

for (const store of STORES) {
describe(`on ${store.name}`, () => {
  let services: Awaited<ReturnType<typeof store.start>>;
  let gh: TestGatehouse;
  let issuer: string;
  let rp: oidc.Configuration;
  let context: BrowserContext;
  let page: Page;
  const user = { email: 'dana@example.test', password: 'seven quiet lanterns glow' };

  before(async () => {
    services = await store.start();
    // WebAuthn needs a domain as RP ID (an IP address is refused), so this issuer is http://localhost:PORT
    const port = await freePort();
    issuer = `http://localhost:${port}`;
    gh = await bootGatehouse({ ...services.env, PORT: String(port), ISSUER: issuer });
    await gh.context.accounts.create({ ...user, emailVerified: true });
    const client = await gh.context.clients.create({
      client_name: 'Passkey RP', redirect_uris: [redirectUri], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic',
    });
    rp = await oidc.discovery(new URL(issuer), client.client_id, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
    context = await browser.newContext();
    page = await context.newPage();
    await virtualAuthenticator(page);
  });
  after(async () => {
    await context?.close();
    await gh?.close();
    await services?.stop();
  });

  /** An authorization request in the browser; `finish` takes the consent page if shown and redeems the code. */
  async function authorize() {
    const req = await authorizationRequest(rp, redirectUri);
    await page.goto(req.url, { waitUntil: 'commit' });
    return {
      async finish() {
        const atClient = (u: URL) => u.href.startsWith(redirectUri);
        const consent = page.locator('form[action$="/consent"] button');
        await Promise.race([page.waitForURL(atClient).catch(() => undefined), consent.waitFor().catch(() => undefined)]);
        if (!atClient(new URL(page.url()))) await Promise.all([page.waitForURL(atClient), consent.click()]);
        const tokens = await oidc.authorizationCodeGrant(rp, new URL(page.url()), { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
        return tokens.claims()!;
      },
    };
  }

  it('refuses the passkey of a disabled account as an unknown one; enabled, it signs in again', async () => {
    // the passkey, registered on the account page after a password sign-in (and used once for the step-up)
    await page.goto(`${issuer}/account`);
    await page.fill('#email', user.email);
    await page.fill('#password', user.password);
    await Promise.all([page.waitForNavigation(), page.click('button.primary[type=submit]')]);
    await page.goto(`${issuer}/account/security`);
    await page.fill('#passkey-name', 'Laptop passkey');
    await Promise.all([page.waitForURL(/\/interaction\//), page.click('form[data-webauthn="register"] button[type=submit]')]);
    await Promise.all([page.waitForURL(/\/account\/security$/), page.click('[data-webauthn-start]')]);
    const account = await gh.context.store.accounts.findByEmail(user.email);
    assert.equal((await gh.context.store.factors.listWebAuthn(account!.id)).length, 1, 'the passkey is registered');

    // gh.issuer is the handle's default; this server answers at the localhost issuer
    const server = { ...gh, issuer };
    const token = await managementToken(server, 'admin:users:write');
    const call = createAdminCaller(server);
    assert.equal((await call('POST', `/users/${account!.id}/disable`, { token })).status, 200);
    await context.clearCookies();
    await authorize();
    // the autofill request is answered by the authenticator: the credential is valid, the account is not
    const error = page.locator('[data-webauthn-error]').first();
    await error.waitFor({ state: 'visible' });
    assert.match(await error.innerText(), /not accepted/);
    assert.ok(page.url().startsWith(`${issuer}/interaction/`), 'still on the login page');

    assert.equal((await call('POST', `/users/${account!.id}/enable`, { token })).status, 200);
    await context.clearCookies();
    const claims = await (await authorize()).finish();
    assert.equal(claims.sub, account!.id);
    assert.deepEqual(claims.amr, ['hwk', 'user', 'mfa']);
  });
});
}
});
