/** The `saml` section of the federation file: Gatehouse's service-provider settings and the upstream IdPs. */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { FederationFileError, Section } from '../config/checks.js';
import { readProviderCommon, type ProviderCommon } from '../config/provider-common.js';

export const NAMEID_FORMATS = {
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  emailAddress: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  unspecified: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
} as const;

export type SamlIdpConfig = ProviderCommon & {
  /** the IdP's metadata: read from a file at start-up, or fetched from a URL at start-up */
  metadata: { xml: string } | { url: string };
  /** how the AuthnRequest travels to the IdP */
  binding: 'redirect' | 'post';
  nameIdFormat: keyof typeof NAMEID_FORMATS;
  /** the attribute whose values are the person's groups (for `roles`) */
  groupsAttribute?: string;
  /** sign AuthnRequests (needs the SP key); forced on when the IdP's metadata says WantAuthnRequestsSigned */
  signAuthnRequests: boolean;
  /** our entityID towards this IdP; defaults to <ISSUER>/federation/saml/<id>/metadata */
  spEntityId?: string;
};

export type SamlSettings = {
  /** tolerance for NotBefore / NotOnOrAfter between our clock and the IdP's */
  clockSkewSeconds: number;
  /** how long an AuthnRequest we sent may be answered */
  requestTtlSeconds: number;
  /** the SP's key pair (PEM), from files named in the federation file; optional */
  spKey?: { privateKey: string; certificate: string };
  idps: SamlIdpConfig[];
};

export function readSamlSettings(s: Section): SamlSettings {
  const privateKey = s.file('privateKeyFile', { optional: true });
  const certificate = s.file('certificateFile', { optional: true });
  if ((privateKey === undefined) !== (certificate === undefined)) {
    s.fail(privateKey === undefined ? 'privateKeyFile' : 'certificateFile', 'privateKeyFile and certificateFile together (or neither)');
  }
  if (privateKey !== undefined && certificate !== undefined) checkKeyPair(s, privateKey, certificate);
  const settings: SamlSettings = {
    clockSkewSeconds: s.duration('clockSkew', '60s', 0, 300),
    requestTtlSeconds: s.duration('requestTtl', '10m', 60, 3600),
    ...(privateKey && certificate ? { spKey: { privateKey, certificate } } : {}),
    idps: s.list('idps').map(readIdp),
  };
  s.done();
  for (const [i, idp] of settings.idps.entries()) {
    if (idp.signAuthnRequests && !settings.spKey) s.fail('privateKeyFile', `the SP key files, because ${s.at('idps')}[${i}] signs its AuthnRequests`);
  }
  return settings;
}

function readIdp(s: Section): SamlIdpConfig {
  const common = readProviderCommon(s);
  const file = s.file('metadataFile', { optional: true });
  const url = s.string('metadataUrl', { optional: true, pattern: /^https?:\/\/\S+$/, accepted: 'an http(s) URL of the IdP metadata' });
  if ((file === undefined) === (url === undefined)) s.fail('metadataFile', 'exactly one of metadataFile or metadataUrl');
  const groupsAttribute = s.string('groupsAttribute', { optional: true, accepted: 'the name of the attribute listing the groups' });
  const spEntityId = s.string('spEntityId', { optional: true, pattern: /^\S+$/, accepted: 'an entityID (a URI) for Gatehouse towards this IdP' });
  const idp: SamlIdpConfig = {
    ...common,
    metadata: file !== undefined ? { xml: file } : { url: url as string },
    binding: s.oneOf('binding', ['redirect', 'post'] as const, 'redirect'),
    nameIdFormat: s.oneOf('nameIdFormat', Object.keys(NAMEID_FORMATS) as (keyof typeof NAMEID_FORMATS)[], 'persistent'),
    ...(groupsAttribute ? { groupsAttribute } : {}),
    signAuthnRequests: s.boolean('signAuthnRequests', false),
    ...(spEntityId ? { spEntityId } : {}),
  };
  if (Object.keys(idp.roles).length > 0 && !idp.groupsAttribute) s.fail('groupsAttribute', 'the attribute listing the groups, because "roles" maps groups');
  s.done();
  return idp;
}

function checkKeyPair(s: Section, privateKeyPem: string, certificatePem: string): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certificatePem);
  } catch {
    s.fail('certificateFile', 'a PEM X.509 certificate');
  }
  try {
    if (!cert.checkPrivateKey(createPrivateKey(privateKeyPem))) s.fail('privateKeyFile', 'the private key of certificateFile', true);
  } catch (err) {
    if (err instanceof FederationFileError) throw err;
    s.fail('privateKeyFile', 'an unencrypted PEM private key', true);
  }
}
