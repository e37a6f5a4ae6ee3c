/**
 * The strict checks on an IdP-initiated LogoutRequest (SAML 2.0 core §3.7.1, profiles §4.4.4.1), over the
 * HTTP-Redirect binding (bindings §3.4: DEFLATE + base64, the signature over the query string with
 * SigAlg/Signature) or the HTTP-POST binding (bindings §3.5: base64, an enveloped XML signature). Every
 * rule refuses: a signature by one of the IdP's metadata certificates is required (an unsigned request
 * is never accepted), Issuer is the IdP, Destination is our SLO endpoint, NotOnOrAfter (when present)
 * holds. Schema validation (the SAML xsd) is the caller's first step, on the decoded XML.
 */
import { X509Certificate, verify } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { NS, SamlRejected, attr, elements, one, optionalOne, parseXml, text, uniqueIds } from './saml-xml.js';
import { verifySignedElement } from './signature-check.js';

export type VerifiedLogoutRequest = {
  id: string;
  nameId: string;
  sessionIndexes: string[];
  /** until when the ID must stay in the replay cache (ms since epoch) */
  expiresAt: number;
};

/**
 * A refusal of a request whose signature did verify: it comes from the IdP, so it is answered with a
 * signed LogoutResponse (status Requester, core §3.2.2.2) instead of a page, and the IdP's logout goes on.
 */
export class AuthenticLogoutRefused extends SamlRejected {
  constructor(message: string, category: SamlRejected['category'], readonly requestId: string) {
    super(message, category);
  }
}

export type LogoutExpectations = {
  idpEntityId: string;
  idpCertificates: string[];
  sloUrl: string;
  clockSkewSeconds: number;
  /** how long a request without NotOnOrAfter is accepted after its IssueInstant */
  maxAgeSeconds: number;
  now?: number;
};

const MAX_XML_BYTES = 256 * 1024;
const SIG_ALGS: Record<string, string> = {
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256': 'sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512': 'sha512',
};

/** One raw (still URL-encoded) value of the query string; repeated parameters are refused. */
function rawParam(query: string, name: string): string | undefined {
  const found = query.split('&').filter((p) => p.split('=')[0] === name);
  if (found.length > 1) throw new SamlRejected(`repeated query parameter ${name}`);
  return found[0]?.slice(name.length + 1);
}

/**
 * HTTP-Redirect binding: the XML, after the query signature verified. Bindings §3.4.4.1: the signed
 * octets are `SAMLRequest=…&RelayState=…&SigAlg=…` exactly as received (URL-encoded).
 */
export function decodeRedirect(query: string, certificatesPem: string[], param = 'SAMLRequest'): { xml: string; relayState?: string } {
  const message = rawParam(query, param);
  const relay = rawParam(query, 'RelayState');
  const sigAlg = rawParam(query, 'SigAlg');
  const signature = rawParam(query, 'Signature');
  if (!message) throw new SamlRejected(`no ${param}`);
  if (!sigAlg || !signature) throw new SamlRejected('the request is not signed (SigAlg/Signature)', 'signature');
  const hash = SIG_ALGS[decodeURIComponent(sigAlg)];
  if (!hash) throw new SamlRejected(`signature algorithm not accepted: ${decodeURIComponent(sigAlg)}`, 'signature');
  const signed = Buffer.from(`${param}=${message}${relay !== undefined ? `&RelayState=${relay}` : ''}&SigAlg=${sigAlg}`, 'utf8');
  const sig = Buffer.from(decodeURIComponent(signature), 'base64');
  const ok = certificatesPem.some((pem) => {
    try {
      return verify(hash, signed, new X509Certificate(pem).publicKey, sig);
    } catch {
      return false;
    }
  });
  if (!ok) throw new SamlRejected('signature verification failed', 'signature');
  let xml: string;
  try {
    xml = inflateRawSync(Buffer.from(decodeURIComponent(message), 'base64'), { maxOutputLength: MAX_XML_BYTES }).toString('utf8');
  } catch {
    throw new SamlRejected(`${param} is not DEFLATE + base64`);
  }
  return { xml, ...(relay !== undefined ? { relayState: decodeURIComponent(relay.replace(/\+/g, ' ')) } : {}) };
}

/**
 * Checks a LogoutRequest. With `signedByQuery` (Redirect binding, already verified) an XML signature is
 * not needed; otherwise (POST) the request element must carry one, and only what it covers is read.
 */
export function verifyLogoutRequest(xml: string, e: LogoutExpectations, signedByQuery: boolean): VerifiedLogoutRequest {
  const doc = parseXml(xml);
  uniqueIds(doc);
  let request = doc.documentElement;
  if (request.namespaceURI !== NS.samlp || request.localName !== 'LogoutRequest') throw new SamlRejected('not a samlp:LogoutRequest');
  const id = attr(request, 'ID');
  if (!id) throw new SamlRejected('LogoutRequest has no ID');
  if (!signedByQuery) {
    const signature = optionalOne('ds:Signature', request, 'LogoutRequest Signature');
    if (!signature) throw new SamlRejected('the LogoutRequest is not signed', 'signature');
    request = parseXml(verifySignedElement(xml, signature, id, e.idpCertificates)).documentElement;
    if (request.localName !== 'LogoutRequest' || request.namespaceURI !== NS.samlp || attr(request, 'ID') !== id) {
      throw new SamlRejected('the signed reference is not the LogoutRequest', 'signature');
    }
  }
  try {
    return checkAuthentic(request, id, e);
  } catch (err) {
    if (err instanceof SamlRejected) throw new AuthenticLogoutRefused(err.message, err.category, id);
    throw err;
  }
}

function checkAuthentic(request: Element, id: string, e: LogoutExpectations): VerifiedLogoutRequest {
  const now = e.now ?? Date.now();
  const skew = e.clockSkewSeconds * 1000;
  if (attr(request, 'Version') !== '2.0') throw new SamlRejected('not SAML 2.0');
  if (text(one('saml:Issuer', request, 'Issuer')) !== e.idpEntityId) throw new SamlRejected('Issuer is not the IdP', 'addressing');
  // bindings §3.4.5.2 / §3.5.5.2: a signed message must carry a Destination, which must be us
  const destination = attr(request, 'Destination');
  if (destination !== e.sloUrl) throw new SamlRejected(`Destination ${destination} is not our SLO endpoint`, 'addressing');
  const issued = Date.parse(attr(request, 'IssueInstant') ?? '');
  if (Number.isNaN(issued)) throw new SamlRejected('LogoutRequest has no IssueInstant');
  if (issued > now + skew) throw new SamlRejected('LogoutRequest is issued in the future', 'expired');
  const notOnOrAfterRaw = attr(request, 'NotOnOrAfter');
  const end = notOnOrAfterRaw !== undefined ? Date.parse(notOnOrAfterRaw) : issued + e.maxAgeSeconds * 1000;
  if (Number.isNaN(end)) throw new SamlRejected('NotOnOrAfter is not a time');
  if (now >= end + skew) throw new SamlRejected('LogoutRequest has expired (NotOnOrAfter)', 'expired');
  if (elements('saml:EncryptedID | saml:BaseID', request).length > 0) throw new SamlRejected('only a plain NameID is accepted', 'identifier');
  const nameId = text(one('saml:NameID', request, 'NameID'));
  if (!nameId) throw new SamlRejected('empty NameID', 'identifier');
  const sessionIndexes = elements('samlp:SessionIndex', request).map((s) => text(s));
  return { id, nameId, sessionIndexes, expiresAt: end + skew };
}
