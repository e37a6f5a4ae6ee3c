/**
 * Second factors added and removed by their owner (the account pages, the mfa prompt's enrolment) are
 * audited here, around the factor services, so every page that enrols or removes one records it:
 * `mfa.enrolled` / `mfa.removed` (the `user.mfa_enrolled` / `user.mfa_removed` events). An operator's reset
 * of every factor is audited by the account lifecycle (`admin.user.factors_reset`). These rows carry no
 * request source (the services are called without the request). Each change and its event are one unit
 * of work: the factor is stored with its event, or neither is.
 */
import type { AuditLog } from './audit-log.js';
import type { TotpService } from '../factors/totp.js';
import type { WebAuthnService } from '../factors/webauthn.js';
import type { AccountFactors } from '../factors/account-factors.js';

type FactorServices = { totp: TotpService; webauthn: WebAuthnService; account: AccountFactors };

export function auditFactorChanges<F extends FactorServices>(factors: F, audit: Pick<AuditLog, 'recordChange'>): F {
  /** the factor's change and its event in one unit (AuditLog.recordChange), the event only when it happened */
  const recorded = <R>(done: (result: R) => boolean, type: 'mfa.enrolled' | 'mfa.removed', accountId: string, factor: 'totp' | 'webauthn') =>
    ({ event: (result: R) => (done(result) ? { type, accountId, details: { factor } } : undefined) });
  const { totp, webauthn, account } = factors;
  return {
    ...factors,
    totp: {
      ...totp,
      confirmEnrolment: (accountId, code) =>
        audit.recordChange(() => totp.confirmEnrolment(accountId, code), recorded((confirmed: boolean) => confirmed, 'mfa.enrolled', accountId, 'totp')),
    },
    webauthn: {
      ...webauthn,
      verifyRegistration: (accountId, response, name) =>
        audit.recordChange(() => webauthn.verifyRegistration(accountId, response, name), recorded((r: { ok: boolean }) => r.ok, 'mfa.enrolled', accountId, 'webauthn')),
    },
    account: {
      ...account,
      removeTotp: (accountId) =>
        audit.recordChange(() => account.removeTotp(accountId), recorded((v: { ok: boolean }) => v.ok, 'mfa.removed', accountId, 'totp')),
      removeCredential: (accountId, credentialId) =>
        audit.recordChange(() => account.removeCredential(accountId, credentialId), recorded((v: { ok: boolean }) => v.ok, 'mfa.removed', accountId, 'webauthn')),
    },
  };
}
