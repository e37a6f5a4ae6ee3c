/**
 * The newer OAuth and OpenID specs Gatehouse supports, each driven by openid-client as the real client:
 * PAR (RFC 9126), JAR (RFC 9101), DPoP (RFC 9449), the device authorization grant (RFC 8628), `iss` in
 * authorization responses (RFC 9207), private_key_jwt and client_secret_post client authentication,
 * back-channel logout (OpenID Connect Back-Channel Logout 1.0), discovery, and introspection (RFC 7662).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify, exportJWK, generateKeyPair, calculateJwkThumbprint, decodeJwt, SignJWT, type CryptoKey } from 'jose';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent, signIn, formAction, type Page } from '../helpers/user-agent.js';
import { basicAuth, expectOAuthError, tokenRequest } from '../helpers/oauth.js';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const API = 'https://api.example.test';
const user = { email: 'katherine@example.test', password: 'trajectories and orbits', name: 'Katherine Johnson' };
const insecure = { execute: [oidc.allowInsecureRequests] };

describe('modern OAuth 2.0 and OpenID Connect', () => {
  let gh: TestGatehouse;
  let jwks: ReturnType<typeof createRemoteJWKSet>;
  let web: { client_id: string; client_secret: string };
  let rp: oidc.Configuration;

  before(async () => {
    gh = await bootGatehouse({ OUTBOUND_PRIVATE_HOSTS: '127.0.0.1' });
    jwks = createRemoteJWKSet(new URL(`${gh.issuer}/jwks`));
    await gh.context.accounts.create({ ...user, emailVerified: true });
    await gh.context.resources.create({ identifier: API, name: 'Example API', scopes: { 'read:things': 'Read your things' }, accessTokenTtl: 600, permissionsFromRoles: false });
    const c = await gh.context.clients.create({
      client_name: 'Modern RP',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      scope: 'openid profile email offline_access read:things',
      token_endpoint_auth_method: 'client_secret_basic',
    });
    web = { client_id: c.client_id, client_secret: String(c.client_secret) };
    rp = await oidc.discovery(new URL(gh.issuer), web.client_id, web.client_secret, undefined, insecure);
  });
  after(() => gh.close());

  async function pkce() {
    const verifier = oidc.randomPKCECodeVerifier();
    return { verifier, params: { code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' } };
  }

  describe('discovery (OpenID Connect Discovery 1.0, RFC 8414)', () => {
    it('advertises exactly what is supported', async () => {
      const m = rp.serverMetadata();
      assert.equal(m.issuer, gh.issuer);
      assert.deepEqual(m.code_challenge_methods_supported, ['S256']);
      // `none` (OAuth 2.0 Multiple Response Types §4) serves the built-in /account client
      assert.deepEqual(m.response_types_supported, ['code', 'none']);
      assert.deepEqual([...(m.token_endpoint_auth_methods_supported ?? [])].sort(), ['client_secret_basic', 'client_secret_post', 'none', 'private_key_jwt']);
      assert.equal(m.authorization_response_iss_parameter_supported, true);
      assert.ok(m.pushed_authorization_request_endpoint);
      // RFC 9126 §5: "If omitted, the default value is false"
      assert.equal(m.require_pushed_authorization_requests ?? false, false);
      assert.equal(m.request_parameter_supported, true);
      assert.ok(m.dpop_signing_alg_values_supported?.includes('ES256'));
      assert.ok(m.device_authorization_endpoint);
      assert.ok(m.introspection_endpoint && m.revocation_endpoint && m.end_session_endpoint && m.userinfo_endpoint);
      assert.equal(m.backchannel_logout_supported, true);
      assert.equal(m.backchannel_logout_session_supported, true);
      assert.ok(m.id_token_signing_alg_values_supported?.includes('RS256'));
      for (const grant of ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code']) {
        assert.ok(m.grant_types_supported?.includes(grant), grant);
      }
      // RFC 9700 §2.1.2, §2.4: no implicit grant, no password grant
      assert.ok(!m.grant_types_supported?.includes('implicit'));
      assert.ok(!m.grant_types_supported?.includes('password'));
      for (const scope of ['openid', 'offline_access', 'profile', 'email']) assert.ok(m.scopes_supported?.includes(scope), scope);
      assert.equal((await fetch(m.jwks_uri!)).headers.get('content-type'), 'application/jwk-set+json; charset=utf-8');
    });
  });

  describe('iss in the authorization response (RFC 9207)', () => {
    it('names the issuer in a successful response and in an error response', async () => {
      const { verifier, params } = await pkce();
      const state = oidc.randomState();
      const callback = new URL(await signIn(new UserAgent(), oidc.buildAuthorizationUrl(rp, { redirect_uri: REDIRECT_URI, scope: 'openid', state, ...params }).href, REDIRECT_URI, user));
      assert.equal(callback.searchParams.get('iss'), gh.issuer);
      // openid-client checks iss itself (RFC 9207 §2.4) before redeeming the code
      await oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state });

      // OpenID Connect Core §3.1.2.6: prompt=none without a session is login_required, redirected with iss
      const none = await fetch(oidc.buildAuthorizationUrl(rp, { redirect_uri: REDIRECT_URI, scope: 'openid', prompt: 'none', state: 's', ...(await pkce()).params }), { redirect: 'manual' });
      const error = new URL(none.headers.get('location')!);
      assert.equal(error.searchParams.get('error'), 'login_required');
      assert.equal(error.searchParams.get('iss'), gh.issuer);
      assert.equal(error.searchParams.get('state'), 's');
    });
  });

  describe('pushed authorization requests (RFC 9126)', () => {
    it('takes the request at the PAR endpoint and signs in with only client_id and request_uri in the browser', async () => {
      const { verifier, params } = await pkce();
      const state = oidc.randomState();
      const url = await oidc.buildAuthorizationUrlWithPAR(rp, { redirect_uri: REDIRECT_URI, scope: 'openid profile', state, ...params });
      assert.deepEqual([...url.searchParams.keys()].sort(), ['client_id', 'request_uri']);
      assert.match(url.searchParams.get('request_uri')!, /^urn:ietf:params:oauth:request_uri:/);

      const callback = new URL(await signIn(new UserAgent(), url.href, REDIRECT_URI, user));
      const tokens = await oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
      assert.equal(tokens.claims()!.name, user.name);

      // RFC 9126 §2.2: the request_uri is for one use
      const reused = await fetch(url, { redirect: 'manual', headers: { accept: 'text/html' } });
      // an error the client's only registered redirect_uri receives, or an error page: never a second sign-in
      const location = reused.headers.get('location');
      const error = location ? new URL(location).searchParams.get('error') : /invalid_request_uri/.exec(await reused.text())?.[0];
      assert.equal(error, 'invalid_request_uri');
    });

    it('requires client authentication at the PAR endpoint (RFC 9126 §2)', async () => {
      const res = await fetch(rp.serverMetadata().pushed_authorization_request_endpoint!, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(web.client_id, 'wrong') },
        body: new URLSearchParams({ client_id: web.client_id, response_type: 'code', scope: 'openid', redirect_uri: REDIRECT_URI, ...(await pkce()).params }),
      });
      await expectOAuthError(res, 'invalid_client', 401);
    });
  });

  describe('a private_key_jwt client (RFC 7523 §2.2, OpenID Connect Core §9)', () => {
    let keys: { privateKey: CryptoKey; publicKey: CryptoKey };
    let clientId: string;
    let keyRp: oidc.Configuration;
    const kid = 'rp-key-1';

    before(async () => {
      keys = await generateKeyPair('RS256', { extractable: true });
      const c = await gh.context.clients.create({
        client_name: 'Key RP',
        redirect_uris: [REDIRECT_URI],
        grant_types: ['authorization_code', 'client_credentials'],
        scope: 'openid profile email offline_access read:things',
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'RS256',
        request_object_signing_alg: 'RS256',
        jwks: { keys: [{ ...(await exportJWK(keys.publicKey)), kid, alg: 'RS256', use: 'sig' }] },
      });
      clientId = c.client_id;
      assert.equal(c.client_secret, undefined, 'no shared secret for a key-based client');
      keyRp = await oidc.discovery(new URL(gh.issuer), clientId, undefined, oidc.PrivateKeyJwt({ key: keys.privateKey, kid }), insecure);
    });

    it('signs its request as a JAR request object (RFC 9101) and authenticates with a signed client assertion', async () => {
      const { verifier, params } = await pkce();
      const state = oidc.randomState();
      const url = await oidc.buildAuthorizationUrlWithJAR(keyRp, { redirect_uri: REDIRECT_URI, scope: 'openid email', state, ...params }, { key: keys.privateKey, kid });
      assert.ok(url.searchParams.get('request'));
      assert.equal(url.searchParams.get('scope'), null, 'every parameter travels inside the signed request object');

      const callback = new URL(await signIn(new UserAgent(), url.href, REDIRECT_URI, user));
      const tokens = await oidc.authorizationCodeGrant(keyRp, callback, { pkceCodeVerifier: verifier, expectedState: state });
      assert.equal(tokens.claims()!.email, user.email);
      assert.equal(tokens.claims()!.aud, clientId);
    });

    it('refuses a request object signed with another key (RFC 9101 §6.2: invalid_request_object)', async () => {
      const other = await generateKeyPair('RS256');
      const { params } = await pkce();
      const url = await oidc.buildAuthorizationUrlWithJAR(keyRp, { redirect_uri: REDIRECT_URI, scope: 'openid', state: 'x', ...params }, { key: other.privateKey, kid });
      const res = await fetch(url, { redirect: 'manual', headers: { accept: 'text/html' } });
      const location = res.headers.get('location');
      const error = location ? new URL(location).searchParams.get('error') : /invalid_request_object/.exec(await res.text())?.[0];
      assert.equal(error, 'invalid_request_object');
    });

    it('authenticates at the token endpoint with private_key_jwt, and refuses a replayed assertion (RFC 7523 §3)', async () => {
      const tokens = await oidc.clientCredentialsGrant(keyRp, { resource: API, scope: 'read:things' });
      const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: gh.issuer, audience: API, typ: 'at+jwt' });
      assert.equal(payload.client_id, clientId);

      const assertion = await new SignJWT({})
        .setProtectedHeader({ alg: 'RS256', kid })
        .setIssuer(clientId)
        .setSubject(clientId)
        .setAudience(gh.issuer)
        .setJti(oidc.randomState())
        .setIssuedAt()
        .setExpirationTime('1m')
        .sign(keys.privateKey);
      const params = { grant_type: 'client_credentials', resource: API, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion };
      assert.equal((await tokenRequest(gh.issuer, params)).status, 200);
      await expectOAuthError(await tokenRequest(gh.issuer, params), 'invalid_client', 401);
      // and an assertion signed by someone else's key is refused
      const forged = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid }).setIssuer(clientId).setSubject(clientId).setAudience(gh.issuer).setJti(oidc.randomState()).setExpirationTime('1m')
        .sign((await generateKeyPair('RS256')).privateKey);
      await expectOAuthError(await tokenRequest(gh.issuer, { ...params, client_assertion: forged }), 'invalid_client', 401);
    });
  });

  describe('client_secret_post (RFC 6749 §2.3.1)', () => {
    it('authenticates a client that sends its secret in the form body', async () => {
      const c = await gh.context.clients.create({ grant_types: ['client_credentials'], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_post', scope: 'read:things' });
      const postRp = await oidc.discovery(new URL(gh.issuer), c.client_id, undefined, oidc.ClientSecretPost(String(c.client_secret)), insecure);
      const tokens = await oidc.clientCredentialsGrant(postRp, { resource: API, scope: 'read:things' });
      const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: gh.issuer, audience: API });
      assert.equal(payload.client_id, c.client_id);
    });
  });

  describe('DPoP (RFC 9449)', () => {
    it('binds the access token to the client’s key (cnf.jkt), and the token is refused as a plain Bearer token', async () => {
      const keyPair = await oidc.randomDPoPKeyPair('ES256');
      const DPoP = oidc.getDPoPHandle(rp, keyPair);
      const jkt = await calculateJwkThumbprint(await exportJWK(keyPair.publicKey));
      const { verifier, params } = await pkce();
      const state = oidc.randomState();
      const url = oidc.buildAuthorizationUrl(rp, { redirect_uri: REDIRECT_URI, scope: 'openid offline_access read:things', resource: API, prompt: 'consent', state, ...params });
      const callback = new URL(await signIn(new UserAgent(), url.href, REDIRECT_URI, user));
      const tokens = await oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state }, { resource: API }, { DPoP });
      assert.equal(tokens.token_type.toLowerCase(), 'dpop');
      const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: gh.issuer, audience: API, typ: 'at+jwt' });
      assert.deepEqual(payload.cnf, { jkt });
      const introspected = await oidc.tokenIntrospection(rp, tokens.access_token);
      assert.equal(introspected.token_type, 'DPoP');

      // an access token for userinfo (no resource), bound to the same key
      const refreshed = await oidc.refreshTokenGrant(rp, tokens.refresh_token!, undefined, { DPoP });
      assert.equal(refreshed.token_type.toLowerCase(), 'dpop');
      const sub = tokens.claims()!.sub;
      const info = await oidc.fetchUserInfo(rp, refreshed.access_token, sub, { DPoP });
      assert.equal(info.email, undefined, 'scope had no email');
      assert.equal(info.sub, sub);
      // RFC 9449 §7.2: a DPoP-bound token presented as a Bearer token is refused
      const bearer = await fetch(rp.serverMetadata().userinfo_endpoint!, { headers: { authorization: `Bearer ${refreshed.access_token}` } });
      assert.equal(bearer.status, 401);
      assert.match(bearer.headers.get('www-authenticate') ?? '', /invalid_token/);
      await bearer.body?.cancel();
    });
  });

  describe('device authorization grant (RFC 8628)', () => {
    it('issues tokens to the device after a person enters the user code on the /device pages and signs in', async () => {
      const c = await gh.context.clients.create({
        client_name: 'Living-room TV',
        grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'none',
        application_type: 'native',
      });
      const tv = await oidc.discovery(new URL(gh.issuer), c.client_id, undefined, oidc.None(), insecure);
      const started = await oidc.initiateDeviceAuthorization(tv, { scope: 'openid profile' });
      assert.match(started.user_code, /^[A-Z]{4}-[A-Z]{4}$/);
      assert.equal(started.verification_uri, `${gh.issuer}/device`);

      // RFC 8628 §3.5: before the person has approved, the device hears authorization_pending
      const pending = await tokenRequest(gh.issuer, { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: started.device_code, client_id: c.client_id });
      await expectOAuthError(pending, 'authorization_pending', 400);

      // the device polls (at the server's interval) while the person goes to the verification URI on a phone
      const polled = oidc.pollDeviceAuthorizationGrant(tv, started);
      const phone = new UserAgent();
      let page: Page = await phone.open(started.verification_uri);
      assert.match(page.html, /Enter the code shown on your device/);
      assert.equal(page.html.match(/name="user_code"/g)?.length, 1, 'one code box, so the browser sends user_code once');
      page = await phone.submit(page, formAction(page.html, /\/device$/), { user_code: started.user_code.toLowerCase().replace('-', ' ') });
      for (let step = 0; step < 5 && !/Your device is connected/.test(page.html); step++) {
        if (/action="[^"]*\/login"/.test(page.html)) page = await phone.submit(page, formAction(page.html, /\/login$/), user);
        else if (/action="[^"]*\/consent"/.test(page.html)) page = await phone.submit(page, formAction(page.html, /\/consent$/), {});
        else if (/op\.deviceConfirmForm/.test(page.html)) {
          assert.match(page.html, /Living-room TV/);
          assert.match(page.html, new RegExp(started.user_code));
          page = await phone.submit(page, formAction(page.html, /\/device$/), {});
        } else assert.fail(`unexpected page ${page.status} ${page.url}: ${page.html.slice(0, 400)}`);
      }
      assert.match(page.html, /Your device is connected/);

      const tokens = await polled;
      assert.equal(tokens.claims()!.name, user.name);
      assert.equal(tokens.claims()!.aud, c.client_id);
      // RFC 8628 §3.5: the device code is spent
      const again = await tokenRequest(gh.issuer, { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: started.device_code, client_id: c.client_id });
      await expectOAuthError(again, 'invalid_grant', 400);
    });

    it('tells the person when the code is wrong, on the same page', async () => {
      const phone = new UserAgent();
      const page = await phone.open(`${gh.issuer}/device`);
      const wrong = await phone.submit(page, formAction(page.html, /\/device$/), { user_code: 'BCDF-GHJK' });
      assert.equal(wrong.status, 200);
      assert.match(wrong.html, /That code is not valid or has expired/);
      assert.equal(wrong.html.match(/name="user_code"/g)?.length, 1);
      assert.match(wrong.html, /id="user_code"[^>]*value="BCDF-GHJK"/, 'the code stays in the box to be corrected');
    });
  });

  describe('back-channel logout (OpenID Connect Back-Channel Logout 1.0)', () => {
    let receiver: Server;
    let received: Promise<string>;

    before(async () => {
      let deliver: (token: string) => void;
      received = new Promise((resolve) => (deliver = resolve));
      receiver = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          // §2.8: the RP answers 200 (with Cache-Control: no-store)
          res.writeHead(200, { 'cache-control': 'no-store' }).end();
          assert.equal(req.method, 'POST');
          assert.match(req.headers['content-type'] ?? '', /^application\/x-www-form-urlencoded/);
          deliver(new URLSearchParams(Buffer.concat(chunks).toString()).get('logout_token') ?? '');
        });
      });
      receiver.listen(0, '127.0.0.1');
      await once(receiver, 'listening');
    });
    after(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

    it('sends the RP a signed logout token with iss, aud, events and sid/sub when the person logs out', async () => {
      const register = (name: string, host: string) =>
        gh.context.clients.create({
          client_name: name,
          redirect_uris: [REDIRECT_URI],
          post_logout_redirect_uris: ['http://127.0.0.1:9/bye'],
          backchannel_logout_uri: `http://${host}:${(receiver.address() as AddressInfo).port}/backchannel-logout`,
          backchannel_logout_session_required: true,
        });
      // the receiver runs on loopback, which only OUTBOUND_PRIVATE_HOSTS (127.0.0.1 here) lets the provider reach
      const c = await register('Back-channel RP', '127.0.0.1');
      const unlisted = await register('Unlisted internal RP', 'localhost');
      const refused = new Promise<Error>((resolve) =>
        gh.context.providers.current.on('backchannel.error', (_ctx: unknown, err: Error, client: { clientId: string }) => {
          if (client.clientId === unlisted.client_id) resolve(err);
        }),
      );

      const agent = new UserAgent();
      const signInTo = async (client: { client_id: string; client_secret?: unknown }) => {
        const clientRp = await oidc.discovery(new URL(gh.issuer), client.client_id, String(client.client_secret), undefined, insecure);
        const { verifier, params } = await pkce();
        const state = oidc.randomState();
        const callback = new URL(await signIn(agent, oidc.buildAuthorizationUrl(clientRp, { redirect_uri: REDIRECT_URI, scope: 'openid', state, ...params }).href, REDIRECT_URI, user));
        return { clientRp, tokens: await oidc.authorizationCodeGrant(clientRp, callback, { pkceCodeVerifier: verifier, expectedState: state }) };
      };
      await signInTo(unlisted);
      const { clientRp: bcRp, tokens } = await signInTo(c);
      const idClaims = tokens.claims()!;
      assert.equal(typeof idClaims.sid, 'string', 'the ID token carries sid for a client that requires it');

      // RP-initiated logout: the person confirms on the provider's page
      const confirm = await agent.open(oidc.buildEndSessionUrl(bcRp, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'http://127.0.0.1:9/bye' }).href);
      const done = await agent.submit(confirm, formAction(confirm.html, /\/session\/end\/confirm$/), { logout: 'yes' }, (u) => u.startsWith('http://127.0.0.1:9/'));
      assert.equal(done.url, 'http://127.0.0.1:9/bye');

      const logoutToken = await received;
      // §2.4, §2.6: a signed JWT the RP validates like an ID token, with these claims and no nonce
      const { payload, protectedHeader } = await jwtVerify(logoutToken, jwks, { issuer: gh.issuer, audience: c.client_id, algorithms: ['RS256'] });
      assert.equal(protectedHeader.typ, 'logout+jwt');
      assert.deepEqual(payload.events, { 'http://schemas.openid.net/event/backchannel-logout': {} });
      assert.equal(payload.sub, idClaims.sub);
      assert.equal(payload.sid, idClaims.sid);
      assert.equal(typeof payload.jti, 'string');
      assert.equal(typeof payload.iat, 'number');
      assert.equal(decodeJwt(logoutToken).nonce, undefined);

      // a loopback host the operator did not list stays behind oidc-provider's SSRF protection
      assert.match((await refused).cause instanceof Error ? ((await refused).cause as Error).message : '', /special-use IP address/);
    });
  });

  describe('introspection (RFC 7662)', () => {
    it('answers a confidential client for client_credentials tokens (always JWTs for an API since issue 11)', async () => {
      const jwtToken = await oidc.clientCredentialsGrant(rp, { resource: API, scope: 'read:things' });
      const jwtAnswer = await oidc.tokenIntrospection(rp, jwtToken.access_token);
      assert.equal(jwtAnswer.active, true);
      assert.equal(jwtAnswer.client_id, web.client_id);
      assert.equal(jwtAnswer.aud, API);
      assert.equal(jwtAnswer.scope, 'read:things');
      assert.equal(jwtAnswer.token_type, 'Bearer');

      // issue 11 item 2: no scope, no resource, no default API: refused rather than an opaque token for no API
      // (test/protocol/token-scope.test.ts); opaque tokens are introspected below (refresh tokens)
      await assert.rejects(oidc.clientCredentialsGrant(rp, {}), (err: oidc.ResponseBodyError) => err.error === 'invalid_scope' && err.status === 400);
    });

    it('answers for refresh tokens', async () => {
      const { verifier, params } = await pkce();
      const state = oidc.randomState();
      const url = oidc.buildAuthorizationUrl(rp, { redirect_uri: REDIRECT_URI, scope: 'openid offline_access', prompt: 'consent', state, ...params });
      const tokens = await oidc.authorizationCodeGrant(rp, new URL(await signIn(new UserAgent(), url.href, REDIRECT_URI, user)), { pkceCodeVerifier: verifier, expectedState: state });
      const answer = await oidc.tokenIntrospection(rp, tokens.refresh_token!);
      assert.equal(answer.active, true);
      assert.equal(answer.client_id, web.client_id);
      assert.equal(answer.sub, tokens.claims()!.sub);
      assert.match(String(answer.scope), /offline_access/);
    });

    it('tells a public client nothing: every token is inactive to it (RFC 7662 §2.1, §4)', async () => {
      const c = await gh.context.clients.create({ redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], scope: 'openid offline_access read:things' });
      const publicRp = await oidc.discovery(new URL(gh.issuer), c.client_id, undefined, oidc.None(), insecure);
      const { verifier, params } = await pkce();
      const state = oidc.randomState();
      const url = oidc.buildAuthorizationUrl(publicRp, { redirect_uri: REDIRECT_URI, scope: 'openid offline_access read:things', resource: API, prompt: 'consent', state, ...params });
      const tokens = await oidc.authorizationCodeGrant(publicRp, new URL(await signIn(new UserAgent(), url.href, REDIRECT_URI, user)), { pkceCodeVerifier: verifier, expectedState: state }, { resource: API });
      // its own tokens, which are live (test/protocol/introspection-rights.test.ts: only the API's registered
      // resource server could see that; another confidential client such as rp is told active: false too)
      assert.equal((await oidc.tokenIntrospection(publicRp, tokens.access_token)).active, false);
      assert.equal((await oidc.tokenIntrospection(publicRp, tokens.refresh_token!)).active, false);
      assert.equal((await oidc.tokenIntrospection(rp, tokens.access_token)).active, false);
      const someoneElses = await oidc.clientCredentialsGrant(rp, { resource: API, scope: 'read:things' });
      assert.equal((await oidc.tokenIntrospection(publicRp, someoneElses.access_token)).active, false);
    });
  });
});
