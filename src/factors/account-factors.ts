/**
 * An account's second factors taken together: what it has, what it may remove, and the recovery codes
 * that come with the first factor. Removing the last factor is refused while a policy requires one;
 * recovery codes go when the last factor goes (they are a way back to a factor, not a factor).
 */
import type { WebAuthnCredentialRecord } from '../../adapters/contract.js';
import type { TotpService } from './totp.js';
import type { WebAuthnService } from './webauthn.js';
import type { RecoveryCodes } from './recovery-codes.js';
import type { FactorSummary, MfaPolicy } from './mfa-policy.js';

export type AccountFactors = ReturnType<typeof createAccountFactors>;

export type FactorOverview = {
  totp: 'none' | 'pending' | 'active';
  credentials: WebAuthnCredentialRecord[];
  recoveryCodesLeft: number;
  requiredByPolicy: boolean;
};

/** Why a factor was not removed: pages show their own words for each (account-pages), `message` is the English. */
export type RemovalRefusal = 'last_factor' | 'not_on_account';

export type Removal = { ok: true } | { ok: false; reason: RemovalRefusal; message: string };

export const LAST_FACTOR_REFUSED =
  'This is your last second factor, and your organisation requires one. Add another authenticator app, security key or passkey first.';
const NOT_ON_ACCOUNT = 'That security key or passkey is not on your account.';

export function createAccountFactors(deps: {
  totp: Pick<TotpService, 'status' | 'remove'>;
  webauthn: Pick<WebAuthnService, 'list' | 'remove'>;
  recoveryCodes: Pick<RecoveryCodes, 'regenerate' | 'remaining' | 'remove'>;
  policy: Pick<MfaPolicy, 'requiredByPolicy'>;
}) {
  const { totp, webauthn, recoveryCodes, policy } = deps;

  async function summary(accountId: string): Promise<FactorSummary> {
    const [status, credentials] = await Promise.all([totp.status(accountId), webauthn.list(accountId)]);
    return { totp: status === 'active', webauthn: credentials.length };
  }

  /** Refuses when `remaining` factors would be none and a policy requires one. */
  async function mayRemove(accountId: string, remaining: number): Promise<Removal> {
    if (remaining > 0) return { ok: true };
    return (await policy.requiredByPolicy(accountId)) ? { ok: false, reason: 'last_factor', message: LAST_FACTOR_REFUSED } : { ok: true };
  }

  async function afterRemoval(accountId: string): Promise<void> {
    const s = await summary(accountId);
    if (!s.totp && s.webauthn === 0) await recoveryCodes.remove(accountId);
  }

  return {
    summary,

    async overview(accountId: string): Promise<FactorOverview> {
      const [status, credentials, recoveryCodesLeft, requiredByPolicy] = await Promise.all([
        totp.status(accountId),
        webauthn.list(accountId),
        recoveryCodes.remaining(accountId),
        policy.requiredByPolicy(accountId),
      ]);
      return { totp: status, credentials, recoveryCodesLeft, requiredByPolicy };
    },

    /** Ten new recovery codes when the account has none left unused (after its first factor); else undefined. */
    async issueRecoveryCodesIfNone(accountId: string): Promise<string[] | undefined> {
      return (await recoveryCodes.remaining(accountId)) === 0 ? recoveryCodes.regenerate(accountId) : undefined;
    },

    async removeTotp(accountId: string): Promise<Removal> {
      const s = await summary(accountId);
      const verdict = await mayRemove(accountId, s.webauthn);
      if (!verdict.ok) return verdict;
      await totp.remove(accountId);
      await afterRemoval(accountId);
      return verdict;
    },

    async removeCredential(accountId: string, credentialId: string): Promise<Removal> {
      const s = await summary(accountId);
      const verdict = await mayRemove(accountId, s.webauthn - 1 + (s.totp ? 1 : 0));
      if (!verdict.ok) return verdict;
      if (!(await webauthn.remove(accountId, credentialId))) return { ok: false, reason: 'not_on_account', message: NOT_ON_ACCOUNT };
      await afterRemoval(accountId);
      return verdict;
    },
  };
}
