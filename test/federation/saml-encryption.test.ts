/**
 * Encrypted assertions (issue 18 item 2). With saml.encryptionKeyFile / encryptionCertificateFile the SP
 * metadata offers the certificate for encryption; a real SimpleSAMLphp IdP told to encrypt for it is
 * accepted end to end. Crafted responses (re-signed with the forged IdP's key, encrypted here with
 * node:crypto) show that the decrypted Assertion goes through every check of a plain one: unsigned, wrapped
 * or duplicated is refused; and that every decryption failure is one and the same refusal.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent, formAction, hiddenFields, type Page } from '../helpers/user-agent.js';
import { startSamlIdp, type SamlIdp } from '../helpers/services/saml-idp.js';
import {
  authnRequestFrom, encryptAssertion, idpMetadata, makeTestKey, replaceContentCipher, rewrite, sign, stripSignatures, type TestKey,
} from './helpers/saml-crafting.js';
import { loadConfig } from '../../src/config/load-config.js';

const REDIRECT_URI = 'https://rp.example.test/callback';
const CAROL = { username: 'carol', password: 'carol-idp-password', attributes: { email: ['carol@sealed.example.org'] } };
const DAN = { username: 'dan', password: 'dan-idp-password', attributes: { email: ['dan@plain.example.org'] } };
const UNDECRYPTABLE = 'the EncryptedAssertion could not be decrypted';
const ENCRYPTION_PAGE = /could not be accepted: it was not encrypted as agreed, or could not be decrypted/;

describe('SAML encrypted assertions', function () {
  this.timeout(120_000);
  let gh: TestGatehouse;
  let sealed: SamlIdp;
  let plain: SamlIdp;
  let rp: oidc.Configuration;
  let work: string;
  let spEnc: TestKey;
  let forgedKey: TestKey;
  let otherKey: TestKey;
  let realXml = '';
  const forgedEntityId = 'https://forged-idp.example.test/idp';
  const sp = (id: string) => ({ entityId: `${gh.issuer}/federation/saml/${id}/metadata`, acs: `${gh.issuer}/federation/saml/${id}/acs` });

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'gatehouse-saml-enc-'));
    gh = await bootGatehouse();
    spEnc = await makeTestKey(work, 'sp-encryption');
    forgedKey = await makeTestKey(work, 'forged-idp');
    otherKey = await makeTestKey(work, 'someone-else');
    await writeFile(join(work, 'enc.key'), spEnc.keyPem);
    await writeFile(join(work, 'enc.crt'), spEnc.certPem);
    sealed = await startSamlIdp({ spEntityId: sp('sealed').entityId, acsUrl: sp('sealed').acs, spCertPem: spEnc.certPem, encryptAssertions: true, users: [CAROL] });
    // 'plainstrict' is the same IdP with requireEncryptedAssertions: same SP entityID, its own ACS
    plain = await startSamlIdp({ spEntityId: sp('plain').entityId, acsUrl: sp('plain').acs, extraAcsUrls: [sp('plainstrict').acs], users: [DAN] });
    await writeFile(join(work, 'sealed.xml'), sealed.metadataXml);
    await writeFile(join(work, 'plain.xml'), plain.metadataXml);
    await writeFile(join(work, 'forged.xml'), idpMetadata(forgedEntityId, 'http://127.0.0.1:9/forged-sso', forgedKey.certPem));
    const file = join(work, 'federation.json');
    await writeFile(file, JSON.stringify({
      saml: {
        encryptionKeyFile: join(work, 'enc.key'),
        encryptionCertificateFile: join(work, 'enc.crt'),
        idps: [
          { id: 'sealed', name: 'Sealed SSO', metadataFile: join(work, 'sealed.xml'), requireEncryptedAssertions: true, claims: { email: 'email' } },
          { id: 'plain', name: 'Plain SSO', metadataFile: join(work, 'plain.xml'), claims: { email: 'email' } },
          { id: 'plainstrict', name: 'Plain Strict', metadataFile: join(work, 'plain.xml'), requireEncryptedAssertions: true, spEntityId: sp('plain').entityId, claims: { email: 'email' } },
          { id: 'forged', name: 'Forged IdP', metadataFile: join(work, 'forged.xml'), claims: { email: 'email' } },
          { id: 'forgedstrict', name: 'Forged Strict', metadataFile: join(work, 'forged.xml'), requireEncryptedAssertions: true, claims: { email: 'email' } },
        ],
      },
    }));
    await gh.restart({ FEDERATION_FILE: file });
    const client = await gh.context.clients.create({
      client_name: 'Encryption RP', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic',
    });
    rp = await oidc.discovery(new URL(gh.issuer), client.client_id, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
  });
  after(async () => {
    await gh?.close();
    await sealed?.stop();
    await plain?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && sealed) console.error(await sealed.logs());
  });

  async function authorizationUrl() {
    const verifier = oidc.randomPKCECodeVerifier();
    return oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT_URI, scope: 'openid email', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    }).href;
  }

  /** The whole sign-in at a SimpleSAMLphp IdP: its auto-posted response and the ACS's answer. */
  async function signInAt(agent: UserAgent, idpId: string, idp: SamlIdp, user: { username: string; password: string }) {
    const login = await agent.open(await authorizationUrl());
    const out = await agent.submit(login, formAction(login.html, new RegExp(`/federated/${idpId}$`)), {}, (u) => u.startsWith(idp.ssoRedirectUrl));
    let page = await agent.open(out.url);
    const authState = /name="AuthState"\s+value="([^"]*)"/.exec(page.html)?.[1]?.replace(/&amp;/g, '&');
    assert.ok(authState, `no IdP login form: ${page.status} ${page.html.slice(0, 500)}`);
    const action = /<form[^>]*action="([^"]*)"/.exec(page.html.slice(page.html.indexOf('AuthState') - 2000))?.[1] ?? '';
    page = await agent.submit(page, action.replace(/&amp;/g, '&'), { AuthState: authState, username: user.username, password: user.password });
    const acs = (/<form[^>]*action="([^"]+)"/.exec(page.html)?.[1] ?? '').replace(/&amp;/g, '&');
    const fields = hiddenFields(page.html, acs);
    assert.ok(fields.SAMLResponse, `no SAMLResponse in ${page.html.slice(0, 1000)}`);
    const res = await post(agent, acs, fields);
    return { xml: Buffer.from(fields.SAMLResponse, 'base64').toString('utf8'), res };
  }

  const post = (agent: UserAgent, acs: string, fields: Record<string, string>) =>
    agent.fetch(acs, { method: 'POST', body: new URLSearchParams(fields), headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' } });

  async function finish(agent: UserAgent, res: Response): Promise<void> {
    assert.equal(res.status, 303, await res.clone().text());
    const atClient = (u: string) => u.startsWith(REDIRECT_URI);
    let page: Page = await agent.open(new URL(res.headers.get('location')!, gh.issuer).href, atClient);
    if (!atClient(page.url)) page = await agent.submit(page, formAction(page.html, /\/consent$/), {}, atClient);
    assert.ok(atClient(page.url), `${page.status} ${page.url} ${page.html.slice(0, 500)}`);
  }

  /** Refused with a 400 page (no 500, no account, no session); the audit event's reason and category. */
  async function expectRefused(agent: UserAgent, acs: string, fields: Record<string, string>, what: string) {
    const accounts = await gh.context.store.accounts.count();
    const before = (await gh.context.store.audit.query({ types: ['federation.saml.refused'] })).length;
    const res = await post(agent, acs, fields);
    const html = await res.text();
    assert.equal(res.status, 400, `${what}: ${res.status} ${html.slice(0, 300)}`);
    assert.match(html, /could not be accepted/, what);
    assert.ok(!/stack|Error:\s*at /i.test(html), 'no stack trace');
    assert.equal(await gh.context.store.accounts.count(), accounts, `${what}: no account created`);
    assert.ok(![...agent.cookies.keys()].some((c) => c.startsWith('_session')), `${what}: no session`);
    const events = await gh.context.store.audit.query({ types: ['federation.saml.refused'] });
    assert.equal(events.length, before + 1, `${what}: one audit event`);
    const event = events.at(-1)!;
    return { html, reason: String(event.reason), category: (event.details as { category?: string }).category };
  }

  it('publishes the encryption certificate in the SP metadata (KeyDescriptor use="encryption")', async () => {
    const xml = await (await fetch(`${gh.issuer}/federation/saml/sealed/metadata`)).text();
    const body = spEnc.certPem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
    assert.match(xml, /<KeyDescriptor use="encryption">[\s\S]*?<\/KeyDescriptor>/);
    const descriptor = /<KeyDescriptor use="encryption">([\s\S]*?)<\/KeyDescriptor>/.exec(xml)?.[1] ?? '';
    assert.equal(descriptor.replace(/<[^>]+>|\s+/g, ''), body);
    // SAML metadata §2.4.1.1: the algorithms accepted, GCM first
    assert.match(descriptor, /<\/ds:KeyInfo><EncryptionMethod Algorithm="http:\/\/www\.w3\.org\/2009\/xmlenc11#aes256-gcm"\/>/);
  });

  it('accepts an assertion SimpleSAMLphp encrypted for the SP, end to end', async () => {
    const agent = new UserAgent();
    const { xml, res } = await signInAt(agent, 'sealed', sealed, CAROL);
    assert.match(xml, /<saml:EncryptedAssertion\b/);
    assert.ok(!/<saml:Assertion\b/.test(xml), 'nothing in clear');
    await finish(agent, res);
    const account = await gh.context.store.accounts.findByEmail('carol@sealed.example.org');
    assert.ok(account, 'account created from the decrypted assertion');
  });

  it('refuses a plain assertion from a real IdP where requireEncryptedAssertions is set, and accepts it where not', async () => {
    const refused = await signInAt(new UserAgent(), 'plainstrict', plain, DAN);
    const html = await refused.res.text();
    assert.equal(refused.res.status, 400, html.slice(0, 300));
    assert.match(html, ENCRYPTION_PAGE);
    const agent = new UserAgent();
    const accepted = await signInAt(agent, 'plain', plain, DAN);
    await finish(agent, accepted.res);
    realXml = accepted.xml;
  });

  describe('crafted responses (signed with the forged IdP key, encrypted with node:crypto)', () => {
    before(async () => {
      if (!realXml) realXml = (await signInAt(new UserAgent(), 'plain', plain, DAN)).xml;
    });

    async function forgedRequest(agent: UserAgent, idpId = 'forged') {
      const login = await agent.open(await authorizationUrl());
      const out = await agent.submit(login, formAction(login.html, new RegExp(`/federated/${idpId}$`)), {}, (u) => u.startsWith('http://127.0.0.1:9/forged-sso'));
      return authnRequestFrom(out.url);
    }
    const id = () => `_${randomBytes(16).toString('hex')}`;
    function craft(request: { id: string }, idpId = 'forged') {
      const person = realXml.replace(/>dan@plain\.example\.org</g, `>someone-${randomBytes(4).toString('hex')}@forged.example.test<`);
      return rewrite(person, {
        issuer: forgedEntityId, destination: sp(idpId).acs, audience: sp(idpId).entityId, inResponseTo: request.id,
        assertionId: id(), responseId: id(), notOnOrAfter: Date.now() + 5 * 60_000,
      });
    }
    const fieldsFor = (xml: string, relayState: string) => ({ SAMLResponse: Buffer.from(xml).toString('base64'), RelayState: relayState });
    const signedAssertion = (xml: string) => sign(xml, forgedKey, { assertion: true, response: false });

    const accepted: [string, (r: { id: string }) => string][] = [
      ['AES-256-GCM content, RSA-OAEP-MGF1P key', (r) => encryptAssertion(signedAssertion(craft(r)), spEnc.certPem, { content: 'aes256-gcm', transport: 'mgf1p' })],
      ['AES-128-CBC content, RSA-OAEP-MGF1P key', (r) => encryptAssertion(signedAssertion(craft(r)), spEnc.certPem, { content: 'aes128-cbc', transport: 'mgf1p' })],
      ['AES-256-CBC content, xmlenc11 RSA-OAEP (SHA-256, MGF1-SHA256) key', (r) => encryptAssertion(signedAssertion(craft(r)), spEnc.certPem, { content: 'aes256-cbc', transport: 'oaep11-sha256' })],
      ['AES-128-GCM, and the Response signed over the EncryptedAssertion too', (r) =>
        sign(encryptAssertion(signedAssertion(craft(r)), spEnc.certPem, { content: 'aes128-gcm', transport: 'oaep11-sha256' }), forgedKey, { assertion: false, response: true })],
    ];
    for (const [what, build] of accepted) {
      it(`accepts: ${what}`, async () => {
        const agent = new UserAgent();
        const request = await forgedRequest(agent);
        await finish(agent, await post(agent, sp('forged').acs, fieldsFor(build(request), request.relayState)));
      });
    }

    const gcm = { content: 'aes256-gcm', transport: 'mgf1p' } as const;
    const cbc = { content: 'aes128-cbc', transport: 'mgf1p' } as const;
    const refused: [string, (r: { id: string }) => string, RegExp, string][] = [
      ['the same assertion with its signature removed, then encrypted', (r) => encryptAssertion(stripSignatures(craft(r)), spEnc.certPem, gcm), /the Assertion is not signed|FAILED_TO_VERIFY_SIGNATURE/, 'signature'],
      ['an unsigned assertion, encrypted, in a Response signed over the ciphertext', (r) =>
        sign(encryptAssertion(stripSignatures(craft(r)), spEnc.certPem, gcm), forgedKey, { assertion: false, response: true }), /the Assertion is not signed|FAILED_TO_VERIFY_SIGNATURE/, 'signature'],
      ['an assertion signed by a key the metadata does not hold, encrypted', (r) =>
        encryptAssertion(sign(craft(r), otherKey, { assertion: true, response: false }), spEnc.certPem, gcm), /signature verification failed|ERROR_UNMATCH_CERTIFICATE/, 'signature'],
      ['a Response signature that does not cover the EncryptedAssertion sent (ciphertext swapped after signing)', (r) => {
        const signedResponse = sign(encryptAssertion(signedAssertion(craft(r)), spEnc.certPem, gcm), forgedKey, { assertion: false, response: true });
        const other = encryptAssertion(signedAssertion(craft(r)), spEnc.certPem, gcm);
        const enc = (x: string) => /<saml:EncryptedAssertion>[\s\S]*<\/saml:EncryptedAssertion>/.exec(x)?.[0] ?? '';
        return signedResponse.replace(enc(signedResponse), enc(other));
      }, /signature verification failed/, 'signature'],
      ['an EncryptedAssertion alongside a plain signed Assertion', (r) => {
        const signed = signedAssertion(craft(r));
        const enc = /<saml:EncryptedAssertion>[\s\S]*<\/saml:EncryptedAssertion>/.exec(encryptAssertion(signed, spEnc.certPem, gcm))?.[0] ?? '';
        return signed.replace(/<saml:Assertion\b/, `${enc}<saml:Assertion`);
      }, /EncryptedAssertion alongside an Assertion/, 'malformed'],
      ['two EncryptedAssertions', (r) => {
        const once = encryptAssertion(signedAssertion(craft(r)), spEnc.certPem, gcm);
        const enc = /<saml:EncryptedAssertion>[\s\S]*<\/saml:EncryptedAssertion>/.exec(once)?.[0] ?? '';
        return once.replace(enc, enc + enc);
      }, /exactly one EncryptedAssertion/, 'malformed'],
      ['an encrypted assertion wrapping a second Assertion inside it', (r) => {
        const signed = signedAssertion(craft(r));
        const inner = /<saml:Assertion\b[\s\S]*<\/saml:Assertion>/.exec(signed)?.[0] ?? '';
        const wrapped = signed.replace(/(<saml:SubjectConfirmationData\b[^>]*?)\/>/, `$1>${inner.replace(/ID="[^"]+"/, `ID="${id()}"`)}</saml:SubjectConfirmationData>`);
        return encryptAssertion(wrapped, spEnc.certPem, gcm);
      }, /./, ''],
      ['garbage ciphertext', (r) => replaceContentCipher(encryptAssertion(signedAssertion(craft(r)), spEnc.certPem, gcm), () => randomBytes(200)), new RegExp(UNDECRYPTABLE), 'encryption'],
      ['a GCM ciphertext with one bit flipped (tag fails)', (r) =>
        replaceContentCipher(encryptAssertion(signedAssertion(craft(r)), spEnc.certPem, gcm), (v) => { v[20] = (v[20] as number) ^ 1; return v; }), new RegExp(UNDECRYPTABLE), 'encryption'],
      ['a CBC ciphertext whose last block is changed (padding fails)', (r) =>
        replaceContentCipher(encryptAssertion(signedAssertion(craft(r)), spEnc.certPem, cbc), (v) => { v[v.length - 1] = (v[v.length - 1] as number) ^ 0x55; return v; }), new RegExp(UNDECRYPTABLE), 'encryption'],
      ['a CBC ciphertext with a changed IV (decrypts to XML that is not well-formed)', (r) =>
        replaceContentCipher(encryptAssertion(signedAssertion(craft(r)), spEnc.certPem, cbc), (v) => { v[0] = (v[0] as number) ^ 0x1c; return v; }), new RegExp(UNDECRYPTABLE), 'encryption'],
      ['a key encrypted for another certificate', (r) => encryptAssertion(signedAssertion(craft(r)), otherKey.certPem, gcm), new RegExp(UNDECRYPTABLE), 'encryption'],
      ['an unknown content algorithm (3DES)', (r) => encryptAssertion(signedAssertion(craft(r)), spEnc.certPem, { ...cbc, contentUri: 'http://www.w3.org/2001/04/xmlenc#tripledes-cbc' }), /content encryption algorithm not accepted/, 'encryption'],
      ['RSA PKCS#1 v1.5 key transport', (r) => encryptAssertion(signedAssertion(craft(r)), spEnc.certPem, { ...gcm, transportUri: 'http://www.w3.org/2001/04/xmlenc#rsa-1_5' }), /key transport algorithm not accepted/, 'encryption'],
      ['xmlenc11 RSA-OAEP with a SHA-256 digest but MGF1-SHA1 (not unwrapped by hand)', (r) => encryptAssertion(signedAssertion(craft(r)), spEnc.certPem, {
        content: 'aes256-gcm', transport: 'oaep11-sha256',
        transportParams: '<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><xenc11:MGF xmlns:xenc11="http://www.w3.org/2009/xmlenc11#" Algorithm="http://www.w3.org/2009/xmlenc11#mgf1sha1"/>',
      }), /OAEP digest sha256 and MGF1-sha1 is not supported/, 'encryption'],
    ];
    for (const [what, build, reason, category] of refused) {
      it(`refuses: ${what}`, async () => {
        const agent = new UserAgent();
        const request = await forgedRequest(agent);
        const got = await expectRefused(agent, sp('forged').acs, fieldsFor(build(request), request.relayState), what);
        assert.match(got.reason, reason);
        if (category) assert.equal(got.category, category, got.reason);
        if (category === 'encryption') assert.match(got.html, ENCRYPTION_PAGE);
      });
    }

    it('answers every decryption failure the same way (page and audit reason): no oracle', async () => {
      const pages = new Set<string>();
      const reasons = new Set<string>();
      const changes: [typeof gcm | typeof cbc, (v: Buffer) => Buffer][] = [
        [gcm, () => randomBytes(64)], [cbc, (v) => { v[v.length - 1] = (v[v.length - 1] as number) ^ 0x55; return v; }],
        [cbc, (v) => { v[0] = (v[0] as number) ^ 0x1c; return v; }], [cbc, (v) => v.subarray(0, 48)],
      ];
      for (const [alg, change] of changes) {
        const agent = new UserAgent();
        const request = await forgedRequest(agent);
        const got = await expectRefused(agent, sp('forged').acs, fieldsFor(replaceContentCipher(encryptAssertion(signedAssertion(craft(request)), spEnc.certPem, alg), change), request.relayState), 'oracle');
        // the same page but for the per-request reference
        pages.add(got.html.replace(/Reference: <code>[^<]*<\/code>/, '').replace(/nonce="[^"]*"/g, ''));
        reasons.add(got.reason);
      }
      assert.deepEqual([...reasons], [UNDECRYPTABLE]);
      assert.equal(pages.size, 1, [...pages].join('\n=====\n'));
    });

    it('refuses a plain, validly signed assertion where requireEncryptedAssertions is set', async () => {
      const agent = new UserAgent();
      const request = await forgedRequest(agent, 'forgedstrict');
      const got = await expectRefused(agent, sp('forgedstrict').acs, fieldsFor(signedAssertion(craft(request, 'forgedstrict')), request.relayState), 'plain');
      assert.match(got.reason, /not encrypted/);
      assert.equal(got.category, 'encryption');
      // and the same IdP entry accepts it encrypted
      const next = new UserAgent();
      const r2 = await forgedRequest(next, 'forgedstrict');
      await finish(next, await post(next, sp('forgedstrict').acs, fieldsFor(encryptAssertion(signedAssertion(craft(r2, 'forgedstrict')), spEnc.certPem, gcm), r2.relayState)));
    });
  });

  it('refuses at start-up requireEncryptedAssertions without an SP encryption key, and a half key pair', async () => {
    const bare = join(work, 'no-key.json');
    await writeFile(bare, JSON.stringify({ saml: { idps: [{ id: 'x', name: 'X', metadataFile: join(work, 'plain.xml'), requireEncryptedAssertions: true, claims: { email: 'email' } }] } }));
    assert.throws(() => loadConfig({ NODE_ENV: 'test', FEDERATION_FILE: bare }), /saml\.encryptionKeyFile: got nothing; expected the SP encryption key files, because saml\.idps\[0\] sets requireEncryptedAssertions/);
    const half = join(work, 'half.json');
    await writeFile(half, JSON.stringify({ saml: { encryptionKeyFile: join(work, 'enc.key'), idps: [] } }));
    assert.throws(() => loadConfig({ NODE_ENV: 'test', FEDERATION_FILE: half }), /encryptionCertificateFile: got nothing; expected encryptionKeyFile and encryptionCertificateFile together/);
    const mismatched = join(work, 'mismatched.json');
    await writeFile(join(work, 'other.crt'), otherKey.certPem);
    await writeFile(mismatched, JSON.stringify({ saml: { encryptionKeyFile: join(work, 'enc.key'), encryptionCertificateFile: join(work, 'other.crt'), idps: [] } }));
    assert.throws(() => loadConfig({ NODE_ENV: 'test', FEDERATION_FILE: mismatched }), /saml\.encryptionKeyFile: got \(hidden\); expected the private key of encryptionCertificateFile/);
  });
});
