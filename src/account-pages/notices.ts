/**
 * The fixed messages the account pages show after a change, by key (the query never carries text): each
 * notice names its message in views/locales/<locale>/account.json, shown in the page's locale.
 */
import { AMR } from '../assurance/acr-amr.js';

export const NOTICES: Record<string, string> = {
  'profile-saved': 'account.notice.profileSaved',
  'language-saved': 'account.notice.languageSaved',
  'link-removed': 'account.notice.linkRemoved',
  'link-gone': 'account.notice.linkGone',
  'link-last': 'account.notice.linkLast',
  'email-change-sent': 'account.notice.emailChangeSent',
  'email-changed': 'account.notice.emailChanged',
  'password-changed': 'account.notice.passwordChanged',
  'password-changed-signed-out': 'account.notice.passwordChangedSignedOut',
  'session-signed-out': 'account.notice.sessionSignedOut',
  'session-gone': 'account.notice.sessionGone',
  'app-revoked': 'account.notice.appRevoked',
  'app-gone': 'account.notice.appGone',
  'totp-added': 'account.notice.totpAdded',
  'totp-removed': 'account.notice.totpRemoved',
  'passkey-added': 'account.notice.passkeyAdded',
  'passkey-removed': 'account.notice.passkeyRemoved',
};

/** The message keys of the sign-in methods (RFC 8176 amr values) the sessions page names. */
const AMR_KEYS: Record<string, string> = {
  [AMR.password]: 'account.amr.pwd',
  [AMR.otp]: 'account.amr.otp',
  [AMR.hardwareKey]: 'account.amr.hwk',
  [AMR.softwareKey]: 'account.amr.swk',
  [AMR.userVerified]: 'account.amr.user',
};

/**
 * How a session signed in, in words of the page's locale ("password and one-time code"): the methods
 * joined by the locale's own list rules (Intl.ListFormat), not by an English comma.
 */
export function amrLabel(amr: string[], t: (key: string) => string, locale: string): string {
  const words = amr.map((v) => AMR_KEYS[v]).filter((k): k is string => Boolean(k)).map((k) => t(k));
  return words.length ? new Intl.ListFormat(locale, { type: 'conjunction' }).format(words) : t('account.amr.unknown');
}
