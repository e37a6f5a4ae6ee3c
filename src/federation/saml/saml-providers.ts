/**
 * Builds, for each configured IdP, the samlify pair that talks to it: the IdP from its metadata (read
 * from the file, or fetched once at start-up) and Gatehouse's service provider towards it. Each IdP sees
 * its own SP entity (entityID = its SP metadata URL), with its own ACS: a response meant for one IdP's
 * flow can never be accepted at another's.
 */
import { X509Certificate } from 'node:crypto';
import * as samlify from 'samlify';
import type { SamlIdpConfig, SamlSettings } from '../../config/federation/saml-config.js';
import { NAMEID_FORMATS } from '../../config/federation/saml-config.js';
import { pemCertificate } from './signature-check.js';

export type SamlProvider = {
  config: SamlIdpConfig;
  spEntityId: string;
  acsUrl: string;
  metadataUrl: string;
  idpEntityId: string;
  idpCertificates: string[];
  /** the origin AuthnRequests go to (CSP form-action must allow it) */
  ssoOrigin: string;
  sp: samlify.ServiceProviderInstance;
  idp: samlify.IdentityProviderInstance;
};

export class SamlMetadataError extends Error {}

const BINDINGS = samlify.Constants.namespace.binding;
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';

export async function loadSamlProviders(settings: SamlSettings, issuer: string, fetchImpl: typeof fetch = fetch): Promise<SamlProvider[]> {
  const providers: SamlProvider[] = [];
  for (const [i, config] of settings.idps.entries()) {
    const at = `FEDERATION_FILE: saml.idps[${i}]`;
    const xml = 'xml' in config.metadata ? config.metadata.xml : await fetchMetadata(config.metadata.url, fetchImpl, `${at}.metadataUrl`);
    providers.push(buildProvider(config, xml, settings, issuer, at));
  }
  return providers;
}

function fingerprintOf(certificate: string): string | undefined {
  try {
    return new X509Certificate(pemCertificate(certificate)).fingerprint256;
  } catch {
    return undefined;
  }
}

async function fetchMetadata(url: string, fetchImpl: typeof fetch, at: string): Promise<string> {
  let res: Response;
  try {
    // no redirects: one to http:// (or elsewhere) would undo the https requirement of metadataUrl
    res = await fetchImpl(url, { redirect: 'error', signal: AbortSignal.timeout(10_000), headers: { accept: 'application/samlmetadata+xml, application/xml, text/xml' } });
  } catch (err) {
    throw new SamlMetadataError(`${at}: cannot fetch ${JSON.stringify(url)} (${(err as Error).message}; redirects are not followed)`);
  }
  if (!res.ok) throw new SamlMetadataError(`${at}: ${JSON.stringify(url)} answered HTTP ${res.status}; expected the IdP's metadata`);
  return res.text();
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
  const pinned = 'url' in config.metadata ? config.metadata.fingerprint : undefined;
  if (pinned && !certs.some((c) => fingerprintOf(c) === pinned)) {
    throw new SamlMetadataError(`${at}.metadataFingerprint: the fetched IdP metadata has no signing certificate with fingerprint ${pinned}; refusing it`);
  }
  const wantsSigned = idp.entityMeta.isWantAuthnRequestsSigned();
  if (wantsSigned && !settings.spKey) throw new SamlMetadataError(`${at}: the IdP wants signed AuthnRequests; expected saml.privateKeyFile and saml.certificateFile`);

  const spEntityId = config.spEntityId ?? `${base}/metadata`;
  const acsUrl = `${base}/acs`;
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
    ...(settings.spKey
      ? { privateKey: settings.spKey.privateKey, signingCert: settings.spKey.certificate, requestSignatureAlgorithm: RSA_SHA256 }
      : {}),
    clockDrifts: [-settings.clockSkewSeconds * 1000, settings.clockSkewSeconds * 1000],
  });
  return {
    config, spEntityId, acsUrl, metadataUrl: `${base}/metadata`, idpEntityId,
    idpCertificates: certs.map(pemCertificate), ssoOrigin: new URL(ssoUrl).origin, sp, idp,
  };
}
