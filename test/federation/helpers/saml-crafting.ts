/**
 * Crafting SAML responses for refusal tests: start from a real response the IdP sent, change what a case
 * needs, and (where the case needs a validly signed but wrong document) sign it again with a test key
 * that a second, "forged" IdP entry trusts. The forged IdP is configured like any IdP, from metadata.
 */
import { execFile } from 'node:child_process';
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
