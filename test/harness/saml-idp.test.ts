import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, sign as cryptoSign, verify as cryptoVerify, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { NAMEID_EMAIL, NAMEID_PERSISTENT, startSamlIdp, type SamlIdp } from '../helpers/services/saml-idp.js';
import { UserAgent } from '../helpers/user-agent.js';

const execFileP = promisify(execFile);

const SP_ENTITY_ID = 'https://sp.gatehouse.test/saml/metadata';
const ACS_URL = 'https://sp.gatehouse.test/saml/acs';
const SLO_URL = 'https://sp.gatehouse.test/saml/slo';

const ALICE = {
  username: 'alice',
  password: 'correct horse battery staple',
  attributes: {
    email: ['alice@example.org'],
    givenName: ['Alice'],
    sn: ['Liddell'],
    groups: ['admins', 'staff'],
  },
};

// ---------------------------------------------------------------------------------------------
// The agent (test/helpers/user-agent.ts) follows redirects by hand, so every hop is visible to the test.

/** Follows redirects within the starting origin; returns the first redirect that leaves it (e.g. to the SP). */
async function redirectOut(agent: UserAgent, url: string): Promise<URL> {
  const origin = new URL(url).origin;
  const page = await agent.open(url, (next) => new URL(next).origin !== origin);
  assert.notEqual(new URL(page.url).origin, origin, `expected a redirect away from ${origin}, got ${page.status} at ${page.url}\n${page.html}`);
  return new URL(page.url);
}

// ---------------------------------------------------------------------------------------------
// Minimal HTML / XML helpers (regex-based; the documents come from a known server).

function decodeEntities(s: string): string {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function attr(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`, 'i').exec(tag);
  const raw = m?.[1] ?? m?.[2];
  return raw === undefined ? undefined : decodeEntities(raw);
}

interface HtmlForm { action: string; method: string; fields: Record<string, string> }

function parseForms(html: string, pageUrl: string): HtmlForm[] {
  const forms: HtmlForm[] = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const open = m[1] ?? '';
    const inner = m[2] ?? '';
    const fields: Record<string, string> = {};
    for (const input of inner.matchAll(/<input\b[^>]*>/gi)) {
      const name = attr(input[0], 'name');
      if (name !== undefined) fields[name] = attr(input[0], 'value') ?? '';
    }
    forms.push({
      action: new URL(attr(` ${open}`, 'action') ?? '', pageUrl).toString(),
      method: (attr(` ${open}`, 'method') ?? 'get').toUpperCase(),
      fields,
    });
  }
  return forms;
}

/** Attribute values from a SAML AttributeStatement, by Attribute Name. */
function samlAttributes(xml: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const m of xml.matchAll(/<saml:Attribute\b([^>]*)>([\s\S]*?)<\/saml:Attribute>/g)) {
    const name = attr(` ${m[1] ?? ''}`, 'Name');
    if (name === undefined) continue;
    out[name] = [...(m[2] ?? '').matchAll(/<saml:AttributeValue\b[^>]*>([\s\S]*?)<\/saml:AttributeValue>/g)].map((v) =>
      decodeEntities(v[1] ?? ''),
    );
  }
  return out;
}

function firstTag(xml: string, qname: string): string {
  const m = new RegExp(`<${qname}\\b[^>]*>`).exec(xml);
  assert.ok(m, `no <${qname}> in\n${xml}`);
  return m[0];
}

function pemBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

// ---------------------------------------------------------------------------------------------
// SAML request construction and signature checking.

function buildAuthnRequest(opts: { id: string; nameIdFormat?: string }): string {
  const policy = opts.nameIdFormat ? `<samlp:NameIDPolicy Format="${opts.nameIdFormat}" AllowCreate="true"/>` : '';
  const xml =
    '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"' +
    ` ID="${opts.id}" Version="2.0" IssueInstant="${new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')}"` +
    ` Destination="%DEST%" AssertionConsumerServiceURL="${ACS_URL}"` +
    ' ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">' +
    `<saml:Issuer>${SP_ENTITY_ID}</saml:Issuer>${policy}</samlp:AuthnRequest>`;
  return xml;
}

/** HTTP-Redirect binding: raw DEFLATE, base64, URL-encode. */
function redirectBindingUrl(endpoint: string, param: 'SAMLRequest' | 'SAMLResponse', xml: string, relayState?: string): string {
  const url = new URL(endpoint);
  url.searchParams.set(param, deflateRawSync(Buffer.from(xml.replace('%DEST%', endpoint), 'utf8')).toString('base64'));
  if (relayState !== undefined) url.searchParams.set('RelayState', relayState);
  return url.toString();
}

const newId = (): string => `_${randomBytes(20).toString('hex')}`;

const RESPONSE_SIG = "/*[local-name()='Response']/*[local-name()='Signature']";
const ASSERTION_SIG = "//*[local-name()='Assertion']/*[local-name()='Signature']";

// ---------------------------------------------------------------------------------------------

describe('SAML IdP test fixture (SimpleSAMLphp via php -S)', function () {
  this.timeout(60_000);

  let idp: SamlIdp;
  let work: string;
  let startupMs = 0;

  before(async function () {
    work = await mkdtemp(join(tmpdir(), 'gatehouse-saml-idp-test-'));
    const t0 = Date.now();
    idp = await startSamlIdp({ spEntityId: SP_ENTITY_ID, acsUrl: ACS_URL, sloUrl: SLO_URL, users: [ALICE] });
    startupMs = Date.now() - t0;
  });

  after(async function () {
    await idp?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && idp) console.error(await idp.logs());
  });

  /** Run xmlsec1 --verify; resolves true on a valid signature, false otherwise. */
  async function xmlsecVerify(xml: string, certPem: string, nodeXpath: string): Promise<boolean> {
    const tag = randomBytes(6).toString('hex');
    const xmlFile = join(work, `${tag}.xml`);
    const certFile = join(work, `${tag}.crt`);
    await writeFile(xmlFile, xml);
    await writeFile(certFile, certPem);
    const args = [
      '--verify',
      '--pubkey-cert-pem', certFile,
      '--id-attr:ID', 'urn:oasis:names:tc:SAML:2.0:protocol:Response',
      '--id-attr:ID', 'urn:oasis:names:tc:SAML:2.0:assertion:Assertion',
      '--node-xpath', nodeXpath,
      xmlFile,
    ];
    try {
      await execFileP('xmlsec1', args);
      return true;
    } catch {
      return false;
    }
  }

  /** SP-initiated login up to the auto-submitting POST form; returns the decoded SAMLResponse. */
  async function login(agent: UserAgent, requestId: string, relayState: string, nameIdFormat?: string) {
    const start = redirectBindingUrl(idp.ssoRedirectUrl, 'SAMLRequest', buildAuthnRequest({ id: requestId, nameIdFormat }), relayState);
    let page = await agent.open(start);
    assert.equal(page.status, 200, page.html);
    let forms = parseForms(page.html, page.url);

    const loginForm = forms.find((f) => 'AuthState' in f.fields && 'password' in f.fields);
    if (loginForm) {
      assert.ok(page.url.startsWith(idp.loginUrl), `login page at ${page.url}`);
      assert.ok('username' in loginForm.fields, 'login form has a username field');
      page = await agent.post(loginForm.action, { ...loginForm.fields, username: ALICE.username, password: ALICE.password });
      assert.equal(page.status, 200, page.html);
      forms = parseForms(page.html, page.url);
    }

    const post = forms.find((f) => 'SAMLResponse' in f.fields);
    assert.ok(post, `no SAMLResponse form in:\n${page.html}`);
    assert.equal(post.method, 'POST');
    assert.equal(post.action, ACS_URL);
    assert.equal(post.fields.RelayState, relayState);
    const xml = Buffer.from(post.fields.SAMLResponse ?? '', 'base64').toString('utf8');
    return { xml, sawLoginForm: loginForm !== undefined };
  }

  it('starts quickly and serves IdP metadata with a signing certificate', async function () {
    console.log(`      (IdP started in ${startupMs} ms at ${idp.baseUrl})`);
    assert.match(idp.baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/);

    const res = await fetch(`${idp.baseUrl}/saml2/idp/metadata.php`);
    assert.equal(res.status, 200);
    const live = await res.text();
    for (const xml of [idp.metadataXml, live]) {
      const ed = firstTag(xml, 'md:EntityDescriptor');
      assert.equal(attr(ed, 'entityID'), idp.entityId);
      assert.match(xml, /<md:IDPSSODescriptor\b[^>]*protocolSupportEnumeration="urn:oasis:names:tc:SAML:2\.0:protocol"/);
      const signingKey = /<md:KeyDescriptor use="signing">([\s\S]*?)<\/md:KeyDescriptor>/.exec(xml);
      assert.ok(signingKey, 'signing KeyDescriptor');
      const cert = /<ds:X509Certificate>([^<]+)<\/ds:X509Certificate>/.exec(signingKey[1] ?? '');
      assert.equal(cert?.[1]?.replace(/\s+/g, ''), pemBody(idp.signingCertPem));
      assert.ok(
        xml.includes(`<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${idp.ssoRedirectUrl}"/>`),
      );
      assert.ok(
        xml.includes(`<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${idp.ssoPostUrl}"/>`),
      );
      assert.ok(xml.includes(`Location="${idp.sloUrl}"`));
      assert.ok(xml.includes(`<md:NameIDFormat>${NAMEID_PERSISTENT}</md:NameIDFormat>`));
    }
  });

  it('rejects a wrong password by re-showing the login form', async function () {
    const agent = new UserAgent();
    const start = redirectBindingUrl(idp.ssoRedirectUrl, 'SAMLRequest', buildAuthnRequest({ id: newId() }), 'rs-bad');
    const page = await agent.open(start);
    const form = parseForms(page.html, page.url).find((f) => 'AuthState' in f.fields);
    assert.ok(form);
    const again = await agent.post(form.action, { ...form.fields, username: ALICE.username, password: 'wrong' });
    assert.equal(again.status, 200);
    assert.ok(!again.html.includes('SAMLResponse'));
    const retry = parseForms(again.html, again.url).find((f) => 'AuthState' in f.fields && 'password' in f.fields);
    assert.ok(retry, 'login form shown again');
    assert.match(again.html, /Incorrect username or password|WRONGUSERPASS/i);
  });

  describe('SP-initiated login over HTTP-Redirect → HTTP-POST', function () {
    const agent = new UserAgent();
    const requestId = newId();
    let xml = '';

    before(async function () {
      const result = await login(agent, requestId, 'relay-123');
      assert.ok(result.sawLoginForm, 'first login must show the UserPass form');
      xml = result.xml;
    });

    it('returns a successful Response to the ACS, in response to our request', function () {
      const response = firstTag(xml, 'samlp:Response');
      assert.equal(attr(response, 'InResponseTo'), requestId);
      assert.equal(attr(response, 'Destination'), ACS_URL);
      assert.match(xml, /<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2\.0:status:Success"\/>/);
      assert.equal(/<saml:Issuer>([^<]*)<\/saml:Issuer>/.exec(xml)?.[1], idp.entityId);
    });

    it('signs both the Response and the Assertion (enveloped signatures)', function () {
      // Response: Issuer, then ds:Signature as a direct child.
      assert.match(xml, /^<samlp:Response\b[^>]*><saml:Issuer>[^<]*<\/saml:Issuer><ds:Signature\b/);
      // Assertion: Issuer, then ds:Signature.
      assert.match(xml, /<saml:Assertion\b[^>]*><saml:Issuer>[^<]*<\/saml:Issuer><ds:Signature\b/);
      const responseId = attr(firstTag(xml, 'samlp:Response'), 'ID');
      const assertionId = attr(firstTag(xml, 'saml:Assertion'), 'ID');
      assert.ok(xml.includes(`<ds:Reference URI="#${responseId}">`));
      assert.ok(xml.includes(`<ds:Reference URI="#${assertionId}">`));
      assert.ok(xml.includes('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256'));
    });

    it('has an Assertion for our SP: audience, subject confirmation, persistent NameID', function () {
      const assertion = /<saml:Assertion\b[\s\S]*<\/saml:Assertion>/.exec(xml)?.[0] ?? '';
      assert.ok(assertion);
      assert.deepEqual(
        [...assertion.matchAll(/<saml:Audience>([^<]*)<\/saml:Audience>/g)].map((m) => m[1]),
        [SP_ENTITY_ID],
      );
      const scd = firstTag(assertion, 'saml:SubjectConfirmationData');
      assert.equal(attr(scd, 'InResponseTo'), requestId);
      assert.equal(attr(scd, 'Recipient'), ACS_URL);
      const nameId = /<saml:NameID\b([^>]*)>([^<]+)<\/saml:NameID>/.exec(assertion);
      assert.ok(nameId);
      assert.equal(attr(` ${nameId[1] ?? ''}`, 'Format'), NAMEID_PERSISTENT);
      assert.match(nameId[2] ?? '', /^[0-9a-f]{40}$/);
      assert.match(assertion, /<saml:AuthnStatement\b[^>]*SessionIndex="_[0-9a-f]+"/);
    });

    it('releases the user attributes, multi-valued groups included', function () {
      const attrs = samlAttributes(xml);
      assert.deepEqual(attrs.email, ['alice@example.org']);
      assert.deepEqual(attrs.givenName, ['Alice']);
      assert.deepEqual(attrs.sn, ['Liddell']);
      assert.deepEqual(attrs.groups, ['admins', 'staff']);
      assert.deepEqual(attrs.uid, ['alice']);
    });

    it('verifies with xmlsec1 against the IdP certificate, and only that certificate', async function () {
      assert.equal(await xmlsecVerify(xml, idp.signingCertPem, RESPONSE_SIG), true, 'Response signature');
      assert.equal(await xmlsecVerify(xml, idp.signingCertPem, ASSERTION_SIG), true, 'Assertion signature');

      // Negative controls: another key must not verify, and tampering must break the right signature.
      const other = join(work, 'other');
      await execFileP('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=impostor', '-keyout', `${other}.key`, '-out', `${other}.crt`]);
      const otherPem = await readFile(`${other}.crt`, 'utf8');
      assert.equal(await xmlsecVerify(xml, otherPem, RESPONSE_SIG), false, 'Response must not verify with another cert');
      assert.equal(await xmlsecVerify(xml, otherPem, ASSERTION_SIG), false, 'Assertion must not verify with another cert');

      const outsideAssertion = xml.replace(`Destination="${ACS_URL}"`, 'Destination="https://evil.example/acs"');
      assert.notEqual(outsideAssertion, xml);
      assert.equal(await xmlsecVerify(outsideAssertion, idp.signingCertPem, RESPONSE_SIG), false);
      assert.equal(await xmlsecVerify(outsideAssertion, idp.signingCertPem, ASSERTION_SIG), true);

      const insideAssertion = xml.replace('>admins<', '>root<');
      assert.notEqual(insideAssertion, xml);
      assert.equal(await xmlsecVerify(insideAssertion, idp.signingCertPem, ASSERTION_SIG), false);
    });

    it('reuses the IdP session (no login form) and honours NameIDPolicy emailAddress', async function () {
      for (const name of idp.sessionCookieNames) {
        assert.ok(agent.cookies.has(name), `IdP session cookie ${name}`);
      }
      const secondId = newId();
      const again = await login(agent, secondId, 'relay-2', NAMEID_EMAIL);
      assert.equal(again.sawLoginForm, false);
      assert.equal(attr(firstTag(again.xml, 'samlp:Response'), 'InResponseTo'), secondId);
      const nameId = /<saml:NameID\b([^>]*)>([^<]+)<\/saml:NameID>/.exec(again.xml);
      assert.equal(attr(` ${nameId?.[1] ?? ''}`, 'Format'), NAMEID_EMAIL);
      assert.equal(nameId?.[2], 'alice@example.org');
      assert.equal(await xmlsecVerify(again.xml, idp.signingCertPem, ASSERTION_SIG), true);
    });

    it('answers an SP-initiated LogoutRequest with a signed LogoutResponse at the SP SLO URL', async function () {
      const nameId = /<saml:NameID\b[^>]*>[^<]+<\/saml:NameID>/.exec(xml)?.[0];
      const sessionIndex = /SessionIndex="([^"]+)"/.exec(xml)?.[1];
      assert.ok(nameId && sessionIndex);
      const logoutId = newId();
      const logoutRequest =
        '<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"' +
        ` ID="${logoutId}" Version="2.0" IssueInstant="${new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')}" Destination="%DEST%">` +
        `<saml:Issuer>${SP_ENTITY_ID}</saml:Issuer>${nameId}<samlp:SessionIndex>${sessionIndex}</samlp:SessionIndex></samlp:LogoutRequest>`;
      const target = await redirectOut(agent, redirectBindingUrl(idp.sloUrl, 'SAMLRequest', logoutRequest, 'bye'));
      assert.equal(`${target.origin}${target.pathname}`, SLO_URL);
      assert.equal(target.searchParams.get('RelayState'), 'bye');
      assert.equal(target.searchParams.get('SigAlg'), 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
      // Redirect-binding signature: over the raw query 'SAMLResponse=..&RelayState=..&SigAlg=..'.
      const raw = new Map(target.search.slice(1).split('&').map((kv) => kv.split('=', 2) as [string, string]));
      const signed = ['SAMLResponse', 'RelayState', 'SigAlg'].map((k) => `${k}=${raw.get(k) ?? ''}`).join('&');
      const signature = Buffer.from(target.searchParams.get('Signature') ?? '', 'base64');
      const idpKey = new X509Certificate(idp.signingCertPem).publicKey;
      assert.equal(cryptoVerify('sha256', Buffer.from(signed), idpKey, signature), true, 'LogoutResponse query signature');
      const logoutResponse = inflateRawSync(Buffer.from(target.searchParams.get('SAMLResponse') ?? '', 'base64')).toString('utf8');
      const root = firstTag(logoutResponse, 'samlp:LogoutResponse');
      assert.equal(attr(root, 'InResponseTo'), logoutId);
      assert.match(logoutResponse, /urn:oasis:names:tc:SAML:2\.0:status:Success/);
    });
  });
  describe('signed AuthnRequests (second, concurrent instance with requireSignedRequests)', function () {
    let strict: SamlIdp;
    let spKeyPem = '';

    before(async function () {
      const base = join(work, 'sp');
      await execFileP('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=Gatehouse SP', '-keyout', `${base}.key`, '-out', `${base}.crt`]);
      spKeyPem = await readFile(`${base}.key`, 'utf8');
      strict = await startSamlIdp({
        spEntityId: SP_ENTITY_ID,
        acsUrl: ACS_URL,
        spCertPem: await readFile(`${base}.crt`, 'utf8'),
        requireSignedRequests: true,
        users: [ALICE],
      });
      assert.notEqual(strict.baseUrl, idp.baseUrl);
    });

    after(async function () {
      await strict?.stop();
    });

    afterEach(async function () {
      if (this.currentTest?.state === 'failed' && strict) console.error(await strict.logs());
    });

    /** HTTP-Redirect binding with a query-string signature (what samlify does for redirect requests). */
    function signedRedirect(endpoint: string, xml: string, relayState: string): string {
      const sigAlg = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
      const samlRequest = deflateRawSync(Buffer.from(xml.replace('%DEST%', endpoint), 'utf8')).toString('base64');
      const query = `SAMLRequest=${encodeURIComponent(samlRequest)}&RelayState=${encodeURIComponent(relayState)}&SigAlg=${encodeURIComponent(sigAlg)}`;
      const signature = cryptoSign('sha256', Buffer.from(query), spKeyPem).toString('base64');
      return `${endpoint}?${query}&Signature=${encodeURIComponent(signature)}`;
    }

    it('refuses an unsigned AuthnRequest', async function () {
      const page = await new UserAgent().open(redirectBindingUrl(strict.ssoRedirectUrl, 'SAMLRequest', buildAuthnRequest({ id: newId() }), 'x'));
      // SimpleSAMLphp 1.19 renders its error page with HTTP 200; the message is in the body (showerrors).
      assert.match(page.html, /Validation of received messages enabled, but no signature found on message/);
      assert.ok(!parseForms(page.html, page.url).some((f) => 'AuthState' in f.fields));
    });

    it('accepts a correctly signed AuthnRequest and logs the user in', async function () {
      const agent = new UserAgent();
      const id = newId();
      const page = await agent.open(signedRedirect(strict.ssoRedirectUrl, buildAuthnRequest({ id }), 'signed'));
      assert.equal(page.status, 200, page.html);
      const form = parseForms(page.html, page.url).find((f) => 'AuthState' in f.fields);
      assert.ok(form, page.html);
      const done = await agent.post(form.action, { ...form.fields, username: ALICE.username, password: ALICE.password });
      const post = parseForms(done.html, done.url).find((f) => 'SAMLResponse' in f.fields);
      assert.ok(post, done.html);
      const xml = Buffer.from(post.fields.SAMLResponse ?? '', 'base64').toString('utf8');
      assert.equal(attr(firstTag(xml, 'samlp:Response'), 'InResponseTo'), id);
      assert.equal(await xmlsecVerify(xml, strict.signingCertPem, RESPONSE_SIG), true);
      // Each instance has its own key: the first IdP's certificate must not verify this one.
      assert.equal(await xmlsecVerify(xml, idp.signingCertPem, RESPONSE_SIG), false);
    });
  });
});
