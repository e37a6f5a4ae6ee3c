/**
 * Upstream sign-in, part two (issue 17): a second Gatehouse as the upstream OpenID Provider (its real
 * login and consent pages), the apple preset's form_post response mode against a bare oidc-provider,
 * the upstream's MFA trusted by configuration (trustUpstreamMfa) or not, and the "Continue with" button
 * in Chromium, with screenshots.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import * as oidc from 'openid-client';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { formAction, hiddenFields, type Page, type UserAgent } from '../helpers/user-agent.js';
import { startOidcUpstream, type OidcUpstream } from '../helpers/services/oidc-upstream.js';
import { jwtVerify } from 'jose';
import { startOAuth2Upstream, type OAuth2Upstream } from '../helpers/services/oauth2-upstream.js';
import { launchBrowser, screenshot, type TestBrowser } from '../helpers/browser.js';
import { HostScopedAgent as Browser } from './helpers/host-scoped-agent.js';

const REDIRECT_URI = 'https://rp.example.test/callback';
const UMA = { email: 'uma@upstream.test', password: 'tangerine orbit lantern 42', name: 'Uma Upstream' };

describe('upstream sign-in: another Gatehouse, form_post, trusted MFA, in Chromium', function () {
  this.timeout(90_000);
  let gh: TestGatehouse;
  let upstream: TestGatehouse;
  let apple: OidcUpstream;
  let keyed: OidcUpstream;
  let appleSecret: OAuth2Upstream;
  const secretsSeen: Record<string, unknown>[] = [];
  let work: string;
  let rp: oidc.Configuration;
  const callbackOf = (id: string) => `${gh.issuer}/federation/oidc/${id}/callback`;
  const atClient = (url: string) => url.startsWith(REDIRECT_URI);

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'gatehouse-oidc-upstream-2-'));
    gh = await bootGatehouse();
    upstream = await bootGatehouse();
    await upstream.context.accounts.create({ ...UMA, emailVerified: true });
    const upstreamClient = await upstream.context.clients.create({
      client_name: 'Downstream Gatehouse', redirect_uris: [callbackOf('partner-gatehouse')], grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic', scope: 'openid email profile',
    });
    // localhost: Chromium keeps cookies per host, and Gatehouse is 127.0.0.1
    apple = await startOidcUpstream({ redirectUri: () => callbackOf('apple'), host: 'localhost' });
    apple.signInAs = '001234.apple';
    apple.users.set('001234.apple', { id: '001234.apple', mail: 'ada@fruit.test', mail_verified: true, display_name: 'Ada', amr: ['pwd', 'otp', 'mfa'] });
    // a client that authenticates with private_key_jwt (RFC 7523 §2.2): Gatehouse holds the private key file
    const clientKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(join(work, 'client.pem'), clientKey.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    keyed = await startOidcUpstream({ redirectUri: () => callbackOf('keyed'), clientJwk: { ...(clientKey.publicKey.export({ format: 'jwk' }) as object), kid: 'gatehouse-1', alg: 'RS256', use: 'sig' } });
    keyed.signInAs = 'k-kim';
    keyed.users.set('k-kim', { id: 'k-kim', mail: 'kim@keyed.test', mail_verified: true });
    // Sign in with Apple's client secret: an ES256 JWT from the .p8 key (checked here as Apple documents it)
    const appleKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(join(work, 'AuthKey.p8'), appleKey.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    appleSecret = await startOAuth2Upstream({
      async checkSecret(secret) {
        try {
          const { payload, protectedHeader } = await jwtVerify(secret, appleKey.publicKey, { algorithms: ['ES256'], issuer: 'ABCDE12345', audience: 'https://appleid.apple.com', subject: appleSecret.clientId });
          secretsSeen.push({ ...payload, kid: protectedHeader.kid });
          return protectedHeader.kid === 'KEY1234567' && typeof payload.exp === 'number' && payload.exp - Math.floor(Date.now() / 1000) <= 15_777_000;
        } catch {
          return false;
        }
      },
    });
    appleSecret.signInAs = 1;
    appleSecret.users.set(1, { id: 1, login: 'jw', name: 'Jay', emails: [{ email: 'jay@jwt.test', primary: true, verified: true }] });
    const file = join(work, 'federation.json');
    await writeFile(file, JSON.stringify({
      oidc: {
        providers: [
          {
            id: 'partner-gatehouse', name: 'Partner Gatehouse', issuer: upstream.issuer, clientId: upstreamClient.client_id,
            clientSecret: String(upstreamClient.client_secret), domains: ['upstream.test'], emailVerified: true,
          },
          {
            id: 'keyed', name: 'Keyed IdP', issuer: keyed.issuer, clientId: keyed.clientId, clientAuth: 'private_key_jwt',
            privateKeyFile: join(work, 'client.pem'), keyId: 'gatehouse-1', claims: { email: 'mail', email_verified: 'mail_verified' }, domains: ['keyed.test'], emailVerified: true,
          },
          {
            id: 'apple-secret', name: 'Apple secret', protocol: 'oauth2', clientId: appleSecret.clientId, clientAuth: 'apple_client_secret_jwt',
            teamId: 'ABCDE12345', keyId: 'KEY1234567', privateKeyFile: join(work, 'AuthKey.p8'), claims: { subject: 'id' },
            authorizationEndpoint: `${appleSecret.origin}/login/oauth/authorize`, tokenEndpoint: `${appleSecret.origin}/login/oauth/access_token`,
            userinfoEndpoint: `${appleSecret.origin}/user`, emailsEndpoint: `${appleSecret.origin}/user/emails`,
          },
          {
            // the apple preset (form_post), pointed at the local provider; its client authenticates with a secret
            id: 'apple', preset: 'apple', issuer: apple.issuer, clientId: apple.clientId, clientAuth: 'client_secret_basic', clientSecret: apple.clientSecret,
            claims: { email: 'mail', email_verified: 'mail_verified', name: 'display_name' }, scopes: ['openid', 'email', 'profile'],
            domains: ['fruit.test'], trustUpstreamMfa: true, logo: 'https://cdn.example.test/apple.svg',
          },
        ],
      },
    }));
    await gh.restart({ FEDERATION_FILE: file, OUTBOUND_PRIVATE_HOSTS: '127.0.0.1,localhost' });
    const client = await gh.context.clients.create({
      client_name: 'Federated RP', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic',
      scope: 'openid email profile',
    });
    rp = await oidc.discovery(new URL(gh.issuer), client.client_id, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
  });
  after(async () => {
    await gh?.close();
    await upstream?.close();
    await apple?.close();
    await keyed?.close();
    await appleSecret?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function authorization(extra: Record<string, string> = {}) {
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT_URI, scope: 'openid email profile', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
    });
    return { url: url.href, verifier };
  }

  /** Walks login (upstream password), consent (either side) and form_post pages until the RP's callback. */
  async function walk(agent: UserAgent, page: Page): Promise<Page> {
    for (let step = 0; step < 6 && !atClient(page.url); step++) {
      if (page.html.includes('/login"')) page = await agent.submit(page, formAction(page.html, /\/login$/), { email: UMA.email, password: UMA.password }, atClient);
      else if (page.html.includes('/consent"')) page = await agent.submit(page, formAction(page.html, /\/consent$/), {}, atClient);
      else if (/<form[^>]*action="[^"]*\/federation\/oidc\/[^"]+\/callback"/.test(page.html)) {
        // form_post: the upstream's page posts the answer (a browser runs its script; this agent posts it)
        const action = /<form[^>]*action="([^"]+)"/.exec(page.html)![1]!;
        page = await agent.post(action, hiddenFields(page.html, action), atClient);
      } else break;
    }
    return page;
  }

  async function signInWith(providerId: string, extra: Record<string, string> = {}) {
    const agent = new Browser();
    const auth = await authorization(extra);
    const login = await agent.open(auth.url, atClient);
    const page = await walk(agent, await agent.submit(login, formAction(login.html, new RegExp(`/federated/${providerId}$`)), {}, atClient));
    assert.ok(atClient(page.url), `ended at ${page.status} ${page.url}: ${page.html.slice(0, 400)}`);
    const tokens = await oidc.authorizationCodeGrant(rp, new URL(page.url), { pkceCodeVerifier: auth.verifier });
    return { claims: tokens.claims()!, userinfo: await oidc.fetchUserInfo(rp, tokens.access_token, tokens.claims()!.sub) };
  }

  it('signs in through another Gatehouse (its own login and consent pages)', async () => {
    const { claims, userinfo } = await signInWith('partner-gatehouse');
    assert.equal(userinfo.email, UMA.email);
    assert.equal(userinfo.email_verified, true);
    assert.equal(claims.acr, 'urn:gatehouse:acr:federated');
    assert.deepEqual(claims.amr, ['fed']);
  });

  it('private_key_jwt: the client authenticates with the key file', async () => {
    const { userinfo } = await signInWith('keyed');
    assert.equal(userinfo.email, 'kim@keyed.test');
  });

  it("Apple's client secret: an ES256 JWT (kid, iss = Team ID, sub = client id, aud Apple) signed for each token request", async () => {
    const { userinfo } = await signInWith('apple-secret');
    assert.equal(userinfo.email, 'jay@jwt.test');
    await signInWith('apple-secret');
    assert.equal(secretsSeen.length, 2, 'one secret per token request, each checked');
  });

  it('apple preset: the answer comes back as form_post; the upstream MFA counts here when trusted', async () => {
    const { claims, userinfo } = await signInWith('apple');
    assert.equal(userinfo.email, 'ada@fruit.test');
    assert.equal(claims.acr, 'urn:gatehouse:acr:federated-mfa');
    assert.deepEqual(claims.amr, ['fed', 'mfa']);
    // and it satisfies a relying party's request for a second factor without a local one
    const stepUp = await signInWith('apple', { acr_values: 'urn:gatehouse:acr:mfa' });
    assert.equal(stepUp.claims.acr, 'urn:gatehouse:acr:federated-mfa');
  });

  it('the form_post callback refuses a GET-less POST for a provider without form_post, and a POST with no pending state', async () => {
    const get = await fetch(`${callbackOf('partner-gatehouse')}`, { method: 'POST', body: new URLSearchParams({ code: 'x', state: 'y' }) });
    assert.equal(get.status, 404);
    const post = await fetch(`${callbackOf('apple')}`, { method: 'POST', body: new URLSearchParams({ code: 'x', state: 'A'.repeat(43) }), headers: { accept: 'text/html' } });
    assert.equal(post.status, 400);
  });

  describe('in Chromium', () => {
    let browser: TestBrowser;
    before(async () => {
      browser = await launchBrowser();
    });
    after(async () => {
      await browser?.close();
    });

    it('"Continue with Apple" signs in (form_post back to Gatehouse), with screenshots of each page', async () => {
      // Apple's button: its upstream is on localhost (Chromium keeps cookies per host; both Gatehouses are on 127.0.0.1)
      const page = await browser.newPage();
      page.setDefaultTimeout(15_000);
      const auth = await authorization();
      const callback = page.waitForRequest((r) => atClient(r.url()), { timeout: 20_000 }).then((r) => r.url());
      await page.goto(auth.url);
      const button = page.getByRole('button', { name: 'Continue with Apple', exact: true });
      await button.waitFor();
      assert.ok(await page.getByRole('button', { name: 'Continue with Partner Gatehouse' }).isVisible(), 'every upstream has its button');
      await screenshot(page, 'oidc-upstream-1-login-continue-with');
      await button.click();
      // the upstream signs Ada in at once and posts its answer back (form_post); Gatehouse then asks for consent
      await page.getByRole('button', { name: 'Allow' }).waitFor();
      assert.ok(page.url().startsWith(gh.issuer));
      await screenshot(page, 'oidc-upstream-2-consent-after-apple');
      await page.getByRole('button', { name: 'Allow' }).click();
      const tokens = await oidc.authorizationCodeGrant(rp, new URL(await callback), { pkceCodeVerifier: auth.verifier });
      const userinfo = await oidc.fetchUserInfo(rp, tokens.access_token, tokens.claims()!.sub);
      assert.equal(userinfo.email, 'ada@fruit.test');
      assert.ok((tokens.claims()!.amr as string[]).includes('fed'));
    });
  });
});
