/**
 * Linking an upstream identity to an existing local account with one of that account's passkeys instead
 * of its password (issue 17 item 4), in headless Chromium with a DevTools virtual authenticator, against
 * a GitHub-style OAuth 2.0 upstream on a loopback port. Then what an attacker would try: a passkey of
 * another account, a challenge issued to another link attempt, a replayed assertion, no CSRF token, and
 * the passkey option for an account that has none.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import type { BrowserContext, Page, Route } from 'playwright-core';
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { freePort } from '../helpers/services/free-port.js';
import { startOAuth2Upstream, type OAuth2Upstream } from '../helpers/services/oauth2-upstream.js';
import { launchBrowser, virtualAuthenticator, type TestBrowser } from '../helpers/browser.js';
import { authorizationRequest } from '../mfa/helpers.js';

const REFUSED_PASSKEY = /That passkey was not accepted/;
const LINK_FORM = 'form[data-webauthn="link"]';

describe('upstream sign-in: linking an existing account proven by its passkey', function () {
  this.timeout(120_000);
  let gh: TestGatehouse;
  let work: string;
  let github: OAuth2Upstream;
  let rp: oidc.Configuration;
  let browser: TestBrowser;
  let context: BrowserContext;
  let page: Page;
  let app: Server;
  let REDIRECT_URI: string;
  const ids: Record<'dana' | 'eve' | 'fay' | 'noah', string> = { dana: '', eve: '', fay: '', noah: '' };
  const passkeys: Record<'dana' | 'eve' | 'fay', string> = { dana: '', eve: '', fay: '' };
  const email = (who: string) => `${who}@elsewhere.test`;
  const GITHUB_ID = { dana: 7, fay: 8, noah: 9 } as const;

  before(async () => {
    // WebAuthn needs a domain as RP ID (an IP address is refused), so this issuer is http://localhost:PORT
    const port = await freePort();
    const issuer = `http://localhost:${port}`;
    app = createServer((_req, res) => res.end('back at the app')).listen(0, '127.0.0.1');
    await once(app, 'listening');
    REDIRECT_URI = `http://localhost:${(app.address() as { port: number }).port}/callback`;
    github = await startOAuth2Upstream();
    for (const [who, id] of Object.entries(GITHUB_ID)) {
      github.users.set(id, { id, login: who, name: who, emails: [{ email: email(who), primary: true, verified: true }] });
    }
    work = await mkdtemp(join(tmpdir(), 'gatehouse-link-passkey-'));
    const file = join(work, 'federation.json');
    // the accounts' addresses are outside emailDomains: no automatic link, the local account must be proven
    await writeFile(file, JSON.stringify({
      oidc: {
        providers: [{
          id: 'github', preset: 'github', clientId: github.clientId, clientSecret: github.clientSecret,
          authorizationEndpoint: `${github.origin}/login/oauth/authorize`, tokenEndpoint: `${github.origin}/login/oauth/access_token`,
          userinfoEndpoint: `${github.origin}/user`, emailsEndpoint: `${github.origin}/user/emails`, emailDomains: ['octo.test'],
          linkExistingAccounts: true,
        }],
      },
    }));
    gh = await bootGatehouse({ PORT: String(port), ISSUER: issuer, FEDERATION_FILE: file, OUTBOUND_PRIVATE_HOSTS: '127.0.0.1' });
    for (const who of Object.keys(ids) as (keyof typeof ids)[]) {
      await gh.context.accounts.create({ email: email(who), password: `correct horse ${who.length} battery staple`, emailVerified: true });
      ids[who] = (await gh.context.store.accounts.findByEmail(email(who)))!.id;
    }
    const client = await gh.context.clients.create({
      client_name: 'Linking RP', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic',
    });
    rp = await oidc.discovery(new URL(issuer), client.client_id, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
    browser = await launchBrowser();
    context = await browser.newContext();
    page = await context.newPage();
    await virtualAuthenticator(page);
    // the login page's passkey autofill (conditional mediation) is not under test: this browser does not offer it
    await context.addInitScript(() => {
      (globalThis as unknown as { PublicKeyCredential: { isConditionalMediationAvailable(): Promise<boolean> } }).PublicKeyCredential.isConditionalMediationAvailable = async () => false;
    });
    // dana, eve and fay register a passkey each in this one authenticator; noah has none
    await page.goto(`${issuer}/account`);
    for (const who of ['dana', 'eve', 'fay'] as const) {
      const options = await gh.context.factors.webauthn.registrationOptions({ id: ids[who], email: email(who), name: null });
      const response = await page.evaluate(
        (o) => (globalThis as unknown as { SimpleWebAuthnBrowser: { startRegistration(a: unknown): Promise<unknown> } }).SimpleWebAuthnBrowser.startRegistration({ optionsJSON: o }),
        options,
      );
      const registered = await gh.context.factors.webauthn.verifyRegistration(ids[who], response as RegistrationResponseJSON, `${who}'s passkey`);
      assert.ok(registered.ok, 'passkey registered');
      passkeys[who] = registered.credential.id;
    }
  });
  after(async () => {
    await browser?.close();
    await gh?.close();
    await github?.close();
    app?.closeAllConnections();
    await new Promise((resolve) => app?.close(resolve));
    if (work) await rm(work, { recursive: true, force: true });
  });
  afterEach(() => page.unrouteAll());

  const atClient = (u: URL | string) => String(u).startsWith(REDIRECT_URI);
  const linkEvents = async (accountId: string) => (await gh.context.store.audit.query({ types: ['federation.link'] })).filter((e) => e.accountId === accountId);
  const linkOf = (who: keyof typeof GITHUB_ID) => gh.context.store.federation.findLink('github', String(GITHUB_ID[who]));

  /** A fresh browser session: the RP's request, then "Continue with GitHub" as `who`; ends where Gatehouse stops. */
  async function continueWithGitHub(who: keyof typeof GITHUB_ID) {
    await context.clearCookies();
    github.signInAs = GITHUB_ID[who];
    const req = await authorizationRequest(rp, REDIRECT_URI);
    await page.goto(req.url);
    // back from GitHub: the link page, the next prompt (another interaction page) or the RP
    const login = new URL(page.url());
    await Promise.all([
      page.waitForURL((u) => atClient(u) || (u.host === login.host && u.pathname !== login.pathname)),
      page.click('form[action$="/federated/github"] button'),
    ]);
    return req;
  }

  /** The link page's fields, for requests made by hand in this browser (its cookies). */
  async function linkFields() {
    const form = page.locator('form[action$="/link"]').last();
    return {
      action: new URL(await form.getAttribute('action') as string, page.url()).href,
      csrf: await form.locator('input[name="_csrf"]').inputValue(),
      link: await form.locator('input[name="link"]').inputValue(),
    };
  }

  /**
   * The prompts after the sign-in, then the code at the RP, redeemed: the ID token's claims. An account
   * with a passkey is asked for it as the second factor after any federated sign-in (the link included,
   * exactly as after a password link); the consent page comes the first time for this client.
   */
  async function finish(req: Awaited<ReturnType<typeof authorizationRequest>>) {
    if (!atClient(page.url()) && /Two-step verification/.test(await page.locator('h1').innerText())) {
      await Promise.all([page.waitForURL((u) => atClient(u) || u.pathname.startsWith('/interaction/')), page.click('[data-webauthn="signin"] [data-webauthn-start]')]);
    }
    const consent = page.locator('form[action$="/consent"] button');
    await Promise.race([page.waitForURL(atClient).catch(() => undefined), consent.waitFor().catch(() => undefined)]);
    if (!atClient(page.url())) await Promise.all([page.waitForURL(atClient), consent.click()]);
    const tokens = await oidc.authorizationCodeGrant(rp, new URL(page.url()), { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
    return tokens.claims()!;
  }

  async function usePasskey(route?: (r: Route) => Promise<void>) {
    if (route) await page.route('**/link/passkey-options', route);
    await Promise.all([page.waitForURL((u) => !u.pathname.endsWith('/complete')), page.click(`${LINK_FORM} [data-webauthn-start]`)]);
  }

  it("links after an assertion by one of the account's passkeys; the upstream sign-in then signs in as that account", async () => {
    const req = await continueWithGitHub('dana');
    assert.match(await page.locator('h1').innerText(), /Link GitHub to your account/);
    assert.equal(await linkOf('dana'), undefined);
    const before = (await gh.context.store.factors.findWebAuthn(passkeys.dana))!;
    await usePasskey();
    const claims = await finish(req);
    assert.equal(claims.sub, ids.dana);
    assert.equal((await linkOf('dana'))?.accountId, ids.dana);
    assert.deepEqual((await gh.context.store.federation.linksOf(ids.dana)).map((l) => l.providerId), ['github']);
    // the same audit event as a password link, saying which proof it was
    const events = await linkEvents(ids.dana);
    assert.deepEqual(events.map((e) => [e.result, e.reason]), [['success', 'local_passkey']]);
    // the signature counter and the last use were recorded, as at any passkey sign-in
    const after = (await gh.context.store.factors.findWebAuthn(passkeys.dana))!;
    assert.ok(after.lastUsedAt !== null && after.counter >= before.counter);
    // and from now on GitHub signs dana in directly
    const again = await continueWithGitHub('dana');
    assert.equal((await finish(again)).sub, ids.dana);
  });

  it('refuses an assertion by a passkey of another account, and names no account', async () => {
    await continueWithGitHub('fay');
    // the attacker holds eve's passkey and steers the browser to it
    await usePasskey(async (route) => {
      const options = await (await route.fetch()).json();
      await route.fulfill({ json: { ...options, allowCredentials: [{ id: passkeys.eve, type: 'public-key' }] } });
    });
    assert.match(await page.locator('[role="alert"]').first().innerText(), REFUSED_PASSKEY);
    assert.ok(!(await page.content()).includes(email('eve')), "the page does not name eve's account");
    assert.equal(await linkOf('fay'), undefined);
    assert.deepEqual(await gh.context.store.federation.linksOf(ids.eve), []);
    assert.deepEqual((await linkEvents(ids.fay)).map((e) => [e.result, e.reason]), [['failure', 'wrong_passkey']]);
  });

  it('refuses a challenge issued to another link attempt, and a replayed assertion', async () => {
    // attempt A: a challenge is asked for, never answered
    await continueWithGitHub('fay');
    const a = await linkFields();
    const optionsA = await (await page.request.post(`${a.action}/passkey-options`, { form: { _csrf: a.csrf, link: a.link } })).json();
    // attempt B (another interaction) is answered with A's challenge, signed by fay's own passkey
    await continueWithGitHub('fay');
    await usePasskey((route) => route.fulfill({ json: optionsA }));
    assert.match(await page.locator('[role="alert"]').first().innerText(), REFUSED_PASSKEY);
    assert.equal(await linkOf('fay'), undefined);

    // a valid assertion for B, taken off the wire: it links once...
    await page.unrouteAll();
    let captured = '';
    let bAction = '';
    await page.route('**/federated/github/link', async (route) => {
      captured = route.request().postData() ?? '';
      bAction = route.request().url();
      await route.abort();
    });
    await Promise.all([page.waitForEvent('requestfailed'), page.click(`${LINK_FORM} [data-webauthn-start]`)]);
    assert.ok(captured.includes('credential='), 'the assertion was captured');
    const b = new URLSearchParams(captured);
    const first = await page.request.post(bAction, { form: Object.fromEntries(b), maxRedirects: 0 });
    assert.equal(first.status(), 303, await first.text());
    assert.equal((await linkOf('fay'))?.accountId, ids.fay);
    // ...and never again: not at the same attempt, nor at a new one after the link was removed
    const again = await page.request.post(bAction, { form: Object.fromEntries(b), maxRedirects: 0 });
    assert.ok(again.status() >= 400, `replay answered ${again.status()}`);
    assert.ok(await gh.context.store.federation.removeLink(ids.fay, 'github', String(GITHUB_ID.fay)));
    await page.unrouteAll();
    await continueWithGitHub('fay');
    const c = await linkFields();
    const replayed = await page.request.post(c.action, { form: { ...Object.fromEntries(b), _csrf: c.csrf, link: c.link }, maxRedirects: 0 });
    assert.equal(replayed.status(), 401);
    assert.match(await replayed.text(), REFUSED_PASSKEY);
    assert.equal(await linkOf('fay'), undefined);
  });

  it('refuses the passkey options and the link POST without the CSRF token', async () => {
    await continueWithGitHub('fay');
    const f = await linkFields();
    const options = await page.request.post(`${f.action}/passkey-options`, { form: { link: f.link } });
    assert.equal(options.status(), 403);
    const forged = await page.request.post(f.action, { form: { link: f.link, credential: '{}' }, maxRedirects: 0 });
    assert.equal(forged.status(), 403);
    const wrongToken = await page.request.post(f.action, { form: { _csrf: `${f.csrf.slice(0, -2)}AA`, link: f.link, password: 'correct horse 3 battery staple' }, maxRedirects: 0 });
    assert.equal(wrongToken.status(), 403);
    assert.equal(await linkOf('fay'), undefined);
  });

  it('an account without a passkey gets no passkey option (and a clear refusal if it asks); its password still links', async () => {
    const req = await continueWithGitHub('noah');
    assert.match(await page.locator('h1').innerText(), /Link GitHub to your account/);
    assert.equal(await page.locator(LINK_FORM).count(), 0);
    const f = await linkFields();
    const options = await page.request.post(`${f.action}/passkey-options`, { form: { _csrf: f.csrf, link: f.link }, headers: { accept: 'application/json' } });
    assert.equal(options.status(), 400);
    assert.match((await options.json()).error_description, /no passkey/);
    await page.fill('#password', 'correct horse 4 battery staple');
    await Promise.all([page.waitForURL((u) => !u.pathname.endsWith('/complete')), page.click('button.primary[type=submit]')]);
    assert.equal((await finish(req)).sub, ids.noah);
    assert.equal((await linkOf('noah'))?.accountId, ids.noah);
  });
});
