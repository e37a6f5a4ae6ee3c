/**
 * What an operator does to an account (issue 13): list and show, disable and enable, erase, unlock,
 * reset its second factors, change its email, sign it out everywhere. One implementation with two doors:
 * the CLI (`gatehouse users ...`) calls it now, the management API (src/admin/) later.
 *
 * Every method takes one object: `scope` says where the account must be (today the one directory of
 * accounts; issue 15 adds the tenant to it), `account` names it (by id or email), `by` says who acts
 * (recorded in the audit event). An account outside the scope is answered as missing, never as
 * forbidden (ATTACKS.md: IDOR answers 404).
 *
 * Disabling ends the account's sessions (its apps told by back-channel logout first) and revokes its
 * grants with every token issued under them; `findAccount` no longer returns a disabled account
 * (oidc/find-account.ts), so a token that survived (a JWT access token, a race with a sign-in) is refused
 * at refresh, userinfo and introspection at once.
 *
 * Erasure keeps the audit trail under a pseudonym: `erased:` and a random UUID, recorded nowhere else.
 * Random rather than an HMAC of the id: nobody, not even an operator holding the keys, can tell from it
 * whose events these were (a keyed hash would let anyone with the key confirm a guessed id), while the
 * erased person's events still group under one value.
 */
import { randomUUID } from 'node:crypto';
import type {
  AccountListQuery,
  AccountPage,
  AccountRecord,
  AccountStore,
  AuditStore,
  FactorStore,
  FederatedLinkRecord,
  FederationStore,
  OidcModelStore,
  WebhookStore,
} from '../../adapters/contract.js';
import { DuplicateError, InvalidCursorError } from '../../adapters/contract.js';
import type { AuditEvent, AuditLog, AuditSource, RecordedAs } from '../audit/audit-log.js';
import { DomainError } from '../errors/errors.js';
import { InvalidAccountInput, isEmailAddress, normaliseEmail } from './accounts.js';
import { accountSubject, directorySubject, unknownLoginSubject } from './login-throttle.js';
import { sessionsEndedEvent, type SignOutEverywhere } from './sign-out-everywhere.js';

/** Where an account must be for the call to see it. Empty today; issue 15 adds `tenant`. */
export type AccountScope = Record<string, never>;

export const DEFAULT_SCOPE: AccountScope = {};

export type AccountRef = { id: string } | { email: string };

/** Who acts: recorded with every change. */
export type Actor = {
  /** 'cli', 'admin-api', ... */
  via: string;
  /** the operator's login (CLI), or the person behind an API token */
  operator?: string | null;
  accountId?: string | null;
  /** the management client (API) */
  clientId?: string | null;
  source?: AuditSource;
};

/** No account by that id or email in the scope. */
export class AccountNotFound extends DomainError {
  readonly kind = 'not_found';
  constructor() {
    super('no such account', 'There is no such account.');
  }
}

/** The change would break a uniqueness rule (an email in use by another account). */
export class AccountConflict extends DomainError {
  readonly kind = 'conflict';
}

export type AccountDetails = {
  account: AccountRecord;
  status: 'active' | 'disabled';
  /** every role: set on the account and granted upstream */
  roles: string[];
  factors: { totp: 'none' | 'pending' | 'active'; webauthn: number; recoveryCodesLeft: number };
  links: Pick<FederatedLinkRecord, 'providerId' | 'createdAt' | 'lastLoginAt'>[];
  sessions: number;
  grants: number;
};

export type AccountLifecycle = ReturnType<typeof createAccountLifecycle>;

/** The oidc-provider models that carry an account id and so go when the account is erased. */
const ACCOUNT_ARTIFACTS = ['Session', 'Grant', 'AccessToken', 'RefreshToken', 'AuthorizationCode', 'DeviceCode', 'BackchannelAuthenticationRequest', 'Interaction'];

export function createAccountLifecycle(deps: {
  accounts: Pick<AccountStore, 'findById' | 'findByEmail' | 'update' | 'list' | 'delete'>;
  factors: Pick<FactorStore, 'findTotp' | 'deleteTotp' | 'listWebAuthn' | 'deleteWebAuthn' | 'countUnusedRecoveryCodes' | 'deleteRecoveryCodes'>;
  federation: Pick<FederationStore, 'linksOf' | 'rolesOf'>;
  oidc: Pick<OidcModelStore, 'findByAccountId' | 'destroy'>;
  audit: Pick<AuditLog, 'record' | 'recordChange'>;
  auditEvents: Pick<AuditStore, 'pseudonymise'>;
  /** erasure: the webhook deliveries already sent (or failed) that name the account */
  webhookDeliveries: Pick<WebhookStore, 'deleteSettledOfAccount'>;
  signOutEverywhere: SignOutEverywhere;
  /** the subjects' counters of the login and second-factor throttles (protection/failure-throttle.ts) */
  unlockLogin(subject: string): Promise<void>;
  unlockSecondFactor(subject: string): Promise<void>;
  /**
   * The DN of a directory link's entry (ldap-directory.ts locateById), for the throttle counter its
   * directory logins count under; undefined when the provider is no directory, or none is configured.
   */
  directoryDn?(providerId: string, externalId: string): Promise<string | undefined>;
  /** erasure: the counters keyed by the address (mail quota), and expired records not yet swept */
  forgetAddress(email: string): Promise<void>;
  sweepExpired(): Promise<unknown>;
  /** sends a verification link to the account's (new) address (email-verification.ts) */
  sendVerification(account: AccountRecord, by: Actor): Promise<void>;
  now?: () => number;
}) {
  const { accounts, factors, oidc } = deps;
  const now = deps.now ?? Date.now;

  async function find(_scope: AccountScope, ref: AccountRef): Promise<AccountRecord> {
    const found = 'id' in ref ? await accounts.findById(ref.id) : await accounts.findByEmail(normaliseEmail(ref.email));
    if (!found) throw new AccountNotFound();
    return found;
  }

  /** the event with who acted, for recordChange: stored with the change, as one unit */
  function recorded<T>(by: Actor, event: AuditEvent | ((result: T) => AuditEvent)): RecordedAs<T> {
    const actor = { via: by.via, ...(by.operator ? { operator: by.operator } : {}), ...(by.accountId ? { actorAccountId: by.accountId } : {}) };
    const withActor = (e: AuditEvent): AuditEvent => ({ ...e, clientId: by.clientId ?? null, details: { ...e.details, ...actor } });
    return { event: typeof event === 'function' ? (result: T) => withActor(event(result)) : withActor(event), ...(by.source ? { from: by.source } : {}) };
  }

  /** an event that changes nothing stored (or a change outside the store: sessions, counters) */
  async function audit(by: Actor, event: AuditEvent): Promise<void> {
    const { event: withActor, from } = recorded<void>(by, event);
    await deps.audit.record(withActor as AuditEvent, from);
  }

  /**
   * Every login throttle counter that belongs to the account: its id (a login with its email), its address
   * as an unknown login (attempts before it existed or under an earlier spelling), and the directory entry
   * of each LDAP link (a login with the directory username counts under the DN, login-throttle.ts). A
   * directory that does not answer keeps its counter; the rest are cleared all the same.
   */
  async function loginSubjects(account: AccountRecord): Promise<string[]> {
    const links = deps.directoryDn ? await deps.federation.linksOf(account.id) : [];
    const dns = await Promise.all(links.map(async (l) => {
      const dn = await deps.directoryDn?.(l.providerId, l.externalId);
      return dn ? directorySubject(l.providerId, dn) : undefined;
    }));
    return [accountSubject(account.id), unknownLoginSubject(account.email), ...dns.filter((s): s is string => !!s)];
  }

  /** Ends every session, grant and token of the account, telling its apps. */
  const endEverything = (accountId: string) => deps.signOutEverywhere(accountId);

  const lifecycle = {
    async list(o: { scope: AccountScope; query: AccountListQuery }): Promise<AccountPage> {
      const q = o.query;
      for (const [field, value] of [['emailPrefix', q.emailPrefix], ['name', q.name], ['role', q.role]] as const) {
        if (value !== undefined && (value.length > 254 || /\p{C}/u.test(value))) throw new InvalidAccountInput(`${field}: at most 254 characters, no control characters`);
      }
      if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > 1000) throw new InvalidAccountInput('limit: expected an integer from 1 to 1000');
      try {
        return await accounts.list(q);
      } catch (err) {
        if (err instanceof InvalidCursorError) throw new InvalidAccountInput(err.message, 'The cursor is not one this list returned.');
        throw err;
      }
    },

    async show(o: { scope: AccountScope; account: AccountRef }): Promise<AccountDetails> {
      const account = await find(o.scope, o.account);
      const [totp, credentials, recoveryCodesLeft, links, upstreamRoles, sessions, grants] = await Promise.all([
        factors.findTotp(account.id),
        factors.listWebAuthn(account.id),
        factors.countUnusedRecoveryCodes(account.id),
        deps.federation.linksOf(account.id),
        deps.federation.rolesOf(account.id),
        oidc.findByAccountId('Session', account.id),
        oidc.findByAccountId('Grant', account.id),
      ]);
      return {
        account,
        status: account.disabledAt === null ? 'active' : 'disabled',
        roles: [...new Set([...account.roles, ...upstreamRoles])].sort(),
        factors: { totp: !totp ? 'none' : totp.confirmedAt === null ? 'pending' : 'active', webauthn: credentials.length, recoveryCodesLeft },
        links: links.map((l) => ({ providerId: l.providerId, createdAt: l.createdAt, lastLoginAt: l.lastLoginAt })),
        sessions: sessions.length,
        grants: grants.length,
      };
    },

    /**
     * Disables the account: no method signs it in any more, and everything it holds ends now. Disabling a
     * disabled account keeps its first date, and still ends whatever a racing sign-in may have made.
     */
    async disable(o: { scope: AccountScope; account: AccountRef; by: Actor; reason?: string }) {
      const account = await find(o.scope, o.account);
      const disabledAt = account.disabledAt ?? now();
      await deps.audit.recordChange(async () => {
        if (account.disabledAt === null) await accounts.update(account.id, { disabledAt });
      }, recorded(o.by, { type: 'admin.user.disabled', accountId: account.id, details: o.reason ? { note: o.reason.slice(0, 200) } : {} }));
      // after the flag: a sign-in that checked the account before it is refused by findAccount, and its
      // session, if it got one, is found here
      const ended = await endEverything(account.id);
      const endedEvent = sessionsEndedEvent(account.id, 'disabled', ended);
      if (endedEvent) await audit(o.by, endedEvent);
      return { account: { ...account, disabledAt }, sessionsEnded: ended.sessions, grantsRevoked: ended.grants };
    },

    async enable(o: { scope: AccountScope; account: AccountRef; by: Actor }) {
      const account = await find(o.scope, o.account);
      await deps.audit.recordChange(async () => {
        if (account.disabledAt !== null) await accounts.update(account.id, { disabledAt: null });
      }, recorded(o.by, { type: 'admin.user.enabled', accountId: account.id, details: { wasDisabled: account.disabledAt !== null } }));
      return { account: { ...account, disabledAt: null } };
    },

    /**
     * Erases the account: disabled first (so no sign-in completes meanwhile), every session, grant and token
     * ended (apps told), every other oidc-provider artifact of it destroyed, its lockout counters cleared,
     * then the account with its factors, links, roles, mailed links and password history; its audit events
     * are kept under a pseudonym (see the file's comment), returned so the operator can refer to them.
     */
    async erase(o: { scope: AccountScope; account: AccountRef; by: Actor }) {
      const account = await find(o.scope, o.account);
      if (account.disabledAt === null) await accounts.update(account.id, { disabledAt: now() });
      const ended = await endEverything(account.id);
      for (const model of ACCOUNT_ARTIFACTS) {
        for (const artifact of await oidc.findByAccountId(model, account.id)) {
          if (typeof artifact.jti === 'string') await oidc.destroy(model, artifact.jti);
        }
      }
      const subjects = await loginSubjects(account);
      await Promise.all([...subjects.map((s) => deps.unlockLogin(s)), deps.unlockSecondFactor(account.id), deps.forgetAddress(account.email)]);
      // expired artifacts are not found by account (findByAccountId sees live ones) but may still hold its id
      await deps.sweepExpired();
      const pseudonym = `erased:${randomUUID()}`;
      // the account, the pseudonym on its audit trail and the event that tells the receivers: one unit
      const events = await deps.audit.recordChange(async () => {
        await accounts.delete(account.id);
        // what was delivered about the person goes too; what is still pending goes out (receivers deprovision)
        await deps.webhookDeliveries.deleteSettledOfAccount(account.id);
        return deps.auditEvents.pseudonymise(account.id, pseudonym);
      }, recorded(o.by, (kept: number) => ({
        type: 'admin.user.deleted', accountId: pseudonym, details: { sessionsEnded: ended.sessions, grantsRevoked: ended.grants, eventsKept: kept }, eventOnly: { user_id: account.id },
      })));
      return { pseudonym, sessionsEnded: ended.sessions, grantsRevoked: ended.grants, auditEventsKept: events };
    },

    /**
     * Clears the account's sign-in and second-factor lockouts (counters, lockouts in force, their memory),
     * under every subject its logins count under (loginSubjects).
     */
    async unlock(o: { scope: AccountScope; account: AccountRef; by: Actor }) {
      const account = await find(o.scope, o.account);
      const subjects = await loginSubjects(account);
      await Promise.all([...subjects.map((s) => deps.unlockLogin(s)), deps.unlockSecondFactor(account.id)]);
      await audit(o.by, { type: 'admin.user.unlocked', accountId: account.id });
      return { account };
    },

    /** Removes every second factor (TOTP, security keys and passkeys) and every recovery code. */
    async resetFactors(o: { scope: AccountScope; account: AccountRef; by: Actor }) {
      const account = await find(o.scope, o.account);
      const [totp, credentials] = await Promise.all([factors.findTotp(account.id), factors.listWebAuthn(account.id)]);
      await deps.audit.recordChange(async () => {
        for (const c of credentials) await factors.deleteWebAuthn(account.id, c.id);
        if (totp) await factors.deleteTotp(account.id);
        await factors.deleteRecoveryCodes(account.id);
      }, recorded(o.by, { type: 'admin.user.factors_reset', accountId: account.id, details: { totpRemoved: !!totp, webauthnRemoved: credentials.length } }));
      return { account, totpRemoved: !!totp, webauthnRemoved: credentials.length };
    },

    /**
     * Changes the sign-in email. The new address is unverified and gets a verification link unless the
     * operator marks it verified; an address in use by another account (in any letter case) is refused
     * and nothing changes.
     */
    async setEmail(o: { scope: AccountScope; account: AccountRef; email: string; verified?: boolean; by: Actor }) {
      const account = await find(o.scope, o.account);
      const email = normaliseEmail(o.email);
      if (!isEmailAddress(email)) throw new InvalidAccountInput('email: expected an email address');
      const holder = await accounts.findByEmail(email);
      if (holder && holder.id !== account.id) throw new AccountConflict('email: an account with this address already exists', 'An account with this email address already exists.');
      const emailVerified = o.verified === true;
      try {
        await deps.audit.recordChange(
          () => accounts.update(account.id, { email, emailVerified }),
          recorded(o.by, { type: 'admin.user.email_changed', accountId: account.id, details: { verified: emailVerified, verificationSent: !emailVerified } }),
        );
      } catch (err) {
        // a concurrent change took the address between the check and the write: the store's rule holds
        if (err instanceof DuplicateError) throw new AccountConflict('email: an account with this address already exists', 'An account with this email address already exists.');
        throw err;
      }
      const changed = { ...account, email, emailVerified };
      if (!emailVerified) await deps.sendVerification(changed, o.by);
      return { account: changed, verificationSent: !emailVerified };
    },

    async signOutEverywhere(o: { scope: AccountScope; account: AccountRef; by: Actor }) {
      const account = await find(o.scope, o.account);
      const ended = await endEverything(account.id);
      await audit(o.by, { type: 'admin.user.signed_out', accountId: account.id, details: { sessionsEnded: ended.sessions, grantsRevoked: ended.grants } });
      return { account, sessionsEnded: ended.sessions, grantsRevoked: ended.grants };
    },
  };
  return lifecycle;
}
