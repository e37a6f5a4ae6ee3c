/**
 * The interaction policy: which prompts run, and when.
 * Login and consent are oidc-provider's own prompts; the second factor is one more prompt, `mfa`, between
 * them, with its checks here rather than a second state machine (STYLE.md §6). The ACR and AMR values
 * are defined in src/assurance/acr-amr.ts.
 */
import { errors, interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import { acrClaimOf, acrClaimValues, meetsRequirement, type MfaRequirement } from '../assurance/acr-amr.js';

const { base, Prompt, Check } = interactionPolicy;

export type PolicyDeps = {
  /** The acr this account must reach for this client and request; `ACR.password` when nothing more is needed. */
  requirement(ctx: KoaContextWithOIDC): Promise<MfaRequirement>;
  /** prompts that follow the second factor, in order, before consent (lifecycle: update_password, verify_email) */
  afterMfa?: InstanceType<typeof Prompt>[];
  /** whether a sign-in may come from this client address (SIGN_IN_ALLOWED_IP_RANGES, a tenant's allowedIpRanges) */
  signInAllowedFrom?(ip: string): boolean;
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
  // Sign-in only from the allowed networks: checked on every authorization request, with a session or
  // without, and again when it resumes after the login page; from elsewhere the request ends with
  // access_denied at the client (RFC 6749 §4.1.2.1), before any page asks for a password.
  const allowedFrom = deps.signInAllowedFrom;
  if (allowedFrom) {
    login.checks.add(new Check('network_not_allowed', 'sign-in is not allowed from this network', (ctx) => {
      if (allowedFrom(ctx.ip)) return Check.NO_NEED_TO_PROMPT;
      throw new errors.AccessDenied('sign-in is not allowed from this network');
    }), 0);
  }
  policy.add(mfa, 1);
  (deps.afterMfa ?? []).forEach((prompt, i) => policy.add(prompt, 2 + i));
  return policy;
}
