/**
 * The LogoutResponse Gatehouse answers an IdP's LogoutRequest with (SAML 2.0 core §3.7.2), signed with the
 * SP key (saml.privateKeyFile): over HTTP-Redirect, by the query signature (bindings §3.4.4.1); over
 * HTTP-POST, by an enveloped XML signature on the response (bindings §3.5.4).
 */
import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { SignedXml } from 'xml-crypto';

export type LogoutStatus = 'Success' | 'Requester' | 'Responder';
export type LogoutAnswer = { kind: 'redirect'; url: string } | { kind: 'post'; action: string; fields: Record<string, string> };

const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function logoutResponseXml(o: { spEntityId: string; destination: string; inResponseTo: string; status: LogoutStatus; now?: number }): string {
  const id = `_${randomBytes(20).toString('hex')}`;
  const instant = new Date(o.now ?? Date.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" Version="2.0" IssueInstant="${instant}" Destination="${escape(o.destination)}" InResponseTo="${escape(o.inResponseTo)}"><saml:Issuer>${escape(o.spEntityId)}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:${o.status}"/></samlp:Status></samlp:LogoutResponse>`;
}

/** Encodes and signs a SAML message (`SAMLResponse` or `SAMLRequest`) for the endpoint's binding. */
export function signedOutbound(xml: string, o: { binding: 'redirect' | 'post'; location: string; param: 'SAMLResponse' | 'SAMLRequest'; privateKeyPem: string; certificatePem: string; relayState?: string }): LogoutAnswer {
  if (o.binding === 'redirect') {
    const parts = [`${o.param}=${encodeURIComponent(deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64'))}`];
    if (o.relayState) parts.push(`RelayState=${encodeURIComponent(o.relayState)}`);
    parts.push(`SigAlg=${encodeURIComponent(RSA_SHA256)}`);
    const signature = sign('sha256', Buffer.from(parts.join('&'), 'utf8'), createPrivateKey(o.privateKeyPem)).toString('base64');
    const url = new URL(o.location);
    const query = `${parts.join('&')}&Signature=${encodeURIComponent(signature)}`;
    return { kind: 'redirect', url: `${url.origin}${url.pathname}?${url.search ? `${url.search.slice(1)}&` : ''}${query}` };
  }
  const sig = new SignedXml({ privateKey: o.privateKeyPem, publicCert: o.certificatePem, signatureAlgorithm: RSA_SHA256, canonicalizationAlgorithm: EXC_C14N });
  sig.addReference({ xpath: '/*', transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', EXC_C14N], digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256' });
  // schema order: the Signature follows the Issuer
  sig.computeSignature(xml, { location: { reference: "/*/*[local-name(.)='Issuer']", action: 'after' } });
  const fields: Record<string, string> = { [o.param]: Buffer.from(sig.getSignedXml(), 'utf8').toString('base64') };
  if (o.relayState) fields.RelayState = o.relayState;
  return { kind: 'post', action: o.location, fields };
}
