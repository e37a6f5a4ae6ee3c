/**
 * Password reset by email. Asking for a reset answers the same whether or not the address has an account,
 * in the same time (the token and the mail are made after the response). Completing it checks the new password against the
 * policy and the history before the link is used up, so a refused password leaves the link working; once
 * set, the account is signed out everywhere (sessions, grants, refresh tokens) and told by mail.
 */
import type { AccountRecord } from '../../adapters/contract.js';
import type { AuditLog, AuditSource } from '../audit/audit-log.js';
import type { AccountMail } from '../mail/account-mail.js';
import type { AccountService } from './accounts.js';
import type { AccountTokens, TokenState } from './account-tokens.js';
import type { PasswordRefusal } from './password-policy.js';
import { sessionsEndedEvent, type SignOutEverywhere } from './sign-out-everywhere.js';

export type PasswordReset = ReturnType<typeof createPasswordReset>;

export type ResetOutcome =
  | { state: Exclude<TokenState, 'valid'> }
  | { state: 'refused'; refusal: PasswordRefusal; account: AccountRecord }
  | { state: 'done'; account: AccountRecord; interactionUid: string | null };

export function createPasswordReset(deps: {
  issuer: string;
  ttlSeconds: number;
  tokens: AccountTokens;
  accounts: Pick<AccountService, 'findByEmail' | 'findById' | 'passwordRefusal' | 'setPassword'>;
  signOutEverywhere: SignOutEverywhere;
  mail: Pick<AccountMail, 'resetPassword' | 'passwordChanged'>;
  audit: Pick<AuditLog, 'record'>;
  /** runs after the response (Mailer.later): the same time for known and unknown addresses */
  later(what: string, job: () => Promise<void>): void;
  /** the per-address mail quota (EMAIL_LIMIT_PER_ACCOUNT): takes one mail, false when the address had its share */
  mayMail(email: string): Promise<boolean>;
}) {
  const { tokens, accounts, audit } = deps;
  const forgotLink = `${deps.issuer}/password/forgot`;

  return {
    /** Sends a reset link when the address has an account; does nothing visible otherwise. */
    async request(email: string, options: { interactionUid?: string | null; locale?: string | undefined }, from: AuditSource): Promise<void> {
      const account = await accounts.findByEmail(email);
      if (!account) {
        await audit.record({ type: 'password.reset_requested', result: 'failure', reason: 'unknown_account', details: { email } }, from);
        return;
      }
      // a disabled account gets no reset link (it could not sign in with the new password anyway); the
      // answer is the one every address gets
      if (account.disabledAt !== null) {
        await audit.record({ type: 'password.reset_requested', result: 'failure', accountId: account.id, reason: 'account_disabled' }, from);
        return;
      }
      await audit.record({ type: 'password.reset_requested', accountId: account.id }, from);
      deps.later('password reset mail', async () => {
        // past the quota: no mail and no new token (a newer token would cancel the link already sent)
        if (!(await deps.mayMail(account.email))) return;
        const token = await tokens.issue({ purpose: 'reset-password', account, ttlSeconds: deps.ttlSeconds, interactionUid: options.interactionUid });
        deps.mail.resetPassword({ ...account, locale: options.locale ?? account.locale }, `${deps.issuer}/password/reset?token=${token}`, deps.ttlSeconds);
      });
    },

    inspect: (token: string) => tokens.inspect(token, 'reset-password'),

    async complete(token: string, password: string, from: AuditSource): Promise<ResetOutcome> {
      const check = await tokens.inspect(token, 'reset-password');
      const account = check.state === 'valid' && check.record ? await accounts.findById(check.record.accountId) : undefined;
      if (check.state !== 'valid' || !account) {
        const state = check.state === 'valid' ? 'unknown' : check.state;
        await audit.record({ type: 'password.reset', result: 'failure', accountId: check.record?.accountId ?? null, reason: `token_${state}` }, from);
        return { state };
      }
      const refusal = await accounts.passwordRefusal(account, password);
      if (refusal) {
        await audit.record({ type: 'password.reset', result: 'failure', accountId: account.id, reason: `password_${refusal.code}` }, from);
        return { state: 'refused', refusal, account };
      }
      const used = await tokens.consume(token, 'reset-password');
      if (used.state !== 'valid') {
        await audit.record({ type: 'password.reset', result: 'failure', accountId: account.id, reason: `token_${used.state}` }, from);
        return { state: used.state };
      }
      await accounts.setPassword(account, password, { checked: true }, { event: { type: 'password.reset', accountId: account.id }, from });
      await tokens.supersedeAll(account.id, 'reset-password');
      const signedOut = await deps.signOutEverywhere(account.id);
      deps.mail.passwordChanged(account, 'reset', forgotLink);
      const ended = sessionsEndedEvent(account.id, 'password_reset', signedOut);
      if (ended) await audit.record(ended, from);
      return { state: 'done', account, interactionUid: check.record?.interactionUid ?? null };
    },
  };
}
