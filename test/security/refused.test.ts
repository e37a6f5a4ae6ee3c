/**
 * What Gatehouse refuses, each with the error the spec names: bad credentials, bad redirect URIs, broken
 * PKCE, replayed codes and refresh tokens, expired codes, tampered tokens, forged forms, unknown clients,
 * throttled logins, and malformed input (never a 500, never a stack trace).
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent, signIn, formAction, type Page } from '../helpers/user-agent.js';
import { basicAuth, expectOAuthError, tokenRequest } from '../helpers/oauth.js';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const ATTACKER = 'https://attacker.example/callback';
const API = 'https://api.example.test';
const user = { email: 'grace@example.test', password: 'a long and correct password' };

type Client = { client_id: string; client_secret: string };

/** Registers a confidential web client and returns it with an openid-client Configuration. */
async function webClient(gh: TestGatehouse) {
  const c = await gh.context.clients.create({
    client_name: 'Refused RP',
    redirect_uris: [REDIRECT_URI],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'client_secret_basic',
  });
  const client: Client = { client_id: c.client_id, client_secret: String(c.client_secret) };
  const rp = await oidc.discovery(new URL(gh.issuer), client.client_id, client.client_secret, undefined, { execute: [oidc.allowInsecureRequests] });
  return { client, rp };
}

/** An authorization request with PKCE (S256) and state; `extra` may add or override parameters. */
async function authorizationRequest(rp: oidc.Configuration, extra: Record<string, string> = {}) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(rp, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid offline_access read:things',
    prompt: 'consent',
    resource: API,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...extra,
  });
  return { url, verifier, state };
}

async function signInForCode(rp: oidc.Configuration, extra: Record<string, string> = {}) {
  const request = await authorizationRequest(rp, extra);
  const callback = new URL(await signIn(new UserAgent(), request.url.href, REDIRECT_URI, user));
  return { ...request, callback };
}

/** The login page's answer with the per-request values (interaction uid, CSRF token, nonce, echoed email) blanked. */
function comparable(html: string): string {
  return html
    .replace(/\/interaction\/[A-Za-z0-9_-]+/g, '/interaction/UID')
    .replace(/name="_csrf" value="[^"]*"/g, 'name="_csrf" value="CSRF"')
    .replace(/data-csrf="[^"]*"/g, 'data-csrf="CSRF"')
    .replace(/interaction=[A-Za-z0-9_-]+/g, 'interaction=UID')
    .replace(/nonce="[^"]*"/g, 'nonce="NONCE"')
    .replace(/(name="email" type="email"[^>]*value=")[^"]*"/g, '$1EMAIL"');
}

const hasStackTrace = (text: string) => /\n\s+at .+\(?.+:\d+:\d+\)?/.test(text) || /node_modules|\/src\/.+\.ts/.test(text);

describe('what Gatehouse refuses', () => {
  let gh: TestGatehouse;
  let client: Client;
  let rp: oidc.Configuration;

  before(async () => {
    gh = await bootGatehouse({ LOGIN_MAX_FAILURES_PER_ACCOUNT: '3' });
    await gh.context.accounts.create({ ...user, emailVerified: true });
    await gh.context.resources.create({ identifier: API, name: 'Example API', scopes: { 'read:things': 'Read your things' }, accessTokenTtl: 600, permissionsFromRoles: false });
    ({ client, rp } = await webClient(gh));
  });
  after(() => gh.close());

  describe('signing in', () => {
    async function loginPage(): Promise<{ agent: UserAgent; page: Page }> {
      const agent = new UserAgent();
      const page = await agent.open((await authorizationRequest(rp)).url.href);
      assert.match(page.html, /action="\/interaction\/[^"]+\/login"/);
      return { agent, page };
    }
    const submitLogin = (agent: UserAgent, page: Page, email: string, password: string) =>
      agent.submit(page, formAction(page.html, /\/login$/), { email, password });

    it('refuses a wrong password with 401 and the very same page as an unknown account (no account enumeration)', async () => {
      const first = await loginPage();
      const wrongPassword = await submitLogin(first.agent, first.page, user.email, 'not the password at all');
      const second = await loginPage();
      const unknownAccount = await submitLogin(second.agent, second.page, 'nobody@example.test', 'not the password at all');

      assert.equal(wrongPassword.status, 401);
      assert.equal(unknownAccount.status, 401);
      assert.match(wrongPassword.html, /The email or password is incorrect\./);
      assert.equal(comparable(wrongPassword.html), comparable(unknownAccount.html));
      // and no session was created by either
      for (const agent of [first.agent, second.agent]) assert.ok(![...agent.cookies.keys()].some((k) => k.startsWith('_session')));
    });

    it('refuses a form post without the CSRF token with a friendly 403 page, and changes nothing', async () => {
      const { agent, page } = await loginPage();
      const action = new URL(formAction(page.html, /\/login$/), page.url).href;
      for (const csrf of [undefined, 'forged-token']) {
        const body = new URLSearchParams({ email: user.email, password: user.password, ...(csrf ? { _csrf: csrf } : {}) });
        const res = await agent.fetch(action, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' } });
        assert.equal(res.status, 403);
        assert.match(res.headers.get('content-type') ?? '', /text\/html/);
        const html = await res.text();
        assert.match(html, /did not come from this site/);
        assert.ok(!hasStackTrace(html));
      }
      // nothing changed: no session, and the same interaction still asks for the login
      assert.ok(![...agent.cookies.keys()].some((k) => k.startsWith('_session')));
      const again = await agent.open(page.url);
      assert.equal(again.status, 200);
      assert.match(again.html, /action="\/interaction\/[^"]+\/login"/);
    });

    it('throttles an account after LOGIN_MAX_FAILURES_PER_ACCOUNT failures with a 429 page and Retry-After, known or unknown email alike', async () => {
      const victim = 'throttled@example.test';
      await gh.context.accounts.create({ email: victim, password: 'the right password here' });
      const answers: Record<string, Page> = {};
      for (const email of [victim, 'ghost@example.test']) {
        const { agent, page } = await loginPage();
        let current = page;
        for (let i = 0; i < 3; i++) {
          current = await submitLogin(agent, current, email, `wrong password ${i}`);
          assert.equal(current.status, 401);
        }
        // the limit is reached: even the right password is not checked now
        const blocked = await submitLogin(agent, current, email, email === victim ? 'the right password here' : 'anything at all');
        assert.equal(blocked.status, 429);
        const retryAfter = Number(blocked.headers.get('retry-after'));
        assert.ok(Number.isInteger(retryAfter) && retryAfter > 0, `Retry-After: ${blocked.headers.get('retry-after')}`);
        assert.match(blocked.html, /Too many failed sign-in attempts/);
        assert.ok(![...agent.cookies.keys()].some((k) => k.startsWith('_session')));
        answers[email] = blocked;
      }
      assert.equal(comparable(answers[victim]!.html).replace(/<code>[^<]*<\/code>/g, ''), comparable(answers['ghost@example.test']!.html).replace(/<code>[^<]*<\/code>/g, ''));
    });
  });

  describe('the authorization request', () => {
    it('shows an error page for a redirect_uri that is not registered and never redirects to it (RFC 6749 §4.1.2.1)', async () => {
      const { url } = await authorizationRequest(rp, { redirect_uri: ATTACKER });
      const res = await new UserAgent().fetch(url.href, { headers: { accept: 'text/html' } });
      assert.equal(res.status, 400);
      assert.equal(res.headers.get('location'), null);
      assert.match(res.headers.get('content-type') ?? '', /text\/html/);
      const html = await res.text();
      assert.match(html, /invalid_redirect_uri/);
      assert.ok(!html.includes('attacker.example'), 'the attacker URI is not echoed as a link');
    });

    it('shows an error page for an unknown client and does not redirect anywhere (RFC 6749 §4.1.2.1)', async () => {
      const url = new URL(`${gh.issuer}/auth`);
      url.search = new URLSearchParams({ client_id: 'no-such-client', response_type: 'code', scope: 'openid', redirect_uri: ATTACKER, code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' }).toString();
      const res = await fetch(url, { redirect: 'manual', headers: { accept: 'text/html' } });
      assert.equal(res.status, 400);
      assert.equal(res.headers.get('location'), null);
      assert.match(await res.text(), /invalid_client/);
    });

    const redirectedError = async (extra: Record<string, string>, drop: string[] = []) => {
      const { url, state } = await authorizationRequest(rp, extra);
      for (const name of drop) url.searchParams.delete(name);
      const res = await fetch(url, { redirect: 'manual' });
      assert.equal(res.status, 303);
      const location = new URL(res.headers.get('location')!);
      assert.equal(`${location.origin}${location.pathname}`, REDIRECT_URI);
      assert.equal(location.searchParams.get('state'), state);
      // RFC 9207 §2: iss in error responses too
      assert.equal(location.searchParams.get('iss'), gh.issuer);
      return location.searchParams;
    };

    it('refuses code_challenge_method=plain with invalid_request (RFC 9700 §2.1.1: S256 only)', async () => {
      const verifier = oidc.randomPKCECodeVerifier();
      const params = await redirectedError({ code_challenge: verifier, code_challenge_method: 'plain' });
      assert.equal(params.get('error'), 'invalid_request');
    });

    it('refuses a request without PKCE with invalid_request (RFC 9700 §2.1.1: PKCE for every client)', async () => {
      const params = await redirectedError({}, ['code_challenge', 'code_challenge_method']);
      assert.equal(params.get('error'), 'invalid_request');
      assert.match(params.get('error_description') ?? '', /PKCE/);
    });
  });

  describe('the token endpoint', () => {
    const jwks = () => createRemoteJWKSet(new URL(`${gh.issuer}/jwks`));

    it('refuses a code_verifier that does not match the challenge with invalid_grant (RFC 7636 §4.6)', async () => {
      const { callback, state } = await signInForCode(rp);
      await assert.rejects(
        oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: oidc.randomPKCECodeVerifier(), expectedState: state }, { resource: API }),
        (err: oidc.ResponseBodyError) => err.error === 'invalid_grant' && err.status === 400,
      );
    });

    it('refuses a code redeemed twice with invalid_grant and revokes what the first redemption issued (RFC 6749 §4.1.2, RFC 9700 §4.2.4)', async () => {
      const { callback, verifier, state } = await signInForCode(rp);
      const checks = { pkceCodeVerifier: verifier, expectedState: state };
      const first = await oidc.authorizationCodeGrant(rp, callback, checks, { resource: API });
      assert.equal((await oidc.tokenIntrospection(rp, first.access_token)).active, true);

      await assert.rejects(oidc.authorizationCodeGrant(rp, callback, checks, { resource: API }), (err: oidc.ResponseBodyError) => err.error === 'invalid_grant');

      // "SHOULD revoke (when possible) all tokens previously issued based on that authorization code"
      assert.equal((await oidc.tokenIntrospection(rp, first.refresh_token!)).active, false);
      assert.equal((await oidc.tokenIntrospection(rp, first.access_token)).active, false);
      await assert.rejects(oidc.refreshTokenGrant(rp, first.refresh_token!), (err: oidc.ResponseBodyError) => err.error === 'invalid_grant');
    });

    it('lets exactly one of 20 concurrent redemptions of one code succeed', async () => {
      const { callback, verifier } = await signInForCode(rp);
      const code = callback.searchParams.get('code')!;
      const responses = await Promise.all(
        Array.from({ length: 20 }, () =>
          tokenRequest(gh.issuer, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier, resource: API }, { authorization: basicAuth(client.client_id, client.client_secret) }),
        ),
      );
      const bodies = await Promise.all(responses.map(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> })));
      assert.equal(bodies.filter((b) => b.status === 200).length, 1, JSON.stringify(bodies.map((b) => b.status)));
      for (const b of bodies.filter((x) => x.status !== 200)) {
        assert.equal(b.status, 400);
        assert.equal(b.body.error, 'invalid_grant');
      }
    });

    it('refuses a rotated-away refresh token with invalid_grant and revokes the whole grant (RFC 9700 §4.14.2)', async () => {
      const { callback, verifier, state } = await signInForCode(rp);
      const tokens = await oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state }, { resource: API });
      const rotated = await oidc.refreshTokenGrant(rp, tokens.refresh_token!, { resource: API });
      assert.notEqual(rotated.refresh_token, tokens.refresh_token);

      await assert.rejects(oidc.refreshTokenGrant(rp, tokens.refresh_token!), (err: oidc.ResponseBodyError) => err.error === 'invalid_grant');
      // the legitimate holder's newer tokens die with the grant
      await assert.rejects(oidc.refreshTokenGrant(rp, rotated.refresh_token!), (err: oidc.ResponseBodyError) => err.error === 'invalid_grant');
      assert.equal((await oidc.tokenIntrospection(rp, rotated.refresh_token!)).active, false);
      assert.equal((await oidc.tokenIntrospection(rp, rotated.access_token)).active, false);
    });

    it('refuses a tampered JWT access token: the API’s signature check fails and introspection says inactive', async () => {
      const { callback, verifier, state } = await signInForCode(rp);
      const tokens = await oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state }, { resource: API });
      const [header, payload, signature] = tokens.access_token.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, scope: 'read:things admin' })).toString('base64url')}.${signature}`;
      await assert.rejects(jwtVerify(forged, jwks(), { issuer: gh.issuer, audience: API }), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
      assert.equal((await oidc.tokenIntrospection(rp, forged)).active, false);
      // alg "none" is not a way around it either
      const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${payload}.`;
      await assert.rejects(jwtVerify(unsigned, jwks(), { issuer: gh.issuer, audience: API }));
      assert.equal((await oidc.tokenIntrospection(rp, unsigned)).active, false);
      // the genuine one is still fine
      assert.equal((await oidc.tokenIntrospection(rp, tokens.access_token)).active, true);
    });

    it('refuses an unknown client with 401 invalid_client (RFC 6749 §5.2)', async () => {
      const res = await tokenRequest(gh.issuer, { grant_type: 'client_credentials' }, { authorization: basicAuth('no-such-client', 'secret') });
      await expectOAuthError(res, 'invalid_client', 401);
    });

    it('refuses a bad client secret with 401 invalid_client and WWW-Authenticate: Basic (RFC 6749 §5.2)', async () => {
      const basic = await tokenRequest(gh.issuer, { grant_type: 'refresh_token', refresh_token: 'x' }, { authorization: basicAuth(client.client_id, 'not-the-secret') });
      assert.match(basic.headers.get('www-authenticate') ?? '', /^Basic /);
      await expectOAuthError(basic, 'invalid_client', 401);
      // with client_secret_post there is no Authorization header to answer, but the error is the same
      const post = await tokenRequest(gh.issuer, { grant_type: 'refresh_token', refresh_token: 'x', client_id: client.client_id, client_secret: 'not-the-secret' });
      await expectOAuthError(post, 'invalid_client', 401);
    });
  });

  describe('malformed input', () => {
    const huge = 'x'.repeat(200 * 1024);
    /** a body without Content-Length (Transfer-Encoding: chunked) */
    const chunked = (text: string) =>
      new ReadableStream({
        start(controller) {
          for (let i = 0; i < text.length; i += 8192) controller.enqueue(new TextEncoder().encode(text.slice(i, i + 8192)));
          controller.close();
        },
      });
    const requests: [string, string, RequestInit][] = [
      ['bad JSON on /token', '/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type": "client_cre' }],
      ['a text/plain body on /token', '/token', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'grant_type=client_credentials' }],
      ['no content-type on /token', '/token', { method: 'POST', body: 'grant_type=client_credentials' }],
      ['a huge form on /token', '/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=client_credentials&scope=${huge}` }],
      ['a huge form on introspection sent in chunks', '/token/introspection', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: chunked(`token=${huge}`), duplex: 'half' } as RequestInit],
      ['a huge form on introspection', '/token/introspection', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${huge}` }],
      ['a huge JWT-looking token on introspection', '/token/introspection', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=eyJhbGciOiJSUzI1NiJ9.${'A'.repeat(30_000)}.x` }],
      ['a garbage Basic header', '/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic !!!not-base64!!!' }, body: 'grant_type=client_credentials' }],
      ['a Basic header without a colon', '/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('no-colon').toString('base64')}` }, body: 'grant_type=client_credentials' }],
      ['a Basic header with bad percent-encoding', '/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('%E0%A4%A:%zz').toString('base64')}` }, body: 'grant_type=client_credentials' }],
      ['an unknown auth scheme', '/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Negotiate abc' }, body: 'grant_type=client_credentials' }],
      ['duplicate parameters on /token', '/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&grant_type=password' }],
      ['a bad Bearer header at userinfo', '/me', { headers: { authorization: 'Bearer' } }],
      ['a JWT-looking Bearer token at userinfo', '/me', { headers: { authorization: 'Bearer eyJ.eyJ.x' } }],
      ['duplicate parameters at /auth', '/auth?client_id=a&client_id=b&response_type=code', { headers: { accept: 'text/html' } }],
      ['a broken percent-encoding at /auth', '/auth?client_id=%E0%A4%A&response_type=code', { headers: { accept: 'text/html' } }],
      ['a huge query string at /auth', `/auth?client_id=${'a'.repeat(12_000)}`, {}],
      ['JSON to a login form', '/interaction/abc/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email":' }],
      ['a huge login form sent in chunks', '/interaction/abc/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: chunked(huge), duplex: 'half' } as RequestInit],
      ['a huge login form', '/interaction/abc/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `email=${huge}` }],
      ['an unknown interaction', '/interaction/does-not-exist', { headers: { accept: 'text/html' } }],
      ['bad JSON to PAR', '/request', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[' }],
      ['a garbage request object at /auth', '/auth?client_id=x&request=not.a.jwt', {}],
      ['a bad user code at the device page', '/device?user_code=%00%00', { headers: { accept: 'text/html' } }],
      ['a form post to /auth with a huge body', '/auth', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `client_id=${huge}` }],
      ['a bad JSON body on revocation', '/token/revocation', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }],
      ['a path with a NUL byte', '/interaction/%00', {}],
    ];
    it('answers an API client (Accept */*) with the JSON error body and a browser with the page', async () => {
      const init = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: '*/*' }, body: `email=${huge}` };
      const api = await fetch(`${gh.issuer}/interaction/abc/login`, init);
      assert.equal(api.status, 413);
      assert.match(api.headers.get('content-type') ?? '', /^application\/json/);
      assert.equal(((await api.json()) as { error: string }).error, 'invalid_request');
      const browser = await fetch(`${gh.issuer}/interaction/abc/login`, { ...init, headers: { ...init.headers, accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
      assert.equal(browser.status, 413);
      assert.match(browser.headers.get('content-type') ?? '', /^text\/html/);
      await browser.body?.cancel();
    });

    for (const [name, path, init] of requests) {
      it(`answers ${name} without a 5xx or a stack trace, and keeps serving`, async () => {
        const res = await fetch(`${gh.issuer}${path}`, { ...init, redirect: 'manual' });
        const text = await res.text();
        assert.ok(res.status < 500, `${res.status}: ${text.slice(0, 300)}`);
        assert.ok(!hasStackTrace(text), text.slice(0, 500));
        // the next request (on the same keep-alive connection, when it stayed open) is answered too
        const next = await fetch(`${gh.issuer}/health/live`, { signal: AbortSignal.timeout(5000) });
        assert.equal(next.status, 200);
        await next.body?.cancel();
      });
    }
  });
});

describe('an expired authorization code', () => {
  let gh: TestGatehouse;
  let rp: oidc.Configuration;
  before(async () => {
    gh = await bootGatehouse({ AUTHORIZATION_CODE_TTL: '1s' });
    await gh.context.accounts.create({ ...user, emailVerified: true });
    await gh.context.resources.create({ identifier: API, name: 'Example API', scopes: { 'read:things': 'Read your things' }, accessTokenTtl: 600, permissionsFromRoles: false });
    ({ rp } = await webClient(gh));
  });
  after(() => gh.close());

  it('is refused with invalid_grant once its lifetime has passed (RFC 6749 §4.1.2: "a short lifetime")', async () => {
    const { callback, verifier, state } = await signInForCode(rp);
    const issuedBy = Math.floor(Date.now() / 1000); // the code's iat is at most this second
    // the code expires at iat + 1s; time passing is the event under test
    await new Promise((resolve) => setTimeout(resolve, (issuedBy + 1) * 1000 - Date.now() + 50));
    await assert.rejects(
      oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state }, { resource: API }),
      (err: oidc.ResponseBodyError) => err.error === 'invalid_grant' && err.status === 400,
    );
  });
});

