/**
 * The strict checks on a SAML login response (SAML 2.0 core §2-3, profiles §4.1.4.3 "Response Usage"),
 * applied after samlify's own pass (schema, status, issuer). Every rule refuses; nothing is optional:
 *  - exactly one Assertion, and no other Assertion anywhere (wrapping); an EncryptedAssertion was opened
 *    before (encrypted-assertion.ts), so this reads the decrypted one exactly like a plain one;
 *  - the Assertion is signed by the IdP (a Response signature alone is not enough), and a Response
 *    signature, when present, must verify too; IDs in the document are unique;
 *  - Issuer is the IdP; Destination and the bearer SubjectConfirmationData's Recipient are our ACS;
 *  - NotBefore / NotOnOrAfter of Conditions and SubjectConfirmationData hold, within the clock skew;
 *  - every AudienceRestriction names our entityID;
 *  - InResponseTo is the same in the Response and the SubjectConfirmationData (matching it to a request
 *    we sent is the caller's job, against the store).
 */
import { NS, SamlRejected, attr, elements, one, optionalOne, parseXml, text, uniqueIds } from './saml-xml.js';
import { verifySignedElement } from './signature-check.js';

export type VerifiedLogin = {
  responseId: string;
  /** absent for an unsolicited (IdP-initiated) response */
  inResponseTo?: string;
  assertionId: string;
  /** when the assertion stops being usable: how long its ID must stay in the replay cache */
  expiresAt: number;
  nameId: string;
  nameIdFormat?: string;
  /** the NameID's qualifiers as received: a LogoutRequest must name the person with the same NameID (core §3.7.1) */
  nameQualifier?: string;
  spNameQualifier?: string;
  sessionIndex?: string;
  attributes: Map<string, string[]>;
};

export type Expectations = {
  idpEntityId: string;
  idpCertificates: string[];
  spEntityId: string;
  acsUrl: string;
  clockSkewSeconds: number;
  now?: number;
};

const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';

export function verifyLoginResponse(xml: string, e: Expectations): VerifiedLogin {
  const now = e.now ?? Date.now();
  const skew = e.clockSkewSeconds * 1000;
  const doc = parseXml(xml);
  const response = doc.documentElement;
  if (response.namespaceURI !== NS.samlp || response.localName !== 'Response') throw new SamlRejected('not a samlp:Response');
  const responseId = required(response, 'ID');
  if (attr(response, 'Version') !== '2.0') throw new SamlRejected('not SAML 2.0');
  uniqueIds(doc);

  const status = attr(one('samlp:Status/samlp:StatusCode', response, 'StatusCode'), 'Value');
  if (status !== SUCCESS) throw new SamlRejected(`status ${status}`, 'upstream');
  const responseIssuer = optionalOne('saml:Issuer', response, 'Response Issuer');
  if (responseIssuer && text(responseIssuer) !== e.idpEntityId) throw new SamlRejected('Response Issuer is not the IdP', 'addressing');
  const destination = attr(response, 'Destination');
  // SAML bindings §3.5.5.2: a signed message sent by POST must carry a Destination, which must be us
  if (destination !== e.acsUrl) throw new SamlRejected(`Destination ${destination} is not our ACS`, 'addressing');

  if (elements('//saml:EncryptedAssertion', doc).length > 0) throw new SamlRejected('an EncryptedAssertion that was not decrypted');
  if (elements('//saml:Assertion', doc).length !== 1) throw new SamlRejected('the document must hold exactly one Assertion');
  const assertion = one('saml:Assertion', response, 'Assertion');
  const assertionId = required(assertion, 'ID');

  const responseSignature = optionalOne('ds:Signature', response, 'Response Signature');
  if (responseSignature) verifySignedElement(xml, responseSignature, responseId, e.idpCertificates);
  const assertionSignature = optionalOne('ds:Signature', assertion, 'Assertion Signature');
  if (!assertionSignature) throw new SamlRejected('the Assertion is not signed', 'signature');
  // from here on, only the XML the Assertion signature covers is read
  const signed = parseXml(verifySignedElement(xml, assertionSignature, assertionId, e.idpCertificates)).documentElement;
  if (signed.localName !== 'Assertion' || signed.namespaceURI !== NS.saml || attr(signed, 'ID') !== assertionId) {
    throw new SamlRejected('the signed reference is not the Assertion', 'signature');
  }
  if (attr(signed, 'Version') !== '2.0') throw new SamlRejected('Assertion is not SAML 2.0');
  if (text(one('saml:Issuer', signed, 'Assertion Issuer')) !== e.idpEntityId) throw new SamlRejected('Assertion Issuer is not the IdP', 'addressing');

  const subject = one('saml:Subject', signed, 'Subject');
  const nameIdEl = elements('saml:NameID', subject);
  if (nameIdEl.length !== 1) throw new SamlRejected(`expected exactly one NameID, found ${nameIdEl.length}`, 'identifier');
  const nameId = text(nameIdEl[0]);
  if (!nameId) throw new SamlRejected('empty NameID', 'identifier');

  // profiles §4.1.4.2: a bearer SubjectConfirmation with Recipient, NotOnOrAfter, and no NotBefore
  const inResponseTo = attr(response, 'InResponseTo');
  const confirmations = elements(`saml:SubjectConfirmation[@Method='${BEARER}']/saml:SubjectConfirmationData`, subject);
  const confirmation = confirmations.find((c) => attr(c, 'Recipient') === e.acsUrl);
  if (!confirmation) throw new SamlRejected('no bearer SubjectConfirmation for our ACS (Recipient)', 'addressing');
  if (attr(confirmation, 'NotBefore') !== undefined) throw new SamlRejected('bearer SubjectConfirmationData has NotBefore');
  const confirmationEnd = time(confirmation, 'NotOnOrAfter', true);
  if (now >= confirmationEnd + skew) throw new SamlRejected('SubjectConfirmationData has expired (NotOnOrAfter)', 'expired');
  if (attr(confirmation, 'InResponseTo') !== inResponseTo) throw new SamlRejected('InResponseTo differs between Response and SubjectConfirmationData');

  const conditions = one('saml:Conditions', signed, 'Conditions');
  const notBefore = time(conditions, 'NotBefore', false);
  const notOnOrAfter = time(conditions, 'NotOnOrAfter', false);
  if (!Number.isNaN(notBefore) && now + skew < notBefore) throw new SamlRejected('Assertion is not yet valid (NotBefore)', 'expired');
  if (!Number.isNaN(notOnOrAfter) && now >= notOnOrAfter + skew) throw new SamlRejected('Assertion has expired (NotOnOrAfter)', 'expired');
  // core §2.5.1.4: each AudienceRestriction must be satisfied; profiles §4.1.4.2 requires one naming us
  const restrictions = elements('saml:AudienceRestriction', conditions);
  if (restrictions.length === 0) throw new SamlRejected('no AudienceRestriction');
  for (const r of restrictions) {
    if (!elements('saml:Audience', r).some((a) => text(a) === e.spEntityId)) throw new SamlRejected('Audience is not our entityID', 'addressing');
  }

  const authn = elements('saml:AuthnStatement', signed);
  if (authn.length === 0) throw new SamlRejected('no AuthnStatement');
  const sessionEnd = time(authn[0] as Element, 'SessionNotOnOrAfter', false);
  if (!Number.isNaN(sessionEnd) && now >= sessionEnd + skew) throw new SamlRejected('the IdP session has ended (SessionNotOnOrAfter)', 'expired');

  const attributes = new Map<string, string[]>();
  for (const a of elements('saml:AttributeStatement/saml:Attribute', signed)) {
    const name = attr(a, 'Name');
    if (name) attributes.set(name, [...(attributes.get(name) ?? []), ...elements('saml:AttributeValue', a).map((v) => text(v))]);
  }
  const nameIdFormat = attr(nameIdEl[0], 'Format');
  const nameQualifier = attr(nameIdEl[0], 'NameQualifier');
  const spNameQualifier = attr(nameIdEl[0], 'SPNameQualifier');
  const sessionIndex = attr(authn[0], 'SessionIndex');
  return {
    responseId,
    ...(inResponseTo !== undefined ? { inResponseTo } : {}),
    assertionId,
    expiresAt: Math.max(confirmationEnd, Number.isNaN(notOnOrAfter) ? 0 : notOnOrAfter) + skew,
    nameId,
    ...(nameIdFormat ? { nameIdFormat } : {}),
    ...(nameQualifier ? { nameQualifier } : {}),
    ...(spNameQualifier ? { spNameQualifier } : {}),
    ...(sessionIndex ? { sessionIndex } : {}),
    attributes,
  };
}

function required(el: Element, name: string): string {
  const v = attr(el, name);
  if (!v) throw new SamlRejected(`${el.localName} has no ${name}`);
  return v;
}

/** An xs:dateTime attribute in ms; NaN when absent and optional. */
function time(el: Element, name: string, mandatory: boolean): number {
  const v = attr(el, name);
  if (v === undefined) {
    if (mandatory) throw new SamlRejected(`${el.localName} has no ${name}`);
    return Number.NaN;
  }
  const t = Date.parse(v);
  if (Number.isNaN(t) || !/(Z|[+-]\d\d:\d\d)$/.test(v)) throw new SamlRejected(`${el.localName}@${name} is not a UTC time`);
  return t;
}
