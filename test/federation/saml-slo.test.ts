/**
 * SAML single logout, IdP-initiated (issue 18 item 3). A signed LogoutRequest at /federation/saml/:idp/slo
 * ends every Gatehouse session of the account linked to that IdP and NameID, tells the account's apps by
 * back-channel logout, and is answered with a LogoutResponse signed with the SP key. Against the real
 * SimpleSAMLphp (its IdP-initiated logout reaches our SLO endpoint over the Redirect binding), and with
 * crafted requests signed with the key of a "forged" IdP entry we hold: unsigned, wrongly signed,
 * replayed, expired and misaddressed requests are refused with nothing ended.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes, sign as rsaSign, verify as rsaVerify, X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import * as oidc from 'openid-client';
import { SignedXml } from 'xml-crypto';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { startLogoutReceiver, type LogoutReceiver } from '../helpers/logout-receiver.js';
import { startRelyingParty, type TestRelyingParty } from '../helpers/relying-party.js';
import { UserAgent, formAction, hiddenFields } from '../helpers/user-agent.js';
import { submitPassword } from '../mfa/helpers.js';
import { startSamlIdp, type SamlIdp } from '../helpers/services/saml-idp.js';
import { idpMetadata, makeTestKey, type TestKey } from './helpers/saml-crafting.js';

const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const FORGED_ENTITY = 'https://forged-idp.example.test/idp';
const FORGED_SLO = 'https://forged-idp.example.test/slo';
const EVE = { username: 'eve', password: 'eve-idp-password', attributes: { email: ['eve@slo.example.org'] } };

describe('SAML single logout (IdP-initiated)', function () {
  this.timeout(120_000);
  let gh: TestGatehouse;
  let rp: TestRelyingParty;
  let idp: SamlIdp;
  let work: string;
  let spKey: TestKey;
  let forgedKey: TestKey;
  let otherKey: TestKey;
  let receiver: LogoutReceiver;
  const user = { email: 'lee@example.test', password: 'the password of lee, long enough' };
  const NAMEID = 'lee-at-forged';
  const slo = (id: string) => `${gh.issuer}/federation/saml/${id}/slo`;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'gatehouse-saml-slo-'));
    receiver = await startLogoutReceiver();
    gh = await bootGatehouse({ OUTBOUND_PRIVATE_HOSTS: '127.0.0.1' });
    spKey = await makeTestKey(work, 'sp-signing');
    forgedKey = await makeTestKey(work, 'forged-idp');
    otherKey = await makeTestKey(work, 'someone-else');
    idp = await startSamlIdp({
      spEntityId: `${gh.issuer}/federation/saml/ssp/metadata`, acsUrl: `${gh.issuer}/federation/saml/ssp/acs`, sloUrl: slo('ssp'),
      spCertPem: spKey.certPem, requireSignedRequests: true, users: [EVE],
    });
    await writeFile(join(work, 'sp.key'), spKey.keyPem);
    await writeFile(join(work, 'sp.crt'), spKey.certPem);
    await writeFile(join(work, 'ssp.xml'), idp.metadataXml);
    const forged = idpMetadata(FORGED_ENTITY, 'https://forged-idp.example.test/sso', forgedKey.certPem)
      .replace('<md:SingleSignOnService', `<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${FORGED_SLO}"/><md:SingleSignOnService`);
    await writeFile(join(work, 'forged.xml'), forged);
    const file = join(work, 'federation.json');
    await writeFile(file, JSON.stringify({
      saml: {
        privateKeyFile: join(work, 'sp.key'), certificateFile: join(work, 'sp.crt'),
        idps: [
          { id: 'ssp', name: 'Test SSO', metadataFile: join(work, 'ssp.xml'), signAuthnRequests: true, claims: { email: 'email' } },
          { id: 'forged', name: 'Forged IdP', metadataFile: join(work, 'forged.xml'), claims: { email: 'email' } },
        ],
      },
    }));
    await gh.restart({ FEDERATION_FILE: file, OUTBOUND_PRIVATE_HOSTS: '127.0.0.1' });
    rp = await startRelyingParty();
    const client = await gh.context.clients.create({
      client_name: 'Notes app', redirect_uris: [rp.redirectUri], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic',
      backchannel_logout_uri: receiver.uri,
      backchannel_logout_session_required: true,
    });
    rp.connect(await oidc.discovery(new URL(gh.issuer), client.client_id, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] }));
    const account = await gh.context.accounts.create({ ...user, emailVerified: true });
    await gh.context.store.federation.createLink({ providerId: 'forged', externalId: NAMEID, accountId: account.id, createdAt: Date.now(), lastLoginAt: Date.now() });
  });
  after(async () => {
    await rp?.close();
    await gh?.close();
    await idp?.stop();
    await receiver?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && idp) console.error(await idp.logs());
  });

  const atRp = (u: string) => u.startsWith(rp.origin);

  async function signInWithPassword(agent: UserAgent) {
    let page = await agent.open((await rp.authorizationUrl({ scope: 'openid', prompt: 'consent' })).href, atRp);
    if (!atRp(page.url) && page.html.includes('/login"')) page = await submitPassword(agent, page, user, atRp);
    if (!atRp(page.url)) page = await agent.submit(page, formAction(page.html, /\/consent$/), {}, atRp);
    await agent.open(page.url);
    assert.ok(rp.callbacks.at(-1)!.tokens, 'signed in to the app');
  }

  async function silent(agent: UserAgent) {
    await agent.open((await rp.authorizationUrl({ prompt: 'none' })).href);
    return rp.callbacks.at(-1)!;
  }

  function logoutRequest(o: { nameId?: string; destination?: string; issuer?: string; notOnOrAfter?: string; id?: string } = {}) {
    const id = o.id ?? `_${randomBytes(16).toString('hex')}`;
    const now = new Date().toISOString();
    const xml = `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" Version="2.0" IssueInstant="${now}" Destination="${o.destination ?? slo('forged')}"${o.notOnOrAfter ? ` NotOnOrAfter="${o.notOnOrAfter}"` : ''}><saml:Issuer>${o.issuer ?? FORGED_ENTITY}</saml:Issuer><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">${o.nameId ?? NAMEID}</saml:NameID><samlp:SessionIndex>_s1</samlp:SessionIndex></samlp:LogoutRequest>`;
    return { id, xml };
  }

  /** HTTP-Redirect binding (bindings §3.4.4.1), signed with `key` unless it is null. */
  function redirectQuery(xml: string, key: TestKey | null, relayState?: string): string {
    const parts = [`SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'))}`];
    if (relayState) parts.push(`RelayState=${encodeURIComponent(relayState)}`);
    if (!key) return parts.join('&');
    parts.push(`SigAlg=${encodeURIComponent(RSA_SHA256)}`);
    const sig = rsaSign('sha256', Buffer.from(parts.join('&')), createPrivateKey(key.keyPem)).toString('base64');
    return `${parts.join('&')}&Signature=${encodeURIComponent(sig)}`;
  }

  function signXml(xml: string, key: TestKey): string {
    const sig = new SignedXml({ privateKey: key.keyPem, publicCert: key.certPem, signatureAlgorithm: RSA_SHA256, canonicalizationAlgorithm: EXC_C14N });
    sig.addReference({ xpath: '/*', transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', EXC_C14N], digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256' });
    sig.computeSignature(xml, { location: { reference: "/*/*[local-name(.)='Issuer']", action: 'after' } });
    return sig.getSignedXml();
  }

  const postForm = (url: string, fields: Record<string, string>) =>
    fetch(url, { method: 'POST', redirect: 'manual', body: new URLSearchParams(fields), headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' } });

  /** The signed LogoutResponse in our redirect to the forged IdP's SLO endpoint: its status, checked against the SP key. */
  function responseStatus(location: string, inResponseTo: string): string {
    assert.ok(location.startsWith(`${FORGED_SLO}?`), location);
    const u = new URL(location);
    const raw = u.search.slice(1);
    const signed = raw.slice(0, raw.indexOf('&Signature='));
    const ok = rsaVerify('sha256', Buffer.from(signed), new X509Certificate(spKey.certPem).publicKey, Buffer.from(u.searchParams.get('Signature')!, 'base64'));
    assert.ok(ok, 'the LogoutResponse is signed with the SP key');
    const xml = inflateRawSync(Buffer.from(u.searchParams.get('SAMLResponse')!, 'base64')).toString('utf8');
    assert.match(xml, new RegExp(`InResponseTo="${inResponseTo}"`));
    assert.match(xml, new RegExp(`Destination="${FORGED_SLO}"`));
    return /StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:(\w+)"/.exec(xml)?.[1] ?? '';
  }

  async function expectRefused(res: Response, what: string) {
    const html = await res.text();
    assert.equal(res.status, 400, `${what}: ${res.status} ${html.slice(0, 300)}`);
    assert.match(html, /The sign-out request from Forged IdP could not be accepted/, what);
  }

  it('publishes SingleLogoutService for both bindings in the SP metadata', async () => {
    const xml = await (await fetch(`${gh.issuer}/federation/saml/forged/metadata`)).text();
    assert.match(xml, new RegExp(`SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${slo('forged')}"`));
    assert.match(xml, new RegExp(`SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${slo('forged')}"`));
  });

  it('refuses unsigned, wrongly signed and schema-invalid requests with the refusal page, with nothing ended', async () => {
    const agent = new UserAgent();
    await signInWithPassword(agent);
    const cases: [string, Promise<Response>][] = [
      ['unsigned (Redirect)', fetch(`${slo('forged')}?${redirectQuery(logoutRequest().xml, null)}`, { redirect: 'manual' })],
      ['signed by another key (Redirect)', fetch(`${slo('forged')}?${redirectQuery(logoutRequest().xml, otherKey)}`, { redirect: 'manual' })],
      ['unsigned (POST)', postForm(slo('forged'), { SAMLRequest: Buffer.from(logoutRequest().xml).toString('base64') })],
      ['signed by another key (POST)', postForm(slo('forged'), { SAMLRequest: Buffer.from(signXml(logoutRequest().xml, otherKey)).toString('base64') })],
      ['not schema-valid', postForm(slo('forged'), { SAMLRequest: Buffer.from(signXml(logoutRequest().xml.replace('<samlp:SessionIndex>', '<samlp:Bogus/><samlp:SessionIndex>'), forgedKey)).toString('base64') })],
    ];
    const refusals = (await gh.context.store.audit.query({ types: ['federation.saml.refused'] })).length;
    for (const [what, res] of cases) await expectRefused(await res, what);
    assert.equal((await gh.context.store.audit.query({ types: ['federation.saml.refused'] })).length, refusals + cases.length, 'each refusal is audited');
    assert.ok((await silent(agent)).tokens, 'still signed in: prompt=none answers a code');
  });

  it('answers a signed but misaddressed or expired request with a signed Requester LogoutResponse, with nothing ended', async () => {
    const agent = new UserAgent();
    await signInWithPassword(agent);
    const before = receiver.tokens.length;
    const cases: [string, ReturnType<typeof logoutRequest>][] = [
      ['wrong Destination', logoutRequest({ destination: slo('ssp') })],
      ['wrong Issuer', logoutRequest({ issuer: 'https://other.example.test' })],
      ['expired', logoutRequest({ notOnOrAfter: new Date(Date.now() - 3_600_000).toISOString() })],
    ];
    for (const [what, request] of cases) {
      const res = await fetch(`${slo('forged')}?${redirectQuery(request.xml, forgedKey)}`, { redirect: 'manual' });
      assert.equal(res.status, 303, `${what}: ${res.status}`);
      assert.equal(responseStatus(res.headers.get('location')!, request.id), 'Requester', what);
    }
    assert.ok((await silent(agent)).tokens, 'still signed in: prompt=none answers a code');
    assert.equal(receiver.tokens.length, before, 'no back-channel logout');
  });

  it('a signed LogoutRequest (Redirect) ends the session, tells the app, and is answered Success; its replay is refused', async () => {
    const agent = new UserAgent();
    await signInWithPassword(agent);
    const before = receiver.tokens.length;
    const request = logoutRequest();
    const query = redirectQuery(request.xml, forgedKey, 'relay-1');
    const res = await fetch(`${slo('forged')}?${query}`, { redirect: 'manual' });
    assert.equal(res.status, 303, await res.clone().text());
    const location = res.headers.get('location')!;
    assert.equal(responseStatus(location, request.id), 'Success');
    assert.equal(new URL(location).searchParams.get('RelayState'), 'relay-1');
    assert.equal((await silent(agent)).error, 'login_required');
    assert.ok(receiver.tokens.length > before, 'a back-channel logout token reached the app');
    const [event] = await gh.context.store.audit.query({ types: ['federation.saml.logout'] });
    assert.equal((event?.details as { status?: string } | undefined)?.status, 'Success');
    // the replay comes signed by the IdP: answered Requester, and nothing more ends
    const replay = await fetch(`${slo('forged')}?${query}`, { redirect: 'manual' });
    assert.equal(replay.status, 303);
    assert.equal(responseStatus(replay.headers.get('location')!, request.id), 'Requester');
    const refusals = await gh.context.store.audit.query({ types: ['federation.saml.refused'] });
    assert.ok(refusals.some((r) => /replayed LogoutRequest/.test(String(r.reason))), 'the replay is audited');
  });

  it('a signed LogoutRequest (POST) ends the session', async () => {
    const agent = new UserAgent();
    await signInWithPassword(agent);
    const request = logoutRequest();
    const res = await postForm(slo('forged'), { SAMLRequest: Buffer.from(signXml(request.xml, forgedKey)).toString('base64') });
    assert.equal(res.status, 303, await res.clone().text());
    assert.equal(responseStatus(res.headers.get('location')!, request.id), 'Success');
    assert.equal((await silent(agent)).error, 'login_required');
  });

  it('an unknown NameID is answered with a LogoutResponse and ends nothing', async () => {
    const agent = new UserAgent();
    await signInWithPassword(agent);
    const request = logoutRequest({ nameId: 'nobody-here' });
    const res = await fetch(`${slo('forged')}?${redirectQuery(request.xml, forgedKey)}`, { redirect: 'manual' });
    assert.equal(res.status, 303, await res.clone().text());
    assert.equal(responseStatus(res.headers.get('location')!, request.id), 'Success');
    assert.ok((await silent(agent)).tokens, 'still signed in');
  });

  it('SimpleSAMLphp\'s IdP-initiated logout reaches the SLO endpoint and ends the Gatehouse session', async () => {
    const agent = new UserAgent();
    const login = await agent.open((await rp.authorizationUrl({ scope: 'openid', prompt: 'consent' })).href, atRp);
    const out = await agent.submit(login, formAction(login.html, /\/federated\/ssp$/), {}, (u) => u.startsWith(idp.ssoRedirectUrl));
    let page = await agent.open(out.url);
    const authState = /name="AuthState"\s+value="([^"]*)"/.exec(page.html)?.[1]?.replace(/&amp;/g, '&');
    assert.ok(authState, `no IdP login form: ${page.status} ${page.html.slice(0, 500)}`);
    const action = /<form[^>]*action="([^"]*)"/.exec(page.html.slice(page.html.indexOf('AuthState') - 2000))?.[1] ?? '';
    page = await agent.submit(page, action.replace(/&amp;/g, '&'), { AuthState: authState, username: EVE.username, password: EVE.password });
    const acs = (/<form[^>]*action="([^"]+)"/.exec(page.html)?.[1] ?? '').replace(/&amp;/g, '&');
    page = await agent.submit(page, acs, hiddenFields(page.html, acs), atRp);
    if (!atRp(page.url)) page = await agent.submit(page, formAction(page.html, /\/consent$/), {}, atRp);
    await agent.open(page.url);
    assert.ok(rp.callbacks.at(-1)!.tokens, 'signed in to the app through SimpleSAMLphp');
    const before = receiver.tokens.length;
    const done = `${idp.baseUrl}/logged-out`;
    const seen: string[] = [];
    await agent.open(`${idp.sloUrl}?ReturnTo=${encodeURIComponent(done)}`, (u) => {
      seen.push(u);
      return u.startsWith(done);
    });
    assert.ok(seen.some((u) => u.startsWith(`${slo('ssp')}?SAMLRequest=`)), `the IdP sent a LogoutRequest to our SLO endpoint: ${seen.join(' ')}`);
    assert.equal((await silent(agent)).error, 'login_required');
    assert.ok(receiver.tokens.length > before, 'a back-channel logout token reached the app');
  });
});
