/**
 * Upstream providers written through the management API (issue 17 item 1: "configured like the SAML
 * and LDAP providers (federation file, and the management API once it exists)"): created on the
 * default tenant and on a tenant, each signed in through end to end against a real upstream (a bare
 * oidc-provider on loopback), without a restart; replaced with If-Match; deleted, after which the
 * button is gone and a flow already sent upstream ends in a 4xx page. A second server on the same store
 * sees a new provider within TENANT_SETTINGS_REFRESH. And what an attacker tries: secrets in answers or
 * in the database, writes without the scope, another tenant's token, `...File` keys (a server-side file
 * read), upstreams at private addresses, ids in another letter case, bad bodies, the file's providers.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import * as oidc from 'openid-client';
import type { TestGatehouse } from '../helpers/gatehouse.js';
import { startReplicas, type Replicas } from '../helpers/replicas.js';
import { formAction, UserAgent, type Page } from '../helpers/user-agent.js';
import { HostScopedAgent as Browser } from '../federation/helpers/host-scoped-agent.js';
import { startOidcUpstream, type OidcUpstream } from '../helpers/services/oidc-upstream.js';
import { createAdminCaller, managementToken, type AdminAnswer } from './admin-client.js';
import { buildCliContext, type CliContext } from '../../src/app/cli-context.js';
import { DEFAULT_PATHS } from '../../src/server.js';
import { eventFromAudit } from '../../src/events/audit-events.js';
import { cliInProcess } from '../helpers/cli-in-process.js';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { idpMetadata, makeTestKey, type TestKey } from '../federation/helpers/saml-crafting.js';
import { readFile } from 'node:fs/promises';
import { DIRECTORY_FIXTURE, startSlapd } from '../helpers/services/slapd.js';

const insecure = { execute: [oidc.allowInsecureRequests] };
const REDIRECT_URI = 'https://rp.example.test/callback';
const atClient = (url: string) => url.startsWith(REDIRECT_URI);
const FILE_SECRET = 'file-provider-secret-never-shown-0123456789';
const PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

/** A browser whose every request to the issuer goes to another replica instead. */
class ReplicaAgent extends UserAgent {
  constructor(private readonly issuer: string, private readonly origin: string) {
    super();
  }
  override fetch(url: string, init: RequestInit = {}): Promise<Response> {
    return super.fetch(url.startsWith(this.issuer) ? this.origin + url.slice(this.issuer.length) : url, init);
  }
}

describe('management API: identity providers written at run time (default tenant and tenants)', function () {
  this.timeout(90_000);
  let replicas: Replicas;
  let gh: TestGatehouse;
  let work: string;
  let upstream: OidcUpstream;
  let acmeUpstream: OidcUpstream;
  let acme: CliContext;
  let call: ReturnType<typeof createAdminCaller>;
  let acmeCall: ReturnType<typeof createAdminCaller>;
  let globexCall: ReturnType<typeof createAdminCaller>;
  let write: string;
  let readOnly: string;
  let acmeWrite: string;
  let globexWrite: string;
  // SAML metadata served over http (pinned by fingerprint), counting its fetches; `metadataStatus` 404 breaks it
  let metadataServer: Server;
  let metadataUrl = '';
  let metadataFetches = 0;
  let metadataStatus = 200;
  let samlKey: TestKey;
  /** every answer of the API in this file, scanned for secrets at the end */
  const answers: AdminAnswer[] = [];
  const acmeIssuer = () => `${gh.issuer}/t/acme`;
  const globexIssuer = () => `${gh.issuer}/t/globex`;
  const callbackOf = (issuer: string, id: string) => `${issuer}/federation/oidc/${id}/callback`;
  const provider = (up: OidcUpstream, extra: Record<string, unknown> = {}) => ({
    protocol: 'oidc', id: 'partner', name: 'Partner SSO', issuer: up.issuer, clientId: up.clientId, clientSecret: up.clientSecret,
    domains: ['partner.test'], emailVerified: true, claims: { email: 'mail', email_verified: 'mail_verified', name: 'display_name' }, ...extra,
  });
  const recorded = (c: ReturnType<typeof createAdminCaller>): ReturnType<typeof createAdminCaller> => async (...args) => {
    const answer = await c(...args);
    answers.push(answer);
    return answer;
  };

  async function tenantToken(c: CliContext, issuer: string, scope: string): Promise<string> {
    const client = await c.clients.create({ grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope });
    const config = await oidc.discovery(new URL(issuer), client.client_id, String(client.client_secret), undefined, insecure);
    return (await oidc.clientCredentialsGrant(config, { resource: 'urn:gatehouse:admin', scope })).access_token;
  }

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'gatehouse-idp-writes-'));
    const file = join(work, 'federation.json');
    // the file's provider: read-only through the API; never fetched (nobody signs in through it here)
    await writeFile(file, JSON.stringify({ oidc: { providers: [{ id: 'filed', name: 'Filed SSO', issuer: 'https://filed.example.test', clientId: 'gh', clientSecret: FILE_SECRET, domains: ['filed.test'] }] } }));
    replicas = await startReplicas({ FEDERATION_FILE: file, OUTBOUND_PRIVATE_HOSTS: '127.0.0.1,localhost', TENANT_SETTINGS_REFRESH: '1s' });
    gh = replicas.primary;
    upstream = await startOidcUpstream({ redirectUri: () => callbackOf(gh.issuer, 'partner') });
    acmeUpstream = await startOidcUpstream({ redirectUri: () => callbackOf(acmeIssuer(), 'partner') });
    for (const up of [upstream, acmeUpstream]) up.users.set('u-pat', { id: 'u-pat', mail: 'pat@partner.test', mail_verified: true, display_name: 'Pat Partner', member_of: ['engineering'] });
    await gh.context.roles.create({ name: 'engineer' });
    await gh.context.tenancy!.registry.create({ id: 'acme', name: 'Acme' });
    await gh.context.tenancy!.registry.create({ id: 'globex', name: 'Globex' });
    acme = await buildCliContext({ config: gh.context.config, logger: gh.context.logger, ...DEFAULT_PATHS, keysDir: join(gh.dataDir, 'keys'), tenant: 'acme' });
    const globex = await buildCliContext({ config: gh.context.config, logger: gh.context.logger, ...DEFAULT_PATHS, keysDir: join(gh.dataDir, 'keys'), tenant: 'globex' });
    // their apps start (and register the management API's resource) on their first request
    for (const issuer of [acmeIssuer(), globexIssuer()]) assert.equal((await fetch(`${issuer}/.well-known/openid-configuration`)).status, 200);
    call = recorded(createAdminCaller(gh));
    acmeCall = recorded(createAdminCaller(gh, acmeIssuer()));
    globexCall = recorded(createAdminCaller(gh, globexIssuer()));
    write = await managementToken(gh, 'admin:federation:read admin:federation:write');
    readOnly = await managementToken(gh, 'admin:federation:read admin:tenants:write');
    acmeWrite = await tenantToken(acme, acmeIssuer(), 'admin:federation:read admin:federation:write');
    globexWrite = await tenantToken(globex, globexIssuer(), 'admin:federation:read admin:federation:write');
    await globex.close();
    samlKey = await makeTestKey(work, 'api-idp');
    metadataServer = createHttpServer((_req, res) => {
      metadataFetches += 1;
      res.writeHead(metadataStatus, { 'content-type': 'application/samlmetadata+xml' }).end(metadataStatus === 200 ? idpMetadata('https://api-idp.example.test/idp', 'http://127.0.0.1:9/sso', samlKey.certPem) : 'gone');
    });
    await new Promise<void>((resolve) => metadataServer.listen(0, '127.0.0.1', resolve));
    metadataUrl = `http://127.0.0.1:${(metadataServer.address() as AddressInfo).port}/metadata.xml`;
  });
  after(async () => {
    metadataServer?.closeAllConnections();
    metadataServer?.close();
    await acme?.close();
    await replicas?.close();
    await upstream?.close();
    await acmeUpstream?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** An RP of `issuer` (registered through `clients`) starts a sign-in; the login page it reaches. */
  async function loginPage(agent: UserAgent, issuer: string, clients: Pick<CliContext['clients'], 'create'>) {
    const client = await clients.create({ redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'], scope: 'openid email profile roles' });
    const rp = await oidc.discovery(new URL(issuer), client.client_id, String(client.client_secret), undefined, insecure);
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(rp, { redirect_uri: REDIRECT_URI, scope: 'openid email profile roles', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const page = await agent.open(url.href, atClient);
    assert.equal(page.status, 200, page.html.slice(0, 300));
    return { page, rp, verifier };
  }

  /** "Continue with" the provider, through the upstream, to the RP (or to `stop`). */
  async function continueWith(agent: UserAgent, page: Page, id: string, stop: (url: string) => boolean = atClient): Promise<Page> {
    let next = await agent.submit(page, formAction(page.html, new RegExp(`/federated/${id}$`)), {}, stop);
    if (!stop(next.url) && next.html.includes('/consent"')) next = await agent.submit(next, formAction(next.html, /\/consent$/), {}, stop);
    return next;
  }

  async function signsInThrough(issuer: string, clients: Pick<CliContext['clients'], 'create'>, up: OidcUpstream) {
    up.signInAs = 'u-pat';
    const agent = new Browser();
    const { page, rp, verifier } = await loginPage(agent, issuer, clients);
    assert.match(page.html, /\/federated\/partner"/, 'the login page has the new button, without a restart');
    assert.match(page.html, /Partner SSO/);
    const done = await continueWith(agent, page, 'partner');
    assert.ok(atClient(done.url), `ended at ${done.status} ${done.url}: ${done.html.slice(0, 400)}`);
    const tokens = await oidc.authorizationCodeGrant(rp, new URL(done.url), { pkceCodeVerifier: verifier });
    const claims = tokens.claims()!;
    assert.equal(claims.iss, issuer);
    assert.ok((claims.amr as string[]).includes('fed'));
    const userinfo = await oidc.fetchUserInfo(rp, tokens.access_token, claims.sub);
    assert.equal(userinfo.email, 'pat@partner.test');
    return userinfo;
  }

  it('creates an OIDC provider on the default tenant: 201 with source "api", listed after the file\'s, and a person signs in through it at once', async () => {
    // with a group mapping: the role it names must exist (and cannot be deleted while it is mapped)
    const grouped = { scopes: ['openid', 'email', 'profile', 'groups'], claims: { ...provider(upstream).claims, groups: 'member_of' }, roles: { engineering: ['engineer'] } };
    const created = await call('POST', '/identity-providers', { token: write, body: provider(upstream, grouped) });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.source, 'api');
    assert.deepEqual(created.body.roles, { engineering: ['engineer'] });
    assert.equal(created.headers.get('location'), `/admin/v1/identity-providers/partner`);
    assert.ok(created.headers.get('etag'));
    assert.equal((created.body.settings as Record<string, unknown>).client_auth_method, 'client_secret_basic');
    const list = await call('GET', '/identity-providers', { token: readOnly });
    assert.deepEqual((list.body.items as { id: string; source: string }[]).map((p) => [p.id, p.source]), [['filed', 'federation-file'], ['partner', 'api']]);
    const userinfo = await signsInThrough(gh.issuer, gh.context.clients, upstream);
    assert.ok(await gh.context.store.federation.findLink('partner', 'u-pat'), 'the link is the new provider\'s');
    assert.deepEqual(userinfo.roles, ['engineer'], 'the stored provider\'s group mapping grants its role, as the file\'s would');
    await assert.rejects(gh.context.roles.delete('engineer'), /mapped to by the federation provider "partner"/);
  });

  it('creates one on a tenant through the tenant\'s own API: its app is rebuilt and signs in through it; the other tenant and the default one are unchanged', async () => {
    const created = await acmeCall('POST', '/identity-providers', { token: acmeWrite, body: provider(acmeUpstream) });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.source, 'api');
    await signsInThrough(acmeIssuer(), acme.clients, acmeUpstream);
    assert.ok(await acme.accounts.findByEmail('pat@partner.test'), 'an account of acme');
    assert.deepEqual((await globexCall('GET', '/identity-providers', { token: globexWrite })).body.items, []);
    // the registry shows the tenant's providers as PATCH /tenants would have stored them
    const tenant = await call('GET', '/tenants/acme', { token: await managementToken(gh, 'admin:tenants:read') });
    assert.deepEqual((tenant.body.settings as { federation: unknown }).federation, { providers: [{ id: 'partner', protocol: 'oidc' }] });
  });

  it('PUT replaces with If-Match: without one 428, with a stale one 412 (nothing changes), with the current one the login page shows the new name', async () => {
    const read = await call('GET', '/identity-providers/partner', { token: write });
    const etag = read.headers.get('etag')!;
    assert.equal((await call('PUT', '/identity-providers/partner', { token: write, body: provider(upstream, { name: 'Renamed' }) })).status, 428);
    const stale = await call('PUT', '/identity-providers/partner', { token: write, headers: { 'if-match': '"stale"' }, body: provider(upstream, { name: 'Renamed' }) });
    assert.equal(stale.status, 412);
    assert.equal((await call('GET', '/identity-providers/partner', { token: write })).headers.get('etag'), etag, 'unchanged');
    const replaced = await call('PUT', '/identity-providers/partner', { token: write, headers: { 'if-match': etag }, body: provider(upstream, { name: 'Renamed Partner' }) });
    assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
    assert.equal(replaced.body.name, 'Renamed Partner');
    assert.notEqual(replaced.headers.get('etag'), etag, 'every write makes a new ETag');
    const { page } = await loginPage(new Browser(), gh.issuer, gh.context.clients);
    assert.match(page.html, /Renamed Partner/);
    // the ETag read before the write is stale now
    const again = await call('PUT', '/identity-providers/partner', { token: write, headers: { 'if-match': etag }, body: provider(upstream) });
    assert.equal(again.status, 412);
  });

  it('a second server on the same store shows a new provider within TENANT_SETTINGS_REFRESH', async () => {
    const created = await call('POST', '/identity-providers', { token: write, body: { ...provider(upstream), id: 'late', name: 'Late Arrival', domains: ['late.test'] } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const started = Date.now();
    let seen = false;
    while (!seen && Date.now() - started < 5_000) {
      const { page } = await loginPage(new ReplicaAgent(gh.issuer, replicas.secondary.url), gh.issuer, gh.context.clients);
      seen = /\/federated\/late"/.test(page.html);
      if (!seen) await delay(200);
    }
    assert.ok(seen, 'the secondary\'s login page got the button');
    assert.ok(Date.now() - started < 3_000, `within the bound (1 s) and a request: ${Date.now() - started} ms`);
    assert.equal((await call('DELETE', '/identity-providers/late', { token: write })).status, 204);
  });

  it('DELETE: the button is gone at once, and a flow already sent upstream fails at the callback with a 4xx page', async () => {
    upstream.signInAs = 'u-pat';
    const agent = new Browser();
    const { page } = await loginPage(agent, gh.issuer, gh.context.clients);
    const atCallback = (url: string) => url.startsWith(callbackOf(gh.issuer, 'partner'));
    const upstreamDone = await continueWith(agent, page, 'partner', atCallback);
    assert.ok(atCallback(upstreamDone.url), upstreamDone.url);

    const read = await call('GET', '/identity-providers/partner', { token: write });
    const deleted = await call('DELETE', '/identity-providers/partner', { token: write, headers: { 'if-match': read.headers.get('etag')! } });
    assert.equal(deleted.status, 204);
    assert.equal((await call('GET', '/identity-providers/partner', { token: write })).status, 404);

    const callback = await agent.open(upstreamDone.url, atClient);
    assert.ok(callback.status >= 400 && callback.status < 500, `${callback.status} ${callback.html.slice(0, 300)}`);
    assert.ok(!atClient(callback.url), 'no code for the RP');
    const { page: after } = await loginPage(new Browser(), gh.issuer, gh.context.clients);
    assert.doesNotMatch(after.html, /\/federated\/partner"/);
    assert.match(after.html, /\/federated\/filed"/, 'the file\'s provider stays');
    assert.equal((await call('DELETE', '/identity-providers/partner', { token: write })).status, 404);
  });

  const samlIdp = (extra: Record<string, unknown> = {}) => ({
    protocol: 'saml', id: 'api-saml', name: 'API SAML', domains: ['api-saml.test'], metadataUrl, metadataRefresh: '1s', claims: { email: 'email' },
    metadataFingerprint: new X509Certificate(samlKey.certPem).fingerprint256, ...extra,
  });

  /** Resolves once the metadata server has been fetched `more` more times (the refresh timer ran), or fails after `ms`. */
  async function fetchedAgain(more: number, ms: number): Promise<boolean> {
    const target = metadataFetches + more;
    const until = Date.now() + ms;
    while (metadataFetches < target && Date.now() < until) await delay(50);
    return metadataFetches >= target;
  }

  it('a SAML IdP created through the API refreshes its metadata without a restart; once deleted, no refresh timer is left', async () => {
    const holder = gh.context.federation;
    assert.equal(holder.refreshing, false, 'no URL-sourced metadata yet');
    const created = await call('POST', '/identity-providers', { token: write, body: samlIdp() });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(holder.refreshing, true, 'the new federation\'s timer runs');
    // metadataRefresh 1s: the timer fetches it again (loaded once at the swap), twice in a few seconds
    assert.ok(await fetchedAgain(2, 8_000), `refreshed ${metadataFetches} times`);
    // a rename swaps the federation again: still one timer (the old one's was stopped)
    const read = await call('GET', '/identity-providers/api-saml', { token: write });
    const renamed = await call('PUT', '/identity-providers/api-saml', { token: write, headers: { 'if-match': read.headers.get('etag')! }, body: samlIdp({ name: 'API SAML 2' }) });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    assert.ok(await fetchedAgain(1, 8_000));
    assert.equal((await call('DELETE', '/identity-providers/api-saml', { token: write })).status, 204);
    assert.equal(holder.refreshing, false, 'no timer for a federation without URL-sourced metadata');
    await delay(300); // a fetch already in flight at the delete ends
    const after = metadataFetches;
    await delay(2_500);
    assert.equal(metadataFetches, after, 'nothing fetches the deleted IdP\'s metadata');
  });

  it('an LDAP directory created through the API is tried by the password form after the file\'s ldapOrder, without a routed domain; a wrong password gets the generic answer', async () => {
    const slapd = await startSlapd({ ldif: await readFile(DIRECTORY_FIXTURE, 'utf8') });
    try {
      // no domain of it matches alice@example.org: only ldapOrder reaches her
      const directory = (id: string) => ({
        protocol: 'ldap', id, name: `Directory ${id}`, urls: [slapd.url], bindDn: slapd.bindDn, bindPassword: slapd.bindPassword,
        userBase: 'ou=people,dc=example,dc=org', userFilter: '(&(objectClass=inetOrgPerson)(mail={{login}}))',
        claims: { email: 'mail', name: 'cn' }, emailVerified: true, domains: [`${id}.test`], connectTimeout: '2s',
      });
      const created = await call('POST', '/identity-providers', { token: write, body: directory('api-dir') });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.deepEqual(gh.context.federation.config?.ldapOrder, ['api-dir'], 'after the file\'s (none), in creation order');
      const second = await call('POST', '/identity-providers', { token: write, body: directory('api-dir-2') });
      assert.equal(second.status, 201, JSON.stringify(second.body));
      assert.deepEqual(gh.context.federation.config?.ldapOrder, ['api-dir', 'api-dir-2']);

      const tryPassword = async (email: string, password: string) => {
        const agent = new Browser();
        const { page, rp, verifier } = await loginPage(agent, gh.issuer, gh.context.clients);
        const done = await agent.submit(page, formAction(page.html, /\/login$/), { email, password }, atClient);
        let next = done;
        if (!atClient(next.url) && next.html.includes('/consent"')) next = await agent.submit(next, formAction(next.html, /\/consent$/), {}, atClient);
        return { page: next, rp, verifier };
      };
      const ok = await tryPassword('alice@example.org', 'alice-password');
      assert.ok(atClient(ok.page.url), `ended at ${ok.page.status} ${ok.page.url}: ${ok.page.html.slice(0, 400)}`);
      const claims = (await oidc.authorizationCodeGrant(ok.rp, new URL(ok.page.url), { pkceCodeVerifier: ok.verifier })).claims()!;
      assert.equal(claims.email, 'alice@example.org');
      assert.ok((claims.amr as string[]).includes('pwd'));

      // what an attacker sees: a wrong directory password and an unknown person get the same 401 page
      const wrong = await tryPassword('bob@example.org', 'not-bobs-password');
      const unknown = await tryPassword('nobody@example.org', 'not-bobs-password');
      assert.equal(wrong.page.status, 401);
      assert.equal(unknown.page.status, 401);
      for (const refused of [wrong, unknown]) assert.ok(refused.page.html.includes('The email or password is incorrect.'), refused.page.html.slice(0, 600));
      assert.equal(await gh.context.store.accounts.findByEmail('bob@example.org'), undefined, 'no account for a refused sign-in');
    } finally {
      for (const id of ['api-dir', 'api-dir-2']) await call('DELETE', `/identity-providers/${id}`, { token: write });
      await slapd.stop();
    }
    assert.deepEqual(gh.context.federation.config?.ldapOrder, [], 'a deleted directory leaves ldapOrder');
  });

  it('a write whose upstream cannot be used is refused before it is stored: 422 problem details, nothing listed, nothing audited; a breaking PUT leaves the old one signing in', async () => {
    const list = async () => (await call('GET', '/identity-providers', { token: write })).body.items as { id: string }[];
    const before = await list();
    const createdEvents = async (id: string) => {
      const audited = await gh.context.store.audit.query({ types: ['identity_provider.created', 'identity_provider.updated'], limit: 500 });
      const outbox = await gh.context.store.webhooks.outbox(500);
      return audited.filter((e) => (e.details as { providerId?: string } | undefined)?.providerId === id).length
        + outbox.filter((e) => JSON.stringify(e).includes(`"${id}"`)).length;
    };
    const refusedSafely = (res: AdminAnswer, field: string, reason: string) => {
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.match(String(res.headers.get('content-type')), /application\/problem\+json/);
      assert.equal(res.body.type, 'urn:gatehouse:problem:upstream-unusable');
      assert.equal(res.body.reason, reason);
      assert.deepEqual((res.body.errors as { path: string }[]).map((e) => e.path), [`body.${field}`]);
      const text = JSON.stringify(res.body);
      // no stack, no underlying error, no address the caller did not send
      assert.doesNotMatch(text, /ECONNREFUSED|\bat [\w.]+ \(|node:internal|\.ts:\d|FEDERATION_FILE|filed\.example\.test/);
    };

    // SAML metadata that answers 404, then metadata nobody serves: nothing stored, no event
    metadataStatus = 404;
    try {
      refusedSafely(await call('POST', '/identity-providers', { token: write, body: samlIdp({ id: 'broken-saml' }) }), 'metadataUrl', 'refused');
    } finally {
      metadataStatus = 200;
    }
    const dead = `http://127.0.0.1:${await new Promise<number>((resolve) => {
      const probe = createHttpServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    })}`;
    refusedSafely(await call('POST', '/identity-providers', { token: write, body: samlIdp({ id: 'broken-saml', metadataUrl: `${dead}/metadata.xml` }) }), 'metadataUrl', 'unreachable');
    // an OIDC issuer that nothing answers, and one that is not an issuer
    refusedSafely(await call('POST', '/identity-providers', { token: write, body: { ...provider(upstream), id: 'broken-oidc', domains: ['broken.test'], issuer: dead } }), 'issuer', 'unreachable');
    refusedSafely(await call('POST', '/identity-providers', { token: write, body: { ...provider(upstream), id: 'broken-oidc', domains: ['broken.test'], issuer: `${upstream.issuer}/elsewhere` } }), 'issuer', 'refused');
    assert.deepEqual(await list(), before, 'the provider list is unchanged');
    for (const id of ['broken-saml', 'broken-oidc']) {
      assert.equal((await call('GET', `/identity-providers/${id}`, { token: write })).status, 404);
      assert.equal(await createdEvents(id), 0, `no identity_provider.created event for ${id}`);
    }

    // a PUT that would break a working provider: refused, and the old settings go on signing people in
    const created = await call('POST', '/identity-providers', { token: write, body: provider(upstream) });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const etag = created.headers.get('etag')!;
    const updatesBefore = (await gh.context.store.audit.query({ types: ['identity_provider.updated'], limit: 500 })).length;
    const broken = await call('PUT', '/identity-providers/partner', { token: write, headers: { 'if-match': etag }, body: provider(upstream, { issuer: dead }) });
    refusedSafely(broken, 'issuer', 'unreachable');
    assert.equal((await call('GET', '/identity-providers/partner', { token: write })).headers.get('etag'), etag, 'unchanged');
    assert.equal((await gh.context.store.audit.query({ types: ['identity_provider.updated'], limit: 500 })).length, updatesBefore, 'no update audited');
    await signsInThrough(gh.issuer, gh.context.clients, upstream);
    assert.equal((await call('DELETE', '/identity-providers/partner', { token: write, headers: { 'if-match': etag } })).status, 204);
  });

  it('the tenant path too: a tenant\'s POST whose metadata cannot be loaded is a 422, and the tenant\'s providers are unchanged', async () => {
    const before = (await acmeCall('GET', '/identity-providers', { token: acmeWrite })).body.items;
    metadataStatus = 404;
    try {
      const res = await acmeCall('POST', '/identity-providers', { token: acmeWrite, body: samlIdp({ id: 'acme-broken' }) });
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.equal(res.body.type, 'urn:gatehouse:problem:upstream-unusable');
    } finally {
      metadataStatus = 200;
    }
    assert.deepEqual((await acmeCall('GET', '/identity-providers', { token: acmeWrite })).body.items, before);
  });

  it('the CLI writes a tenant\'s providers (--tenant): create from a settings file, the tenant\'s API shows it, a bad one is exit 2, delete', async () => {
    const opened = await buildCliContext({ config: gh.context.config, logger: gh.context.logger, ...DEFAULT_PATHS, keysDir: join(gh.dataDir, 'keys'), tenant: 'globex' });
    // as `gatehouse --tenant globex` opens it, without the lazily built provider (cliInProcess copies the context)
    const { providers: _lazy, ...descriptors } = Object.getOwnPropertyDescriptors(opened);
    const globex = Object.defineProperties({}, descriptors) as CliContext;
    try {
      const settings = join(work, 'globex-idp.json');
      await writeFile(settings, JSON.stringify({ id: 'forge', preset: 'github', clientId: 'forge-app', clientSecret: 'globex-cli-secret-0123456789', emailDomains: ['forge.test'] }));
      const created = await cliInProcess(globex, ['federation', 'create', '--protocol', 'oauth2', '--settings-file', settings, '--output', 'json']);
      assert.equal(created.code, 0, created.stderr);
      assert.ok(!created.stdout.includes('globex-cli-secret'), 'never printed');
      const listed = await globexCall('GET', '/identity-providers', { token: globexWrite });
      assert.deepEqual((listed.body.items as { id: string; source: string }[]).map((p) => [p.id, p.source]), [['forge', 'api']]);
      const bad = await cliInProcess(globex, ['federation', 'update', 'forge', '--protocol', 'oauth2', '--settings', '{"preset":"github","clientId":"x","clientSecret":"y","unknownKey":1}']);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /unknownKey/);
      // as the API: an upstream that cannot be loaded is refused before anything is stored (exit 2)
      const { protocol: _saml, ...idp } = samlIdp({ id: 'cli-broken' });
      metadataStatus = 404;
      try {
        const unusable = await cliInProcess(globex, ['federation', 'create', '--protocol', 'saml', '--settings', JSON.stringify(idp)]);
        assert.equal(unusable.code, 2, unusable.stderr);
        assert.match(unusable.stderr, /metadataUrl answered HTTP 404/);
      } finally {
        metadataStatus = 200;
      }
      assert.deepEqual(((await globexCall('GET', '/identity-providers', { token: globexWrite })).body.items as { id: string }[]).map((p) => p.id), ['forge']);
      assert.equal((await cliInProcess(globex, ['federation', 'delete', 'forge', '--yes'])).code, 0);
      assert.deepEqual((await globexCall('GET', '/identity-providers', { token: globexWrite })).body.items, []);
    } finally {
      await opened.close();
    }
  });

  describe('what an attacker tries', () => {
    it('writes without admin:federation:write are 403 (POST, PUT, DELETE), and change nothing', async () => {
      const before = await call('GET', '/identity-providers', { token: readOnly });
      for (const [method, path] of [['POST', '/identity-providers'], ['PUT', '/identity-providers/filed'], ['DELETE', '/identity-providers/filed']] as const) {
        const res = await call(method, path, { token: readOnly, headers: { 'if-match': '*' }, body: method === 'DELETE' ? undefined : { ...provider(upstream), id: 'sneaky' } });
        assert.equal(res.status, 403, `${method} ${path}`);
      }
      assert.deepEqual((await call('GET', '/identity-providers', { token: readOnly })).body, before.body);
    });

    it('an admin token of acme cannot write globex\'s providers or the default tenant\'s (401: not its issuer)', async () => {
      for (const c of [globexCall, call]) {
        const res = await c('POST', '/identity-providers', { token: acmeWrite, body: { ...provider(upstream), id: 'intruder', domains: ['intruder.test'] } });
        assert.equal(res.status, 401);
      }
      assert.deepEqual((await globexCall('GET', '/identity-providers', { token: globexWrite })).body.items, []);
      assert.equal((await call('GET', '/identity-providers/intruder', { token: write })).status, 404);
    });

    it('...File keys are refused (a stored setting carries contents, never a path this server would read)', async () => {
      const keyFile = join(work, 'key.pem');
      await writeFile(keyFile, PEM);
      for (const [body, field] of [
        [{ ...provider(upstream), id: 'keyfile', domains: ['keyfile.test'], clientSecret: undefined, clientAuth: 'private_key_jwt', privateKeyFile: keyFile }, 'privateKey'],
        [{ protocol: 'saml', id: 'metafile', name: 'Meta', metadataFile: '/etc/passwd', claims: { email: 'email' } }, 'metadata'],
        [{ protocol: 'ldap', id: 'cafile', name: 'Dir', urls: ['ldaps://127.0.0.1:1'], bindDn: 'cn=x', bindPassword: 'p', userBase: 'dc=x', userFilter: '(mail={{login}})', claims: { email: 'mail' }, caFile: '/etc/passwd' }, 'caFile'],
      ] as const) {
        const res = await call('POST', '/identity-providers', { token: write, body });
        assert.equal(res.status, 400, JSON.stringify(res.body));
        const errors = res.body.errors as { path: string }[];
        assert.ok(errors[0]!.path.startsWith(`body.${field}`), `${errors[0]!.path} names ${field}`);
      }
    });

    it('an upstream at a private or loopback address literal is refused (400 naming the field); the file\'s http-only-to-loopback rule holds too', async () => {
      for (const [issuer, field] of [
        ['https://10.0.0.5', 'issuer'], ['https://[fd00::1]', 'issuer'], ['https://169.254.169.254', 'issuer'], ['http://192.168.1.1', 'issuer'], ['http://metadata.example.test', 'issuer'],
      ] as const) {
        const res = await call('POST', '/identity-providers', { token: write, body: { ...provider(upstream), id: 'ssrf', domains: ['ssrf.test'], issuer } });
        assert.equal(res.status, 400, `${issuer}: ${JSON.stringify(res.body)}`);
        assert.equal((res.body.errors as { path: string }[])[0]!.path, `body.${field}`);
      }
      assert.equal((await call('GET', '/identity-providers/ssrf', { token: write })).status, 404);
    });

    it('another letter case or a padded id is a 404, for reads and writes', async () => {
      assert.equal((await acmeCall('GET', '/identity-providers/partner', { token: acmeWrite })).status, 200);
      for (const id of ['PARTNER', 'Partner', 'partner%20', '%20partner', 'partner%00']) {
        assert.equal((await acmeCall('GET', `/identity-providers/${id}`, { token: acmeWrite })).status, 404, id);
        assert.equal((await acmeCall('PUT', `/identity-providers/${id}`, { token: acmeWrite, headers: { 'if-match': '*' }, body: provider(acmeUpstream) })).status, 404, id);
        assert.equal((await acmeCall('DELETE', `/identity-providers/${id}`, { token: acmeWrite })).status, 404, id);
      }
    });

    it('an invalid body is a 400 problem naming the field, and the stored providers are unchanged', async () => {
      const before = await acmeCall('GET', '/identity-providers/partner', { token: acmeWrite });
      const etag = before.headers.get('etag')!;
      for (const [body, path] of [
        [{ ...provider(acmeUpstream), clientSecrett: 'typo' }, 'body.clientSecrett'],
        [{ ...provider(acmeUpstream), issuer: undefined }, 'body.issuer'],
        [{ ...provider(acmeUpstream), domains: 'partner.test' }, 'body.domains'],
        [{ ...provider(acmeUpstream), roles: { staff: ['no-such-role'] }, claims: { groups: 'groups' } }, 'body.roles'],
        [{ ...provider(acmeUpstream), protocol: 'kerberos' }, 'body.protocol'],
        [{ ...provider(acmeUpstream), id: 'Not An Id' }, 'body.id'],
      ] as const) {
        const res = await acmeCall('PUT', '/identity-providers/partner', { token: acmeWrite, headers: { 'if-match': etag }, body });
        assert.equal(res.status, 400, `${path}: ${JSON.stringify(res.body)}`);
        assert.match(String(res.body.type), /invalid/);
        assert.ok((res.body.errors as { path: string }[]).some((e) => e.path.startsWith(path)), `${path} in ${JSON.stringify(res.body.errors)}`);
      }
      for (const raw of ['{"protocol":"oidc",', '[]', '"oidc"']) {
        assert.equal((await acmeCall('POST', '/identity-providers', { token: acmeWrite, raw })).status, 400, raw);
      }
      const after = await acmeCall('GET', '/identity-providers/partner', { token: acmeWrite });
      assert.equal(after.headers.get('etag'), etag, 'nothing was stored');
      assert.deepEqual(after.body, before.body);
    });

    it('the file\'s providers: PUT and DELETE are 409, and so is a POST of their id or (400) of one of their domains', async () => {
      const read = await call('GET', '/identity-providers/filed', { token: write });
      const put = await call('PUT', '/identity-providers/filed', { token: write, headers: { 'if-match': read.headers.get('etag')! }, body: { ...provider(upstream), id: 'filed' } });
      assert.equal(put.status, 409);
      assert.match(String(put.body.detail), /FEDERATION_FILE/);
      assert.equal((await call('DELETE', '/identity-providers/filed', { token: write })).status, 409);
      assert.equal((await call('POST', '/identity-providers', { token: write, body: { ...provider(upstream), id: 'filed' } })).status, 409);
      const domain = await call('POST', '/identity-providers', { token: write, body: { ...provider(upstream), id: 'squatter', domains: ['filed.test'] } });
      assert.equal(domain.status, 400);
      assert.equal((domain.body.errors as { path: string }[])[0]!.path, 'body.domains');
      assert.equal((await acmeCall('POST', '/identity-providers', { token: acmeWrite, body: provider(acmeUpstream) })).status, 409, 'an id the tenant has');
    });

    it('every write is audited, and is a domain event whose payload is the allow-list (id, protocol, door): never a setting', async () => {
      const types = ['identity_provider.created', 'identity_provider.updated', 'identity_provider.deleted'];
      const audited = await gh.context.store.audit.query({ types, limit: 100 });
      assert.deepEqual([...new Set(audited.map((e) => e.type))].sort(), [...types].sort());
      for (const record of audited) {
        const event = eventFromAudit(record)!;
        assert.ok(event, record.type);
        const { data } = JSON.parse(event.body) as { data: Record<string, unknown> };
        assert.deepEqual(Object.keys(data).sort(), ['protocol', 'provider_id', 'via']);
        assert.equal(data.via, 'admin_api');
      }
    });

    it('no answer of this file carried a secret, and the database holds them sealed', () => {
      const secrets = [upstream.clientSecret, acmeUpstream.clientSecret, FILE_SECRET, PEM.split('\n')[1]!];
      assert.ok(answers.length > 30);
      for (const a of answers) {
        const text = JSON.stringify(a.body);
        for (const secret of secrets) assert.ok(!text.includes(secret), `a secret in ${text.slice(0, 200)}`);
        assert.ok(!/"(client_?secret|secret|private_?key|bind_?password)"/i.test(text), `no secret-named field in ${text.slice(0, 200)}`);
      }
      const db = new Database(join(gh.dataDir, 'gatehouse.db'), { readonly: true });
      try {
        const dump = JSON.stringify([db.prepare('SELECT * FROM settings_records').all(), db.prepare('SELECT settings FROM tenants').all(), db.prepare('SELECT details FROM audit_events').all(), db.prepare('SELECT body FROM event_outbox').all()]);
        assert.match(dump, /federation/);
        for (const secret of secrets) assert.ok(!dump.includes(secret), 'no secret in the clear in the database (settings, tenants, audit, events)');

      } finally {
        db.close();
      }
    });
  });
});
