/**
 * Issue 10 item 7, as an attacker who controls (or mis-configured) one upstream: a directory asserts an
 * address outside its domains, the address of an existing local account, or one in the domain another
 * provider owns. Real OpenLDAP slapd, one for the whole file; real HTTP logins through Gatehouse.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent, signIn, formAction, type Page } from '../helpers/user-agent.js';
import { DIRECTORY_FIXTURE, startSlapd, type SlapdService } from '../helpers/services/slapd.js';
import { runCommand } from '../helpers/services/process-handle.js';
import { randomBytes } from 'node:crypto';
import { authnRequestFrom, idpMetadata, makeTestKey, sign, type TestKey } from '../federation/helpers/saml-crafting.js';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';

describe('security: federated identities stay in their lane (real slapd)', function () {
  this.timeout(60_000);
  let slapd: SlapdService;
  let gh: TestGatehouse;
  let rp: oidc.Configuration;
  let work: string;
  const victim = { email: 'dave@elsewhere.test', password: 'a quiet walk along the river' };

  before(async () => {
    slapd = await startSlapd({ ldif: await readFile(DIRECTORY_FIXTURE, 'utf8') });
    work = await mkdtemp(join(tmpdir(), 'gatehouse-fed-email-'));
    // people whose directory entry carries an address the directory does not own
    const person = (uid: string, mail: string) =>
      `dn: uid=${uid},ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\nmail: ${mail}\nuserPassword: ${uid}-ldap-password\n`;
    await writeFile(join(work, 'add.ldif'), [person('dave', victim.email), person('eve', 'eve@elsewhere.test'), person('frank', 'frank@outside.test')].join('\n'));
    await runCommand('ldapadd', ['-x', '-H', slapd.url, '-D', slapd.bindDn, '-w', slapd.bindPassword, '-f', join(work, 'add.ldif')]);
    const directory = (id: string, extra: Record<string, unknown>) => ({
      id, name: `${id} directory`, urls: [slapd.url], bindDn: slapd.bindDn, bindPassword: slapd.bindPassword,
      userBase: 'ou=people,dc=example,dc=org', userFilter: '(&(objectClass=inetOrgPerson)(uid={{localPart}}))',
      claims: { email: 'mail' }, emailVerified: true, ...extra,
    });
    const file = join(work, 'federation.json');
    await writeFile(file, JSON.stringify({
      ldap: [
        directory('corp', { domains: ['example.org'] }),
        // no domains of its own: whatever it asserts is outside; it even opts in to linking by email
        directory('lab', { linkExistingAccounts: true }),
        directory('strict', { domains: ['strict.test'], outsideDomains: 'refuse' }),
      ],
      ldapOrder: ['lab'],
    }));
    gh = await bootGatehouse({ FEDERATION_FILE: file });
    await gh.context.accounts.create({ ...victim, emailVerified: true });
    const client = await gh.context.clients.create({
      client_name: 'RP', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic',
    });
    rp = await oidc.discovery(new URL(gh.issuer), client.client_id, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
  });
  after(async () => {
    await gh?.close();
    await slapd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function authorization() {
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT_URI, scope: 'openid email', prompt: 'login consent',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    return { url: url.href, verifier };
  }
  async function tryLogin(email: string, password: string): Promise<Page> {
    const agent = new UserAgent();
    const page = await agent.open((await authorization()).url);
    return agent.submit(page, formAction(page.html, /\/login$/), { email, password }, (u) => u.startsWith(REDIRECT_URI));
  }

  it('stores an address outside the directory\'s domains unverified (outsideDomains "unverified", the default)', async () => {
    const { url, verifier } = await authorization();
    const callback = await signIn(new UserAgent(), url, REDIRECT_URI, { email: 'frank', password: 'frank-ldap-password' });
    const claims = (await oidc.authorizationCodeGrant(rp, new URL(callback), { pkceCodeVerifier: verifier })).claims()!;
    assert.equal(claims.email, 'frank@outside.test');
    assert.equal(claims.email_verified, false, 'emailVerified: true is not believed outside the domains');
    assert.equal((await gh.context.store.accounts.findByEmail('frank@outside.test'))!.emailVerified, false);
  });

  it('refuses an address outside the directory\'s domains with outsideDomains "refuse", and creates nothing', async () => {
    const before = await gh.context.store.accounts.count();
    const page = await tryLogin('eve@strict.test', 'eve-ldap-password');
    assert.equal(page.status, 403);
    assert.match(page.html, /strict directory signed you in with an email address it does not manage here/);
    assert.equal(await gh.context.store.accounts.count(), before);
    assert.equal(await gh.context.store.accounts.findByEmail('eve@elsewhere.test'), undefined);
  });

  it('never takes over a local account whose address the directory asserts, even with linkExistingAccounts', async () => {
    const local = (await gh.context.store.accounts.findByEmail(victim.email))!;
    // in parallel, as an attacker would, and with the case changed
    const pages = await Promise.all(['dave', 'DAVE', 'dave'].map((login) => tryLogin(login, 'dave-ldap-password')));
    for (const page of pages) {
      assert.equal(page.status, 403, page.html.slice(0, 300));
      assert.match(page.html, /already exists here and is not linked to lab directory/);
    }
    const after = (await gh.context.store.accounts.findById(local.id))!;
    assert.deepEqual(after, local, 'credentials, email and flags unchanged');
    assert.deepEqual(await gh.context.store.federation.linksOf(local.id), [], 'no link attached');
    assert.equal(await gh.context.store.federation.findLink('lab', 'x'), undefined);
    // and the owner still signs in with the local password
    const { url, verifier } = await authorization();
    const callback = await signIn(new UserAgent(), url, REDIRECT_URI, victim);
    assert.equal((await oidc.authorizationCodeGrant(rp, new URL(callback), { pkceCodeVerifier: verifier })).claims()!.sub, local.id);
  });

  it('refuses an address in the domain another provider owns, so it can neither take it nor claim it first', async () => {
    const before = await gh.context.store.accounts.count();
    // "carol" reaches the lab directory (ldapOrder), which asserts carol@example.org: corp's domain
    const page = await tryLogin('carol', 'carol-password');
    assert.equal(page.status, 403);
    assert.match(page.html, /lab directory signed you in with an email address it does not manage here/);
    assert.equal(await gh.context.store.accounts.count(), before);
    assert.equal(await gh.context.store.accounts.findByEmail('carol@example.org'), undefined, 'the address was not claimed');
    // the owner of the domain still provisions her, verified
    const { url, verifier } = await authorization();
    const callback = await signIn(new UserAgent(), url, REDIRECT_URI, { email: 'carol@example.org', password: 'carol-password' });
    const claims = (await oidc.authorizationCodeGrant(rp, new URL(callback), { pkceCodeVerifier: verifier })).claims()!;
    assert.equal(claims.email, 'carol@example.org');
    assert.equal(claims.email_verified, true);
    assert.deepEqual((await gh.context.store.federation.linksOf(String(claims.sub))).map((l) => l.providerId), ['corp']);
  });
});

describe('security: a SAML IdP stays in its lane (crafted responses signed with the IdP key)', function () {
  this.timeout(60_000);
  let gh: TestGatehouse;
  let rp: oidc.Configuration;
  let work: string;
  let key: TestKey;
  const entityId = 'https://idp.partner.test/idp';
  const local = { email: 'grace@partner.test', password: 'a quiet walk along the river' };
  const sp = () => ({ entityId: `${gh.issuer}/federation/saml/partner/metadata`, acs: `${gh.issuer}/federation/saml/partner/acs` });

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'gatehouse-fed-email-saml-'));
    key = await makeTestKey(work, 'partner-idp');
    await writeFile(join(work, 'partner.xml'), idpMetadata(entityId, 'http://127.0.0.1:9/sso', key.certPem));
    gh = await bootGatehouse();
    const file = join(work, 'federation.json');
    await writeFile(file, JSON.stringify({
      saml: { idps: [
        { id: 'partner', name: 'Partner SSO', metadataFile: join(work, 'partner.xml'), claims: { email: 'email' }, emailVerified: true, emailDomains: ['partner.test'], linkExistingAccounts: true },
        { id: 'other', name: 'Other SSO', metadataFile: join(work, 'partner.xml'), claims: { email: 'email' }, domains: ['other.test'], spEntityId: 'https://sp.other.test' },
      ] },
    }));
    await gh.restart({ FEDERATION_FILE: file });
    await gh.context.accounts.create({ ...local, emailVerified: true });
    const client = await gh.context.clients.create({
      client_name: 'RP', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic',
    });
    rp = await oidc.discovery(new URL(gh.issuer), client.client_id, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
  });
  after(async () => {
    await gh?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  function response(request: { id: string }, email: string, nameId: string): string {
    const now = Date.now();
    const id = () => `_${randomBytes(16).toString('hex')}`;
    const { entityId: audience, acs } = sp();
    return `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id()}" Version="2.0" IssueInstant="${iso(now)}" Destination="${acs}" InResponseTo="${request.id}">`
      + `<saml:Issuer>${entityId}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>`
      + `<saml:Assertion ID="${id()}" Version="2.0" IssueInstant="${iso(now)}"><saml:Issuer>${entityId}</saml:Issuer>`
      + `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">${nameId}</saml:NameID>`
      + `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${iso(now + 300_000)}" Recipient="${acs}" InResponseTo="${request.id}"/></saml:SubjectConfirmation></saml:Subject>`
      + `<saml:Conditions NotBefore="${iso(now - 30_000)}" NotOnOrAfter="${iso(now + 300_000)}"><saml:AudienceRestriction><saml:Audience>${audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>`
      + `<saml:AuthnStatement AuthnInstant="${iso(now)}" SessionIndex="${id()}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`
      + `<saml:AttributeStatement><saml:Attribute Name="email"><saml:AttributeValue>${email}</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>`
      + `</saml:Assertion></samlp:Response>`;
  }

  /** Starts SSO at the partner IdP, answers it with a signed response asserting `email`; returns the final page. */
  async function signInAsserting(email: string, nameId = randomBytes(20).toString('hex')): Promise<{ page: Page; agent: UserAgent; verifier: string }> {
    const agent = new UserAgent();
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT_URI, scope: 'openid email', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const login = await agent.open(url.href);
    const out = await agent.submit(login, formAction(login.html, /\/federated\/partner$/), {}, (u) => u.startsWith('http://127.0.0.1:9/sso'));
    const request = authnRequestFrom(out.url);
    const xml = sign(response(request, email, nameId), key, { assertion: true, response: true });
    const res = await agent.fetch(sp().acs, {
      method: 'POST', body: new URLSearchParams({ SAMLResponse: Buffer.from(xml).toString('base64'), RelayState: request.relayState }),
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    });
    if (res.status !== 303) return { page: { status: res.status, url: sp().acs, html: await res.text(), headers: res.headers } as Page, agent, verifier };
    const atClient = (u: string) => u.startsWith(REDIRECT_URI);
    let page = await agent.open(new URL(res.headers.get('location')!, gh.issuer).href, atClient);
    if (!atClient(page.url) && page.html.includes('/consent')) page = await agent.submit(page, formAction(page.html, /\/consent$/), {}, atClient);
    return { page, agent, verifier };
  }

  it('accepts (verified) an address inside its emailDomains: the control', async () => {
    const { page, verifier } = await signInAsserting('henry@partner.test');
    assert.ok(page.url.startsWith(REDIRECT_URI), `${page.status} ${page.html.slice(0, 500)}`);
    const claims = (await oidc.authorizationCodeGrant(rp, new URL(page.url), { pkceCodeVerifier: verifier })).claims()!;
    assert.equal(claims.email, 'henry@partner.test');
    assert.equal(claims.email_verified, true);
  });

  it('stores an address outside its domains unverified', async () => {
    const { page, verifier } = await signInAsserting('ivy@nowhere.test');
    assert.ok(page.url.startsWith(REDIRECT_URI), `${page.status} ${page.html.slice(0, 500)}`);
    const claims = (await oidc.authorizationCodeGrant(rp, new URL(page.url), { pkceCodeVerifier: verifier })).claims()!;
    assert.equal(claims.email_verified, false);
  });

  it('refuses an address in the domain of another provider', async () => {
    const before = await gh.context.store.accounts.count();
    const { page } = await signInAsserting('boss@other.test');
    assert.equal(page.status, 400);
    assert.match(page.html, /Partner SSO signed you in with an email address it does not manage here/);
    assert.equal(await gh.context.store.accounts.count(), before);
    assert.equal(await gh.context.store.accounts.findByEmail('boss@other.test'), undefined);
  });

  it('never takes over the local account whose address it asserts, even inside its domain with linkExistingAccounts', async () => {
    const account = (await gh.context.store.accounts.findByEmail(local.email))!;
    const { page } = await signInAsserting(local.email.toUpperCase());
    assert.equal(page.status, 400, page.html.slice(0, 300));
    assert.match(page.html, /already exists here and is not linked to Partner SSO/);
    assert.deepEqual(await gh.context.store.accounts.findById(account.id), account, 'credentials, email and flags unchanged');
    assert.deepEqual(await gh.context.store.federation.linksOf(account.id), []);
  });
});
