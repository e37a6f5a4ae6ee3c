/**
 * The authentication context values Gatehouse issues and reads: `acr` (OpenID Connect Core §2) and `amr`
 * (RFC 8176), how strong each is, and what a request asks for. This file is the one place that defines
 * them (the README documents them); the interaction policy (oidc/), the factors, the sign-in pages and
 * the account pages all use these, so it depends on nothing of ours.
 */
import type { KoaContextWithOIDC } from 'oidc-provider';

/** `acr` values (OpenID Connect Core §2), weakest first. */
export const ACR = {
  /** a password (or an upstream directory's password) was checked */
  password: 'urn:gatehouse:acr:password',
  /** a password and a second factor (TOTP code, recovery code, security key or passkey) */
  mfa: 'urn:gatehouse:acr:mfa',
  /**
   * a WebAuthn credential took part (a passkey with user verification, or a security key after the
   * password): the origin-bound signature cannot be relayed by a phishing site
   */
  phishingResistant: 'urn:gatehouse:acr:phr',
  /** an upstream SAML IdP or OpenID / OAuth 2.0 provider authenticated the person (src/federation) */
  federated: 'urn:gatehouse:acr:federated',
  /**
   * an upstream OpenID provider authenticated the person with more than one factor, and its provider
   * entry trusts that claim (trustUpstreamMfa): it counts as a second factor here
   */
  federatedMfa: 'urn:gatehouse:acr:federated-mfa',
} as const;

export type AcrValue = (typeof ACR)[keyof typeof ACR];

const ACR_RANK: Record<string, number> = { [ACR.password]: 1, [ACR.federated]: 1, [ACR.mfa]: 2, [ACR.federatedMfa]: 2, [ACR.phishingResistant]: 3 };

/** How strong an `acr` is: 0 for none or unknown. */
export const acrRank = (acr: string | undefined): number => (acr ? ACR_RANK[acr] ?? 0 : 0);

/** `amr` values, from the RFC 8176 registry. */
export const AMR = {
  password: 'pwd',
  /** a TOTP code or a single-use recovery code */
  otp: 'otp',
  /** a WebAuthn credential bound to one device (security key, platform authenticator) */
  hardwareKey: 'hwk',
  /** a WebAuthn credential that syncs between devices (a synced passkey) */
  softwareKey: 'swk',
  /** the authenticator verified the person (WebAuthn UV: PIN or biometric on the device) */
  userVerified: 'user',
  /** more than one kind of factor took part */
  mfa: 'mfa',
  /** federated authentication at an upstream IdP (not in the RFC 8176 registry; documented in the README) */
  federated: 'fed',
} as const;

/**
 * The session's amr after adding `added` to what it had, with `mfa` when two kinds of factor took part:
 * something known (pwd) or a verified user (user) together with something held (otp, hwk, swk).
 */
export function combineAmr(previous: readonly string[] | undefined, added: readonly string[]): string[] {
  const set = new Set([...(previous ?? []), ...added].filter((v) => v !== AMR.mfa));
  const held = set.has(AMR.otp) || set.has(AMR.hardwareKey) || set.has(AMR.softwareKey);
  const known = set.has(AMR.password) || set.has(AMR.userVerified) || set.has(AMR.federated);
  if (held && known) set.add(AMR.mfa);
  const order: string[] = Object.values(AMR);
  return [...set].sort((a, b) => order.indexOf(a) - order.indexOf(b));
}

/** The acr that an amr earns. */
export function acrForAmr(amr: readonly string[]): AcrValue {
  const key = amr.includes(AMR.hardwareKey) || amr.includes(AMR.softwareKey);
  if (key && amr.includes(AMR.mfa)) return ACR.phishingResistant;
  if (amr.includes(AMR.mfa)) return ACR.mfa;
  return ACR.password;
}

/**
 * The weakest acr among the known values a relying party asked for with `acr_values` (Core §3.1.2.1:
 * "in order of preference"); any of them satisfies the request, so the weakest is the floor. Unknown
 * values are ignored, as Core §5.5.1.1 allows for voluntary claims.
 */
export function requestedAcrFloor(acrValues: unknown): AcrValue | undefined {
  if (typeof acrValues !== 'string') return undefined;
  return weakestKnown(acrValues.split(' '));
}

const weakestKnown = (values: readonly unknown[]): AcrValue | undefined =>
  (values.filter((v) => typeof v === 'string' && acrRank(v) > 0) as AcrValue[]).sort((a, b) => acrRank(a) - acrRank(b))[0];

/** The `acr` member of the `claims` request parameter's `id_token` object (Core §5.5.1.1). */
export type AcrClaimRequest = { essential?: boolean; value?: unknown; values?: unknown };

/** The acr values a `claims` request for acr names (`value` or `values`); empty when it names none. */
export function acrClaimValues(request: AcrClaimRequest | null | undefined): unknown[] {
  if (!request) return [];
  if (Array.isArray(request.values)) return request.values;
  return request.value !== undefined ? [request.value] : [];
}

/**
 * The weakest acr a request asks for, from `acr_values` and from the `claims` parameter's id_token.acr
 * (Core §5.5.1.1 `value`/`values`): the higher of the two floors, since the request must satisfy both.
 */
export function requestedAcr(acrValues: unknown, claim: AcrClaimRequest | null | undefined): AcrValue | undefined {
  const floors = [requestedAcrFloor(acrValues), weakestKnown(acrClaimValues(claim))].filter((v): v is AcrValue => !!v);
  return floors.sort((a, b) => acrRank(b) - acrRank(a))[0];
}

/** The `claims` parameter's id_token.acr of a request (oidc-provider parses it, features.claimsParameter). */
export const acrClaimOf = (ctx: KoaContextWithOIDC): AcrClaimRequest | undefined =>
  (ctx.oidc.claims as { id_token?: { acr?: AcrClaimRequest | null } } | undefined)?.id_token?.acr ?? undefined;

/** What a sign-in must reach for this request, and why (shown on the page, and in the logs). */
export type MfaRequirement = { acr: AcrValue; reasons: string[] };

/**
 * Whether a session's acr reaches the requirement. A session that holds an accountId after the password
 * but before the second factor fails this, so neither the mfa prompt (authorization, consent,
 * prompt=none, device flow) nor the account pages treat it as signed in.
 */
export const meetsRequirement = (sessionAcr: string | undefined, needed: MfaRequirement): boolean => acrRank(sessionAcr) >= acrRank(needed.acr);
