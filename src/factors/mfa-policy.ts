/**
 * Who must use a second factor, and how strong a sign-in must be: the account's own choice (it enrolled
 * a factor), the operator's settings (MFA_REQUIRED, MFA_REQUIRED_ROLES), the client's registration
 * (`gatehouse_require_mfa`), and the relying party's request (`acr_values`, or `acr` in the `claims` parameter). The strongest wins.
 */
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { AccountRecord } from '../../adapters/contract.js';
import { ACR, acrClaimOf, acrRank, requestedAcr, type AcrClaimRequest, type AcrValue, type MfaRequirement } from '../assurance/acr-amr.js';

/** Client metadata that makes every sign-in to this client use a second factor (boolean). */
export const CLIENT_REQUIRE_MFA = 'gatehouse_require_mfa';

/** Our client metadata property, as a part of oidc-provider's `extraClientMetadata` (oidc/client-metadata.ts). */
export const mfaClientMetadata = {
  properties: [CLIENT_REQUIRE_MFA],
  validate(key: string, value: unknown) {
    if (key === CLIENT_REQUIRE_MFA && value !== undefined && typeof value !== 'boolean') {
      throw new errors.InvalidClientMetadata(`${CLIENT_REQUIRE_MFA} must be a boolean`);
    }
  },
};

export type MfaPolicy = ReturnType<typeof createMfaPolicy>;

export type FactorSummary = { totp: boolean; webauthn: number };

export function createMfaPolicy(deps: {
  required: boolean;
  requiredRoles: string[];
  findAccount(id: string): Promise<AccountRecord | undefined>;
  factorsOf(accountId: string): Promise<FactorSummary>;
}) {
  const roles = new Set(deps.requiredRoles);

  /** Why this account must use a second factor regardless of the request (empty when it need not). */
  async function standingReasons(account: AccountRecord, clientRequires: boolean): Promise<string[]> {
    const reasons: string[] = [];
    const f = await deps.factorsOf(account.id);
    if (f.totp || f.webauthn > 0) reasons.push('enrolled');
    if (deps.required) reasons.push('global');
    if (account.roles.some((r) => roles.has(r))) reasons.push('role');
    if (clientRequires) reasons.push('client');
    return reasons;
  }

  /**
   * The one answer to "what acr must this account reach": its standing requirement (an enrolled factor,
   * the settings, its roles), raised by the client's registration and the request's acr_values. The mfa
   * prompt asks it for every authorization request; the account pages ask it with no client and no
   * acr_values (accountRequirement), so they accept exactly the sessions a sign-in would have finished.
   */
  async function requirement(accountId: string, clientRequires: boolean, acrValues: unknown, acrClaim?: AcrClaimRequest): Promise<MfaRequirement> {
    const account = await deps.findAccount(accountId);
    if (!account) return { acr: ACR.password, reasons: [] };
    const reasons = await standingReasons(account, clientRequires);
    let acr: AcrValue = reasons.length ? ACR.mfa : ACR.password;
    const requested = requestedAcr(acrValues, acrClaim);
    if (requested && acrRank(requested) > acrRank(ACR.password)) {
      reasons.push('acr_values');
      if (acrRank(requested) > acrRank(acr)) acr = requested;
    }
    return { acr, reasons };
  }

  return {
    requirement,

    /** What this account needs whatever the client and request: the floor the account pages require. */
    accountRequirement: (accountId: string): Promise<MfaRequirement> => requirement(accountId, false, undefined),

    /** Whether policy (settings or roles) forces a second factor on this account, whatever it enrolled. */
    async requiredByPolicy(accountId: string): Promise<boolean> {
      const account = await deps.findAccount(accountId);
      return !!account && (deps.required || account.roles.some((r) => roles.has(r)));
    },

    /** The interaction policy's view: the session's account, the client in the request, its acr_values. */
    fromContext(ctx: KoaContextWithOIDC): Promise<MfaRequirement> {
      const { session, client, params } = ctx.oidc;
      if (!session?.accountId) return Promise.resolve({ acr: ACR.password, reasons: [] });
      const clientRequires = client?.metadata()[CLIENT_REQUIRE_MFA] === true;
      return requirement(session.accountId, clientRequires, params?.acr_values, acrClaimOf(ctx));
    },
  };
}
