/**
 * Upstream OpenID Connect and OAuth 2.0 sign-in (issue 17), against real providers on loopback ports: a
 * bare oidc-provider with ES256 ID tokens and another claim layout, the same run multi-tenant style (an
 * Entra-like /common/v2.0 document whose issuer is a {tenantid} template, through the microsoft preset),
 * and a GitHub-style OAuth 2.0 server (the github preset with its endpoints pointed at it). A relying
 * party validates Gatehouse's ID token with openid-client. Then the refusals: tampered upstream ID tokens
 * (signature, another key, audience, nonce, issuer, tenant), a replayed callback, an RFC 9207 `iss` from
 * another issuer; linking refused without proof and accepted after the local password.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import * as oidc from 'openid-client';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { formAction, type Page, type UserAgent } from '../helpers/user-agent.js';
import { HostScopedAgent as Browser } from './helpers/host-scoped-agent.js';
import { startOidcUpstream, type OidcUpstream } from '../helpers/services/oidc-upstream.js';
import { startOAuth2Upstream, type OAuth2Upstream } from '../helpers/services/oauth2-upstream.js';
import { createUpstreamFetch, OutboundRefused } from '../../src/federation/oidc/upstream-fetch.js';

const REDIRECT_URI = 'https://rp.example.test/callback';
const REFUSED = /could not be accepted/;
const SIGNED_OUT = 'https://rp.example.test/signed-out';


describe('upstream OpenID Connect and OAuth 2.0 sign-in', function () {
  this.timeout(60_000);
  let gh: TestGatehouse;
  let work: string;
  let acme: OidcUpstream;
  let entra: OidcUpstream;
  let github: OAuth2Upstream;
  let rp: oidc.Configuration;
  const callbackOf = (id: string) => `${gh.issuer}/federation/oidc/${id}/callback`;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'gatehouse-oidc-upstream-'));
    gh = await bootGatehouse();
    acme = await startOidcUpstream({ redirectUri: () => callbackOf('acme') });
    entra = await startOidcUpstream({ redirectUri: () => callbackOf('entra'), tenant: '11111111-2222-3333-4444-555555555555' });
    github = await startOAuth2Upstream();
    acme.users.set('u-alice', { id: 'u-alice', mail: 'alice@acme.test', mail_verified: true, display_name: 'Alice Acme', member_of: ['engineering', 'unmapped'], amr: ['pwd', 'otp'], acr: 'urn:acme:loa:2' });
    acme.users.set('u-mallory', { id: 'u-mallory', mail: 'mallory@acme.test', mail_verified: false });
    entra.users.set('oid-erin', { id: 'oid-erin', mail: 'erin@contoso.test', mail_verified: true, display_name: 'Erin Entra', acr: 'urn:entra:loa:3' });
    github.users.set(4242, { id: 4242, login: 'octo', name: 'Octo Cat', emails: [{ email: 'octo@old.test', primary: false, verified: true }, { email: 'octo@octo.test', primary: true, verified: true }], acr: 'urn:octo:loa:2fa' });
    const file = join(work, 'federation.json');
    await writeFile(file, JSON.stringify({
      oidc: {
        providers: [
          {
            id: 'acme', name: 'Acme SSO', issuer: acme.issuer, clientId: acme.clientId, clientSecret: acme.clientSecret,
            scopes: ['openid', 'email', 'profile', 'groups'], domains: ['acme.test'], emailVerified: true,
            claims: { email: 'mail', email_verified: 'mail_verified', name: 'display_name', groups: 'member_of' },
            roles: { engineering: ['engineer'] }, trustUpstreamAuthContext: true, singleLogout: true,
          },
          {
            id: 'entra', preset: 'microsoft', issuer: entra.discoveryIssuer, clientId: entra.clientId, clientSecret: entra.clientSecret,
            scopes: ['openid', 'email', 'profile'], domains: ['contoso.test'], emailVerified: true,
            claims: { subject: 'sub', email: 'mail', email_verified: 'mail_verified', name: 'display_name' },
          },
          {
            id: 'github', preset: 'github', clientId: github.clientId, clientSecret: github.clientSecret,
            authorizationEndpoint: `${github.origin}/login/oauth/authorize`, tokenEndpoint: `${github.origin}/login/oauth/access_token`,
            userinfoEndpoint: `${github.origin}/user`, emailsEndpoint: `${github.origin}/user/emails`, emailDomains: ['octo.test'],
            linkExistingAccounts: true, trustUpstreamAuthContext: true,
          },
        ],
      },
    }));
    await gh.context.roles.create({ name: 'engineer' });
    await gh.restart({ FEDERATION_FILE: file, OUTBOUND_PRIVATE_HOSTS: '127.0.0.1' });
    const client = await gh.context.clients.create({
      client_name: 'Federated RP', redirect_uris: [REDIRECT_URI], post_logout_redirect_uris: [SIGNED_OUT], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic',
      scope: 'openid email profile roles',
    });
    rp = await oidc.discovery(new URL(gh.issuer), client.client_id, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
  });
  after(async () => {
    await gh?.close();
    await acme?.close();
    await entra?.close();
    await github?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });
  afterEach(() => {
    acme.tamper = undefined;
    entra.tamper = undefined;
  });

  async function authorization() {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT_URI, scope: 'openid email profile roles', state, nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    return { url: url.href, verifier, state, nonce };
  }

  const atClient = (url: string) => url.startsWith(REDIRECT_URI);

  /** From the RP to Gatehouse's login page, then "Continue with <provider>"; stops at the RP or at a page. */
  async function continueWith(agent: UserAgent, providerId: string, stop: (url: string) => boolean = atClient): Promise<{ page: Page; auth: Awaited<ReturnType<typeof authorization>> }> {
    const auth = await authorization();
    const login = await agent.open(auth.url, stop);
    assert.equal(login.status, 200, login.html.slice(0, 300));
    const page = await agent.submit(login, formAction(login.html, new RegExp(`/federated/${providerId}$`)), {}, stop);
    return { page: await throughConsent(agent, page), auth };
  }

  async function throughConsent(agent: UserAgent, page: Page): Promise<Page> {
    if (!atClient(page.url) && page.html.includes('/consent"')) return agent.submit(page, formAction(page.html, /\/consent$/), {}, atClient);
    return page;
  }

  async function redeem(callback: string, auth: Awaited<ReturnType<typeof authorization>>) {
    const tokens = await oidc.authorizationCodeGrant(rp, new URL(callback), { pkceCodeVerifier: auth.verifier, expectedState: auth.state, expectedNonce: auth.nonce });
    const userinfo = await oidc.fetchUserInfo(rp, tokens.access_token, tokens.claims()!.sub);
    return { claims: tokens.claims()!, userinfo };
  }

  it('signs in through an ES256 upstream with another claim layout, and the ID token says so (amr fed, acr federated, mapped roles)', async () => {
    acme.signInAs = 'u-alice';
    const agent = new Browser();
    const { page, auth } = await continueWith(agent, 'acme');
    assert.ok(atClient(page.url), `ended at ${page.url}: ${page.html.slice(0, 400)}`);
    const { claims, userinfo } = await redeem(page.url, auth);
    assert.equal(claims.acr, 'urn:gatehouse:acr:federated');
    assert.ok((claims.amr as string[]).includes('fed'));
    // trustUpstreamAuthContext: the upstream's registered amr values pass through; its mfa does not count (trustUpstreamMfa is off)
    assert.deepEqual([...(claims.amr as string[])].sort(), ['fed', 'otp', 'pwd']);
    // and its acr is reported beside ours, in the ID token only
    assert.equal(claims.upstream_acr, 'urn:acme:loa:2');
    assert.equal(userinfo.upstream_acr, undefined);
    assert.equal(userinfo.email, 'alice@acme.test');
    assert.equal(userinfo.email_verified, true);
    assert.equal(userinfo.name, 'Alice Acme');
    assert.deepEqual(userinfo.roles, ['engineer']);
    // the upstream's ID token was ES256, and it is the link that keys the account
    const account = await gh.context.store.accounts.findByEmail('alice@acme.test');
    assert.ok(account);
    assert.equal((await gh.context.store.federation.findLink('acme', 'u-alice'))?.accountId, account.id);
  });

  it('upstream_acr: only from a provider that trusts the upstream\'s context, only a short printable value, only for that sign-in', async () => {
    const discovery = (await (await fetch(`${gh.issuer}/.well-known/openid-configuration`)).json()) as { claims_supported: string[] };
    assert.ok(discovery.claims_supported.includes('upstream_acr'));
    // entra does not set trustUpstreamAuthContext: its acr stays with it
    entra.signInAs = 'oid-erin';
    const viaEntra = await continueWith(new Browser(), 'entra');
    assert.ok(atClient(viaEntra.page.url), viaEntra.page.html.slice(0, 400));
    const untrusted = (await redeem(viaEntra.page.url, viaEntra.auth)).claims;
    assert.equal(untrusted.acr, 'urn:gatehouse:acr:federated');
    assert.equal(untrusted.upstream_acr, undefined);
    // a trusted upstream sending an over-long value, control characters, a space or a non-string: dropped
    acme.signInAs = 'u-alice';
    for (const acr of ['x'.repeat(201), 'urn:acme:\u0007bell', 'urn:acme:loa:2\nInjected: yes', 'two values', 7]) {
      acme.tamper = (claims) => ({ claims: { ...claims, acr } });
      const { page, auth } = await continueWith(new Browser(), 'acme');
      assert.ok(atClient(page.url), page.html.slice(0, 400));
      const { claims } = await redeem(page.url, auth);
      assert.equal(claims.upstream_acr, undefined, `kept ${JSON.stringify(acr)}`);
      assert.equal(claims.acr, 'urn:gatehouse:acr:federated');
    }
    acme.tamper = (claims) => ({ claims: { ...claims, acr: 'x'.repeat(200) } });
    const longest = await continueWith(new Browser(), 'acme');
    assert.equal((await redeem(longest.page.url, longest.auth)).claims.upstream_acr, 'x'.repeat(200));
  });

  it('upstream_acr survives a slow consent: the consent result, merged with the sign-in, is still that sign-in', async () => {
    acme.users.set('u-carl', { id: 'u-carl', mail: 'carl@acme.test', mail_verified: true, display_name: 'Carl Acme', acr: 'urn:acme:loa:3' });
    acme.signInAs = 'u-carl';
    const agent = new Browser();
    const auth = await authorization();
    const login = await agent.open(auth.url, atClient);
    const consent = await agent.submit(login, formAction(login.html, /\/federated\/acme$/), {}, atClient);
    assert.ok(!atClient(consent.url) && consent.html.includes('/consent"'), 'a new account is asked for its consent');
    await new Promise((r) => setTimeout(r, 1100)); // the person reads the consent page: another second
    const page = await agent.submit(consent, formAction(consent.html, /\/consent$/), {}, atClient);
    assert.ok(atClient(page.url), page.html.slice(0, 400));
    const { claims } = await redeem(page.url, auth);
    assert.equal(claims.upstream_acr, 'urn:acme:loa:3');
  });

  it('upstream_acr belongs to its sign-in: signing in again in the same browser session, without an upstream acr, does not carry the old one', async () => {
    acme.signInAs = 'u-alice';
    const agent = new Browser();
    const first = await continueWith(agent, 'acme');
    const before = (await redeem(first.page.url, first.auth)).claims;
    assert.equal(before.upstream_acr, 'urn:acme:loa:2');
    await new Promise((r) => setTimeout(r, 1100)); // another sign-in second (auth_time)
    acme.tamper = (claims) => {
      const { acr: _dropped, ...rest } = claims;
      return { claims: rest };
    };
    const auth = await authorization();
    const url = new URL(auth.url);
    url.searchParams.set('prompt', 'login');
    const login = await agent.open(url.href, atClient);
    const page = await throughConsent(agent, await agent.submit(login, formAction(login.html, /\/federated\/acme$/), {}, atClient));
    assert.ok(atClient(page.url), page.html.slice(0, 400));
    const { claims } = await redeem(page.url, auth);
    assert.equal(claims.sid, before.sid, 'the same browser session');
    assert.ok((claims.auth_time as number) > (before.auth_time as number));
    assert.equal(claims.acr, 'urn:gatehouse:acr:federated');
    assert.equal(claims.upstream_acr, undefined);
  });

  it('an unverified upstream email is stored unverified and never links', async () => {
    acme.signInAs = 'u-mallory';
    const { page, auth } = await continueWith(new Browser(), 'acme');
    const { userinfo } = await redeem(page.url, auth);
    assert.equal(userinfo.email, 'mallory@acme.test');
    assert.equal(userinfo.email_verified, false);
  });

  for (const [what, tamper] of [
    ['a broken signature', () => ({ breakSignature: true })],
    ['a signature by another key', () => ({ key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey })],
    ['another audience', (c: Record<string, unknown>) => ({ claims: { ...c, aud: 'someone-else' } })],
    ['another nonce', (c: Record<string, unknown>) => ({ claims: { ...c, nonce: 'not-the-nonce' } })],
    ['another issuer', (c: Record<string, unknown>) => ({ claims: { ...c, iss: 'http://127.0.0.1:1/evil' } })],
    ['an expired token', (c: Record<string, unknown>) => ({ claims: { ...c, exp: Math.floor(Date.now() / 1000) - 600, iat: Math.floor(Date.now() / 1000) - 1200 } })],
  ] as const) {
    it(`refuses an upstream ID token with ${what}: error page, no account, no session`, async () => {
      acme.users.set('u-victim', { id: 'u-victim', mail: 'victim@acme.test', mail_verified: true });
      acme.signInAs = 'u-victim';
      acme.tamper = tamper as never;
      const { page } = await continueWith(new Browser(), 'acme');
      assert.equal(page.status, 400, page.html.slice(0, 300));
      assert.match(page.html, REFUSED);
      assert.equal(await gh.context.store.accounts.findByEmail('victim@acme.test'), undefined);
    });
  }

  it('refuses a replayed callback and an RFC 9207 iss from another issuer', async () => {
    acme.signInAs = 'u-alice';
    const agent = new Browser();
    const atCallback = (url: string) => url.startsWith(callbackOf('acme'));
    const { page } = await continueWith(agent, 'acme', atCallback);
    assert.ok(atCallback(page.url));
    const forged = new URL(page.url);
    forged.searchParams.set('iss', 'http://127.0.0.1:1/evil');
    const wrongIss = await agent.open(forged.href, atClient);
    assert.equal(wrongIss.status, 400);
    assert.match(wrongIss.html, REFUSED);
    // the state was consumed by that first answer: the genuine one, replayed, is refused too
    const replay = await agent.open(page.url, atClient);
    assert.equal(replay.status, 400);
    assert.match(replay.html, /already used|answers no sign-in/);
  });

  it('multi-tenant (microsoft preset): the {tenantid} issuer is checked against the token\'s own tid', async () => {
    entra.signInAs = 'oid-erin';
    const ok = await continueWith(new Browser(), 'entra');
    assert.ok(atClient(ok.page.url), ok.page.html.slice(0, 400));
    const { userinfo } = await redeem(ok.page.url, ok.auth);
    assert.equal(userinfo.email, 'erin@contoso.test');
    // the identity is keyed by tenant and subject
    assert.ok(await gh.context.store.federation.findLink('entra', `11111111-2222-3333-4444-555555555555/oid-erin`));

    // a token claiming another tenant than its issuer's, validly signed: refused
    entra.tamper = (c) => ({ claims: { ...c, tid: '99999999-2222-3333-4444-555555555555' } });
    const otherTid = await continueWith(new Browser(), 'entra');
    assert.equal(otherTid.page.status, 400);
    assert.match(otherTid.page.html, REFUSED);
    // an issuer that is not the template at all
    entra.tamper = (c) => ({ claims: { ...c, iss: 'http://127.0.0.1:1/11111111-2222-3333-4444-555555555555/v2.0' } });
    const otherIss = await continueWith(new Browser(), 'entra');
    assert.equal(otherIss.page.status, 400);
  });

  it('OAuth 2.0 (github preset): signs in with the primary verified address of the emails endpoint', async () => {
    github.signInAs = 4242;
    const { page, auth } = await continueWith(new Browser(), 'github');
    assert.ok(atClient(page.url), page.html.slice(0, 400));
    const { claims, userinfo } = await redeem(page.url, auth);
    assert.ok((claims.amr as string[]).includes('fed'));
    assert.equal(userinfo.email, 'octo@octo.test');
    assert.equal(userinfo.email_verified, true);
    assert.equal(userinfo.name, 'Octo Cat');
    // trustUpstreamAuthContext: an acr in the userinfo-like answer is reported as upstream_acr too
    assert.equal(claims.upstream_acr, 'urn:octo:loa:2fa');
    assert.equal(claims.acr, 'urn:gatehouse:acr:federated');
    const sent = github.tokenRequests.at(-1)!;
    assert.ok(sent.get('code_verifier'), 'PKCE verifier sent');
  });

  it('linking to an existing local account: refused without proof, accepted after its password', async () => {
    await gh.context.accounts.create({ email: 'dana@elsewhere.test', password: 'correct horse battery staple 9', emailVerified: true });
    github.users.set(7, { id: 7, login: 'dana', name: 'Dana', emails: [{ email: 'dana@elsewhere.test', primary: true, verified: true }] });
    github.signInAs = 7;
    const agent = new Browser();
    const { page, auth } = await continueWith(agent, 'github');
    // outside the provider's emailDomains: no automatic link; the person is asked for the local password
    assert.equal(page.status, 200);
    assert.match(page.html, /Link GitHub to your account/);
    assert.equal(await gh.context.store.federation.findLink('github', '7'), undefined);
    const action = formAction(page.html, /\/link$/);
    const wrong = await agent.submit(page, action, { password: 'not-the-password' }, atClient);
    assert.equal(wrong.status, 401);
    assert.equal(await gh.context.store.federation.findLink('github', '7'), undefined);
    const right = await throughConsent(agent, await agent.submit(wrong, action, { password: 'correct horse battery staple 9' }, atClient));
    assert.ok(atClient(right.url), right.html.slice(0, 400));
    const { claims } = await redeem(right.url, auth);
    const dana = await gh.context.store.accounts.findByEmail('dana@elsewhere.test');
    assert.equal(claims.sub, dana!.id);
    assert.equal((await gh.context.store.federation.findLink('github', '7'))?.accountId, dana!.id);
    // and from now on the link signs in directly
    const again = await continueWith(new Browser(), 'github');
    assert.ok(atClient(again.page.url));
  });

  it('/account lists the links; a removed link no longer signs in; the last way to sign in cannot be removed', async () => {
    // dana (password + the GitHub link made above) signs in to /account with her password
    const agent = new Browser();
    const login = await agent.open(`${gh.issuer}/account`);
    const home = await agent.submit(login, formAction(login.html, /\/login$/), { email: 'dana@elsewhere.test', password: 'correct horse battery staple 9' });
    assert.match(home.html, /Your account/);
    const linked = await agent.open(`${gh.issuer}/account/linked`);
    assert.match(linked.html, /<strong>GitHub<\/strong>/);
    // a forged form (no CSRF token) removes nothing
    const forged = await agent.post(`${gh.issuer}/account/linked/github/remove`, { externalId: '7' });
    assert.equal(forged.status, 403);
    assert.ok(await gh.context.store.federation.findLink('github', '7'));
    const removed = await agent.submit(linked, '/account/linked/github/remove', {});
    assert.match(removed.html, /The link was removed/);
    assert.equal(await gh.context.store.federation.findLink('github', '7'), undefined);
    // GitHub's answer for that person now finds no link: the local account must be proven again
    github.signInAs = 7;
    const again = await continueWith(new Browser(), 'github');
    assert.match(again.page.html, /Link GitHub to your account/);

    // alice has no password and one link (Acme): that link is her only way in
    acme.signInAs = 'u-alice';
    const alice = new Browser();
    const aliceLogin = await alice.open(`${gh.issuer}/account`);
    const aliceHome = await throughConsent(alice, await alice.submit(aliceLogin, formAction(aliceLogin.html, /\/federated\/acme$/), {}));
    assert.match(aliceHome.html, /Your account/, aliceHome.html.slice(0, 300));
    const aliceLinked = await alice.open(`${gh.issuer}/account/linked`);
    const refused = await alice.submit(aliceLinked, '/account/linked/acme/remove', {});
    assert.match(refused.html, /only way to sign in/);
    assert.ok(await gh.context.store.federation.findLink('acme', 'u-alice'));
  });

  it('RP-initiated logout also ends the upstream session (singleLogout), then continues to the app', async () => {
    acme.signInAs = 'u-alice';
    const agent = new Browser();
    const auth = await authorization();
    const login = await agent.open(auth.url, atClient);
    const page = await throughConsent(agent, await agent.submit(login, formAction(login.html, /\/federated\/acme$/), {}, atClient));
    const tokens = await oidc.authorizationCodeGrant(rp, new URL(page.url), { pkceCodeVerifier: auth.verifier, expectedState: auth.state, expectedNonce: auth.nonce });
    const upstreamIdToken = acme.idTokens[0];
    const confirm = await agent.open(oidc.buildEndSessionUrl(rp, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: SIGNED_OUT, state: 'bye' }).href);
    assert.equal(confirm.status, 200, confirm.html.slice(0, 300));
    // browsers apply form-action to the redirects after a form post: the logout page must allow the upstream
    assert.match(confirm.headers.get('content-security-policy') ?? '', new RegExp(`form-action [^;]*${acme.issuer.replace(/[.:/]/g, '\\$&')}`));
    const atUpstream = (u: string) => u.startsWith(`${acme.issuer}/session/end`);
    const toUpstream = await agent.submit(confirm, formAction(confirm.html, /\/session\/end\/confirm$/), { logout: 'yes' }, atUpstream);
    const end = new URL(toUpstream.url);
    assert.ok(atUpstream(toUpstream.url), toUpstream.url);
    assert.equal(end.searchParams.get('id_token_hint'), upstreamIdToken);
    assert.equal(end.searchParams.get('post_logout_redirect_uri'), `${gh.issuer}/federation/oidc/acme/logged-out`);
    // the upstream's answer comes back with our state and continues to the app's post-logout URI
    const back = await agent.open(`${gh.issuer}/federation/oidc/acme/logged-out?state=${end.searchParams.get('state')}`, (u) => u.startsWith(SIGNED_OUT));
    const app = new URL(back.url);
    assert.equal(`${app.origin}${app.pathname}`, SIGNED_OUT);
    assert.equal(app.searchParams.get('state'), 'bye');
    // that answer works once
    const again = await agent.open(`${gh.issuer}/federation/oidc/acme/logged-out?state=${end.searchParams.get('state')}`);
    assert.equal(again.status, 400);
  });

  it('home-realm discovery: an address in the provider\'s domain goes to it from the login form', async () => {
    acme.signInAs = 'u-alice';
    const agent = new Browser();
    const auth = await authorization();
    const login = await agent.open(auth.url, atClient);
    const page = await throughConsent(agent, await agent.submit(login, formAction(login.html, /\/login$/), { email: 'Alice@ACME.test', password: '' }, atClient));
    assert.ok(atClient(page.url), `${page.status} ${page.url} ${page.html.slice(0, 300)}`);
    const { claims } = await redeem(page.url, auth);
    assert.ok((claims.amr as string[]).includes('fed'));
  });

  it('an upstream sign-in does not count as a second factor unless trusted: a request for mfa gets the local mfa step', async () => {
    acme.signInAs = 'u-alice';
    const agent = new Browser();
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT_URI, scope: 'openid', acr_values: 'urn:gatehouse:acr:mfa', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const login = await agent.open(url.href, atClient);
    const page = await agent.submit(login, formAction(login.html, /\/federated\/acme$/), {}, atClient);
    assert.ok(!atClient(page.url), 'not back at the app yet');
    assert.match(page.html, /\/mfa"/, `the mfa prompt: ${page.html.slice(0, 300)}`);
  });

  it('the verified answer signs in only the browser that started the sign-in, and only once however many race', async () => {
    acme.signInAs = 'u-alice';
    const victim = new Browser();
    const atComplete = (u: string) => /\/federated\/acme\/complete\?handle=/.test(u);
    const { page } = await continueWith(victim, 'acme', atComplete);
    assert.ok(atComplete(page.url), page.url);
    // the attacker's browser has no interaction cookie for that sign-in
    const attacker = new Browser();
    const stolen = await attacker.open(page.url, atClient);
    assert.ok(!atClient(stolen.url));
    assert.ok(stolen.status >= 400, `${stolen.status}`);

    // one callback, posted 10 times at once: one is accepted
    const racer = new Browser();
    const atCallback = (u: string) => u.startsWith(callbackOf('acme'));
    const raced = await continueWith(racer, 'acme', atCallback);
    const answers = await Promise.all(Array.from({ length: 10 }, () => fetch(raced.page.url, { redirect: 'manual' })));
    assert.equal(answers.filter((r) => r.status === 303).length, 1, answers.map((r) => r.status).join(' '));
  });

  it('the upstream fetch refuses loopback and private addresses unless named (SSRF guard), and never follows redirects', async () => {
    const guarded = createUpstreamFetch([]);
    await assert.rejects(guarded(`${acme.issuer}/.well-known/openid-configuration`), OutboundRefused);
    await assert.rejects(guarded('http://10.0.0.1/'), OutboundRefused);
    await assert.rejects(guarded('http://localhost:1/'), OutboundRefused);
    const named = createUpstreamFetch(['127.0.0.1']);
    const res = await named(`${acme.issuer}/.well-known/openid-configuration`);
    assert.equal(res.status, 200);
    const redirect = await named(`${github.origin}/login/oauth/authorize?client_id=${github.clientId}&code_challenge_method=S256&redirect_uri=http://10.0.0.1/x`);
    assert.equal(redirect.status, 302);
  });
});
