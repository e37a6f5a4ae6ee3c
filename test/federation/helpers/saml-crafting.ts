/**
 * Crafting SAML responses for refusal tests: start from a real response the IdP sent, change what a case
 * needs, and (where the case needs a validly signed but wrong document) sign it again with a test key
 * that a second, "forged" IdP entry trusts. The forged IdP is configured like any IdP, from metadata.
 */
import { execFile } from 'node:child_process';
import { constants, createCipheriv, publicEncrypt, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';
import { SignedXml } from 'xml-crypto';

const run = promisify(execFile);

export type TestKey = { keyPem: string; certPem: string };

export async function makeTestKey(dir: string, name: string): Promise<TestKey> {
  const base = join(dir, name);
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2', '-subj', `/CN=${name}`, '-keyout', `${base}.key`, '-out', `${base}.crt`]);
  return { keyPem: await readFile(`${base}.key`, 'utf8'), certPem: await readFile(`${base}.crt`, 'utf8') };
}

const certBody = (pem: string) => pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');

/** IdP metadata for the forged IdP: its own entityID, an SSO URL nobody answers, the test key. */
export function idpMetadata(entityId: string, ssoUrl: string, certPem: string): string {
  return `<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${entityId}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certBody(certPem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${ssoUrl}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`;
}

/** The AuthnRequest carried by an HTTP-Redirect binding URL (SAML bindings §3.4.4.1: DEFLATE + base64). */
export function authnRequestFrom(url: string): { id: string; relayState: string; xml: string } {
  const u = new URL(url);
  const xml = inflateRawSync(Buffer.from(u.searchParams.get('SAMLRequest') ?? '', 'base64')).toString('utf8');
  const id = /\bID="([^"]+)"/.exec(xml)?.[1];
  if (!id) throw new Error(`no AuthnRequest ID in ${xml}`);
  return { id, relayState: u.searchParams.get('RelayState') ?? '', xml };
}

export const stripSignatures = (xml: string) => xml.replace(/<ds:Signature\b[\s\S]*?<\/ds:Signature>/g, '');

const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';

/** Enveloped signature on the Assertion and/or the Response, placed after its Issuer (schema order). */
export function sign(xml: string, key: TestKey, what: { assertion: boolean; response: boolean }): string {
  let out = xml;
  const targets: ['Assertion' | 'Response', boolean][] = [['Assertion', what.assertion], ['Response', what.response]];
  for (const [element, wanted] of targets) {
    if (!wanted) continue;
    const sig = new SignedXml({ privateKey: key.keyPem, publicCert: key.certPem, signatureAlgorithm: RSA_SHA256, canonicalizationAlgorithm: EXC_C14N });
    const xpath = element === 'Response' ? "/*[local-name(.)='Response']" : "/*[local-name(.)='Response']/*[local-name(.)='Assertion']";
    sig.addReference({ xpath, transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', EXC_C14N], digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256' });
    sig.computeSignature(out, { prefix: 'ds', location: { reference: `${xpath}/*[local-name(.)='Issuer']`, action: 'after' } });
    out = sig.getSignedXml();
  }
  return out;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export type Rewrite = {
  issuer: string;
  destination: string;
  audience: string;
  inResponseTo?: string;
  assertionId: string;
  responseId: string;
  /** the assertion's validity window end (Conditions and SubjectConfirmationData), ms since epoch */
  notOnOrAfter: number;
};

/**
 * A real IdP response re-addressed: new issuer, destination/recipient, audience, IDs, InResponseTo and
 * times. Signatures are removed; sign() adds new ones where a case wants them.
 */
export function rewrite(realXml: string, r: Rewrite): string {
  let xml = stripSignatures(realXml);
  xml = xml.replace(/<saml:Issuer>[^<]*<\/saml:Issuer>/g, `<saml:Issuer>${r.issuer}</saml:Issuer>`);
  xml = xml.replace(/\bDestination="[^"]*"/, `Destination="${r.destination}"`).replace(/\bRecipient="[^"]*"/g, `Recipient="${r.destination}"`);
  xml = xml.replace(/<saml:Audience>[^<]*<\/saml:Audience>/g, `<saml:Audience>${r.audience}</saml:Audience>`);
  xml = r.inResponseTo === undefined ? xml.replace(/\s+InResponseTo="[^"]*"/g, '') : xml.replace(/\bInResponseTo="[^"]*"/g, `InResponseTo="${r.inResponseTo}"`);
  xml = xml.replace(/(<samlp:Response\b[^>]*\bID=")[^"]*"/, `$1${r.responseId}"`).replace(/(<saml:Assertion\b[^>]*\bID=")[^"]*"/, `$1${r.assertionId}"`);
  const now = Date.now();
  xml = xml.replace(/\b(IssueInstant|AuthnInstant)="[^"]*"/g, `$1="${iso(now)}"`);
  xml = xml.replace(/\bNotBefore="[^"]*"/g, `NotBefore="${iso(Math.min(now, r.notOnOrAfter) - 30_000)}"`);
  xml = xml.replace(/\bNotOnOrAfter="[^"]*"/g, `NotOnOrAfter="${iso(r.notOnOrAfter)}"`);
  xml = xml.replace(/\s+SessionNotOnOrAfter="[^"]*"/g, '');
  return xml;
}

const XENC = 'http://www.w3.org/2001/04/xmlenc#';
const XENC11 = 'http://www.w3.org/2009/xmlenc11#';

export type Encryption = {
  content: 'aes128-gcm' | 'aes256-gcm' | 'aes128-cbc' | 'aes256-cbc';
  /** mgf1p: xmlenc#rsa-oaep-mgf1p (SHA-1); oaep11-sha256: xmlenc11#rsa-oaep with SHA-256 digest and MGF1-SHA256 */
  transport: 'mgf1p' | 'oaep11-sha256';
  /** override the algorithm URIs written (for "unknown algorithm" cases) */
  contentUri?: string;
  transportUri?: string;
  /** override the children of the key EncryptionMethod (DigestMethod, MGF) */
  transportParams?: string;
};

/**
 * Replaces the Response's Assertion by an EncryptedAssertion for `certPem` (XML Encryption 1.1, as IdPs
 * write it: EncryptedKey inside EncryptedData's KeyInfo), with node:crypto. The Assertion is made
 * self-contained first (the saml, xs and xsi prefixes declared on it): exclusive C14N ignores that, so its
 * signature stays valid.
 */
export function encryptAssertion(xml: string, certPem: string, e: Encryption): string {
  const match = /<saml:Assertion\b[\s\S]*<\/saml:Assertion>/.exec(xml);
  if (!match) throw new Error('no Assertion to encrypt');
  let assertion = match[0];
  const declare: [string, string][] = [
    ['saml', 'urn:oasis:names:tc:SAML:2.0:assertion'], ['xs', 'http://www.w3.org/2001/XMLSchema'], ['xsi', 'http://www.w3.org/2001/XMLSchema-instance'],
  ];
  const startTag = /^<saml:Assertion\b[^>]*>/.exec(assertion)?.[0] ?? '';
  const extra = declare.filter(([p]) => !startTag.includes(`xmlns:${p}=`)).map(([p, uri]) => ` xmlns:${p}="${uri}"`).join('');
  assertion = assertion.replace(/^<saml:Assertion\b/, `<saml:Assertion${extra}`);

  const gcm = e.content.endsWith('gcm');
  const cek = randomBytes(e.content.startsWith('aes128') ? 16 : 32);
  let value: Buffer;
  if (gcm) {
    const iv = randomBytes(12);
    const c = createCipheriv(e.content.startsWith('aes128') ? 'aes-128-gcm' : 'aes-256-gcm', cek, iv);
    value = Buffer.concat([iv, c.update(assertion, 'utf8'), c.final(), c.getAuthTag()]);
  } else {
    const iv = randomBytes(16);
    const c = createCipheriv(e.content.startsWith('aes128') ? 'aes-128-cbc' : 'aes-256-cbc', cek, iv);
    value = Buffer.concat([iv, c.update(assertion, 'utf8'), c.final()]);
  }
  const hash = e.transport === 'mgf1p' ? 'sha1' : 'sha256';
  const wrapped = publicEncrypt({ key: certPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, cek);
  const contentUri = e.contentUri ?? (gcm ? `${XENC11}${e.content}` : `${XENC}${e.content}`);
  const transportUri = e.transportUri ?? (e.transport === 'mgf1p' ? `${XENC}rsa-oaep-mgf1p` : `${XENC11}rsa-oaep`);
  const transportParams = e.transportParams ?? (e.transport === 'mgf1p'
    ? '<ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/>'
    : `<ds:DigestMethod Algorithm="${XENC}sha256"/><xenc11:MGF xmlns:xenc11="${XENC11}" Algorithm="${XENC11}mgf1sha256"/>`);
  const encrypted = `<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc="${XENC}" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Type="${XENC}Element">`
    + `<xenc:EncryptionMethod Algorithm="${contentUri}"/>`
    + `<ds:KeyInfo><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="${transportUri}">${transportParams}</xenc:EncryptionMethod>`
    + `<xenc:CipherData><xenc:CipherValue>${wrapped.toString('base64')}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>`
    + `<xenc:CipherData><xenc:CipherValue>${value.toString('base64')}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml:EncryptedAssertion>`;
  return xml.replace(match[0], encrypted);
}

/** The CipherValue of the encrypted content replaced (garbage, a flipped byte, ...). */
export function replaceContentCipher(xml: string, change: (value: Buffer) => Buffer): string {
  return xml.replace(/(<\/xenc:EncryptedKey><\/ds:KeyInfo><xenc:CipherData><xenc:CipherValue>)([^<]+)(<)/, (_m, a: string, v: string, b: string) => `${a}${change(Buffer.from(v, 'base64')).toString('base64')}${b}`);
}
