/** Second factors (src/factors) and the policy that says who needs one. */
import type { Config } from '../config/schema.js';
import type { Store } from '../../adapters/contract.js';
import type { AtRestCipher } from '../keys/at-rest-cipher.js';
import type { Accounts } from './build-accounts.js';
import { createTotpService, type TotpService } from '../factors/totp.js';
import { createRecoveryCodes, type RecoveryCodes } from '../factors/recovery-codes.js';
import { createWebAuthnService, type WebAuthnService } from '../factors/webauthn.js';
import { createMfaPolicy, type MfaPolicy } from '../factors/mfa-policy.js';
import { createAccountFactors, type AccountFactors } from '../factors/account-factors.js';

export type Factors = { totp: TotpService; webauthn: WebAuthnService; recoveryCodes: RecoveryCodes; policy: MfaPolicy; account: AccountFactors };

export function buildFactors(config: Config, store: Store, cipher: AtRestCipher, withAllRoles: Accounts['withAllRoles']): Factors {
  const totp = createTotpService({ factors: store.factors, cipher, issuer: config.BRAND_NAME });
  const recoveryCodes = createRecoveryCodes({ factors: store.factors });
  const webauthn = createWebAuthnService({ credentials: store.factors, challenges: store.records, issuer: config.ISSUER, rpName: config.BRAND_NAME });
  const policy = createMfaPolicy({
    required: config.MFA_REQUIRED,
    requiredRoles: config.MFA_REQUIRED_ROLES,
    findAccount: withAllRoles,
    factorsOf: async (id) => ({ totp: (await totp.status(id)) === 'active', webauthn: (await webauthn.list(id)).length }),
  });
  return { totp, webauthn, recoveryCodes, policy, account: createAccountFactors({ totp, webauthn, recoveryCodes, policy }) };
}
