/**
 * The messages Gatehouse sends about an account, one function each. All are queued (see mailer.ts).
 * `factorAdded` is for the MFA feature: call it when a person enrols a new sign-in factor.
 * Messages are English only, like the pages (neither is localised yet).
 */
import type { Mailer } from './mailer.js';

export type Recipient = { email: string; name?: string | null };

export type AccountMail = ReturnType<typeof createAccountMail>;

const hours = (seconds: number) =>
  seconds % 3600 === 0 && seconds >= 3600
    ? `${seconds / 3600} hour${seconds === 3600 ? '' : 's'}`
    : `${Math.round(seconds / 60)} minutes`;

const days = (seconds: number) => (seconds % 86400 === 0 ? `${seconds / 86400} day${seconds === 86400 ? '' : 's'}` : hours(seconds));

export function createAccountMail(deps: { mailer: Pick<Mailer, 'queue'>; brandName: string }) {
  const { mailer, brandName } = deps;
  const to = (r: Recipient) => r.email;
  return {
    /**
     * To an address nobody has proven yet: whoever registered chose the name, so it is not echoed (a
     * "name" is a way to put the attacker's words into a mail from us to a stranger).
     */
    verifyEmail(r: Recipient, link: string, validForSeconds: number) {
      mailer.queue('verify-email', to(r), `Verify your email address for ${brandName}`, { name: null, link, validFor: hours(validForSeconds) });
    },
    resetPassword(r: Recipient, link: string, validForSeconds: number) {
      mailer.queue('reset-password', to(r), `Reset your ${brandName} password`, { name: r.name, link, validFor: hours(validForSeconds) });
    },
    passwordChanged(r: Recipient, how: 'reset' | 'changed' | 'expired' | 'admin', resetLink: string) {
      mailer.queue('password-changed', to(r), `Your ${brandName} password was changed`, { name: r.name, how, resetLink, when: new Date().toUTCString() });
    },
    /** To the new address of an email change: proving it is theirs (the name is theirs: they are signed in). */
    confirmEmailChange(r: Recipient, link: string, validForSeconds: number) {
      mailer.queue('email-change', to(r), `Confirm your new email address for ${brandName}`, { name: r.name, link, validFor: hours(validForSeconds) });
    },
    /** To the old address once the change is done: a person who did not make it learns of it. */
    emailChanged(r: Recipient, newAddress: string) {
      // no reset link: a reset would now go to the new address
      mailer.queue('email-changed', to(r), `The email address of your ${brandName} account was changed`, { name: r.name, newAddress, when: new Date().toUTCString() });
    },
    /** An account an operator made for the person: the link sets its first password. */
    invitation(r: Recipient, link: string, validForSeconds: number) {
      mailer.queue('invitation', to(r), `You have been invited to ${brandName}`, { name: r.name, link, validFor: days(validForSeconds) });
    },
    /** Someone tried to register with an address that already has an account. */
    registrationAttempt(r: Recipient, resetLink: string) {
      mailer.queue('registration-attempt', to(r), `Someone tried to create a ${brandName} account with your email`, { name: r.name, resetLink });
    },
    /** A new sign-in factor (authenticator app, security key, recovery codes...) was added to the account. */
    factorAdded(r: Recipient, factor: { label: string }, resetLink: string) {
      mailer.queue('factor-added', to(r), `A new sign-in method was added to your ${brandName} account`, { name: r.name, factor: factor.label, resetLink, when: new Date().toUTCString() });
    },
  };
}
