/**
 * Two Gatehouses on one host, each under its issuer's path: the upstream at /t/up, the one signing in at
 * /auth, and a browser-like agent with ONE cookie jar for the host (cookies ignore the port, RFC 6265 §8.5)
 * that sends a cookie only under its Path (RFC 6265 §5.1.4). Both ends run oidc-provider, whose cookie
 * names are the same: the sign-in works only if each app's cookies stay under its own base. The redirect
 * URI Gatehouse sends upstream is built from its ISSUER, path included.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { formAction, type Page } from '../helpers/user-agent.js';
import { PathScopedAgent } from '../helpers/path-scoped-agent.js';

const REDIRECT_URI = 'https://rp.example.test/callback';
const UMA = { email: 'uma@upstream.test', password: 'tangerine orbit lantern 42', name: 'Uma Upstream' };

describe('upstream sign-in between two Gatehouses under paths, one cookie jar for the host', function () {
  this.timeout(60_000);
  let gh: TestGatehouse;
  let upstream: TestGatehouse;
  let work: string;
  let rp: oidc.Configuration;
  const atClient = (url: string) => url.startsWith(REDIRECT_URI);

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'gatehouse-issuer-path-'));
    gh = await bootGatehouse({}, { issuerPath: '/auth' });
    upstream = await bootGatehouse({}, { issuerPath: '/t/up' });
    await upstream.context.accounts.create({ ...UMA, emailVerified: true });
    const upstreamClient = await upstream.context.clients.create({
      client_name: 'Downstream Gatehouse', redirect_uris: [`${gh.issuer}/federation/oidc/partner/callback`], grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic', scope: 'openid email profile',
    });
    const file = join(work, 'federation.json');
    await writeFile(file, JSON.stringify({
      oidc: {
        providers: [{
          id: 'partner', name: 'Partner Gatehouse', issuer: upstream.issuer, clientId: upstreamClient.client_id,
          clientSecret: String(upstreamClient.client_secret), domains: ['upstream.test'], emailVerified: true,
        }],
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
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('signs in through the upstream; each app sets cookies only under its own base', async () => {
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT_URI, scope: 'openid email profile', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const agent = new PathScopedAgent();
    const login = await agent.open(url.href, atClient);
    assert.ok(new URL(login.url).pathname.startsWith('/auth/interaction/'), login.url);
    let page: Page = await agent.submit(login, formAction(login.html, /\/federated\/partner$/), {}, atClient);
    for (let step = 0; step < 4 && !atClient(page.url); step++) {
      if (page.html.includes('/login"')) page = await agent.submit(page, formAction(page.html, /\/login$/), { email: UMA.email, password: UMA.password }, atClient);
      else if (page.html.includes('/consent"')) page = await agent.submit(page, formAction(page.html, /\/consent$/), {}, atClient);
      else break;
    }
    assert.ok(atClient(page.url), `ended at ${page.status} ${page.url}: ${page.html.slice(0, 400)}`);
    const tokens = await oidc.authorizationCodeGrant(rp, new URL(page.url), { pkceCodeVerifier: verifier });
    const info = await oidc.fetchUserInfo(rp, tokens.access_token, tokens.claims()!.sub);
    assert.equal(info.email, UMA.email);

    // the authorization request upstream named our callback under /auth
    const upstreamAuth = agent.requested.map((u) => new URL(u)).find((u) => u.href.startsWith(`${upstream.issuer}/auth?`));
    assert.equal(upstreamAuth?.searchParams.get('redirect_uri'), `${gh.issuer}/federation/oidc/partner/callback`);
    // both apps set their provider session cookie, each under its own base
    for (const { url: at, line } of agent.setCookies) {
      const base = at.startsWith(`${upstream.issuer}/`) ? '/t/up' : '/auth';
      const path = /;\s*path=([^;]*)/i.exec(line)?.[1] ?? '';
      assert.ok(path === base || path.startsWith(`${base}/`), `${at}: ${line}`);
    }
    const sessions = agent.jar.filter((c) => c.name === '_session').map((c) => c.path).sort();
    assert.deepEqual(sessions, ['/auth', '/t/up']);
  });
});
