/**
 * The interaction policy (which prompts run, and when) and the authentication context values we issue.
 * Login and consent are oidc-provider's own prompts; the second factor is one more prompt, `mfa`, between
 * them, with its checks here rather than a second state machine (STYLE.md §6). This file is the one place
 * that defines ACR and AMR values; the README documents them.
 */
import { errors, interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';

const { base, Prompt, Check } = interactionPolicy;

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
  /** an upstream SAML IdP authenticated the person (src/federation) */
  federated: 'urn:gatehouse:acr:federated',
} as const;

export type AcrValue = (typeof ACR)[keyof typeof ACR];

const ACR_RANK: Record<string, number> = { [ACR.password]: 1, [ACR.federated]: 1, [ACR.mfa]: 2, [ACR.phishingResistant]: 3 };

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

export type PolicyDeps = {
  /** The acr this account must reach for this client and request; `ACR.password` when nothing more is needed. */
  requirement(ctx: KoaContextWithOIDC): Promise<MfaRequirement>;
  /** prompts that follow the second factor, in order, before consent (lifecycle: update_password, verify_email) */
  afterMfa?: InstanceType<typeof Prompt>[];
};

export function createInteractionPolicy(deps: PolicyDeps) {
  const policy = base();
  // one lookup per request, shared by the check and the prompt details
  const memo = new WeakMap<object, Promise<MfaRequirement>>();
  const requirement = (ctx: KoaContextWithOIDC) => {
    let r = memo.get(ctx);
    if (!r) memo.set(ctx, (r = deps.requirement(ctx)));
    return r;
  };
  // The second factor (and step-up for acr_values and the claims parameter's acr)
  // is asked after login and before consent. It finishes with a `login` result for the same account and a
  // stronger acr/amr, so the session itself records it and max_age/auth_time keep their meaning.
  const mfa = new Prompt(
    { name: 'mfa', requestable: false },
    async (ctx) => ({ ...(await requirement(ctx as KoaContextWithOIDC)) }),
    new Check('mfa_required', 'a stronger authentication is required', async (ctx) => {
      const { session } = (ctx as KoaContextWithOIDC).oidc;
      if (!session?.accountId) return Check.NO_NEED_TO_PROMPT;
      const needed = await requirement(ctx as KoaContextWithOIDC);
      // with prompt=none oidc-provider answers this check's default error, interaction_required (Core §3.1.2.6)
      return meetsRequirement(session.acr, needed) ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
    }),
  );
  // Core §5.5.1.1: an essential acr with value/values must be one of them in the ID token. oidc-provider's
  // login prompt checks this by asking for a login again, which the password cannot raise and which would
  // loop; here the mfa prompt raises the session first, and only a session still outside the requested
  // values (a stronger or a different method) ends the request with unmet_authentication_requirements
  // (OpenID Connect Core Unmet Authentication Requirements 1.0).
  const login = policy.get('login')!;
  login.checks.remove('essential_acrs');
  login.checks.remove('essential_acr');
  mfa.checks.add(
    new Check('essential_acr_unmet', 'the requested essential acr cannot be satisfied', async (ctx) => {
      const oidcCtx = ctx as KoaContextWithOIDC;
      const { session } = oidcCtx.oidc;
      const claim = acrClaimOf(oidcCtx);
      if (!session?.accountId || !claim?.essential) return Check.NO_NEED_TO_PROMPT;
      const values = acrClaimValues(claim);
      if (!values.length || values.includes(session.acr)) return Check.NO_NEED_TO_PROMPT;
      // the prompt's checks run together: while the second factor is still to come, mfa_required asks for it
      if (!meetsRequirement(session.acr, await requirement(oidcCtx))) return Check.NO_NEED_TO_PROMPT;
      throw new errors.UnmetAuthenticationRequirements('the requested essential acr cannot be satisfied');
    }),
  );
  policy.add(mfa, 1);
  (deps.afterMfa ?? []).forEach((prompt, i) => policy.add(prompt, 2 + i));
  return policy;
}
