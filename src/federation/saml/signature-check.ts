/**
 * Verifies one enveloped XML signature against the IdP's certificates from its metadata, never against
 * a certificate the message carries (KeyInfo is ignored), with modern algorithms only, and returns the
 * XML that the signature actually covers: callers read that, not the original document, so nothing
 * outside the signed element can be smuggled in (signature wrapping).
 */
import { SignedXml } from 'xml-crypto';
import { attr, one, SamlRejected } from './saml-xml.js';

const SIGNATURE_ALGORITHMS = new Set([
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
]);
const DIGEST_ALGORITHMS = new Set(['http://www.w3.org/2001/04/xmlenc#sha256', 'http://www.w3.org/2001/04/xmlenc#sha512']);

export function verifySignedElement(xml: string, signature: Element, signedElementId: string, certificatesPem: string[]): string {
  const method = attr(one("ds:SignedInfo/ds:SignatureMethod", signature, 'SignatureMethod'), 'Algorithm') ?? '';
  if (!SIGNATURE_ALGORITHMS.has(method)) throw new SamlRejected(`signature algorithm not accepted: ${method}`, 'signature');
  const reference = one('ds:SignedInfo/ds:Reference', signature, 'signature Reference');
  // the signature must cover exactly the element it sits in (SAML core §5.4.2)
  if (attr(reference, 'URI') !== `#${signedElementId}`) throw new SamlRejected('the signature does not reference its parent element', 'signature');
  const digest = attr(one('ds:DigestMethod', reference, 'DigestMethod'), 'Algorithm') ?? '';
  if (!DIGEST_ALGORITHMS.has(digest)) throw new SamlRejected(`digest algorithm not accepted: ${digest}`, 'signature');

  for (const publicCert of certificatesPem) {
    const sig = new SignedXml({ publicCert, getCertFromKeyInfo: () => null });
    sig.loadSignature(signature);
    let valid = false;
    try {
      valid = sig.checkSignature(xml);
    } catch {
      valid = false;
    }
    const signed = sig.getSignedReferences();
    if (valid && signed.length === 1) return signed[0] as string;
  }
  throw new SamlRejected('signature verification failed', 'signature');
}

export function pemCertificate(base64OrPem: string): string {
  if (base64OrPem.includes('BEGIN CERTIFICATE')) return base64OrPem;
  const body = base64OrPem.replace(/\s+/g, '').match(/.{1,64}/g)?.join('\n') ?? '';
  return `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
}
