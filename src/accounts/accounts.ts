/** Local accounts: creation, lookup, and password authentication that never reveals whether an email exists. */
import { randomUUID } from 'node:crypto';
import type { AccountRecord, AccountStore } from '../../adapters/contract.js';
import type { PasswordHasher } from './passwords.js';

export type AccountService = ReturnType<typeof createAccountService>;

export const normaliseEmail = (email: string) => email.trim().toLowerCase();

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const ROLE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

export class InvalidAccountInput extends Error {}

export function createAccountService(deps: {
  accounts: Pick<AccountStore, 'create' | 'findById' | 'findByEmail' | 'update'>;
  passwords: PasswordHasher;
}) {
  const { accounts, passwords } = deps;
  return {
    async create(input: { email: string; password: string; name?: string; emailVerified?: boolean }): Promise<AccountRecord> {
      const email = normaliseEmail(input.email);
      if (!EMAIL.test(email) || email.length > 254) throw new InvalidAccountInput('email: expected an email address');
      if (input.password.length < 8) throw new InvalidAccountInput('password: expected at least 8 characters');
      const now = Date.now();
      const account: AccountRecord = {
        id: randomUUID(),
        email,
        emailVerified: input.emailVerified ?? false,
        name: input.name?.trim() || null,
        passwordHash: await passwords.hash(input.password),
        roles: [],
        createdAt: now,
        updatedAt: now,
      };
      await accounts.create(account);
      return account;
    },

    findById: (id: string) => accounts.findById(id),

    /** The account when email and password match; undefined otherwise, in the same time either way. */
    async authenticate(email: string, password: string): Promise<AccountRecord | undefined> {
      const account = await accounts.findByEmail(normaliseEmail(email));
      if (!account?.passwordHash) {
        await passwords.verifyNothing(password);
        return undefined;
      }
      return (await passwords.verify(password, account.passwordHash)) ? account : undefined;
    },

    /** Replaces the account's roles (names of letters, digits and `_ . : -`). */
    async setRoles(email: string, roles: string[]): Promise<AccountRecord> {
      const account = await accounts.findByEmail(normaliseEmail(email));
      if (!account) throw new InvalidAccountInput('email: no account has this email');
      const clean = [...new Set(roles.map((r) => r.trim()).filter(Boolean))].sort();
      const bad = clean.find((r) => !ROLE.test(r));
      if (bad !== undefined) throw new InvalidAccountInput(`roles: ${JSON.stringify(bad)} is not a role name (letters, digits, _ . : -; at most 64)`);
      await accounts.update(account.id, { roles: clean });
      return { ...account, roles: clean };
    },

    async setName(id: string, name: string): Promise<void> {
      if (name.length > 200) throw new InvalidAccountInput('name: at most 200 characters');
      await accounts.update(id, { name: name.trim() || null });
    },

    /** Sets a new password; the caller has checked the current one. */
    async setPassword(id: string, password: string): Promise<void> {
      if (password.length < 8) throw new InvalidAccountInput('password: expected at least 8 characters');
      if (password.length > 1024) throw new InvalidAccountInput('password: at most 1024 characters');
      await accounts.update(id, { passwordHash: await passwords.hash(password) });
    },
  };
}
