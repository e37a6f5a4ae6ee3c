/**
 * SAML single logout, SP-initiated (issue 18 item 3: "RP-initiated logout at Gatehouse can end the IdP
 * session when configured"). With `singleLogout` on an IdP, a person who signed in through it and signs
 * out of an app (RP-initiated logout) has Gatehouse's session ended (and the app told by back-channel
 * logout), then is sent to the IdP's SingleLogoutService with a signed LogoutRequest naming the NameID and
 * SessionIndex it asserted; the IdP's signed LogoutResponse at our SLO endpoint continues to the app's
 * post_logout_redirect_uri. Against the real SimpleSAMLphp (Redirect binding both ways), and with
 * LogoutResponses crafted and signed with the key of "forged" IdP entries we hold (one with a Redirect,
 * one with a POST SingleLogoutService): unsigned, wrongly signed, misaddressed, mismatched, replayed and
 * unsolicited responses lead to Gatehouse's own page, never to a destination.
 */
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, randomBytes, sign as rsaSign, verify as rsaVerify, X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import * as oidc from 'openid-client';
import { SignedXml } from 'xml-crypto';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { startLogoutReceiver, type LogoutReceiver } from '../helpers/logout-receiver.js';
import { startRelyingParty, type TestRelyingParty } from '../helpers/relying-party.js';
import { UserAgent, formAction, hiddenFields, type Page } from '../helpers/user-agent.js';
import { submitPassword } from '../mfa/helpers.js';
import { startSamlIdp, type SamlIdp } from '../helpers/services/saml-idp.js';
import { idpMetadata, makeTestKey, type TestKey } from './helpers/saml-crafting.js';

const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const FORGED_ENTITY = 'https://forged-idp.example.test/idp';
const FORGED_SLO = 'https://forged-idp.example.test/slo';
const POSTING_ENTITY = 'https://posting-idp.example.test/idp';
const POSTING_SLO = 'https://posting-idp.example.test/slo';
const EVE = { username: 'eve', password: 'eve-idp-password', attributes: { email: ['eve@sp-slo.example.org'] } };
const STATUS = (s: string) => `urn:oasis:names:tc:SAML:2.0:status:${s}`;

describe('SAML single logout (SP-initiated, after RP-initiated logout)', function () {
  this.timeout(120_000);
  let gh: TestGatehouse;
  let rp: TestRelyingParty;
  let idp: SamlIdp;
  let work: string;
  let spKey: TestKey;
  let forgedKey: TestKey;
  let otherKey: TestKey;
  let receiver: LogoutReceiver;
  let leeId = '';
  const user = { email: 'lee@example.test', password: 'the password of lee, long enough' };
  const slo = (id: string) => `${gh.issuer}/federation/saml/${id}/slo`;
  const atRp = (u: string) => u.startsWith(rp.origin);
  const signedOut = (u: string) => u.startsWith(rp.postLogoutRedirectUri);

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'gatehouse-saml-sp-slo-'));
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
    const withSlo = (entity: string, binding: string, location: string) => idpMetadata(entity, `${new URL(location).origin}/sso`, forgedKey.certPem)
      .replace('<md:SingleSignOnService', `<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:${binding}" Location="${location}"/><md:SingleSignOnService`);
    await writeFile(join(work, 'forged.xml'), withSlo(FORGED_ENTITY, 'HTTP-Redirect', FORGED_SLO));
    await writeFile(join(work, 'posting.xml'), withSlo(POSTING_ENTITY, 'HTTP-POST', POSTING_SLO));
    await writeFile(join(work, 'quiet.xml'), withSlo('https://quiet-idp.example.test/idp', 'HTTP-Redirect', 'https://quiet-idp.example.test/slo'));
    const file = join(work, 'federation.json');
    await writeFile(file, JSON.stringify({
      saml: {
        privateKeyFile: join(work, 'sp.key'), certificateFile: join(work, 'sp.crt'),
        idps: [
          { id: 'ssp', name: 'Test SSO', metadataFile: join(work, 'ssp.xml'), signAuthnRequests: true, singleLogout: true, claims: { email: 'email' } },
          { id: 'forged', name: 'Forged IdP', metadataFile: join(work, 'forged.xml'), singleLogout: true, claims: { email: 'email' } },
          { id: 'posting', name: 'Posting IdP', metadataFile: join(work, 'posting.xml'), singleLogout: true, claims: { email: 'email' } },
          // singleLogout left at its default (off)
          { id: 'quiet', name: 'Quiet IdP', metadataFile: join(work, 'quiet.xml'), claims: { email: 'email' } },
        ],
      },
    }));
    await gh.restart({ FEDERATION_FILE: file, OUTBOUND_PRIVATE_HOSTS: '127.0.0.1' });
    rp = await startRelyingParty();
    const client = await gh.context.clients.create({
      client_name: 'Notes app', redirect_uris: [rp.redirectUri], post_logout_redirect_uris: [rp.postLogoutRedirectUri],
      grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic',
      backchannel_logout_uri: receiver.uri, backchannel_logout_session_required: true,
    });
    rp.connect(await oidc.discovery(new URL(gh.issuer), client.client_id, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] }));
    leeId = (await gh.context.accounts.create({ ...user, emailVerified: true })).id;
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

  /** The session (oidc-provider's Session record) this browser holds, by its cookie. */
  async function sessionOf(agent: UserAgent, accountId: string) {
    // sessions are stored under sha256(cookie value) (src/oidc/adapter.ts)
    const key = createHash('sha256').update(agent.cookies.get('_session') ?? '').digest('base64url');
    const found = await gh.context.store.oidc.find('Session', key);
    assert.ok(found && found.accountId === accountId, `the browser has a session: ${[...agent.cookies.keys()].join(' ')}`);
    return found as { uid: string; exp: number };
  }

  async function idToken(): Promise<string> {
    const tokens = rp.callbacks.at(-1)!.tokens;
    assert.ok(tokens?.id_token, 'signed in to the app');
    return tokens.id_token;
  }

  async function signInWithPassword(agent: UserAgent) {
    let page = await agent.open((await rp.authorizationUrl({ scope: 'openid', prompt: 'consent' })).href, atRp);
    if (!atRp(page.url) && page.html.includes('/login"')) page = await submitPassword(agent, page, user, atRp);
    if (!atRp(page.url)) page = await agent.submit(page, formAction(page.html, /\/consent$/), {}, atRp);
    await agent.open(page.url);
    return idToken();
  }

  /** A password session that the store says came from a sign-in at `providerId` (what the ACS path records). */
  async function sessionFrom(agent: UserAgent, providerId: string) {
    const token = await signInWithPassword(agent);
    const session = await sessionOf(agent, leeId);
    await gh.context.store.records.upsert('SamlSession', session.uid, {
      providerId, accountId: leeId, nameId: 'lee-at-forged', nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
      nameQualifier: FORGED_ENTITY, sessionIndex: '_forged-session-1',
    }, 600);
    return token;
  }

  /** RP-initiated logout with the confirmation page; follows redirects until `stop`. */
  async function logOut(agent: UserAgent, token: string, stop: (u: string) => boolean, button: { logout?: 'yes' } = { logout: 'yes' }) {
    const seen: string[] = [];
    const confirm = await agent.open(rp.logoutUrl({ id_token_hint: token, state: 'bye-state' }).href);
    assert.equal(confirm.status, 200, confirm.html.slice(0, 300));
    const page = await agent.submit(confirm, formAction(confirm.html, /\/session\/end\/confirm$/), button, (u) => {
      seen.push(u);
      return stop(u);
    });
    return { confirm, page, seen };
  }

  /** The signed LogoutRequest in a Redirect-binding URL: checked against the SP key, then parsed. */
  function requestIn(location: string, at: string) {
    assert.ok(location.startsWith(`${at}?`), location);
    const u = new URL(location);
    const raw = u.search.slice(1);
    const signed = raw.slice(0, raw.indexOf('&Signature='));
    assert.ok(rsaVerify('sha256', Buffer.from(signed), new X509Certificate(spKey.certPem).publicKey, Buffer.from(u.searchParams.get('Signature')!, 'base64')), 'signed with the SP key');
    assert.equal(u.searchParams.get('SigAlg'), RSA_SHA256);
    const xml = inflateRawSync(Buffer.from(u.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
    return { xml, id: /\bID="([^"]+)"/.exec(xml)![1]!, relayState: u.searchParams.get('RelayState')! };
  }

  function logoutResponse(o: { inResponseTo?: string; destination?: string; issuer?: string; status?: string; issueInstant?: string }) {
    const id = `_${randomBytes(16).toString('hex')}`;
    return `<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" Version="2.0" IssueInstant="${o.issueInstant ?? new Date().toISOString()}" Destination="${o.destination ?? slo('forged')}"${o.inResponseTo !== undefined ? ` InResponseTo="${o.inResponseTo}"` : ''}><saml:Issuer>${o.issuer ?? FORGED_ENTITY}</saml:Issuer><samlp:Status><samlp:StatusCode Value="${o.status ?? STATUS('Success')}"/></samlp:Status></samlp:LogoutResponse>`;
  }

  /** HTTP-Redirect binding (bindings §3.4.4.1), signed with `key` unless it is null. */
  function redirectQuery(xml: string, key: TestKey | null, relayState?: string): string {
    const parts = [`SAMLResponse=${encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'))}`];
    if (relayState !== undefined) parts.push(`RelayState=${encodeURIComponent(relayState)}`);
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

  const get = (url: string) => fetch(url, { redirect: 'manual', headers: { accept: 'text/html' } });
  const postForm = (url: string, fields: Record<string, string>) =>
    fetch(url, { method: 'POST', redirect: 'manual', body: new URLSearchParams(fields), headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' } });

  async function expectRefusedPage(res: Response, what: string, name = 'Forged IdP') {
    const html = await res.text();
    assert.equal(res.status, 400, `${what}: ${res.status} ${res.headers.get('location')} ${html.slice(0, 300)}`);
    assert.equal(res.headers.get('location'), null, `${what}: no redirect`);
    assert.match(html, new RegExp(`You are signed out here\\. The sign-out answer from ${name} could not be accepted`), what);
    assert.ok(!html.includes(rp.postLogoutRedirectUri), `${what}: the page does not lead to the app's destination`);
  }

  const silent = async (agent: UserAgent) => {
    await agent.open((await rp.authorizationUrl({ prompt: 'none' })).href);
    return rp.callbacks.at(-1)!;
  };

  it('SimpleSAMLphp: end_session ends the Gatehouse session, the IdP session (LogoutRequest/LogoutResponse over Redirect) and tells the app', async () => {
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
    const token = await idToken();
    const eve = await gh.context.store.accounts.findByEmail(EVE.attributes.email[0]!);
    assert.ok(eve);
    // the session remembers the SAML sign-in it came from, for the session's lifetime
    const session = await sessionOf(agent, eve.id);
    const record = await gh.context.store.records.find('SamlSession', session.uid);
    assert.equal(record?.providerId, 'ssp');
    assert.equal(record?.accountId, eve.id);
    assert.equal(record?.nameIdFormat, 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent');
    assert.ok(typeof record?.nameId === 'string' && typeof record.sessionIndex === 'string', 'NameID and SessionIndex kept');

    const before = receiver.tokens.length;
    const { confirm, page: done, seen } = await logOut(agent, token, signedOut);
    // browsers apply form-action to the redirects after a form post: the logout page must allow the IdP
    assert.match(confirm.headers.get('content-security-policy') ?? '', new RegExp(`form-action 'self'[^;]* ${idp.baseUrl}`));
    const toIdp = seen.find((u) => u.startsWith(`${idp.sloUrl}?`));
    assert.ok(toIdp, `sent to the IdP's SingleLogoutService: ${seen.join(' ')}`);
    const request = requestIn(toIdp, idp.sloUrl);
    assert.match(request.xml, new RegExp(`<saml:NameID[^>]*>${record.nameId}</saml:NameID>`));
    assert.match(request.xml, new RegExp(`<samlp:SessionIndex>${record.sessionIndex}</samlp:SessionIndex>`));
    assert.match(request.xml, new RegExp(`Destination="${idp.sloUrl}"`));
    assert.ok(seen.some((u) => u.startsWith(`${slo('ssp')}?SAMLResponse=`)), `the IdP answered at our SLO endpoint: ${seen.join(' ')}`);
    const end = new URL(done.url);
    assert.equal(`${end.origin}${end.pathname}`, rp.postLogoutRedirectUri, `${done.status} ${done.url} ${done.html.slice(0, 300)}`);
    assert.equal(end.searchParams.get('state'), 'bye-state');

    assert.ok(receiver.tokens.length > before, 'a back-channel logout token reached the app');
    assert.equal((await silent(agent)).error, 'login_required', 'the Gatehouse session has ended');
    assert.equal((await gh.context.store.records.find('SamlSession', session.uid))?.consumed !== undefined, true, 'the record is used up');
    const [sent] = await gh.context.store.audit.query({ types: ['federation.saml.logout_request'] });
    assert.equal(sent?.accountId, eve.id);
    const responses = await gh.context.store.audit.query({ types: ['federation.saml.logout_response'] });
    assert.deepEqual([responses.at(-1)?.result, (responses.at(-1)?.details as { idp?: string }).idp], ['success', 'ssp']);

    // the IdP session is gone: a new sign-in through it asks for the password again
    const again = await agent.open((await rp.authorizationUrl({ scope: 'openid' })).href, atRp);
    const sso = await agent.submit(again, formAction(again.html, /\/federated\/ssp$/), {}, (u) => u.startsWith(idp.ssoRedirectUrl));
    const idpPage = await agent.open(sso.url);
    assert.match(idpPage.html, /name="AuthState"/, 'SimpleSAMLphp shows its login form again');
    assert.match(idpPage.html, /name="password"/);
  });

  it('"Stay signed in" ends nothing at the IdP; a session that did not come from SAML goes straight to the app', async () => {
    const agent = new UserAgent();
    const token = await sessionFrom(agent, 'forged');
    const stay = await logOut(agent, token, signedOut, {});
    assert.ok(signedOut(stay.page.url), stay.page.url);
    assert.ok(!stay.seen.some((u) => u.startsWith(FORGED_SLO)), 'not sent to the IdP');

    const plain = new UserAgent();
    const plainToken = await signInWithPassword(plain);
    const out = await logOut(plain, plainToken, signedOut);
    assert.ok(signedOut(out.page.url), out.page.url);
    assert.ok(!out.seen.some((u) => /forged|posting|quiet/.test(u)), out.seen.join(' '));
  });

  it('an IdP without singleLogout (the default) is left alone', async () => {
    const agent = new UserAgent();
    const token = await sessionFrom(agent, 'quiet');
    const out = await logOut(agent, token, signedOut);
    assert.ok(signedOut(out.page.url), out.page.url);
    assert.ok(!out.seen.some((u) => u.includes('quiet-idp')), out.seen.join(' '));
  });

  describe('the LogoutResponse (crafted, Redirect binding)', () => {
    let pending: { id: string; relayState: string; xml: string };
    let otherPending: { relayState: string };

    before(async () => {
      const agent = new UserAgent();
      const token = await sessionFrom(agent, 'forged');
      const before = receiver.tokens.length;
      const out = await logOut(agent, token, (u) => u.startsWith(FORGED_SLO));
      pending = requestIn(out.page.url, FORGED_SLO);
      assert.ok(receiver.tokens.length > before, 'the app was told before the browser left for the IdP');
      assert.equal((await silent(agent)).error, 'login_required', 'the Gatehouse session has ended before the IdP answers');
      // the request names the person as the IdP did, with its qualifiers
      assert.match(pending.xml, /<saml:NameID NameQualifier="https:\/\/forged-idp\.example\.test\/idp" Format="urn:oasis:names:tc:SAML:2\.0:nameid-format:persistent">lee-at-forged<\/saml:NameID><samlp:SessionIndex>_forged-session-1<\/samlp:SessionIndex>/);
      assert.match(pending.xml, /<saml:Issuer>[^<]*\/federation\/saml\/forged\/metadata<\/saml:Issuer>/);
      // a second pending request, to the other forged IdP (POST binding), for the cross-IdP case
      const second = new UserAgent();
      const secondToken = await sessionFrom(second, 'posting');
      const posted = await logOut(second, secondToken, () => false);
      otherPending = { relayState: hiddenFields(posted.page.html, POSTING_SLO).RelayState! };
    });

    it('refuses unsigned, wrongly signed, misaddressed, mismatched and unsolicited responses with a page that leads nowhere', async () => {
      const good = { inResponseTo: pending.id };
      const cases: [string, Promise<Response>][] = [
        ['unsigned (Redirect)', get(`${slo('forged')}?${redirectQuery(logoutResponse(good), null, pending.relayState)}`)],
        ['signed by another key (Redirect)', get(`${slo('forged')}?${redirectQuery(logoutResponse(good), otherKey, pending.relayState)}`)],
        ['unsigned (POST)', postForm(slo('forged'), { SAMLResponse: Buffer.from(logoutResponse(good)).toString('base64'), RelayState: pending.relayState })],
        ['signed by another key (POST)', postForm(slo('forged'), { SAMLResponse: Buffer.from(signXml(logoutResponse(good), otherKey)).toString('base64'), RelayState: pending.relayState })],
        ['wrong InResponseTo', get(`${slo('forged')}?${redirectQuery(logoutResponse({ inResponseTo: '_not-our-request' }), forgedKey, pending.relayState)}`)],
        ['no InResponseTo', get(`${slo('forged')}?${redirectQuery(logoutResponse({}), forgedKey, pending.relayState)}`)],
        ['wrong Destination', get(`${slo('forged')}?${redirectQuery(logoutResponse({ ...good, destination: slo('posting') }), forgedKey, pending.relayState)}`)],
        ['wrong Issuer', get(`${slo('forged')}?${redirectQuery(logoutResponse({ ...good, issuer: 'https://other.example.test' }), forgedKey, pending.relayState)}`)],
        ['too old', get(`${slo('forged')}?${redirectQuery(logoutResponse({ ...good, issueInstant: new Date(Date.now() - 3_600_000).toISOString() }), forgedKey, pending.relayState)}`)],
        ['no RelayState', get(`${slo('forged')}?${redirectQuery(logoutResponse(good), forgedKey)}`)],
        ['a RelayState we never issued', get(`${slo('forged')}?${redirectQuery(logoutResponse(good), forgedKey, randomBytes(24).toString('base64url'))}`)],
        ['the RelayState of a request to another IdP', get(`${slo('forged')}?${redirectQuery(logoutResponse(good), forgedKey, otherPending.relayState)}`)],
        ['not schema-valid', postForm(slo('forged'), { SAMLResponse: Buffer.from(signXml(logoutResponse(good).replace('<samlp:Status>', '<samlp:Bogus/><samlp:Status>'), forgedKey)).toString('base64'), RelayState: pending.relayState })],
      ];
      const refusals = (await gh.context.store.audit.query({ types: ['federation.saml.refused'] })).length;
      for (const [what, res] of cases) await expectRefusedPage(await res, what);
      assert.equal((await gh.context.store.audit.query({ types: ['federation.saml.refused'] })).length, refusals + cases.length, 'each refusal is audited');
    });

    it('a signed answer continues to the stored post_logout_redirect_uri, once; its replay leads nowhere', async () => {
      const query = redirectQuery(logoutResponse({ inResponseTo: pending.id }), forgedKey, pending.relayState);
      const res = await get(`${slo('forged')}?${query}`);
      assert.equal(res.status, 303, await res.clone().text());
      const next = new URL(res.headers.get('location')!);
      assert.equal(`${next.origin}${next.pathname}`, rp.postLogoutRedirectUri);
      assert.equal(next.searchParams.get('state'), 'bye-state');
      const [event] = (await gh.context.store.audit.query({ types: ['federation.saml.logout_response'] })).filter((e) => (e.details as { idp?: string }).idp === 'forged');
      assert.deepEqual([event?.result, event?.accountId], ['success', leeId]);
      await expectRefusedPage(await get(`${slo('forged')}?${query}`), 'replayed');
    });

    it('a non-Success answer still continues (the person is signed out here), and is audited as a failure', async () => {
      const agent = new UserAgent();
      const token = await sessionFrom(agent, 'forged');
      const out = await logOut(agent, token, (u) => u.startsWith(FORGED_SLO));
      const request = requestIn(out.page.url, FORGED_SLO);
      const res = await get(`${slo('forged')}?${redirectQuery(logoutResponse({ inResponseTo: request.id, status: STATUS('Responder') }), forgedKey, request.relayState)}`);
      assert.equal(res.status, 303);
      assert.ok(signedOut(res.headers.get('location')!));
      const events = (await gh.context.store.audit.query({ types: ['federation.saml.logout_response'] })).filter((e) => e.result === 'failure');
      assert.equal((events.at(-1)?.details as { status?: string }).status, STATUS('Responder'));
    });
  });

  it('POST binding: an auto-submitting page (CSP nonce and form-action) with an enveloped signature, answered by a signed POST', async () => {
    const agent = new UserAgent();
    const token = await sessionFrom(agent, 'posting');
    const out = await logOut(agent, token, () => false);
    const page: Page = out.page;
    assert.equal(page.status, 200, page.html.slice(0, 300));
    assert.equal(formAction(page.html, /posting-idp/), POSTING_SLO);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /form-action 'self'[^;]* https:\/\/posting-idp\.example\.test/);
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    assert.ok(nonce && page.html.includes(`<script nonce="${nonce}">`), 'the auto-submit script carries the nonce');
    const fields = hiddenFields(page.html, POSTING_SLO);
    const xml = Buffer.from(fields.SAMLRequest!, 'base64').toString('utf8');
    const check = new SignedXml({ publicCert: spKey.certPem, getCertFromKeyInfo: () => null });
    check.loadSignature(/<(?:\w+:)?Signature\b[\s\S]*?<\/(?:\w+:)?Signature>/.exec(xml)![0]);
    assert.ok(check.checkSignature(xml), 'the LogoutRequest carries an enveloped signature by the SP key');
    const id = /\bID="([^"]+)"/.exec(xml)![1]!;
    assert.equal((await silent(agent)).error, 'login_required');

    const answer = signXml(logoutResponse({ inResponseTo: id, destination: slo('posting'), issuer: POSTING_ENTITY }), forgedKey);
    const res = await postForm(slo('posting'), { SAMLResponse: Buffer.from(answer).toString('base64'), RelayState: fields.RelayState! });
    assert.equal(res.status, 303, await res.clone().text());
    assert.ok(signedOut(res.headers.get('location')!));
  });

  it('refuses singleLogout at start-up without the SP key, or when the IdP metadata has no SingleLogoutService', async () => {
    const bare = join(work, 'bare.json');
    await writeFile(bare, JSON.stringify({ saml: { idps: [{ id: 'forged', name: 'Forged IdP', metadataFile: join(work, 'forged.xml'), singleLogout: true, claims: { email: 'email' } }] } }));
    await assert.rejects(bootGatehouse({ FEDERATION_FILE: bare }), /privateKeyFile.*singleLogout/s);
    await writeFile(join(work, 'no-slo.xml'), idpMetadata('https://no-slo.example.test/idp', 'https://no-slo.example.test/sso', forgedKey.certPem));
    const noSlo = join(work, 'no-slo.json');
    await writeFile(noSlo, JSON.stringify({
      saml: { privateKeyFile: join(work, 'sp.key'), certificateFile: join(work, 'sp.crt'), idps: [{ id: 'nos', name: 'No SLO', metadataFile: join(work, 'no-slo.xml'), singleLogout: true, claims: { email: 'email' } }] },
    }));
    await assert.rejects(bootGatehouse({ FEDERATION_FILE: noSlo }), /singleLogout is set, but the IdP metadata has no SingleLogoutService/);
  });
});
