/**
 * Builds, for each configured IdP, the samlify pair that talks to it: the IdP from its metadata (read
 * from the file at start-up, or fetched from its URL at start-up and again on a schedule, see
 * `refreshSamlProvider` and app/jobs.ts) and Gatehouse's service provider towards it. Every signing
 * certificate the metadata lists is trusted, which is how an IdP rolls its key over. Each IdP sees
 * its own SP entity (entityID = its SP metadata URL), with its own ACS: a response meant for one IdP's
 * flow can never be accepted at another's.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import * as samlify from 'samlify';
import type { SamlIdpConfig, SamlSettings } from '../../config/federation/saml-config.js';
import { NAMEID_FORMATS } from '../../config/federation/saml-config.js';
import { pemCertificate } from './signature-check.js';
import { SamlMetadataError, fetchMetadataText, metadataLifetime } from './metadata-fetch.js';

export type SamlProvider = {
  config: SamlIdpConfig;
  spEntityId: string;
  acsUrl: string;
  /** our SingleLogoutService (both bindings), published only with an SP signing key */
  sloUrl: string;
  /** the IdP's SingleLogoutService from its metadata, Redirect preferred; absent when it lists none */
  idpSlo?: { binding: 'redirect' | 'post'; location: string };
  /** the SP signing key and certificate (saml.privateKeyFile), which LogoutResponses are signed with */
  spKey?: { privateKey: string; certificate: string };
  metadataUrl: string;
  idpEntityId: string;
  idpCertificates: string[];
  /** the origin AuthnRequests go to (CSP form-action must allow it) */
  ssoOrigin: string;
  sp: samlify.ServiceProviderInstance;
  /** the SP metadata document served at metadataUrl */
  spMetadata: string;
  /** the SP encryption key EncryptedAssertions are opened with (saml.encryptionKeyFile), when configured */
  decryptionKey?: KeyObject;
  idp: samlify.IdentityProviderInstance;
  /** for metadata from a URL: when it is due to be fetched again (ms since epoch) */
  refreshAt?: number;
  /** the last interval granted (refreshAt - fetch time): a failed refresh is retried no later than this */
  refreshIntervalMs?: number;
};

export { SamlMetadataError };

const BINDINGS = samlify.Constants.namespace.binding;
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';

export async function loadSamlProviders(settings: SamlSettings, issuer: string, now = Date.now()): Promise<SamlProvider[]> {
  const providers: SamlProvider[] = [];
  for (const [i, config] of settings.idps.entries()) {
    const at = `FEDERATION_FILE: saml.idps[${i}]`;
    if ('xml' in config.metadata) {
      providers.push(buildProvider(config, config.metadata.xml, settings, issuer, at));
      continue;
    }
    const source = config.metadata;
    const xml = await fetchMetadataText(source.url, { at: `${at}.metadataUrl`, ...(source.ca ? { ca: source.ca } : {}) });
    const refreshAt = metadataLifetime(xml, now, source.refreshSeconds * 1000, at);
    providers.push({ ...buildProvider(config, xml, settings, issuer, at), refreshAt, refreshIntervalMs: refreshAt - now });
  }
  return providers;
}

/**
 * Fetches a URL-sourced IdP's metadata again and, if it is good, puts its keys, endpoints and samlify pair
 * in place in `provider` (the object every sign-in reads), so new signing certificates apply without a
 * restart. Anything wrong throws SamlMetadataError and leaves `provider` as it was: the last good metadata
 * stays in service. The entityID may not change (that is another IdP, and links are keyed by it), nor the
 * SSO endpoint's origin (pages allow form submissions to the origins known at start-up).
 */
export async function refreshSamlProvider(provider: SamlProvider, settings: SamlSettings, issuer: string, now = Date.now()): Promise<void> {
  const source = provider.config.metadata;
  if ('xml' in source) return;
  const at = `saml IdP ${provider.config.id}`;
  const xml = await fetchMetadataText(source.url, { at, ...(source.ca ? { ca: source.ca } : {}) });
  const refreshAt = metadataLifetime(xml, now, source.refreshSeconds * 1000, at);
  const fresh = buildProvider(provider.config, xml, settings, issuer, at);
  if (fresh.idpEntityId !== provider.idpEntityId) {
    throw new SamlMetadataError(`${at}: the refreshed metadata names entityID ${JSON.stringify(fresh.idpEntityId)}, not ${JSON.stringify(provider.idpEntityId)}; refusing it`);
  }
  // the login page's CSP form-action lists the SSO origins known at start-up (interactions/federated.ts)
  if (fresh.ssoOrigin !== provider.ssoOrigin) {
    throw new SamlMetadataError(`${at}: the refreshed metadata moves the SSO endpoint to ${fresh.ssoOrigin} (was ${provider.ssoOrigin}); restart Gatehouse to accept it`);
  }
  Object.assign(provider, { ...fresh, refreshAt, refreshIntervalMs: refreshAt - now });
}

function fingerprintOf(certificate: string): string | undefined {
  try {
    return new X509Certificate(pemCertificate(certificate)).fingerprint256;
  } catch {
    return undefined;
  }
}

function buildProvider(config: SamlIdpConfig, metadataXml: string, settings: SamlSettings, issuer: string, at: string): SamlProvider {
  const base = `${issuer}/federation/saml/${config.id}`;
  const sign = config.signAuthnRequests;
  let idp: samlify.IdentityProviderInstance;
  try {
    // samlify refuses to sign requests for an IdP whose metadata does not ask for it; when the operator
    // asks (signAuthnRequests), say so in the IdP's metadata we hold rather than weaken the check.
    const xml = sign ? metadataXml.replace(/<(\w+:)?IDPSSODescriptor\b(?![^>]*WantAuthnRequestsSigned)/, '$& WantAuthnRequestsSigned="true"') : metadataXml;
    idp = samlify.IdentityProvider({ metadata: xml });
  } catch (err) {
    throw new SamlMetadataError(`${at}: the IdP metadata cannot be read (${(err as Error).message}); expected a SAML 2.0 EntityDescriptor with an IDPSSODescriptor`);
  }
  const idpEntityId = idp.entityMeta.getEntityID();
  const ssoUrl = idp.entityMeta.getSingleSignOnService(config.binding);
  const certs = [idp.entityMeta.getX509Certificate('signing')].flat(3).filter((c): c is string => typeof c === 'string' && c.length > 0);
  if (!idpEntityId) throw new SamlMetadataError(`${at}: the IdP metadata has no entityID`);
  if (typeof ssoUrl !== 'string' || !/^https?:\/\//.test(ssoUrl)) {
    throw new SamlMetadataError(`${at}: the IdP metadata has no SingleSignOnService for the ${config.binding} binding; expected one, or another "binding"`);
  }
  if (certs.length === 0) throw new SamlMetadataError(`${at}: the IdP metadata has no signing certificate; expected a KeyDescriptor (use="signing" or no use) with an X509Certificate`);
  // With a pin, only the pinned certificates are trusted: metadata over http could otherwise carry an
  // extra certificate of whoever sits on the path next to the pinned one. Pin the old and the new
  // certificate during a rollover.
  const pinned = 'url' in config.metadata ? config.metadata.fingerprints : undefined;
  const trusted = pinned ? certs.filter((c) => pinned.includes(fingerprintOf(c) ?? '')) : certs;
  if (trusted.length === 0) {
    throw new SamlMetadataError(`${at}.metadataFingerprint: the fetched IdP metadata has no signing certificate with fingerprint ${pinned?.join(' or ')}; refusing it`);
  }
  const wantsSigned = idp.entityMeta.isWantAuthnRequestsSigned();
  if (wantsSigned && !settings.spKey) throw new SamlMetadataError(`${at}: the IdP wants signed AuthnRequests; expected saml.privateKeyFile and saml.certificateFile`);

  const spEntityId = config.spEntityId ?? `${base}/metadata`;
  const acsUrl = `${base}/acs`;
  const sloUrl = `${base}/slo`;
  const idpSlo = (['redirect', 'post'] as const)
    .map((binding) => ({ binding, location: idp.entityMeta.getSingleLogoutService(binding) }))
    .find((s): s is { binding: 'redirect' | 'post'; location: string } => typeof s.location === 'string' && /^https?:\/\//.test(s.location));
  if (config.singleLogout && !idpSlo) {
    throw new SamlMetadataError(`${at}: singleLogout is set, but the IdP metadata has no SingleLogoutService (HTTP-Redirect or HTTP-POST); expected one, or singleLogout false`);
  }
  const sp = samlify.ServiceProvider({
    entityID: spEntityId,
    authnRequestsSigned: wantsSigned,
    wantAssertionsSigned: true,
    wantMessageSigned: false,
    nameIDFormat: [NAMEID_FORMATS[config.nameIdFormat]],
    // SAML core §3.4.1.1: AllowCreate="false" lets an IdP refuse a person it has no identifier for yet
    // towards this SP, i.e. everyone's first sign-in; "true" is what IdPs expect, and is configurable
    allowCreate: config.allowCreate,
    assertionConsumerService: [{ Binding: BINDINGS.post, Location: acsUrl, isDefault: true }],
    // SAML profiles §4.4: single logout needs signed messages, so it is offered only with an SP signing key
    ...(settings.spKey
      ? { singleLogoutService: [{ Binding: BINDINGS.redirect, Location: sloUrl }, { Binding: BINDINGS.post, Location: sloUrl }] }
      : {}),
    ...(settings.spKey
      ? { privateKey: settings.spKey.privateKey, signingCert: settings.spKey.certificate, requestSignatureAlgorithm: RSA_SHA256 }
      : {}),
    // published as KeyDescriptor use="encryption": IdPs that see it may (or, when told to, must) encrypt
    ...(settings.spEncryption ? { encryptCert: settings.spEncryption.certificate } : {}),
    clockDrifts: [-settings.clockSkewSeconds * 1000, settings.clockSkewSeconds * 1000],
  });
  return {
    config, spEntityId, acsUrl, sloUrl, ...(idpSlo ? { idpSlo } : {}), ...(settings.spKey ? { spKey: settings.spKey } : {}), metadataUrl: `${base}/metadata`, idpEntityId, spMetadata: withEncryptionMethods(sp.getMetadata()),
    idpCertificates: trusted.map(pemCertificate), ssoOrigin: new URL(ssoUrl).origin, sp, idp,
    ...(settings.spEncryption ? { decryptionKey: createPrivateKey(settings.spEncryption.privateKey) } : {}),
  };
}

/** What encrypted-assertion.ts opens, most preferred first (GCM: authenticated, no padding to probe). */
const ENCRYPTION_METHODS = [
  'http://www.w3.org/2009/xmlenc11#aes256-gcm',
  'http://www.w3.org/2009/xmlenc11#aes128-gcm',
  'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
  'http://www.w3.org/2001/04/xmlenc#aes128-cbc',
  'http://www.w3.org/2009/xmlenc11#rsa-oaep',
  'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
];

/**
 * SAML metadata §2.4.1.1: EncryptionMethod elements in the encryption KeyDescriptor tell the IdP which
 * algorithms we accept (Shibboleth and others choose from them); samlify does not write them.
 */
function withEncryptionMethods(metadata: string): string {
  return metadata.replace(/(<(\w+:)?KeyDescriptor use="encryption">[\s\S]*?<\/(\w+:)?KeyInfo>)/, (match, _all, prefix: string | undefined) =>
    `${match}${ENCRYPTION_METHODS.map((a) => `<${prefix ?? ''}EncryptionMethod Algorithm="${a}"/>`).join('')}`);
}
