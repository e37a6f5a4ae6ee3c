/**
 * ISSUER with a path (http://127.0.0.1:PORT/auth): the whole app lives under /auth (src/http/base-path.ts).
 * Discovery names every endpoint under the issuer; a real authorization code + PKCE sign-in through the
 * hosted pages ends in tokens that verify against {ISSUER}/jwks; every cookie is scoped to /auth; every
 * redirect and every link of a page stays under it; nothing answers outside it.
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent, signIn, formAction, type Page } from '../helpers/user-agent.js';
import { bootWithMail, type LifecycleHarness } from '../lifecycle/setup.js';
import { linkIn } from '../helpers/services/mail-catcher.js';

const BASE = '/auth';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';

/** The test user agent, keeping every Set-Cookie and Location it was sent. */
class RecordingAgent extends UserAgent {
  readonly setCookies: string[] = [];
  readonly locations: string[] = [];
  override async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const res = await super.fetch(url, init);
    this.setCookies.push(...res.headers.getSetCookie());
    const location = res.headers.get('location');
    if (location) this.locations.push(location);
    return res;
  }
}

const cookiePathOf = (line: string) => /;\s*path=([^;]*)/i.exec(line)?.[1];

/** Every path-absolute href, action, src and data-*-url of a page. */
const pagePaths = (html: string) => [...html.matchAll(/\s(?:href|action|src|data-[a-z-]+-url)="(\/[^"]*)"/g)].map((m) => m[1]!);

describe('ISSUER with a path: the app under /auth', () => {
  let gh: TestGatehouse;
  let origin: string;
  let clientId: string;
  let rp: oidc.Configuration;
  const user = { email: 'grace@example.test', password: 'correct horse battery staple', name: 'Grace Hopper' };

  before(async () => {
    gh = await bootGatehouse({}, { issuerPath: BASE });
    origin = new URL(gh.issuer).origin;
    assert.equal(gh.issuer, `${origin}${BASE}`);
    await gh.context.accounts.create({ ...user, emailVerified: true });
    const client = await gh.context.clients.create({
      client_name: 'Path RP',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'openid profile email offline_access',
    });
    clientId = client.client_id;
    rp = await oidc.discovery(new URL(gh.issuer), clientId, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
  });
  after(() => gh.close());

  it('names the issuer and every endpoint under /auth in discovery', async () => {
    const res = await fetch(`${gh.issuer}/.well-known/openid-configuration`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as Record<string, unknown>;
    assert.equal(doc.issuer, gh.issuer);
    const urls = Object.entries(doc).filter(([key, v]) => typeof v === 'string' && (key.endsWith('_endpoint') || key.endsWith('_uri')));
    assert.ok(urls.length >= 8, JSON.stringify(urls));
    for (const [key, url] of urls) assert.ok(String(url).startsWith(`${gh.issuer}/`), `${key}: ${String(url)}`);
    assert.equal(doc.token_endpoint, `${gh.issuer}/token`);
    assert.equal(doc.authorization_endpoint, `${gh.issuer}/auth`);
    assert.equal(doc.jwks_uri, `${gh.issuer}/jwks`);
    // the second answer comes from the static documents' memory: still the same
    assert.deepEqual(await (await fetch(`${gh.issuer}/.well-known/openid-configuration`)).json(), doc);
  });

  it('answers nothing outside /auth: a plain 404, whatever the spelling', async () => {
    for (const path of ['/.well-known/openid-configuration', '/jwks', '/account', '/interaction/x', '/assets/gatehouse.css', '/authx/jwks', '/AUTH/jwks', '//auth/jwks', '/', '/x/auth/jwks']) {
      const res = await fetch(`${origin}${path}`, { redirect: 'manual' });
      assert.equal(res.status, 404, path);
      const body = await res.text();
      assert.equal(body, 'Not Found', path);
    }
    const token = await fetch(`${origin}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials' }) });
    assert.equal(token.status, 404);
    await token.body?.cancel();
  });

  it('serves the probes and the scrape at the root too, and under /auth', async () => {
    for (const url of [`${origin}/health/live`, `${origin}/health/ready`, `${gh.issuer}/health/live`, `${gh.issuer}/health/ready`]) {
      const res = await fetch(url);
      assert.equal(res.status, 200, url);
      assert.deepEqual(await res.json(), { status: 'ok' });
    }
    for (const url of [`${origin}/metrics`, `${gh.issuer}/metrics`]) {
      const res = await fetch(url);
      assert.equal(res.status, 200, url);
      assert.match(await res.text(), /# HELP/);
    }
    // only those exact paths: the rest of /health at the root is outside the app
    assert.equal((await fetch(`${origin}/health/live/`)).status, 404);
  });

  it('signs in with authorization code + PKCE; tokens verify against {ISSUER}/jwks; every cookie has Path under /auth', async () => {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT_URI, scope: 'openid profile email offline_access', prompt: 'consent',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, nonce,
    });
    assert.equal(`${url.origin}${url.pathname}`, `${gh.issuer}/auth`);
    const agent = new RecordingAgent();
    const callback = new URL(await signIn(agent, url.href, REDIRECT_URI, user));
    assert.equal(callback.searchParams.get('iss'), gh.issuer);

    const tokens = await oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    const jwks = createRemoteJWKSet(new URL(`${gh.issuer}/jwks`));
    const { payload } = await jwtVerify(tokens.id_token!, jwks, { issuer: gh.issuer, audience: clientId });
    assert.equal(payload.email, user.email);
    assert.equal(payload.nonce, nonce);
    const info = await oidc.fetchUserInfo(rp, tokens.access_token, payload.sub!);
    assert.equal(info.email, user.email);
    const refreshed = await oidc.refreshTokenGrant(rp, tokens.refresh_token!);
    await jwtVerify(refreshed.id_token!, jwks, { issuer: gh.issuer, audience: clientId });

    // the provider's session, interaction and resume cookies and our CSRF cookie: all scoped to the app
    const names = new Set(agent.setCookies.map((c) => c.slice(0, c.indexOf('='))));
    for (const name of ['_session', '_interaction', '_interaction_resume', 'gatehouse.csrf']) assert.ok(names.has(name), `${name} set: ${[...names].join(', ')}`);
    for (const line of agent.setCookies) {
      const path = cookiePathOf(line);
      assert.ok(path === BASE || path?.startsWith(`${BASE}/`), line);
    }
    // the interaction cookie's path is the interaction page's, the resume cookie's the resume endpoint's
    assert.ok(agent.setCookies.some((c) => c.startsWith('_interaction=') && /path=\/auth\/interaction\/[^/;]+;/i.test(c)));
    assert.ok(agent.setCookies.some((c) => c.startsWith('_interaction_resume=') && /path=\/auth\/auth\/[^/;]+;/i.test(c)));
    // every redirect on the way stayed under the issuer, or went to the relying party
    for (const location of agent.locations) {
      const to = new URL(location, gh.issuer);
      assert.ok(to.href.startsWith(`${gh.issuer}/`) || to.href.startsWith(REDIRECT_URI), location);
    }
  });

  it('signs in on the account pages under /auth: links, forms, assets and redirects keep the base', async () => {
    await gh.context.accounts.create({ email: 'ada@example.test', password: user.password, name: 'Ada', emailVerified: true });
    const agent = new RecordingAgent();
    const login = await agent.open(`${gh.issuer}/account`);
    assert.equal(new URL(login.url).pathname.startsWith(`${BASE}/interaction/`), true, login.url);
    assertAllUnderBase(login);
    const home = await agent.submit(login, formAction(login.html, /\/login$/), { email: 'ada@example.test', password: user.password });
    assert.equal(home.url, `${gh.issuer}/account`);
    assert.match(home.html, /Your account/);
    assertAllUnderBase(home);
    assert.match(home.html, /href="\/auth\/assets\/gatehouse\.css"/);
    assert.match(home.html, /action="\/auth\/account\/profile"/);

    // a form post of ours, its CSRF check and its redirect (Location gets the base)
    const res = await agent.fetch(`${gh.issuer}/account/profile`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: /name="_csrf" value="([^"]+)"/.exec(home.html)![1]!, name: 'Ada L.' }),
    });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), `${BASE}/account?notice=profile-saved`);
    await res.body?.cancel();
    const account = await gh.context.accounts.findByEmail('ada@example.test');
    assert.equal(account?.name, 'Ada L.');
    // the stylesheet and the scripts the pages name are served there
    for (const asset of ['/assets/gatehouse.css', '/assets/webauthn.js', '/assets/simplewebauthn-browser.js']) {
      assert.equal((await fetch(`${gh.issuer}${asset}`)).status, 200, asset);
    }
    for (const line of agent.setCookies) {
      const path = cookiePathOf(line);
      assert.ok(path === BASE || path?.startsWith(`${BASE}/`), line);
    }
    assert.ok(agent.setCookies.some((c) => c.startsWith('gatehouse.account-signin=') && /path=\/auth\/account;/i.test(c)));
  });

  it('a POST to the authorization endpoint is answered with a 303 to it, under the base', async () => {
    const res = await fetch(`${gh.issuer}/auth`, {
      method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: clientId, response_type: 'code', scope: 'openid' }),
    });
    assert.equal(res.status, 303);
    assert.match(res.headers.get('location') ?? '', /^\/auth\/auth\?client_id=/);
    await res.body?.cancel();
  });

  it('the management API lives under the base too, and its OpenAPI document says so', async () => {
    const res = await fetch(`${gh.issuer}/admin/v1/openapi.json`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as { servers: { url: string }[] };
    assert.equal(doc.servers[0]?.url, `${gh.issuer}/admin/v1`);
    assert.equal((await fetch(`${origin}/admin/v1/openapi.json`)).status, 404);
  });
});

describe('ISSUER with a path: the password reset mail and pages', () => {
  let h: LifecycleHarness;
  const REDIRECT = 'http://127.0.0.1:9/reset-callback';
  const person = { email: 'reset@example.test', password: 'the old passphrase here', name: 'Reese' };

  before(async () => {
    h = await bootWithMail({}, { issuerPath: BASE });
    await h.gh.context.accounts.create({ ...person, emailVerified: true });
  });
  after(() => h.close());

  it('from the login page: the link in the mail, the reset page and back to sign in, all under /auth', async () => {
    const client = await h.gh.context.clients.create({ client_name: 'Reset RP', redirect_uris: [REDIRECT], grant_types: ['authorization_code'], token_endpoint_auth_method: 'none', scope: 'openid' });
    const rp = await oidc.discovery(new URL(h.gh.issuer), client.client_id, undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(rp, { redirect_uri: REDIRECT, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const agent = new RecordingAgent();
    const atClient = (u: string) => u.startsWith(REDIRECT);
    const login = await agent.open(url.href, atClient);
    const forgotHref = /href="([^"]*\/password\/forgot[^"]*)"/.exec(login.html)?.[1]?.replace(/&amp;/g, '&');
    assert.match(forgotHref ?? '', /^\/auth\/password\/forgot\?interaction=/);
    const forgot = await agent.open(new URL(forgotHref!, h.gh.issuer).href);
    assertAllUnderBase(forgot);
    await agent.submit(forgot, formAction(forgot.html, /\/password\/forgot$/), { email: person.email });
    const link = linkIn(await h.mail.waitFor((m) => m.to.includes(person.email) && /Reset your/.test(m.subject)), `${h.gh.issuer}/password/reset?token=`);
    const form = await agent.open(link);
    assertAllUnderBase(form);
    const done = await agent.submit(form, formAction(form.html, /\/password\/reset$/), { password: 'a fine new passphrase', confirm: 'a fine new passphrase' });
    assertAllUnderBase(done);
    const back = /class="button primary" href="([^"]+)"/.exec(done.html)?.[1];
    assert.match(back ?? '', /^\/auth\/interaction\//);
    const again = await agent.open(new URL(back!, h.gh.issuer).href, atClient);
    let end = await agent.submit(again, formAction(again.html, /\/login$/), { email: person.email, password: 'a fine new passphrase' }, atClient);
    if (end.html.includes('/consent"')) end = await agent.submit(end, formAction(end.html, /\/consent$/), {}, atClient);
    assert.ok(atClient(end.url), `${end.status} ${end.url}`);
    const tokens = await oidc.authorizationCodeGrant(rp, new URL(end.url), { pkceCodeVerifier: verifier });
    assert.equal(tokens.claims()?.iss, h.gh.issuer);
  });
});

function assertAllUnderBase(page: Page): void {
  const paths = pagePaths(page.html);
  assert.ok(paths.length > 0, page.url);
  for (const path of paths) assert.ok(path.startsWith(`${BASE}/`), `${path} on ${page.url}`);
}
