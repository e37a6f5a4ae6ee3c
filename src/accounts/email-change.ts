/**
 * A person changes their own email address (/account): the new address gets a single-use link, and only
 * using it, signed in to the same account, makes the change; then the old address is told. Until then
 * nothing changes, so a typo or a stolen session left open for a minute cannot move the account away.
 *
 * The answer to a request is the same whether or not the new address belongs to another account (the
 * person learns nothing about who is registered); a taken address simply gets no link. The change itself
 * goes through the account lifecycle service, so the uniqueness rule and the audit are the operator's.
 */
import type { AccountRecord } from '../../adapters/contract.js';
import type { AuditLog, AuditSource } from '../audit/audit-log.js';
import type { AccountMail } from '../mail/account-mail.js';
import type { AccountTokens, TokenState } from './account-tokens.js';
import { InvalidAccountInput, isEmailAddress, normaliseEmail, type AccountService } from './accounts.js';
import { AccountConflict, DEFAULT_SCOPE, type AccountLifecycle } from './account-lifecycle.js';

export type EmailChange = ReturnType<typeof createEmailChange>;

export type EmailChangeOutcome = { state: TokenState | 'taken' | 'other_account'; email?: string };

/** A new address the person must fix: `reason` picks the page's words (account.json), the message is the English. */
export class EmailChangeRefused extends InvalidAccountInput {
  constructor(readonly reason: 'not_an_address' | 'unchanged', publicMessage: string) {
    super(`email: ${reason === 'unchanged' ? 'unchanged' : 'not an email address'}`, publicMessage);
  }
}

export function createEmailChange(deps: {
  issuer: string;
  ttlSeconds: number;
  tokens: AccountTokens;
  accounts: Pick<AccountService, 'findById' | 'findByEmail'>;
  lifecycle: Pick<AccountLifecycle, 'setEmail'>;
  mail: Pick<AccountMail, 'confirmEmailChange' | 'emailChanged'>;
  audit: Pick<AuditLog, 'record'>;
  /** the per-address mail quota: takes one mail, false when the address had its share */
  mayMail(email: string): Promise<boolean>;
}) {
  const { tokens, audit } = deps;
  return {
    /** Mails the new address a link (earlier ones stop working); refuses only what the person can fix. */
    async request(account: AccountRecord, requested: string, from: AuditSource): Promise<void> {
      const email = normaliseEmail(requested);
      if (!isEmailAddress(email)) throw new EmailChangeRefused('not_an_address', 'Enter an email address such as name@example.com.');
      if (email === account.email) throw new EmailChangeRefused('unchanged', 'That is already your email address.');
      const taken = await deps.accounts.findByEmail(email);
      if (taken || !(await deps.mayMail(email))) {
        await audit.record({ type: 'email.change_requested', result: 'failure', accountId: account.id, reason: taken ? 'email_taken' : 'mail_limit' }, from);
        return;
      }
      const token = await tokens.issue({ purpose: 'change-email', account, email, ttlSeconds: deps.ttlSeconds });
      deps.mail.confirmEmailChange({ email, name: account.name }, `${deps.issuer}/account/email/confirm?token=${token}`, deps.ttlSeconds);
      await audit.record({ type: 'email.change_requested', accountId: account.id }, from);
    },

    /** The link's state and the address it proves, without using it. */
    async inspect(token: string, accountId: string): Promise<EmailChangeOutcome> {
      const check = await tokens.inspect(token, 'change-email');
      if (check.record && check.record.accountId !== accountId) return { state: 'other_account' };
      return { state: check.state, ...(check.record ? { email: check.record.email } : {}) };
    },

    /** Uses the link for the signed-in account: the address changes (verified) and the old one is told. */
    async confirm(token: string, accountId: string, from: AuditSource): Promise<EmailChangeOutcome> {
      // another account's link is not used up by this one (the person may simply be signed in as someone else)
      const seen = await tokens.inspect(token, 'change-email');
      if (seen.record && seen.record.accountId !== accountId) return { state: 'other_account' };
      const check = await tokens.consume(token, 'change-email');
      const before = check.record && (await deps.accounts.findById(check.record.accountId));
      if (check.state !== 'valid' || !check.record || !before) return { state: check.state === 'valid' ? 'unknown' : check.state };
      try {
        await deps.lifecycle.setEmail({
          scope: DEFAULT_SCOPE, account: { id: before.id }, email: check.record.email, verified: true,
          by: { via: 'account page', accountId: before.id, source: from },
        });
      } catch (err) {
        // someone took the address since the link was sent
        if (err instanceof AccountConflict) return { state: 'taken' };
        throw err;
      }
      deps.mail.emailChanged({ email: before.email, name: before.name }, check.record.email);
      return { state: 'valid', email: check.record.email };
    },
  };
}
