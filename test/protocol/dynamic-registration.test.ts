/**
 * Issue 11 item 8: dynamic client registration (RFC 7591) and management (RFC 7592), off by default. On, it
 * needs an initial access token from the CLI; the registration access token reads, updates and deletes only
 * its own registration; registered clients are stored like CLI ones (secret encrypted, the registry's rules),
 * and no secret or token is in the database in the clear.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { sqliteText } from '../helpers/sqlite-text.js';
import { bootGatehouse, TEST_ENCRYPTION_KEY, type TestGatehouse } from '../helpers/gatehouse.js';
import { basicAuth, expectOAuthError, tokenRequest } from '../helpers/oauth.js';
import { runCli } from '../helpers/run-cli.js';
import { UserAgent, signIn } from '../helpers/user-agent.js';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const METADATA = { client_name: 'Registered RP', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', 'refresh_token'], scope: 'openid email' };

type Registration = { client_id: string; client_secret: string; registration_access_token: string; registration_client_uri: string } & Record<string, unknown>;

const json = (body: unknown, token?: string): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
  body: JSON.stringify(body),
});
const bearer = (token: string, init: RequestInit = {}): RequestInit => ({ ...init, headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${token}` } });

/** RFC 6750 §3.1: 401 with WWW-Authenticate: Bearer ... error="invalid_token" */
async function expectInvalidToken(res: Response): Promise<void> {
  assert.equal(res.status, 401);
  assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer .*error="invalid_token"/);
  await expectOAuthError(res, 'invalid_token', 401);
}

describe('protocol: dynamic client registration (RFC 7591 / 7592, issue 11 item 8)', () => {
  describe('off by default', () => {
    let gh: TestGatehouse;
    before(async () => (gh = await bootGatehouse()));
    after(() => gh.close());

    it('has no registration endpoint: discovery omits it and /reg is 404', async () => {
      const discovery = (await (await fetch(`${gh.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
      assert.equal(discovery.registration_endpoint, undefined);
      const token = await new gh.context.providers.current.InitialAccessToken({ expiresIn: 600 }).save();
      const res = await fetch(`${gh.issuer}/reg`, json(METADATA, token));
      assert.equal(res.status, 404);
      assert.equal((await gh.context.clients.list()).length, 0);
    });
  });

  describe('on (DYNAMIC_REGISTRATION=true)', () => {
    let gh: TestGatehouse;
    let initialToken: string;
    const user = { email: 'ada@example.test', password: 'correct horse battery staple', name: 'Ada' };
    const issued: string[] = [];
    const cli = (...args: string[]) =>
      runCli({ DATABASE_URL: `sqlite:${join(gh.dataDir, 'gatehouse.db')}`, ISSUER: gh.issuer, KEY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEY, DYNAMIC_REGISTRATION: 'true' }, ...args);
    const clientCount = async () => (await gh.context.clients.list()).length;

    async function register(body: Record<string, unknown> = METADATA): Promise<Registration> {
      const res = await fetch(`${gh.issuer}/reg`, json(body, initialToken));
      assert.equal(res.status, 201, await res.clone().text());
      const reg = (await res.json()) as Registration;
      issued.push(reg.client_secret, reg.registration_access_token);
      return reg;
    }

    /** Authorization code with PKCE, as a strict relying party (openid-client) runs it. */
    async function codeFlow(reg: Registration) {
      const rp = await oidc.discovery(new URL(gh.issuer), reg.client_id, reg.client_secret, undefined, { execute: [oidc.allowInsecureRequests] });
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const url = oidc.buildAuthorizationUrl(rp, {
        redirect_uri: REDIRECT_URI, scope: 'openid email', state, code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
      });
      const callback = new URL(await signIn(new UserAgent(), url.href, REDIRECT_URI, user));
      const tokens = await oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
      issued.push(tokens.access_token);
      return tokens;
    }

    before(async () => {
      gh = await bootGatehouse({ DYNAMIC_REGISTRATION: 'true' });
      await gh.context.accounts.create({ ...user, emailVerified: true });
      const run = await cli('clients', 'initial-token', 'create', '--ttl', '1h');
      assert.equal(run.code, 0, run.stderr);
      const printed = JSON.parse(run.stdout) as { initial_access_token: string; expires_at: string };
      initialToken = printed.initial_access_token;
      issued.push(initialToken);
      assert.ok(Date.parse(printed.expires_at) > Date.now());
    });
    after(() => gh.close());

    it('the CLI refuses an initial access token lifetime outside 60s..1d, creating nothing', async () => {
      const run = await cli('clients', 'initial-token', 'create', '--ttl', '2d');
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /--ttl/);
      assert.equal(run.stdout, '');
    });

    it('discovery names the registration endpoint', async () => {
      const discovery = (await (await fetch(`${gh.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
      assert.equal(discovery.registration_endpoint, `${gh.issuer}/reg`);
    });

    it('refuses registration without, or with a wrong, initial access token: 401 invalid_token, nothing stored', async () => {
      const attempts = [
        fetch(`${gh.issuer}/reg`, json(METADATA)),
        fetch(`${gh.issuer}/reg`, json(METADATA, 'not-a-token')),
        fetch(`${gh.issuer}/reg`, json(METADATA, initialToken.toUpperCase())),
        fetch(`${gh.issuer}/reg`, json(METADATA, initialToken.slice(0, -1))),
      ];
      const responses = await Promise.all(attempts);
      // RFC 6750 §3.1: no credentials at all is a bare challenge (no error code in the header)
      const [none, ...wrong] = responses;
      assert.match(none!.headers.get('www-authenticate') ?? '', /^Bearer realm=/);
      await expectOAuthError(none!, 'invalid_token', 401);
      for (const res of wrong) await expectInvalidToken(res);
      // a registration access token is not an initial access token
      const other = await register();
      await expectInvalidToken(await fetch(`${gh.issuer}/reg`, json(METADATA, other.registration_access_token)));
      assert.equal(await clientCount(), 1);
      await gh.context.clients.delete(other.client_id);
    });

    it('registers a client (201) that works: code flow with PKCE, stored like a CLI client, audited', async () => {
      const reg = await register();
      assert.ok(reg.client_id && reg.client_secret && reg.registration_access_token);
      assert.equal(reg.registration_client_uri, `${gh.issuer}/reg/${reg.client_id}`);

      const tokens = await codeFlow(reg);
      assert.equal(tokens.claims()?.email, user.email);

      const record = (await gh.context.store.clients.find(reg.client_id))!;
      assert.ok(record.secretCiphertext && !record.secretCiphertext.includes(reg.client_secret));
      assert.equal(record.metadata.client_secret, undefined);
      const listed = await cli('clients', 'list');
      assert.equal(listed.code, 0, listed.stderr);
      assert.ok((JSON.parse(listed.stdout) as { client_id: string }[]).some((c) => c.client_id === reg.client_id));

      const audit = await gh.context.audit.query({ types: ['admin.client.created'] });
      assert.ok(audit.some((e) => e.clientId === reg.client_id && (e.details as Record<string, unknown>)?.via === 'dynamic registration'));
    });

    it('RFC 7592: the registration access token reads, updates (and is rotated) and deletes its own registration', async () => {
      const reg = await register();
      const read = await fetch(reg.registration_client_uri, bearer(reg.registration_access_token));
      assert.equal(read.status, 200);
      const current = (await read.json()) as Record<string, unknown>;
      assert.equal(current.client_id, reg.client_id);
      assert.equal(current.client_name, METADATA.client_name);

      const update = await fetch(reg.registration_client_uri, bearer(reg.registration_access_token, {
        method: 'PUT', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...METADATA, client_id: reg.client_id, client_secret: reg.client_secret, client_name: 'Renamed RP' }),
      }));
      assert.equal(update.status, 200, await update.clone().text());
      const updated = (await update.json()) as Registration;
      assert.equal(updated.client_name, 'Renamed RP');
      assert.equal(updated.client_secret, reg.client_secret);
      assert.notEqual(updated.registration_access_token, reg.registration_access_token);
      issued.push(updated.registration_access_token);
      assert.equal((await gh.context.store.clients.find(reg.client_id))!.metadata.client_name, 'Renamed RP');
      // the replaced token is spent
      await expectInvalidToken(await fetch(reg.registration_client_uri, bearer(reg.registration_access_token)));

      // the secret still works after the update
      const grant = await tokenRequest(gh.issuer, { grant_type: 'authorization_code', code: 'nope', redirect_uri: REDIRECT_URI }, { authorization: basicAuth(reg.client_id, reg.client_secret) });
      await expectOAuthError(grant, 'invalid_grant', 400);

      const { access_token: accessToken } = await codeFlow(reg);
      assert.equal((await fetch(`${gh.issuer}/me`, bearer(accessToken))).status, 200);

      const deleted = await fetch(reg.registration_client_uri, bearer(updated.registration_access_token, { method: 'DELETE' }));
      assert.equal(deleted.status, 204);
      assert.equal(await gh.context.store.clients.find(reg.client_id), undefined);
      await expectInvalidToken(await fetch(reg.registration_client_uri, bearer(updated.registration_access_token)));
      // a deleted client cannot authenticate any more (RFC 6749 §5.2)
      const after = await tokenRequest(gh.issuer, { grant_type: 'authorization_code', code: 'nope', redirect_uri: REDIRECT_URI }, { authorization: basicAuth(reg.client_id, reg.client_secret) });
      await expectOAuthError(after, 'invalid_client', 401);
      // and what it was issued before stops working (the provider finds no client for it)
      assert.equal((await fetch(`${gh.issuer}/me`, bearer(accessToken))).status, 401);
      const audit = await gh.context.audit.query({ types: ['admin.client.'] });
      assert.ok(audit.some((e) => e.type === 'admin.client.updated' && e.clientId === reg.client_id));
      assert.ok(audit.some((e) => e.type === 'admin.client.deleted' && e.clientId === reg.client_id));
    });

    it('parallel updates with one registration access token: no 5xx, one record, the secret still works', async () => {
      const reg = await register();
      const put = () => fetch(reg.registration_client_uri, bearer(reg.registration_access_token, {
        method: 'PUT', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...METADATA, client_id: reg.client_id, client_secret: reg.client_secret, client_name: 'Raced' }),
      }));
      const responses = await Promise.all(Array.from({ length: 8 }, put));
      for (const res of responses) {
        assert.ok(res.status === 200 || res.status === 401, `status ${res.status}`);
        const body = (await res.json()) as Record<string, unknown>;
        if (typeof body.registration_access_token === 'string') issued.push(body.registration_access_token);
      }
      assert.ok(responses.some((r) => r.status === 200));
      assert.equal((await gh.context.clients.list()).filter((c) => c.clientId === reg.client_id).length, 1);
      const grant = await tokenRequest(gh.issuer, { grant_type: 'authorization_code', code: 'nope', redirect_uri: REDIRECT_URI }, { authorization: basicAuth(reg.client_id, reg.client_secret) });
      await expectOAuthError(grant, 'invalid_grant', 400);
    });

    it("another client's registration access token reads, updates and deletes nothing: 401", async () => {
      const victim = await register();
      for (const method of ['GET', 'PUT', 'DELETE']) {
        const attacker = await register({ ...METADATA, client_name: 'Attacker' });
        const res = await fetch(victim.registration_client_uri, bearer(attacker.registration_access_token, {
          method, ...(method === 'PUT' ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...METADATA, client_id: victim.client_id, client_name: 'Hijacked' }) } : {}),
        }));
        await expectInvalidToken(res);
      }
      const record = await gh.context.store.clients.find(victim.client_id);
      assert.equal(record?.metadata.client_name, METADATA.client_name);
      assert.equal((await fetch(victim.registration_client_uri, bearer(victim.registration_access_token))).status, 200);
    });

    it('refuses invalid metadata with 400 (invalid_redirect_uri, invalid_client_metadata) and stores nothing', async () => {
      const before = await clientCount();
      const cases: [Record<string, unknown>, string][] = [
        [{ ...METADATA, redirect_uris: ['not a url'] }, 'invalid_redirect_uri'],
        [{ ...METADATA, redirect_uris: ['https://rp.example/cb#fragment'] }, 'invalid_redirect_uri'],
        [{ ...METADATA, redirect_uris: undefined }, 'invalid_redirect_uri'],
        [{ ...METADATA, token_endpoint_auth_method: 'magic' }, 'invalid_client_metadata'],
        [{ ...METADATA, scope: 'openid invoices:write' }, 'invalid_client_metadata'],
        // the registry's own rules: a client_credentials client must register its scope
        [{ client_name: 'Service', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }, 'invalid_client_metadata'],
        // Gatehouse-internal metadata that widens what a client may do is the operator's
        [{ ...METADATA, gatehouse_self_registration: true }, 'invalid_client_metadata'],
      ];
      for (const [body, error] of cases) {
        const res = await fetch(`${gh.issuer}/reg`, json(body, initialToken));
        await expectOAuthError(res, error, 400).catch((err: Error) => assert.fail(`${JSON.stringify(body)}: ${err.message}`));
      }
      const huge = await fetch(`${gh.issuer}/reg`, { ...json(METADATA, initialToken), body: `{"client_name":"${'x'.repeat(2_000_000)}"}` });
      assert.ok(huge.status >= 400 && huge.status < 500, `huge body: ${huge.status}`);
      const notJson = await fetch(`${gh.issuer}/reg`, { ...json(METADATA, initialToken), body: 'client_name=x', headers: { 'content-type': 'text/plain', authorization: `Bearer ${initialToken}` } });
      assert.ok(notJson.status >= 400 && notJson.status < 500, `text/plain: ${notJson.status}`);
      assert.equal(await clientCount(), before);
      // a stricter Gatehouse property is the client's own choice; metadata no feature defines is ignored (RFC 7591 §2)
      const strict = await register({ ...METADATA, gatehouse_require_mfa: true, gatehouse_anything_new: 'x' });
      const stored = (await gh.context.store.clients.find(strict.client_id))!.metadata;
      assert.equal(stored.gatehouse_require_mfa, true);
      assert.equal(stored.gatehouse_anything_new, undefined);
    });

    it('the database holds no client secret, registration access token or initial access token in the clear', () => {
      const text = sqliteText(gh.dataDir);
      assert.ok(issued.length >= 10);
      for (const value of issued) assert.ok(!text.includes(value), 'a secret or token is stored in the clear');
    });
  });
});
