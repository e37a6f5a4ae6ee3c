/** The `saml` section of the federation file: Gatehouse's service-provider settings and the upstream IdPs. */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { FederationFileError, Section } from './checks.js';
import { readProviderCommon, type ProviderCommon } from './provider-common.js';

export const NAMEID_FORMATS = {
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  transient: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
  emailAddress: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  unspecified: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
} as const;

/**
 * Metadata fetched from a URL: at start-up, then again every `refreshSeconds` (sooner when the document's
 * cacheDuration or validUntil says so). A refresh that fails keeps the last good metadata.
 */
export type MetadataSource = {
  url: string;
  /**
   * pinned SHA-256 fingerprints (upper-case hex with colons): only the metadata's signing certificates with
   * one of them are trusted (list the old and the new one during a rollover)
   */
  fingerprints?: string[];
  /** PEM of a private CA trusted (besides the system CAs) for the https metadata server */
  ca?: string;
  refreshSeconds: number;
};

export type SamlIdpConfig = ProviderCommon & {
  /**
   * the IdP's metadata: read from a file at start-up, or fetched from a URL at start-up (https, or http
   * pinned by `fingerprint`: the SHA-256 of the IdP's signing certificate, upper-case hex with colons)
   */
  metadata: { xml: string } | MetadataSource;
  /** how the AuthnRequest travels to the IdP */
  binding: 'redirect' | 'post';
  /** the NameIDPolicy Format of our AuthnRequests; a response with another NameID format is refused */
  nameIdFormat: keyof typeof NAMEID_FORMATS;
  /** NameIDPolicy AllowCreate: lets the IdP create an identifier for a person's first sign-in here */
  allowCreate: boolean;
  /**
   * the attribute the account is keyed by instead of the NameID (e.g. uid, employeeNumber, objectGUID);
   * required with a transient NameID, which changes at every sign-in. It must be one stable, non-reassigned
   * value per person: whoever the IdP gives this value signs in to that account.
   */
  idAttribute?: string;
  /** the attribute whose values are the person's groups (for `roles`) */
  groupsAttribute?: string;
  /** sign AuthnRequests (needs the SP key); forced on when the IdP's metadata says WantAuthnRequestsSigned */
  signAuthnRequests: boolean;
  /** our entityID towards this IdP; defaults to <ISSUER>/federation/saml/<id>/metadata */
  spEntityId?: string;
  /** refuse a response whose assertion is not encrypted (needs the SP encryption key) */
  requireEncryptedAssertions: boolean;
  /**
   * SP-initiated single logout: when a person who signed in through this IdP signs out at Gatehouse
   * (RP-initiated logout), Gatehouse also ends their session at the IdP with a signed LogoutRequest. Off
   * by default: ending the IdP session signs the person out of every other application at that IdP (at
   * Entra ID, all of Microsoft 365), which an app's "sign out" button should not do unasked. Needs the SP
   * key (privateKeyFile) and a SingleLogoutService in the IdP's metadata. IdP-initiated logout does not
   * depend on it: it is accepted whenever the SP key and the IdP's SingleLogoutService exist.
   */
  singleLogout: boolean;
};

export type SamlSettings = {
  /** tolerance for NotBefore / NotOnOrAfter between our clock and the IdP's */
  clockSkewSeconds: number;
  /** how long an AuthnRequest we sent may be answered */
  requestTtlSeconds: number;
  /** POSTs to the ACS endpoints per client IP per minute; more are answered 429 before any parsing */
  acsRequestsPerMinute: number;
  /** the SP's key pair (PEM), from files named in the federation file; optional */
  spKey?: { privateKey: string; certificate: string };
  /**
   * the SP's encryption key pair (PEM), from encryptionKeyFile / encryptionCertificateFile; optional. With
   * it, the SP metadata offers the certificate for encryption and EncryptedAssertions are decrypted.
   * It may be the same pair as the signing one (name the same files), or, better, its own.
   */
  spEncryption?: { privateKey: string; certificate: string };
  idps: SamlIdpConfig[];
};

export function readSamlSettings(s: Section): SamlSettings {
  const privateKey = s.file('privateKeyFile', { optional: true });
  const certificate = s.file('certificateFile', { optional: true });
  if ((privateKey === undefined) !== (certificate === undefined)) {
    s.fail(privateKey === undefined ? 'privateKeyFile' : 'certificateFile', 'privateKeyFile and certificateFile together (or neither)');
  }
  if (privateKey !== undefined && certificate !== undefined) checkKeyPair(s, privateKey, certificate);
  const encryptionKey = s.file('encryptionKeyFile', { optional: true });
  const encryptionCertificate = s.file('encryptionCertificateFile', { optional: true });
  if ((encryptionKey === undefined) !== (encryptionCertificate === undefined)) {
    s.fail(encryptionKey === undefined ? 'encryptionKeyFile' : 'encryptionCertificateFile', 'encryptionKeyFile and encryptionCertificateFile together (or neither)');
  }
  if (encryptionKey !== undefined && encryptionCertificate !== undefined) {
    checkKeyPair(s, encryptionKey, encryptionCertificate, ['encryptionKeyFile', 'encryptionCertificateFile']);
    // RSA-OAEP key transport is what IdPs send; an EC key cannot unwrap it
    if (createPrivateKey(encryptionKey).asymmetricKeyType !== 'rsa') s.fail('encryptionKeyFile', 'an RSA private key (IdPs wrap the assertion key with RSA-OAEP)', true);
  }
  const settings: SamlSettings = {
    clockSkewSeconds: s.duration('clockSkew', '60s', 0, 300),
    requestTtlSeconds: s.duration('requestTtl', '10m', 60, 3600),
    acsRequestsPerMinute: s.integer('acsRequestsPerMinute', 60, 1, 100_000),
    ...(privateKey && certificate ? { spKey: { privateKey, certificate } } : {}),
    ...(encryptionKey && encryptionCertificate ? { spEncryption: { privateKey: encryptionKey, certificate: encryptionCertificate } } : {}),
    idps: s.list('idps').map(readIdp),
  };
  s.done();
  for (const [i, idp] of settings.idps.entries()) {
    if (idp.signAuthnRequests && !settings.spKey) s.fail('privateKeyFile', `the SP key files, because ${s.at('idps')}[${i}] signs its AuthnRequests`);
    if (idp.requireEncryptedAssertions && !settings.spEncryption) {
      s.fail('encryptionKeyFile', `the SP encryption key files, because ${s.at('idps')}[${i}] sets requireEncryptedAssertions`);
    }
    // SAML profiles §4.4.3.1: the LogoutRequest "MUST be signed"
    if (idp.singleLogout && !settings.spKey) s.fail('privateKeyFile', `the SP key files, because ${s.at('idps')}[${i}] sets singleLogout (LogoutRequests are signed)`);
  }
  return settings;
}

function readIdp(s: Section): SamlIdpConfig {
  const common = readProviderCommon(s);
  const file = s.file('metadataFile', { optional: true });
  const url = s.string('metadataUrl', { optional: true, pattern: /^https?:\/\/\S+$/, accepted: 'an https:// URL of the IdP metadata' });
  if ((file === undefined) === (url === undefined)) s.fail('metadataFile', 'exactly one of metadataFile or metadataUrl');
  const fingerprintAccepted = 'the SHA-256 fingerprint of the IdP signing certificate (64 hex digits, colons allowed), e.g. from openssl x509 -noout -fingerprint -sha256, or a list of them';
  const fingerprint = Array.isArray(s.raw('metadataFingerprint'))
    ? s.stringList('metadataFingerprint', { min: 1, pattern: FINGERPRINT, accepted: fingerprintAccepted, item: fingerprintAccepted })
    : s.string('metadataFingerprint', { optional: true, pattern: FINGERPRINT, accepted: fingerprintAccepted });
  if (fingerprint !== undefined && url === undefined) s.fail('metadataFingerprint', 'nothing, unless metadataUrl is set (a metadataFile is trusted as it is)');
  const ca = s.file('metadataCaFile', { optional: true });
  if (ca !== undefined && !url?.startsWith('https:')) s.fail('metadataCaFile', 'nothing, unless metadataUrl is an https:// URL');
  const refreshSeconds = s.duration('metadataRefresh', '1h', 1, 7 * 86400);
  if (s.has('metadataRefresh') && url === undefined) s.fail('metadataRefresh', 'nothing, unless metadataUrl is set (a metadataFile is read once, at start-up)');
  // Metadata carries the keys every assertion is checked with: fetched in clear, whoever sits on the path
  // chooses them. Only https, or a fingerprint that pins the signing certificate, makes it trustworthy.
  if (url?.startsWith('http:') && fingerprint === undefined) {
    s.fail('metadataUrl', 'an https:// URL (IdP metadata holds the signing keys; http:// is accepted only together with "metadataFingerprint")');
  }
  const idAttribute = s.string('idAttribute', { optional: true, max: 200, pattern: /^\S+$/, accepted: 'the name of an attribute holding a stable id of the person, such as uid or employeeNumber' });
  const groupsAttribute = s.string('groupsAttribute', { optional: true, accepted: 'the name of the attribute listing the groups' });
  const spEntityId = s.string('spEntityId', { optional: true, pattern: /^\S+$/, accepted: 'an entityID (a URI) for Gatehouse towards this IdP' });
  const idp: SamlIdpConfig = {
    ...common,
    metadata: file !== undefined
      ? { xml: file }
      : { url: url as string, refreshSeconds, ...(fingerprint ? { fingerprints: [fingerprint].flat().map(normalizeFingerprint) } : {}), ...(ca ? { ca } : {}) },
    binding: s.oneOf('binding', ['redirect', 'post'] as const, 'redirect'),
    nameIdFormat: s.oneOf('nameIdFormat', Object.keys(NAMEID_FORMATS) as (keyof typeof NAMEID_FORMATS)[], 'persistent'),
    allowCreate: s.boolean('allowCreate', true),
    ...(idAttribute ? { idAttribute } : {}),
    ...(groupsAttribute ? { groupsAttribute } : {}),
    signAuthnRequests: s.boolean('signAuthnRequests', false),
    ...(spEntityId ? { spEntityId } : {}),
    requireEncryptedAssertions: s.boolean('requireEncryptedAssertions', false),
    singleLogout: s.boolean('singleLogout', false),
  };
  // SAML core §8.3.8: a transient NameID is a one-time value; linking accounts by it would make a new
  // account at every sign-in (or, were values ever reused, hand one person's account to another)
  if (idp.nameIdFormat === 'transient' && !idp.idAttribute) {
    s.fail('idAttribute', 'the attribute that identifies the person (such as uid or employeeNumber), because nameIdFormat "transient" changes at every sign-in and cannot key an account');
  }
  if (Object.keys(idp.roles).length > 0 && !idp.groupsAttribute) s.fail('groupsAttribute', 'the attribute listing the groups, because "roles" maps groups');
  s.done();
  return idp;
}

const FINGERPRINT = /^(?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{64}$/;

/** "ab:cd:..." or "ABCD..." → "AB:CD:...", the form node's X509Certificate.fingerprint256 has. */
export function normalizeFingerprint(value: string): string {
  return (value.replace(/:/g, '').toUpperCase().match(/../g) ?? []).join(':');
}

function checkKeyPair(s: Section, privateKeyPem: string, certificatePem: string, [keyName, certName] = ['privateKeyFile', 'certificateFile']): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certificatePem);
  } catch {
    s.fail(certName, 'a PEM X.509 certificate');
  }
  try {
    if (!cert.checkPrivateKey(createPrivateKey(privateKeyPem))) s.fail(keyName, `the private key of ${certName}`, true);
  } catch (err) {
    if (err instanceof FederationFileError) throw err;
    s.fail(keyName, 'an unencrypted PEM private key', true);
  }
}
