/**
 * The first-run playground (issue 19 §4): from the link `npm start` prints, a sign-in of the demo
 * client ends on Gatehouse's own /playground/callback with the ID token, access token and userinfo
 * decoded; refresh and logout work from there; outside development mode /playground does not exist.
 */
import assert from 'node:assert/strict';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { useBrowser, screenshot, watchPage } from '../helpers/browser.js';
import { DEMO, demoBanner, seedDemo } from '../../src/dev/seed-demo.js';

describe('playground (development only)', () => {
  const browser = useBrowser();
  let gh: TestGatehouse;

  before(async () => {
    gh = await bootGatehouse({ NODE_ENV: 'development' });
    // a store seeded by an earlier version: the demo client redirected to http://127.0.0.1:8080/callback
    await gh.context.clients.create({
      client_id: DEMO.clientId, client_name: 'Demo app', token_endpoint_auth_method: 'none', redirect_uris: ['http://127.0.0.1:8080/callback'],
      post_logout_redirect_uris: ['http://127.0.0.1:8080/'], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], application_type: 'native',
    });
    await seedDemo(gh.context);
    assert.deepEqual((await gh.context.clients.find(DEMO.clientId))?.metadata.redirect_uris, [`${gh.issuer}/playground/callback`]);
  });
  after(async () => gh?.close());

  it('the printed link signs the demo user in and shows the decoded ID token, access token and userinfo', async () => {
    const banner = demoBanner(gh.issuer);
    const link = /Playground:\s+(\S+)/.exec(banner)?.[1];
    assert.equal(link, `${gh.issuer}/playground`);
    assert.doesNotMatch(banner, /127\.0\.0\.1:8080/);

    const page = await browser().newPage();
    const watch = watchPage(page);
    await page.goto(link!);
    await screenshot(page, 'playground-start');
    await page.getByRole('link', { name: 'Sign in with the demo app' }).click();
    await page.getByLabel('Email').fill(DEMO.email);
    await page.getByLabel('Password').fill(DEMO.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(`${gh.issuer}/playground/callback?**`);
    await page.getByRole('heading', { name: 'Signed in' }).waitFor();

    const idToken = page.getByTestId('claims-idtoken');
    assert.match(await idToken.innerText(), /email\s+demo@example\.com/);
    assert.match(await idToken.innerText(), /nonce/);
    assert.match(await idToken.innerText(), /Subject: the stable identifier/);
    assert.match(await page.getByTestId('claims-userinfo').innerText(), /email_verified\s+true/);
    assert.match(await page.locator('body').innerText(), /Access token/);
    await screenshot(page, 'playground-callback');

    // refresh (offline_access gave a refresh token)
    await page.getByRole('button', { name: 'Refresh tokens' }).click();
    await page.getByRole('heading', { name: 'Refreshed' }).waitFor();
    assert.match(await page.getByTestId('claims-userinfo').innerText(), /demo@example\.com/);

    // RP-initiated logout: the end_session confirmation, then back at the playground
    await page.getByRole('button', { name: 'Log out (RP-initiated)' }).click();
    await page.getByRole('button', { name: /sign out|yes/i }).first().click();
    await page.waitForURL(`${gh.issuer}/playground**`);
    await page.getByRole('link', { name: 'Sign in with the demo app' }).waitFor();
    assert.deepEqual(watch.problems, []);
  });

  it('"sign in again with MFA" sends acr_values, and a callback without the flow cookie is refused', async () => {
    const res = await fetch(`${gh.issuer}/playground/sign-in?mfa=1`, { redirect: 'manual' });
    const location = new URL(res.headers.get('location')!);
    assert.equal(location.searchParams.get('acr_values'), 'urn:gatehouse:acr:mfa');
    assert.equal(location.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(location.searchParams.get('redirect_uri'), `${gh.issuer}/playground/callback`);
    const forged = await fetch(`${gh.issuer}/playground/callback?code=x&state=y`);
    assert.equal(forged.status, 400);
  });

  it('answers 404 in production mode', async () => {
    const prod = await bootGatehouse({ NODE_ENV: 'production', ALLOW_INSECURE: 'true', COOKIE_KEYS: 'a-production-cookie-key-of-at-least-32-chars' });
    try {
      for (const path of ['/playground', '/playground/callback?code=x&state=y', '/playground/sign-in']) {
        assert.equal((await fetch(`${prod.issuer}${path}`)).status, 404, path);
      }
    } finally {
      await prod.close();
    }
  });
});
