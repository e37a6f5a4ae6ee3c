/**
 * The messages Gatehouse sends about an account, one function each. All are queued (see mailer.ts).
 * `factorAdded` is for the MFA feature: call it when a person enrols a new sign-in factor.
 *
 * Each message is in one locale (issue 20 §3): the recipient's `locale` when given (a mail sent in a
 * flow carries the flow's: the pages' locale), else the account's saved preference (`locale` on the
 * record, which callers pass as the recipient), else the default (the tenant's or DEFAULT_LOCALE).
 * Subjects and bodies come from views/locales/<locale>/email.json.
 */
import type { Mailer } from './mailer.js';
import { brandingIn, type Branding } from '../http/render.js';
import type { Locales } from '../i18n/locales.js';
import type { Locale } from '../i18n/locale-list.js';

export type Recipient = { email: string; name?: string | null; locale?: string | null };

export type AccountMail = ReturnType<typeof createAccountMail>;

/** A lifetime in the largest whole unit (a link valid for 24 hours, 30 minutes, 7 days), for the messages' plurals. */
export function lifetime(seconds: number, largest: 'hours' | 'days' = 'hours'): { unit: 'days' | 'hours' | 'minutes'; count: number } {
  if (largest === 'days' && seconds >= 86400 && seconds % 86400 === 0) return { unit: 'days', count: seconds / 86400 };
  if (seconds >= 3600 && seconds % 3600 === 0) return { unit: 'hours', count: seconds / 3600 };
  return { unit: 'minutes', count: Math.round(seconds / 60) };
}

export function createAccountMail(deps: { mailer: Pick<Mailer, 'queue'>; locales: Locales; branding: Branding; defaultLocale: Locale }) {
  const { mailer, locales } = deps;
  const to = (r: Recipient) => r.email;
  const localeOf = (r: Recipient): Locale => locales.pick(r.locale) ?? deps.defaultLocale;
  /** the subject in the recipient's locale, with the brand's name in that locale */
  const subject = (locale: Locale, key: string) => locales.t(locale, `email.${key}.subject`, { brand: brandingIn(deps.branding, locale).name });
  const send = (template: string, key: string, r: Recipient, locals: Record<string, unknown>) => {
    const locale = localeOf(r);
    mailer.queue(template, to(r), subject(locale, key), { ...locals, locale });
  };
  return {
    /**
     * To an address nobody has proven yet: whoever registered chose the name, so it is not echoed (a
     * "name" is a way to put the attacker's words into a mail from us to a stranger).
     */
    verifyEmail(r: Recipient, link: string, validForSeconds: number) {
      send('verify-email', 'verify', r, { name: null, link, validFor: lifetime(validForSeconds) });
    },
    resetPassword(r: Recipient, link: string, validForSeconds: number) {
      send('reset-password', 'reset', r, { name: r.name, link, validFor: lifetime(validForSeconds) });
    },
    passwordChanged(r: Recipient, how: 'reset' | 'changed' | 'expired' | 'admin', resetLink: string) {
      send('password-changed', 'passwordChanged', r, { name: r.name, how, resetLink, when: new Date() });
    },
    /** To the new address of an email change: proving it is theirs (the name is theirs: they are signed in). */
    confirmEmailChange(r: Recipient, link: string, validForSeconds: number) {
      send('email-change', 'emailChange', r, { name: r.name, link, validFor: lifetime(validForSeconds) });
    },
    /** To the old address once the change is done: a person who did not make it learns of it. */
    emailChanged(r: Recipient, newAddress: string) {
      // no reset link: a reset would now go to the new address
      send('email-changed', 'emailChanged', r, { name: r.name, newAddress, when: new Date() });
    },
    /** An account an operator made for the person: the link sets its first password. */
    invitation(r: Recipient, link: string, validForSeconds: number) {
      send('invitation', 'invitation', r, { name: r.name, link, validFor: lifetime(validForSeconds, 'days') });
    },
    /** Someone tried to register with an address that already has an account. */
    registrationAttempt(r: Recipient, resetLink: string) {
      send('registration-attempt', 'registrationAttempt', r, { name: r.name, resetLink });
    },
    /** A new sign-in factor (authenticator app, security key, recovery codes...) was added to the account. */
    factorAdded(r: Recipient, factor: { label: string }, resetLink: string) {
      send('factor-added', 'factorAdded', r, { name: r.name, factor: factor.label, resetLink, when: new Date() });
    },
  };
}
