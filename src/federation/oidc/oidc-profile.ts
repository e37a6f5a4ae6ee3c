/**
 * An upstream OpenID Connect / OAuth 2.0 identity as Gatehouse sees it: the profile (upstream-profile.ts,
 * the same mapping as LDAP and SAML), and how the person signed in there (acr/amr), which reaches our ID
 * token only as far as the provider's configuration trusts it.
 */
import type { OidcUpstreamConfig } from '../../config/federation/oidc-config.js';
import { ACR, AMR, type AcrValue } from '../../assurance/acr-amr.js';
import { mapProfile, type UpstreamProfile } from '../upstream-profile.js';
import type { OidcIdentity } from './oidc-logins.js';
import { safeUpstreamAcr } from './upstream-acr.js';

const values = (v: unknown): string[] => {
  if (typeof v === 'string') return [v];
  if (typeof v === 'number' || typeof v === 'boolean') return [String(v)];
  if (Array.isArray(v)) return v.filter((x) => typeof x === 'string' || typeof x === 'number').map(String);
  return [];
};

/** The profile, or undefined without a usable email. Verified only if the provider is trusted AND the upstream says so. */
export function oidcProfile(config: OidcUpstreamConfig, identity: OidcIdentity): UpstreamProfile | undefined {
  const attribute = (name: string) => values(identity.claims[name]);
  const groups = config.claims.groups ? attribute(config.claims.groups) : [];
  const profile = mapProfile(config, { providerId: config.id, externalId: identity.externalId, attribute, groups });
  if (!profile) return undefined;
  // OpenID Connect Core §5.1: email_verified is a boolean (Apple sends the string "true")
  const asserted = identity.claims[config.claims.email_verified ?? 'email_verified'];
  return { ...profile, emailVerified: profile.emailVerified && (asserted === true || asserted === 'true') };
}

/** RFC 8176 registry values: what an upstream's amr may add to ours. */
const REGISTERED_AMR = new Set(['face', 'fpt', 'geo', 'hwk', 'iris', 'kba', 'mca', 'mfa', 'otp', 'pin', 'pwd', 'rba', 'retina', 'sc', 'sms', 'swk', 'tel', 'user', 'vbm', 'wia']);

/**
 * Our acr/amr for an upstream sign-in, and `upstreamAcr`: the upstream's own acr, reported to relying
 * parties as `upstream_acr` (upstream-acr.ts) only when the entry trusts the upstream's context and the
 * value is one short printable string. Our acr is always ours.
 */
export function upstreamAuthContext(config: OidcUpstreamConfig, identity: OidcIdentity): { acr: AcrValue; amr: string[]; upstreamAcr?: string } {
  const amr = values(identity.claims[config.claims.amr ?? 'amr']);
  const rawAcr = identity.claims[config.claims.acr ?? 'acr'];
  const acr = values(rawAcr)[0];
  const mfa = config.trustUpstreamMfa && (amr.includes('mfa') || (acr !== undefined && config.mfaAcrValues.includes(acr)));
  const passed = config.trustUpstreamAuthContext ? amr.filter((v) => REGISTERED_AMR.has(v) && v !== 'mfa') : [];
  const upstreamAcr = config.trustUpstreamAuthContext ? safeUpstreamAcr(rawAcr) : undefined;
  return {
    acr: mfa ? ACR.federatedMfa : ACR.federated,
    amr: [AMR.federated, ...new Set(passed), ...(mfa ? [AMR.mfa] : [])],
    ...(upstreamAcr ? { upstreamAcr } : {}),
  };
}
