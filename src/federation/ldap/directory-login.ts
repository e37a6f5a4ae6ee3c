/**
 * Password logins that may belong to a directory. A login whose email domain a directory owns is checked
 * there only; any other login is checked against local accounts first, then against the directories of
 * `ldapOrder`, in order. A directory that is down never blocks a local account: it is only asked once the
 * local check has failed.
 */
import type { Logger } from 'pino';
import type { AccountRecord } from '../../../adapters/contract.js';
import type { HomeRealms } from '../home-realm.js';
import type { FederatedAccounts } from '../federated-accounts.js';
import { mapProfile } from '../upstream-profile.js';
import { refusalMessages, type Refusal } from '../federation-errors.js';
import type { LdapDirectory } from './ldap-directory.js';
import { normalizeDn } from './ldap-names.js';
import { directorySubject } from '../../accounts/login-throttle.js';

export type PasswordCheck =
  /** `notice`: to show the person (their new directory email belongs to another account; emailConflict "keep") */
  | { status: 'ok'; account: AccountRecord; notice?: Refusal }
  /** wrong password or unknown person, wherever they were looked for */
  | { status: 'invalid' }
  /** the directory that should answer cannot: the message says so */
  | { status: 'unavailable'; message: Refusal }
  /** the directory said yes but the account cannot be used (email taken, no email) */
  | { status: 'refused'; message: Refusal };

export type DirectoryLogin = ReturnType<typeof createDirectoryLogin>;

export function createDirectoryLogin(deps: {
  directories: LdapDirectory[];
  order: string[];
  realms: HomeRealms;
  accounts: Pick<FederatedAccounts, 'signIn'>;
  logger: Pick<Logger, 'info'>;
}) {
  const byId = new Map(deps.directories.map((d) => [d.config.id, d]));

  async function viaDirectory(directory: LdapDirectory, login: string, password: string): Promise<PasswordCheck> {
    const outcome = await directory.authenticate(login, password);
    if (outcome.status === 'invalid') return { status: 'invalid' };
    if (outcome.status === 'unavailable') return { status: 'unavailable', message: refusalMessages.unavailable(directory.config.name) };
    const profile = mapProfile(directory.config, outcome.identity, normalizeDn);
    if (!profile) return { status: 'refused', message: refusalMessages.noEmail(directory.config.name) };
    const signedIn = await deps.accounts.signIn(directory.config, outcome.identity.externalId, profile);
    // a disabled account is answered as a wrong password: the page reveals no more than a wrong one would
    if ('refused' in signedIn && signedIn.refused === 'account_disabled') return { status: 'invalid' };
    if ('refused' in signedIn) {
      const message = { email_taken: refusalMessages.emailTaken, email_conflict: refusalMessages.emailConflict, email_not_allowed: refusalMessages.emailNotAllowed }[signedIn.refused];
      return { status: 'refused', message: message(directory.config.name) };
    }
    deps.logger.info({ directory: directory.config.id, accountId: signedIn.account.id, created: signedIn.created }, 'directory login');
    const kept = signedIn.emailKept;
    return kept ? { status: 'ok', account: signedIn.account, notice: refusalMessages.emailKept(directory.config.name, kept.kept, kept.asserted) } : { status: 'ok', account: signedIn.account };
  }

  return {
    /**
     * The throttle's counter for a login that a directory knows: the entry's DN, found as checkPassword
     * would find it (the domain's directory, else the `ldapOrder` directories in turn), before any bind.
     */
    async subjectOf(login: string): Promise<string | undefined> {
      const realm = deps.realms.discover(login);
      if (realm.kind === 'saml') return undefined;
      const ids = realm.kind === 'ldap' ? [realm.id] : deps.order;
      for (const id of ids) {
        const dn = await (byId.get(id) as LdapDirectory).locate(login);
        if (dn) return directorySubject(id, dn);
      }
      return undefined;
    },

    async checkPassword(login: string, password: string, local: () => Promise<AccountRecord | undefined>): Promise<PasswordCheck> {
      const realm = deps.realms.discover(login);
      if (realm.kind === 'ldap') return viaDirectory(byId.get(realm.id) as LdapDirectory, login, password);
      if (realm.kind === 'saml') return { status: 'invalid' };
      const account = await local();
      if (account) return { status: 'ok', account };
      let unavailable: PasswordCheck | undefined;
      for (const id of deps.order) {
        const result = await viaDirectory(byId.get(id) as LdapDirectory, login, password);
        if (result.status === 'unavailable') unavailable ??= result;
        else if (result.status !== 'invalid') return result;
      }
      return unavailable ?? { status: 'invalid' };
    },
  };
}
