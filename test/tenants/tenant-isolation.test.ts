/**
 * Tenants as realms (issue 15 §1, §2, §3, §5), end to end on one server and one SQLite file: each tenant
 * at {ISSUER}/t/{id} with its own issuer and keys; a token of one never verifies with another's JWKS; a
 * client, a person and an administrator of one are strangers at another; each tenant's policy applies
 * to it alone; a settings change applies within TENANT_SETTINGS_REFRESH; evicting a tenant's app does
 * not drop a sign-in in progress; a deleted tenant is gone.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { bootGatehouse, TEST_ENCRYPTION_KEY, type TestGatehouse } from '../helpers/gatehouse.js';
import { formAction, signIn, UserAgent } from '../helpers/user-agent.js';
import { expectOAuthError, basicAuth } from '../helpers/oauth.js';
import { buildCliContext, type CliContext } from '../../src/app/cli-context.js';
import { DEFAULT_PATHS, startServer } from '../../src/server.js';
import { tenantConfig } from '../../src/tenants/tenant-config.js';
import { loadConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/app/logger.js';
import { freePort } from '../helpers/services/free-port.js';
import { startPostgres } from '../helpers/services/postgres-server.js';
import { startRedis } from '../helpers/services/redis-server.js';

const insecure = { execute: [oidc.allowInsecureRequests] };
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const PERSON = { email: 'ada@example.test', password: 'the analytical engine weaves' };

type Realm = { id: string; issuer: string; c: CliContext; client: { client_id: string; client_secret: string } };

for (const store of ['sqlite', 'postgres+redis'] as const) describe(`tenants: isolated realms on one server (${store})`, function () {
  this.timeout(120_000);
  let gh: TestGatehouse;
  const realms: Record<string, Realm> = {};
  let services: { env: Record<string, string>; stop(): Promise<void> } = { env: {}, stop: async () => {} };

  /** A door into one tenant, as the CLI's --tenant opens it (its store handle and settings). */
  const doorInto = (tenant: string) =>
    buildCliContext({ config: gh.context.config, logger: gh.context.logger, ...DEFAULT_PATHS, keysDir: join(gh.dataDir, 'keys'), tenant });

  before(async () => {
    // one tenant app in memory at a time: every switch between tenants evicts the other's
    if (store === 'postgres+redis') {
      const [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
      services = { env: { DATABASE_URL: postgres.url, REDIS_URL: redis.url }, stop: async () => void (await Promise.all([postgres.stop(), redis.stop()])) };
    }
    gh = await bootGatehouse({ ...services.env, TENANT_CACHE_SIZE: '1', TENANT_SETTINGS_REFRESH: '0s', PASSWORD_MIN_LENGTH: '12' });
    const registry = gh.context.tenancy!.registry;
    await registry.create({ id: 'acme', name: 'Acme', settings: { policy: { passwordMinLength: 20 }, branding: { name: 'Acme Identity', supportUrl: 'https://help.acme.test/' } } });
    await registry.create({ id: 'globex', name: 'Globex', settings: { policy: { mfaRequired: true } } });
    for (const id of ['acme', 'globex']) {
      const c = await doorInto(id);
      const client = await c.clients.create({ redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', 'client_credentials'], response_types: ['code'], scope: 'openid admin:users:read' });
      realms[id] = { id, issuer: `${gh.issuer}/t/${id}`, c, client: { client_id: client.client_id, client_secret: String(client.client_secret) } };
    }
    // the same person (same email) in acme and in the default tenant, with another password in each
    await realms.acme!.c.accounts.create({ email: PERSON.email, password: PERSON.password, emailVerified: true });
    await gh.context.accounts.create({ email: PERSON.email, password: 'the default tenant’s own passphrase', emailVerified: true });
  });
  after(async () => {
    for (const r of Object.values(realms)) await r.c.close();
    await gh?.close();
    await services.stop();
  });

  const discovery = async (issuer: string) => (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<string, string>;

  it('each tenant has its own issuer and endpoints under {ISSUER}/t/{id}; the default tenant keeps its URLs', async () => {
    for (const r of Object.values(realms)) {
      const d = await discovery(r.issuer);
      assert.equal(d.issuer, r.issuer);
      for (const endpoint of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'userinfo_endpoint']) assert.ok(d[endpoint]!.startsWith(`${r.issuer}/`), `${endpoint}: ${d[endpoint]}`);
    }
    assert.equal((await discovery(gh.issuer)).issuer, gh.issuer);
  });

  it('a path that only looks like a tenant’s is answered as any unknown path', async () => {
    const unknown = await fetch(`${gh.issuer}/no-such-path/.well-known/openid-configuration`);
    for (const path of ['/t/nosuch', '/t/ACME', '/t/%61cme', '/t/acme%2F..', '/t/-acme']) {
      const res = await fetch(`${gh.issuer}${path}/.well-known/openid-configuration`);
      assert.equal(res.status, unknown.status, path);
      assert.equal(res.status, 404, path);
    }
  });

  it('no two tenants share a signing key', async () => {
    const kids = async (issuer: string) => ((await (await fetch(`${issuer}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
    const [a, g, d] = [await kids(realms.acme!.issuer), await kids(realms.globex!.issuer), await kids(gh.issuer)];
    assert.ok(a.length && g.length && d.length);
    assert.equal(new Set([...a, ...g, ...d]).size, a.length + g.length + d.length);
  });

  it('a client_credentials token of one tenant verifies with its JWKS only', async () => {
    const token = async (r: Realm) => {
      const config = await oidc.discovery(new URL(r.issuer), r.client.client_id, r.client.client_secret, undefined, insecure);
      return (await oidc.clientCredentialsGrant(config, { resource: 'urn:gatehouse:admin', scope: 'admin:users:read' })).access_token;
    };
    const jwks = (issuer: string) => createRemoteJWKSet(new URL(`${issuer}/jwks`));
    for (const r of Object.values(realms)) {
      const jwt = await token(r);
      const { payload } = await jwtVerify(jwt, jwks(r.issuer), { issuer: r.issuer, audience: 'urn:gatehouse:admin' });
      assert.equal(payload.client_id, r.client.client_id);
      const kid = decodeProtectedHeader(jwt).kid;
      for (const other of [...Object.values(realms).filter((o) => o !== r).map((o) => o.issuer), gh.issuer]) {
        await assert.rejects(jwtVerify(jwt, jwks(other)), (err: Error) => /JWKSNoMatchingKey|no applicable key/i.test(`${err.name} ${err.message}`), `kid ${kid} at ${other}`);
      }
      // and its administrator is a stranger at the other tenant's and the default tenant's management API
      for (const other of [...Object.values(realms).filter((o) => o !== r).map((o) => o.issuer), gh.issuer]) {
        const res = await fetch(`${other}/admin/v1/users`, { headers: { authorization: `Bearer ${jwt}` } });
        assert.equal(res.status, 401, other);
      }
      const own = await fetch(`${r.issuer}/admin/v1/users`, { headers: { authorization: `Bearer ${jwt}` } });
      assert.equal(own.status, 200, await own.clone().text());
      // the tenants registry is the default tenant's alone
      assert.equal((await fetch(`${r.issuer}/admin/v1/tenants`, { headers: { authorization: `Bearer ${jwt}` } })).status, 404);
    }
  });

  it('a client of one tenant cannot authenticate at another (invalid_client)', async () => {
    const { acme, globex } = realms as Record<'acme' | 'globex', Realm>;
    for (const [client, issuer] of [[acme.client, globex.issuer], [globex.client, acme.issuer], [acme.client, gh.issuer]] as const) {
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(client.client_id, client.client_secret) },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'openid' }),
      });
      await expectOAuthError(res, 'invalid_client', 401);
    }
  });

  const authorizationUrl = async (r: Realm) => {
    const config = await oidc.discovery(new URL(r.issuer), r.client.client_id, r.client.client_secret, undefined, insecure);
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    return { config, verifier, url };
  };

  it('a person signs in at their tenant; the ID token is that tenant’s, verified by jose with its JWKS', async () => {
    const acme = realms.acme!;
    const { config, verifier, url } = await authorizationUrl(acme);
    const callback = await signIn(new UserAgent(), url.href, REDIRECT_URI, PERSON);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier });
    const { payload } = await jwtVerify(tokens.id_token!, createRemoteJWKSet(new URL(`${acme.issuer}/jwks`)), { issuer: acme.issuer, audience: acme.client.client_id });
    const account = await acme.c.accounts.findByEmail(PERSON.email);
    assert.equal(payload.sub, account!.id);
    assert.notEqual(payload.sub, (await gh.context.accounts.findByEmail(PERSON.email))!.id);
  });

  it('the same email and password are refused at a tenant where the person has no account', async () => {
    const globex = realms.globex!;
    const { url } = await authorizationUrl(globex);
    const agent = new UserAgent();
    const login = await agent.open(url.href, () => false);
    const answer = await agent.submit(login, formAction(login.html, /\/login$/), PERSON, () => false);
    assert.ok(answer.url.startsWith(`${globex.issuer}/`), answer.url);
    assert.match(answer.html, /\/login"/, 'the login page again');
    assert.doesNotMatch(answer.url, /[?&]code=/);
  });

  it('each tenant’s policy is its own: acme wants 20 characters, the default tenant 12', async () => {
    await assert.rejects(realms.acme!.c.accounts.create({ email: 'short@example.test', password: 'sixteen chars ok' }), /20/);
    await gh.context.accounts.create({ email: 'short@example.test', password: 'sixteen chars ok' });
  });

  it('globex requires MFA: a password alone does not finish the sign-in there', async () => {
    const globex = realms.globex!;
    await globex.c.accounts.create({ email: 'grace@example.test', password: 'hopper compiles cobol daily', emailVerified: true });
    const { url } = await authorizationUrl(globex);
    const agent = new UserAgent();
    const login = await agent.open(url.href, () => false);
    const next = await agent.submit(login, formAction(login.html, /\/login$/), { email: 'grace@example.test', password: 'hopper compiles cobol daily' }, (u) => u.startsWith(REDIRECT_URI));
    assert.ok(!next.url.startsWith(REDIRECT_URI), 'no code without a second factor');
    assert.match(next.html, /authenticator|passkey|second factor|two-factor/i);
  });

  it('a tenant’s allowed IP ranges and session cap apply there only', async () => {
    const registry = gh.context.tenancy!.registry;
    await registry.create({ id: 'vault', name: 'Vault', settings: { policy: { allowedIpRanges: ['10.0.0.0/8'], maxConcurrentSessions: 1 } } });
    const c = await doorInto('vault');
    try {
      const client = await c.clients.create({ redirect_uris: [REDIRECT_URI], scope: 'openid' });
      await c.accounts.create({ email: PERSON.email, password: PERSON.password, emailVerified: true });
      const vault: Realm = { id: 'vault', issuer: `${gh.issuer}/t/vault`, c, client: { client_id: client.client_id, client_secret: String(client.client_secret) } };
      // from 127.0.0.1 (no trusted proxy): outside the tenant's ranges, access_denied at the client
      const denied = await new UserAgent().open((await authorizationUrl(vault)).url.href, (u) => u.startsWith(REDIRECT_URI));
      assert.equal(new URL(denied.url).searchParams.get('error'), 'access_denied');
      // while the same address signs in at acme, which has no ranges, and keeps two sessions there
      for (let i = 0; i < 2; i++) await signIn(new UserAgent(), (await authorizationUrl(realms.acme!)).url.href, REDIRECT_URI, PERSON);
      const acmeAccount = (await realms.acme!.c.accounts.findByEmail(PERSON.email))!;
      assert.ok((await realms.acme!.c.store.oidc.findByAccountId('Session', acmeAccount.id)).length >= 2);
    } finally {
      await c.close();
    }
    const config = tenantConfig(gh.context.config, (await registry.find('vault'))!);
    assert.deepEqual([config.SIGN_IN_ALLOWED_IP_RANGES, config.MAX_CONCURRENT_SESSIONS], [['10.0.0.0/8'], 1]);
  });

  it('a tenant’s session cap ends its person’s oldest session there', async () => {
    await gh.context.tenancy!.registry.create({ id: 'solo', name: 'Solo', settings: { policy: { maxConcurrentSessions: 1 } } });
    const c = await doorInto('solo');
    try {
      const client = await c.clients.create({ redirect_uris: [REDIRECT_URI], scope: 'openid' });
      const person = await c.accounts.create({ email: PERSON.email, password: PERSON.password, emailVerified: true });
      const solo: Realm = { id: 'solo', issuer: `${gh.issuer}/t/solo`, c, client: { client_id: client.client_id, client_secret: String(client.client_secret) } };
      const [first, second] = [new UserAgent(), new UserAgent()];
      await signIn(first, (await authorizationUrl(solo)).url.href, REDIRECT_URI, PERSON);
      await signIn(second, (await authorizationUrl(solo)).url.href, REDIRECT_URI, PERSON);
      // the cap runs once the second sign-in completed (last-sign-in.ts): its outcome is in the store
      const sessions = () => c.store.oidc.findByAccountId('Session', person.id);
      for (const started = Date.now(); (await sessions()).length > 1 && Date.now() - started < 5000;) await new Promise((r) => setImmediate(r));
      assert.equal((await sessions()).length, 1);
      const silently = async (agent: UserAgent) =>
        new URL((await agent.open((await authorizationUrl(solo)).url.href + '&prompt=none', (u) => u.startsWith(REDIRECT_URI))).url).searchParams;
      assert.equal((await silently(first)).get('error'), 'login_required');
      assert.ok((await silently(second)).get('code'));
    } finally {
      await c.close();
    }
  });

  it('a settings change applies on the next request (TENANT_SETTINGS_REFRESH=0s), and the other tenant’s pages keep their own', async () => {
    const loginPage = async (r: Realm) => (await new UserAgent().open((await authorizationUrl(r)).url.href, () => false)).html;
    const before = await loginPage(realms.acme!);
    assert.match(before, /Acme Identity/);
    assert.match(before, /href="https:\/\/help\.acme\.test\/"[^>]*>Need help\?/, 'the tenant\'s support link');
    assert.doesNotMatch(await loginPage(realms.globex!), /help\.acme\.test/);
    const registry = gh.context.tenancy!.registry;
    await registry.update('acme', { settings: { policy: { passwordMinLength: 20 }, branding: { name: 'Acme Sign-in' } } });
    assert.match(await loginPage(realms.acme!), /Acme Sign-in/);
    assert.doesNotMatch(await loginPage(realms.globex!), /Acme/);
  });

  it('a sign-in in progress survives the eviction of its tenant’s app (TENANT_CACHE_SIZE=1)', async () => {
    const acme = realms.acme!;
    const { config, verifier, url } = await authorizationUrl(acme);
    const agent = new UserAgent();
    const login = await agent.open(url.href, () => false);
    // another tenant's request takes the only place in the cache
    assert.equal((await fetch(`${realms.globex!.issuer}/.well-known/openid-configuration`)).status, 200);
    const back = await agent.submit(login, formAction(login.html, /\/login$/), PERSON, (u) => u.startsWith(REDIRECT_URI));
    let page = back;
    if (!page.url.startsWith(REDIRECT_URI)) page = await agent.submit(page, formAction(page.html, /\/consent$/), {}, (u) => u.startsWith(REDIRECT_URI));
    const tokens = await oidc.authorizationCodeGrant(config, new URL(page.url), { pkceCodeVerifier: verifier });
    assert.ok(tokens.id_token);
  });

  it('a tenant with its own host name is reached by the Host header, with its issuer https://{host}', async () => {
    await gh.context.tenancy!.registry.create({ id: 'initech', name: 'Initech', host: 'Login.Initech.test' });
    const discoveryAt = (host: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${gh.issuer}/.well-known/openid-configuration`, { headers: { host } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    for (const host of ['login.initech.test', 'LOGIN.initech.test:443', 'login.initech.test.']) {
      const answer = await discoveryAt(host);
      assert.equal(answer.status, 200, host);
      assert.equal((JSON.parse(answer.body) as { issuer: string }).issuer, 'https://login.initech.test', host);
    }
    // a host no tenant has is the default tenant's, as before
    assert.equal((JSON.parse((await discoveryAt('unknown.example.test')).body) as { issuer: string }).issuer, gh.issuer);
  });

  it('a settings change on one replica applies on another within TENANT_SETTINGS_REFRESH', async function () {
    if (store !== 'postgres+redis') return this.skip();
    // a second replica of the same store and issuer, caching for 1 s
    const config = loadConfig({
      NODE_ENV: 'test', HOST: '127.0.0.1', PORT: String(await freePort()), ISSUER: gh.issuer, ...services.env,
      KEY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEY, BCRYPT_COST: '4', LOG_LEVEL: 'silent', TENANT_SETTINGS_REFRESH: '1s',
    });
    const replica = await startServer(config, createLogger('silent'), { ...DEFAULT_PATHS, keysDir: join(gh.dataDir, 'keys') });
    try {
      const page = async () => {
        const { url } = await authorizationUrl(realms.globex!);
        return (await new UserAgent().open(replica.url + url.href.slice(gh.issuer.length), () => false)).html;
      };
      assert.doesNotMatch(await page(), /Globex Sign-in/);
      const changed = Date.now();
      await gh.context.tenancy!.registry.update('globex', { settings: { policy: { mfaRequired: true }, branding: { name: 'Globex Sign-in' } } });
      // the replica re-reads the tenant's version once its copy is 1 s old: seen within the bound
      let html = await page();
      while (!/Globex Sign-in/.test(html) && Date.now() - changed < 3000) html = await page();
      assert.match(html, /Globex Sign-in/);
      assert.ok(Date.now() - changed < 3000);
    } finally {
      await replica.close();
    }
  });

  it('a deleted tenant is gone: its issuer answers 404, its client is unknown everywhere', async () => {
    const registry = gh.context.tenancy!.registry;
    await registry.create({ id: 'doomed', name: 'Doomed' });
    const doomed = `${gh.issuer}/t/doomed`;
    assert.equal((await fetch(`${doomed}/.well-known/openid-configuration`)).status, 200);
    assert.equal(await registry.delete('doomed'), true);
    assert.equal((await fetch(`${doomed}/.well-known/openid-configuration`)).status, 404);
  });
});
