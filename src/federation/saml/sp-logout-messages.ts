/**
 * The two messages of SP-initiated single logout (SAML profiles §4.4.3, §4.4.4):
 *  - the LogoutRequest Gatehouse sends (core §3.7.1), naming the person with the NameID exactly as the IdP
 *    asserted it (its Format, NameQualifier and SPNameQualifier: core §3.7.1 says the IdP matches the
 *    principal by it) and the SessionIndex of the assertion; signed by signedOutbound (logout-response.ts);
 *  - the strict checks on the IdP's LogoutResponse (core §3.2.2, §3.7.2): a signature by one of the IdP's
 *    metadata certificates is required (bindings §3.4.5.2 / §3.5.5.2 for signed messages), Issuer is the
 *    IdP, Destination is our SLO endpoint, InResponseTo is the request we sent, IssueInstant is recent.
 *    Schema validation (the SAML xsd) and the Redirect binding's query signature (decodeRedirect in
 *    logout-request.ts) are the caller's, on the decoded XML.
 */
import { randomBytes } from 'node:crypto';
import { NS, SamlRejected, attr, elements, one, optionalOne, parseXml, text, uniqueIds } from './saml-xml.js';
import { verifySignedElement } from './signature-check.js';
import type { SamlSessionRecord } from './saml-sessions.js';

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const instant = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export function logoutRequestXml(o: {
  spEntityId: string; destination: string; session: Pick<SamlSessionRecord, 'nameId' | 'nameIdFormat' | 'nameQualifier' | 'spNameQualifier' | 'sessionIndex'>;
  /** core §3.7.1: "the time at which the request expires, after which the recipient may discard the message" */
  ttlSeconds: number; now?: number;
}): { id: string; xml: string } {
  const id = `_${randomBytes(20).toString('hex')}`;
  const now = o.now ?? Date.now();
  const s = o.session;
  const qualifiers = [
    s.nameQualifier !== undefined ? ` NameQualifier="${escape(s.nameQualifier)}"` : '',
    s.spNameQualifier !== undefined ? ` SPNameQualifier="${escape(s.spNameQualifier)}"` : '',
    s.nameIdFormat !== undefined ? ` Format="${escape(s.nameIdFormat)}"` : '',
  ].join('');
  // schema order (core §3.2.1, §3.7.1): Issuer, [Signature, inserted by signedOutbound], NameID, SessionIndex
  const xml = `<samlp:LogoutRequest xmlns:samlp="${NS.samlp}" xmlns:saml="${NS.saml}" ID="${id}" Version="2.0" IssueInstant="${instant(now)}" Destination="${escape(o.destination)}" NotOnOrAfter="${instant(now + o.ttlSeconds * 1000)}" Reason="urn:oasis:names:tc:SAML:2.0:logout:user"><saml:Issuer>${escape(o.spEntityId)}</saml:Issuer><saml:NameID${qualifiers}>${escape(s.nameId)}</saml:NameID>${s.sessionIndex !== undefined ? `<samlp:SessionIndex>${escape(s.sessionIndex)}</samlp:SessionIndex>` : ''}</samlp:LogoutRequest>`;
  return { id, xml };
}

export type VerifiedLogoutResponse = {
  id: string;
  inResponseTo: string;
  /** the top-level status, e.g. urn:oasis:names:tc:SAML:2.0:status:Success */
  status: string;
  /** the second-level status, e.g. ...:status:PartialLogout, when present */
  subStatus?: string;
};

export type LogoutResponseExpectations = {
  idpEntityId: string;
  idpCertificates: string[];
  sloUrl: string;
  /** the ID of the LogoutRequest this response must answer */
  requestId: string;
  clockSkewSeconds: number;
  /** how long after its IssueInstant a response is accepted */
  maxAgeSeconds: number;
  now?: number;
};

export const STATUS_SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';

/**
 * With `signedByQuery` (Redirect binding, already verified) an XML signature is not needed; otherwise
 * (POST) the response element must carry one, and only what it covers is read.
 */
export function verifyLogoutResponse(xml: string, e: LogoutResponseExpectations, signedByQuery: boolean): VerifiedLogoutResponse {
  const doc = parseXml(xml);
  uniqueIds(doc);
  let response = doc.documentElement;
  if (response.namespaceURI !== NS.samlp || response.localName !== 'LogoutResponse') throw new SamlRejected('not a samlp:LogoutResponse');
  const id = attr(response, 'ID');
  if (!id) throw new SamlRejected('LogoutResponse has no ID');
  if (!signedByQuery) {
    const signature = optionalOne('ds:Signature', response, 'LogoutResponse Signature');
    if (!signature) throw new SamlRejected('the LogoutResponse is not signed', 'signature');
    response = parseXml(verifySignedElement(xml, signature, id, e.idpCertificates)).documentElement;
    if (response.localName !== 'LogoutResponse' || response.namespaceURI !== NS.samlp || attr(response, 'ID') !== id) {
      throw new SamlRejected('the signed reference is not the LogoutResponse', 'signature');
    }
  }
  const now = e.now ?? Date.now();
  const skew = e.clockSkewSeconds * 1000;
  if (attr(response, 'Version') !== '2.0') throw new SamlRejected('not SAML 2.0');
  if (text(one('saml:Issuer', response, 'Issuer')) !== e.idpEntityId) throw new SamlRejected('Issuer is not the IdP', 'addressing');
  const destination = attr(response, 'Destination');
  if (destination !== e.sloUrl) throw new SamlRejected(`Destination ${destination} is not our SLO endpoint`, 'addressing');
  // core §3.2.2: InResponseTo names the request; profiles §4.4.4.2: the response answers our LogoutRequest
  const inResponseTo = attr(response, 'InResponseTo');
  if (!inResponseTo) throw new SamlRejected('unsolicited LogoutResponse (no InResponseTo)', 'replay');
  if (inResponseTo !== e.requestId) throw new SamlRejected('InResponseTo is not the LogoutRequest of this RelayState', 'replay');
  const issued = Date.parse(attr(response, 'IssueInstant') ?? '');
  if (Number.isNaN(issued)) throw new SamlRejected('LogoutResponse has no IssueInstant');
  if (issued > now + skew) throw new SamlRejected('LogoutResponse is issued in the future', 'expired');
  if (now >= issued + e.maxAgeSeconds * 1000 + skew) throw new SamlRejected('LogoutResponse is too old (IssueInstant)', 'expired');
  const code = one('samlp:Status/samlp:StatusCode', response, 'StatusCode');
  const status = attr(code, 'Value');
  if (!status) throw new SamlRejected('StatusCode has no Value');
  const subStatus = attr(elements('samlp:StatusCode', code)[0], 'Value');
  return { id, inResponseTo, status, ...(subStatus ? { subStatus } : {}) };
}
