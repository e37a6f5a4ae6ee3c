/** Local accounts: creation, lookup, and password authentication that never reveals whether an email exists. */
import { randomUUID } from 'node:crypto';
import type { AccountRecord, AccountStore } from '../../adapters/contract.js';
import type { PasswordHasher } from './passwords.js';

export type AccountService = ReturnType<typeof createAccountService>;

export const normaliseEmail = (email: string) => email.trim().toLowerCase();

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export class InvalidAccountInput extends Error {}

export function createAccountService(deps: {
  accounts: Pick<AccountStore, 'create' | 'findById' | 'findByEmail'>;
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
  };
}
