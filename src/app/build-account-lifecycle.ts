/**
 * The account lifecycle service (src/accounts/account-lifecycle.ts), from the stores, the accounts
 * bundle, the throttles and sign-out. The CLI builds it now; the management API receives the same one.
 */
import type { Logger } from 'pino';
import type { Store } from '../../adapters/contract.js';
import type { Config } from '../config/schema.js';
import { createAccountLifecycle, type AccountLifecycle } from '../accounts/account-lifecycle.js';
import type { Accounts } from './build-accounts.js';
import type { Protection } from './build-protection.js';
import type { SignOut } from './build-sign-out.js';

export function buildAccountLifecycle(
  store: Store,
  accounts: Pick<Accounts, 'audit' | 'verification' | 'federatedRolesOf'>,
  protection: Pick<Protection, 'loginThrottle' | 'secondFactorThrottle' | 'forgetMailAddress'>,
  signOut: Pick<SignOut, 'signOutEverywhere'>,
  directoryDn?: (providerId: string, externalId: string) => Promise<string | undefined>,
): AccountLifecycle {
  return createAccountLifecycle({
    accounts: store.accounts,
    factors: store.factors,
    // roles as the federation file maps them now (build-accounts.ts), the same the tokens see
    federation: { linksOf: (id) => store.federation.linksOf(id), rolesOf: accounts.federatedRolesOf },
    oidc: store.oidc,
    audit: accounts.audit,
    auditEvents: store.audit,
    webhookDeliveries: store.webhooks,
    signOutEverywhere: signOut.signOutEverywhere,
    unlockLogin: (subject) => protection.loginThrottle.unlock(subject),
    unlockSecondFactor: (subject) => protection.secondFactorThrottle.unlock(subject),
    ...(directoryDn ? { directoryDn } : {}),
    forgetAddress: (email) => protection.forgetMailAddress(email),
    sweepExpired: () => store.sweepExpired(),
    sendVerification: (account, by) => accounts.verification.send(account, {}, by.source ?? { userAgent: by.via }),
  });
}

/**
 * The DN of a directory link's entry, from the LDAP directories of FEDERATION_FILE (unlock and erasure
 * clear the counter of the directory entry). Imported only when some are configured, as build-federation
 * is: ldapts costs start-up time.
 */
export async function buildDirectoryDn(config: Pick<Config, 'FEDERATION_FILE'>, logger: Logger): Promise<((providerId: string, externalId: string) => Promise<string | undefined>) | undefined> {
  const ldap = config.FEDERATION_FILE?.ldap ?? [];
  if (ldap.length === 0) return undefined;
  const { createLdapDirectory } = await import('../federation/ldap/ldap-directory.js');
  const byId = new Map(ldap.map((d) => [d.id, createLdapDirectory(d, { logger })]));
  return async (providerId, externalId) => byId.get(providerId)?.locateById(externalId);
}
