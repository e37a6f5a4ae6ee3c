/**
 * A tenant's own upstream providers (issue 15 §1), stored in its settings (the federation file's format,
 * file contents inline) and encrypted at rest: tenant acme federates by OpenID Connect to the default
 * tenant of the same server (a real upstream: another issuer, its own keys and login page), tenant
 * globex has none. Readers see the providers' ids, never their settings; bad settings are refused with
 * the failing key; a PATCH of the branding keeps them; null removes them.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { formAction, hiddenFields, type Page } from '../helpers/user-agent.js';
import { startSamlIdp, type SamlIdp } from '../helpers/services/saml-idp.js';
import { PathScopedAgent } from '../helpers/path-scoped-agent.js';
import { DIRECTORY_FIXTURE, startSlapd, type SlapdService } from '../helpers/services/slapd.js';
import { createAdminCaller, managementToken } from '../admin/admin-client.js';
import { buildCliContext, type CliContext } from '../../src/app/cli-context.js';
import { DEFAULT_PATHS } from '../../src/server.js';

const insecure = { execute: [oidc.allowInsecureRequests] };
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const UMA = { email: 'uma@upstream.test', password: 'tangerine orbit lantern 42', name: 'Uma Upstream' };
const atClient = (url: string) => url.startsWith(REDIRECT_URI);
const CAROL = { username: 'carol', password: 'carol-idp-password', attributes: { email: ['carol@saml.example.test'] } };

describe('tenants: their own upstream providers, stored encrypted', function () {
  this.timeout(60_000);
  let gh: TestGatehouse;
  let call: ReturnType<typeof createAdminCaller>;
  let token: string;
  let acme: CliContext;
  let globex: CliContext;
  let upstreamSecret = '';
  const acmeIssuer = () => `${gh.issuer}/t/acme`;
  const doorInto = (tenant: string) =>
    buildCliContext({ config: gh.context.config, logger: gh.context.logger, ...DEFAULT_PATHS, keysDir: join(gh.dataDir, 'keys'), tenant });
  let slapd: SlapdService;
  let idp: SamlIdp;
  const tenantSp = (id: string) => ({ entityId: `${gh.issuer}/t/acme/federation/saml/${id}/metadata`, acs: `${gh.issuer}/t/acme/federation/saml/${id}/acs` });
  const federation = (clientId: string, secret: string, extra: Record<string, unknown> = {}) => ({
    oidc: { providers: [{ id: 'partner', name: 'Partner', issuer: gh.issuer, clientId, clientSecret: secret, domains: ['upstream.test'], emailVerified: true, ...extra }] },
  });
  // and a directory (real slapd): its bind password is a secret of the stored settings too
  const directory = () => ({
    ldap: [{
      id: 'corp', name: 'Corp directory', urls: [slapd.url], bindDn: slapd.bindDn, bindPassword: slapd.bindPassword,
      userBase: 'ou=people,dc=example,dc=org', userFilter: '(&(objectClass=inetOrgPerson)(|(uid={{localPart}})(mail={{login}})))',
      claims: { email: 'mail', name: 'cn' }, emailVerified: true, domains: ['example.org'], connectTimeout: '2s',
    }],
  });

  before(async () => {
    slapd = await startSlapd({ ldif: await readFile(DIRECTORY_FIXTURE, 'utf8') });
    gh = await bootGatehouse({ OUTBOUND_PRIVATE_HOSTS: '127.0.0.1,localhost', TENANT_SETTINGS_REFRESH: '0s' });
    // a real SAML IdP (SimpleSAMLphp) that knows acme's SP: its entity and ACS are under acme's issuer
    idp = await startSamlIdp({ spEntityId: tenantSp('corpsso').entityId, acsUrl: tenantSp('corpsso').acs, users: [CAROL] });
    call = createAdminCaller(gh);
    token = await managementToken(gh, 'admin:tenants:read admin:tenants:write');
    // the upstream: the default tenant, its person and a client for acme's callback
    await gh.context.accounts.create({ ...UMA, emailVerified: true });
    const upstreamClient = await gh.context.clients.create({
      client_name: 'Acme', redirect_uris: [`${gh.issuer}/t/acme/federation/oidc/partner/callback`], grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic', scope: 'openid email profile',
    });
    upstreamSecret = String(upstreamClient.client_secret);
    // the IdP's metadata inline, as a stored setting carries it (`metadata`, not `metadataFile`)
    const saml = { saml: { idps: [{ id: 'corpsso', name: 'Corp SSO', metadata: idp.metadataXml, claims: { email: 'email' }, emailVerified: true, domains: ['saml.example.test'] }] } };
    const created = await call('POST', '/tenants', { token, body: { id: 'acme', name: 'Acme', settings: { federation: { ...federation(upstreamClient.client_id, upstreamSecret), ...directory(), ...saml } } } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((await call('POST', '/tenants', { token, body: { id: 'globex', name: 'Globex' } })).status, 201);
    [acme, globex] = [await doorInto('acme'), await doorInto('globex')];
  });
  after(async () => {
    await acme?.close();
    await globex?.close();
    await gh?.close();
    await slapd?.stop();
    await idp?.stop();
  });

  const startAt = async (c: CliContext, issuer: string) => {
    const client = await c.clients.create({ redirect_uris: [REDIRECT_URI], scope: 'openid email profile' });
    const config = await oidc.discovery(new URL(issuer), client.client_id, String(client.client_secret), undefined, insecure);
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: 'openid email profile', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    return { config, verifier, url };
  };

  it('a person signs in at acme through its provider; the ID token is acme’s, for an account of acme', async () => {
    const { config, verifier, url } = await startAt(acme, acmeIssuer());
    const agent = new PathScopedAgent();
    const login = await agent.open(url.href, atClient);
    assert.ok(new URL(login.url).pathname.startsWith('/t/acme/interaction/'), login.url);
    let page: Page = await agent.submit(login, formAction(login.html, /\/federated\/partner$/), {}, atClient);
    for (let step = 0; step < 5 && !atClient(page.url); step++) {
      if (page.html.includes('/login"')) page = await agent.submit(page, formAction(page.html, /\/login$/), { email: UMA.email, password: UMA.password }, atClient);
      else if (page.html.includes('/consent"')) page = await agent.submit(page, formAction(page.html, /\/consent$/), {}, atClient);
      else break;
    }
    assert.ok(atClient(page.url), `ended at ${page.status} ${page.url}: ${page.html.slice(0, 400)}`);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(page.url), { pkceCodeVerifier: verifier });
    const { payload } = await jwtVerify(tokens.id_token!, createRemoteJWKSet(new URL(`${acmeIssuer()}/jwks`)), { issuer: acmeIssuer() });
    const account = await acme.accounts.findByEmail(UMA.email);
    assert.ok(account, 'a linked account in acme');
    assert.equal(payload.sub, account.id);
    assert.notEqual(account.id, (await gh.context.accounts.findByEmail(UMA.email))!.id);
    assert.equal(await globex.accounts.findByEmail(UMA.email), undefined);
  });

  it('a person of acme’s SAML IdP signs in at acme (SP-initiated, the IdP’s real login page)', async () => {
    const { config, verifier, url } = await startAt(acme, acmeIssuer());
    const agent = new PathScopedAgent();
    const login = await agent.open(url.href, atClient);
    let page = await agent.submit(login, formAction(login.html, /\/federated\/corpsso$/), {}, atClient);
    if (page.html.includes('name="AuthState"')) {
      const action = /<form[^>]*action="([^"]*)"/.exec(page.html.slice(page.html.indexOf('AuthState') - 2000))?.[1] ?? '';
      const authState = /name="AuthState"\s+value="([^"]*)"/.exec(page.html)?.[1]?.replace(/&amp;/g, '&') ?? '';
      page = await agent.submit(page, action.replace(/&amp;/g, '&'), { AuthState: authState, username: CAROL.username, password: CAROL.password });
    }
    const acs = (/<form[^>]*action="([^"]+)"/.exec(page.html)?.[1] ?? '').replace(/&amp;/g, '&');
    assert.equal(acs, tenantSp('corpsso').acs, 'the IdP posts to acme\'s ACS');
    const fields = hiddenFields(page.html, /<form[^>]*action="([^"]+)"/.exec(page.html)![1]!);
    const posted = await agent.fetch(acs, { method: 'POST', body: new URLSearchParams(fields), headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' } });
    assert.equal(posted.status, 303, await posted.clone().text());
    page = await agent.open(new URL(posted.headers.get('location')!, acs).href, atClient);
    if (!atClient(page.url)) page = await agent.submit(page, formAction(page.html, /\/consent$/), {}, atClient);
    assert.ok(atClient(page.url), `${page.status} ${page.url} ${page.html.slice(0, 300)}`);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(page.url), { pkceCodeVerifier: verifier });
    assert.equal(tokens.claims()!.iss, acmeIssuer());
    const account = await acme.accounts.findByEmail(CAROL.attributes.email[0]!);
    assert.equal(tokens.claims()!.sub, account?.id);
    assert.equal(await gh.context.accounts.findByEmail(CAROL.attributes.email[0]!), undefined, 'not an account of the default tenant');
  });

  it('a directory person signs in at acme with the password of the directory; at globex the same login is refused', async () => {
    for (const [c, issuer, works] of [[acme, acmeIssuer(), true], [globex, `${gh.issuer}/t/globex`, false]] as const) {
      const { url } = await startAt(c, issuer);
      const agent = new PathScopedAgent();
      const login = await agent.open(url.href, atClient);
      let page = await agent.submit(login, formAction(login.html, /\/login$/), { email: 'alice@example.org', password: 'alice-password' }, atClient);
      if (!atClient(page.url) && page.html.includes('/consent"')) page = await agent.submit(page, formAction(page.html, /\/consent$/), {}, atClient);
      assert.equal(atClient(page.url) && new URL(page.url).searchParams.has('code'), works, `${issuer}: ${page.url} ${page.html.slice(0, 300)}`);
    }
    assert.ok(await acme.accounts.findByEmail('alice@example.org'));
    assert.equal(await globex.accounts.findByEmail('alice@example.org'), undefined);
  });

  it('globex has no providers: no button, and posting to acme’s provider there is refused', async () => {
    const { url } = await startAt(globex, `${gh.issuer}/t/globex`);
    const agent = new PathScopedAgent();
    const login = await agent.open(url.href, atClient);
    assert.match(login.html, /\/login"/);
    assert.doesNotMatch(login.html, /federated\/partner/);
    const action = formAction(login.html, /\/login$/).replace(/\/login$/, '/federated/partner');
    const refused = await agent.submit(login, action, {}, atClient);
    assert.ok(!atClient(refused.url));
    assert.ok(refused.status >= 400 && refused.status < 500, `${refused.status}`);
  });

  it('readers see the provider ids, never the settings; the store holds them only encrypted', async () => {
    const read = await call('GET', '/tenants/acme', { token });
    assert.deepEqual((read.body.settings as { federation: unknown }).federation, { providers: [{ id: 'corp', protocol: 'ldap' }, { id: 'corpsso', protocol: 'saml' }, { id: 'partner', protocol: 'oidc' }] });
    assert.ok(!JSON.stringify(read.body).includes(upstreamSecret));
    assert.ok(!JSON.stringify(read.body).includes(slapd.bindPassword));
    const db = new Database(join(gh.dataDir, 'gatehouse.db'), { readonly: true });
    try {
      const row = db.prepare("SELECT settings FROM tenants WHERE id = 'acme'").get() as { settings: string };
      assert.ok(!row.settings.includes(upstreamSecret), 'the client secret is not stored in the clear');
      assert.ok(!row.settings.includes(slapd.bindPassword), 'nor the bind password');
      assert.ok(!row.settings.includes('clientSecret'));
    } finally {
      db.close();
    }
    // the tenant's own CLI door lists its provider (gatehouse --tenant acme federation list)
    assert.deepEqual(acme.config.FEDERATION_FILE?.oidc.providers.map((p) => p.id), ['partner']);
  });

  it('refuses settings that could not work, naming the key, and changes nothing', async () => {
    const before = await call('GET', '/tenants/globex', { token });
    const cases: [unknown, RegExp][] = [
      [{ ldap: [{ id: 'dir', urls: ['ldap://127.0.0.1:1'], caFile: '/etc/ssl/ca.pem' }] }, /^body\.settings\.federation\.ldap\[0\]/],
      [federation('x', 'y', { claims: { groups: 'groups' }, roles: { admins: ['no-such-role'] } }), /^body\.settings\.federation$/],
      [{ oidc: { providers: [{ id: 'partner', issuer: 'not a url' }] } }, /^body\.settings\.federation\.oidc\.providers\[0\]/],
      [{ unknown: true }, /^body\.settings\.federation\.unknown/],
    ];
    for (const [bad, path] of cases) {
      const res = await call('PATCH', '/tenants/globex', { token, headers: { 'if-match': String(before.headers.get('etag')) }, body: { settings: { federation: bad } } });
      assert.equal(res.status, 400, JSON.stringify(bad));
      assert.match((res.body.errors as { path: string }[])[0]!.path, path, JSON.stringify(res.body));
    }
    assert.equal((await call('GET', '/tenants/globex', { token })).body.version, before.body.version);
  });

  it('a change of branding keeps the providers; federation null removes them', async () => {
    let read = await call('GET', '/tenants/acme', { token });
    read = await call('PATCH', '/tenants/acme', { token, headers: { 'if-match': String(read.headers.get('etag')) }, body: { settings: { branding: { name: 'Acme Login' } } } });
    assert.equal(read.status, 200);
    assert.deepEqual((read.body.settings as { federation: unknown }).federation, { providers: [{ id: 'corp', protocol: 'ldap' }, { id: 'corpsso', protocol: 'saml' }, { id: 'partner', protocol: 'oidc' }] });
    read = await call('PATCH', '/tenants/acme', { token, headers: { 'if-match': String(read.headers.get('etag')) }, body: { settings: { federation: null } } });
    assert.equal(read.status, 200);
    assert.equal((read.body.settings as { federation?: unknown }).federation, undefined);
    assert.deepEqual((read.body.settings as { branding: unknown }).branding, { name: 'Acme Login' });
    const { url } = await startAt(acme, acmeIssuer());
    const login = await new PathScopedAgent().open(url.href, atClient);
    assert.doesNotMatch(login.html, /federated\/partner/);
  });
});
