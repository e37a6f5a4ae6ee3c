/**
 * The account lifecycle service (src/accounts/account-lifecycle.ts), from the stores, the accounts
 * bundle, the throttles and sign-out. The CLI builds it now; the management API receives the same one.
 */
import type { Store } from '../../adapters/contract.js';
import { createAccountLifecycle, type AccountLifecycle } from '../accounts/account-lifecycle.js';
import type { Accounts } from './build-accounts.js';
import type { Protection } from './build-protection.js';
import type { SignOut } from './build-sign-out.js';

export function buildAccountLifecycle(
  store: Store,
  accounts: Pick<Accounts, 'audit' | 'verification' | 'federatedRolesOf'>,
  protection: Pick<Protection, 'loginThrottle' | 'secondFactorThrottle' | 'forgetMailAddress'>,
  signOut: Pick<SignOut, 'signOutEverywhere'>,
): AccountLifecycle {
  return createAccountLifecycle({
    accounts: store.accounts,
    factors: store.factors,
    // roles as the federation file maps them now (build-accounts.ts), the same the tokens see
    federation: { linksOf: (id) => store.federation.linksOf(id), rolesOf: accounts.federatedRolesOf },
    oidc: store.oidc,
    audit: accounts.audit,
    auditEvents: store.audit,
    signOutEverywhere: signOut.signOutEverywhere,
    unlockLogin: (subject) => protection.loginThrottle.unlock(subject),
    unlockSecondFactor: (subject) => protection.secondFactorThrottle.unlock(subject),
    forgetAddress: (email) => protection.forgetMailAddress(email),
    sweepExpired: () => store.sweepExpired(),
    sendVerification: (account, by) => accounts.verification.send(account, {}, by.source ?? { userAgent: by.via }),
  });
}
