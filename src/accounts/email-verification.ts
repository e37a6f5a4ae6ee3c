/**
 * Email verification: a link with a single-use token goes to the account's address; using it marks the
 * address verified (and `email_verified` in ID tokens and userinfo follows, since claims are read from
 * the account each time). A link only verifies the address it was sent to.
 */
import type { AccountRecord } from '../../adapters/contract.js';
import type { AuditLog, AuditSource } from '../audit/audit-log.js';
import type { AccountMail } from '../mail/account-mail.js';
import type { AccountService } from './accounts.js';
import type { AccountTokens, TokenState } from './account-tokens.js';

export type EmailVerification = ReturnType<typeof createEmailVerification>;

export function createEmailVerification(deps: {
  issuer: string;
  ttlSeconds: number;
  tokens: AccountTokens;
  accounts: Pick<AccountService, 'findById' | 'markEmailVerified'>;
  mail: Pick<AccountMail, 'verifyEmail'>;
  audit: Pick<AuditLog, 'record'>;
  /** the per-address mail quota (EMAIL_LIMIT_PER_ACCOUNT): takes one mail, false when the address had its share */
  mayMail(email: string): Promise<boolean>;
}) {
  const { tokens, accounts, audit } = deps;
  return {
    /**
     * Sends a new link (earlier ones stop working). Past the address's mail quota nothing is sent and no
     * token is made (so the link already in the inbox keeps working); the caller's answer stays the same.
     */
    /** `locale`: the flow's (the page that asked for the mail); without it the account's saved one */
    async send(account: AccountRecord, options: { interactionUid?: string | null; locale?: string | undefined }, from: AuditSource): Promise<void> {
      if (!(await deps.mayMail(account.email))) {
        await audit.record({ type: 'email.verification_sent', result: 'failure', accountId: account.id, reason: 'mail_limit' }, from);
        return;
      }
      const token = await tokens.issue({ purpose: 'verify-email', account, ttlSeconds: deps.ttlSeconds, interactionUid: options.interactionUid });
      deps.mail.verifyEmail({ ...account, locale: options.locale ?? account.locale }, `${deps.issuer}/verify-email?token=${token}`, deps.ttlSeconds);
      await audit.record({ type: 'email.verification_sent', accountId: account.id }, from);
    },

    inspect: (token: string) => tokens.inspect(token, 'verify-email'),

    /** Uses the link; on `valid` the account's address is now verified. */
    async verify(token: string, from: AuditSource): Promise<{ state: TokenState; account?: AccountRecord; interactionUid?: string | null }> {
      const check = await tokens.consume(token, 'verify-email');
      const account = check.record && (await accounts.findById(check.record.accountId));
      if (check.state !== 'valid' || !account || !check.record) {
        await audit.record({ type: 'email.verified', result: 'failure', accountId: check.record?.accountId ?? null, reason: `token_${check.state}` }, from);
        return { state: check.state === 'valid' ? 'unknown' : check.state, account };
      }
      if (account.email !== check.record.email) {
        // the address changed since the link was sent: the link proves nothing about the new one
        await audit.record({ type: 'email.verified', result: 'failure', accountId: account.id, reason: 'email_changed' }, from);
        return { state: 'superseded', account };
      }
      await accounts.markEmailVerified(account.id, { event: { type: 'email.verified', accountId: account.id }, from });
      return { state: 'valid', account: { ...account, emailVerified: true }, interactionUid: check.record.interactionUid };
    },
  };
}
