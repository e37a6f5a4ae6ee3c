/**
 * Local accounts: creation, lookup, password authentication that never reveals whether an email exists,
 * and password changes under the password policy (length, blocklist, no reuse of recent passwords).
 */
import { LOCALES, supportedLocale } from '../i18n/locale-list.js';
import { randomUUID } from 'node:crypto';
import type { AuditLog, RecordedAs } from '../audit/audit-log.js';
import type { AccountRecord, AccountStore, PasswordHistoryStore } from '../../adapters/contract.js';
import type { PasswordHasher } from './passwords.js';
import type { PasswordPolicy, PasswordRefusal } from './password-policy.js';
import { PasswordRefusal as Refusal } from './password-policy.js';
import { DomainError } from '../errors/errors.js';
import { isRoleName, ROLE_NAME_RULE } from '../roles/role-name.js';

export type AccountService = ReturnType<typeof createAccountService>;

export const normaliseEmail = (email: string) => email.trim().toLowerCase();

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export const isEmailAddress = (email: string) => EMAIL.test(email) && email.length <= 254;

/** A value an account cannot take (the message names the field and why; it is the operator's and the log's). */
export class InvalidAccountInput extends DomainError {
  readonly kind = 'invalid_input';
}

/** A password the policy refuses; `refusal.message` says why in plain words (safe to show). */
export class PasswordRefused extends InvalidAccountInput {
  constructor(readonly refusal: PasswordRefusal) {
    super(`password: ${refusal.message}`, refusal.message);
  }
}

export function createAccountService(deps: {
  accounts: Pick<AccountStore, 'create' | 'findById' | 'findByEmail' | 'update' | 'changeRole'>;
  passwords: PasswordHasher;
  policy: PasswordPolicy;
  history: PasswordHistoryStore;
  /** PASSWORD_HISTORY: how many recent passwords (the current one included) a new one may not repeat */
  historySize: number;
  /** PASSWORD_MAX_AGE in seconds; 0: passwords do not expire */
  maxPasswordAge: number;
  /** the names among these that are no role record (RoleService.unknown) */
  unknownRoles(names: readonly string[]): Promise<string[]>;
  /** records a change's audit event with it, as one unit (a change and its webhook event are never apart) */
  audit: Pick<AuditLog, 'recordChange'>;
}) {
  const { accounts, passwords, policy, history, audit } = deps;
  const keep = Math.max(deps.historySize, 1); // the newest entry also dates the current password

  async function reused(account: AccountRecord, password: string): Promise<boolean> {
    // the current password first: it is refused even with PASSWORD_HISTORY=0
    const recent = (await history.recent(account.id, keep)).map((e) => e.passwordHash);
    const hashes = [...new Set([account.passwordHash, ...recent].filter((h): h is string => !!h))].slice(0, keep);
    const matches = await Promise.all(hashes.map((h) => passwords.verify(password, h)));
    return matches.some(Boolean);
  }

  const service = {
    /**
     * Creates an account; without a password (an operator provisioning someone who will set one through
     * password reset, or sign in through a directory) it has no password hash, and password sign-in
     * fails for it as for a wrong password.
     */
    async create(input: { email: string; password?: string; name?: string; emailVerified?: boolean }, recorded?: RecordedAs<AccountRecord>): Promise<AccountRecord> {
      const email = normaliseEmail(input.email);
      if (!isEmailAddress(email)) throw new InvalidAccountInput('email: expected an email address');
      const refusal = input.password === undefined ? undefined : policy.check(input.password, { email, name: input.name });
      if (refusal) throw new PasswordRefused(refusal);
      const now = Date.now();
      const account: AccountRecord = {
        id: randomUUID(),
        email,
        emailVerified: input.emailVerified ?? false,
        name: input.name?.trim() || null,
        passwordHash: input.password === undefined ? null : await passwords.hash(input.password),
        roles: [],
        createdAt: now,
        updatedAt: now,
        disabledAt: null,
        lastLoginAt: null,
        locale: null,
      };
      // the hash is made first: a unit of work holds only store calls
      return audit.recordChange(async () => {
        await accounts.create(account);
        if (account.passwordHash) await history.add(account.id, { passwordHash: account.passwordHash, createdAt: now }, keep);
        return account;
      }, recorded);
    },

    findById: (id: string) => accounts.findById(id),
    findByEmail: (email: string) => accounts.findByEmail(normaliseEmail(email)),

    /**
     * The account when email and password match; undefined otherwise, in the same time either way. A hash
     * made at a lower bcrypt cost than configured is replaced while the password is at hand.
     */
    async authenticate(email: string, password: string): Promise<AccountRecord | undefined> {
      return (await service.checkPassword(email, password)).account;
    },

    /** authenticate(), saying why it failed (for the audit log only: the person is told the same either way). */
    async checkPassword(
      email: string,
      password: string,
    ): Promise<{ account?: AccountRecord; accountId?: string; reason?: 'unknown_account' | 'no_password' | 'wrong_password' | 'account_disabled' }> {
      const account = await accounts.findByEmail(normaliseEmail(email));
      if (!account?.passwordHash) {
        await passwords.verifyNothing(password);
        return account ? { accountId: account.id, reason: 'no_password' } : { reason: 'unknown_account' };
      }
      if (!(await passwords.verify(password, account.passwordHash))) return { accountId: account.id, reason: 'wrong_password' };
      // a disabled account is answered like a wrong password (same page, same timing, same throttle)
      if (account.disabledAt !== null) return { accountId: account.id, reason: 'account_disabled' };
      if (passwords.needsRehash(account.passwordHash)) {
        const passwordHash = await passwords.hash(password);
        await accounts.update(account.id, { passwordHash });
        return { account: { ...account, passwordHash } };
      }
      return { account };
    },

    /** Why `password` cannot become this account's new password, or undefined when it can. */
    async passwordRefusal(account: AccountRecord, password: string): Promise<PasswordRefusal | undefined> {
      const refusal = policy.check(password, { email: account.email, name: account.name });
      if (refusal) return refusal;
      if (await reused(account, password)) {
        return deps.historySize > 1
          ? new Refusal('reused', `You have used this password recently. Choose one that is not among your last ${deps.historySize} passwords.`, { history: deps.historySize })
          : new Refusal('reused', 'This is your current password. Choose a new one.', { history: 0 });
      }
      return undefined;
    },

    /**
     * Sets a new password; throws PasswordRefused when the policy or the history refuses it. `checked`:
     * the caller has just had passwordRefusal() accept this password (the history check costs bcrypts).
     */
    async setPassword(account: AccountRecord, password: string, options: { checked?: boolean } = {}, recorded?: RecordedAs<void>): Promise<void> {
      const refusal = options.checked ? undefined : await service.passwordRefusal(account, password);
      if (refusal) throw new PasswordRefused(refusal);
      const passwordHash = await passwords.hash(password);
      const now = Date.now();
      await audit.recordChange(async () => {
        await accounts.update(account.id, { passwordHash, updatedAt: now });
        await history.add(account.id, { passwordHash, createdAt: now }, keep);
      }, recorded);
    },

    /** True when PASSWORD_MAX_AGE is set and the current password is older. */
    async passwordExpired(account: AccountRecord): Promise<boolean> {
      if (deps.maxPasswordAge <= 0 || !account.passwordHash) return false;
      const [latest] = await history.recent(account.id, 1);
      return Date.now() - (latest?.createdAt ?? account.createdAt) > deps.maxPasswordAge * 1000;
    },

    /**
     * Dates a successful sign-in (AccountRecord.lastLoginAt, for the operators' lists). updatedAt stays:
     * a sign-in is not an edit of the account (the management API's ETag must not change under an admin).
     */
    async recordSignIn(account: Pick<AccountRecord, 'id' | 'updatedAt'>, at = Date.now()): Promise<void> {
      await accounts.update(account.id, { lastLoginAt: at, updatedAt: account.updatedAt });
    },

    async markEmailVerified(accountId: string, recorded?: RecordedAs<void>): Promise<void> {
      await audit.recordChange(() => accounts.update(accountId, { emailVerified: true }), recorded);
    },

    /** Replaces the roles assigned to the account directly; every name must be a role (src/roles). */
    async setRoles(email: string, roles: string[]): Promise<AccountRecord> {
      const account = await accounts.findByEmail(normaliseEmail(email));
      if (!account) throw new InvalidAccountInput('email: no account has this email');
      const clean = [...new Set(roles.map((r) => r.trim()).filter(Boolean))].sort();
      const bad = clean.find((r) => !isRoleName(r));
      if (bad !== undefined) throw new InvalidAccountInput(`roles: ${JSON.stringify(bad)} is not a role name (${ROLE_NAME_RULE})`);
      const unknown = await deps.unknownRoles(clean);
      if (unknown.length) throw new InvalidAccountInput(`roles: no role is named ${unknown.map((r) => JSON.stringify(r)).join(', ')}`);
      await accounts.update(account.id, { roles: clean });
      return { ...account, roles: clean };
    },

    /**
     * Gives the account one role directly, or takes it away, atomically (AccountStore.changeRole): the
     * management API's and the console's assignment. True when it changed, so the door audits the change
     * once however many operators make it at the same moment.
     */
    async changeRole(accountId: string, role: string, assign: boolean, recorded?: RecordedAs<boolean>): Promise<boolean> {
      if (assign) {
        if (!isRoleName(role)) throw new InvalidAccountInput(`roles: ${JSON.stringify(role)} is not a role name (${ROLE_NAME_RULE})`);
        if ((await deps.unknownRoles([role])).length) throw new InvalidAccountInput(`roles: no role is named ${JSON.stringify(role)}`);
      }
      return audit.recordChange(() => accounts.changeRole(accountId, role, assign), recorded);
    },

    /** The person's language for pages and mail (issue 20): a supported locale, or null for none. */
    async setLocale(id: string, locale: string | null): Promise<void> {
      if (locale !== null && !supportedLocale(locale)) throw new InvalidAccountInput(`locale: one of ${LOCALES.join(', ')}, or null`);
      await accounts.update(id, { locale: locale === null ? null : supportedLocale(locale)! });
    },
    async setName(id: string, name: string): Promise<void> {
      if (name.length > 200) throw new InvalidAccountInput('name: at most 200 characters');
      await accounts.update(id, { name: name.trim() || null });
    },
  };
  return service;
}
