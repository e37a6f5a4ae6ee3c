/**
 * Second factors added and removed by their owner (the account pages, the mfa prompt's enrolment) are
 * audited here, around the factor services, so every page that enrols or removes one records it:
 * `mfa.enrolled` / `mfa.removed` (the `user.mfa_enrolled` / `user.mfa_removed` events). An operator's reset
 * of every factor is audited by the account lifecycle (`admin.user.factors_reset`). These rows carry no
 * request source (the services are called without the request).
 */
import type { AuditLog } from './audit-log.js';
import type { TotpService } from '../factors/totp.js';
import type { WebAuthnService } from '../factors/webauthn.js';
import type { AccountFactors } from '../factors/account-factors.js';

type FactorServices = { totp: TotpService; webauthn: WebAuthnService; account: AccountFactors };

export function auditFactorChanges<F extends FactorServices>(factors: F, audit: Pick<AuditLog, 'record'>): F {
  const record = (type: 'mfa.enrolled' | 'mfa.removed', accountId: string, factor: 'totp' | 'webauthn') =>
    audit.record({ type, accountId, details: { factor } });
  const { totp, webauthn, account } = factors;
  return {
    ...factors,
    totp: {
      ...totp,
      async confirmEnrolment(accountId, code) {
        const confirmed = await totp.confirmEnrolment(accountId, code);
        if (confirmed) await record('mfa.enrolled', accountId, 'totp');
        return confirmed;
      },
    },
    webauthn: {
      ...webauthn,
      async verifyRegistration(accountId, response, name) {
        const result = await webauthn.verifyRegistration(accountId, response, name);
        if (result.ok) await record('mfa.enrolled', accountId, 'webauthn');
        return result;
      },
    },
    account: {
      ...account,
      async removeTotp(accountId) {
        const verdict = await account.removeTotp(accountId);
        if (verdict.ok) await record('mfa.removed', accountId, 'totp');
        return verdict;
      },
      async removeCredential(accountId, credentialId) {
        const verdict = await account.removeCredential(accountId, credentialId);
        if (verdict.ok) await record('mfa.removed', accountId, 'webauthn');
        return verdict;
      },
    },
  };
}
