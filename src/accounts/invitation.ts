/**
 * An invitation: an operator creates an account without a password and Gatehouse mails the person a
 * single-use link that sets one (the password reset page, with its policy and history checks). The link
 * lasts INVITATION_TTL, longer than a reset link: people open invitations days later.
 */
import type { AccountRecord } from '../../adapters/contract.js';
import type { AuditLog, AuditSource } from '../audit/audit-log.js';
import type { AccountMail } from '../mail/account-mail.js';
import type { AccountTokens } from './account-tokens.js';

export type Invitations = ReturnType<typeof createInvitations>;

export function createInvitations(deps: {
  issuer: string;
  ttlSeconds: number;
  tokens: AccountTokens;
  mail: Pick<AccountMail, 'invitation'>;
  audit: Pick<AuditLog, 'record'>;
  /** the per-address mail quota: takes one mail, false when the address had its share */
  mayMail(email: string): Promise<boolean>;
}) {
  return {
    /** Mails the link; false (and no token made) when the address had its share of mail. */
    async send(account: AccountRecord, by: { clientId?: string | null; accountId?: string | null }, from: AuditSource): Promise<boolean> {
      if (!(await deps.mayMail(account.email))) {
        await deps.audit.record({ type: 'admin.user.invited', result: 'failure', accountId: account.id, clientId: by.clientId ?? null, reason: 'mail_limit' }, from);
        return false;
      }
      // a reset token: the reset page sets the first password exactly as it sets a new one
      const token = await deps.tokens.issue({ purpose: 'reset-password', account, ttlSeconds: deps.ttlSeconds });
      deps.mail.invitation(account, `${deps.issuer}/password/reset?token=${token}`, deps.ttlSeconds);
      await deps.audit.record({ type: 'admin.user.invited', accountId: account.id, clientId: by.clientId ?? null, details: { by_account: by.accountId ?? null } }, from);
      return true;
    },
  };
}
