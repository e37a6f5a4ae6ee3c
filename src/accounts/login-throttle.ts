/**
 * What the login throttle counts under. One counter per person, whatever was typed: an account's
 * attempts count under its id (`account:<id>`), a directory person's under the directory's DN
 * (`ldap:<directory>:<dn>`, after the search found them), so other letter case, surrounding whitespace
 * or another spelling of the same login never get a fresh counter. A login that matches nobody counts
 * under its normalised form (`login:<NFKC, lower case>`) with the same limit, answer and timing, so the
 * throttle says nothing about which accounts exist. Counters live in the shared store (replicas agree).
 */
import type { FailureThrottle } from '../protection/failure-throttle.js';

export type LoginThrottle = FailureThrottle;

/** Whitespace or control characters inside a login: refused before any lookup. */
const INNER_JUNK = /[\s\p{C}]/u;

/** The login as it is looked up: surrounding whitespace dropped; undefined when anything odd is left inside. */
export function normaliseLogin(typed: string): string | undefined {
  const login = typed.trim();
  if (!login || INNER_JUNK.test(login)) return undefined;
  return login.toLowerCase();
}

export const accountSubject = (accountId: string) => `account:${accountId}`;
export const directorySubject = (directoryId: string, dn: string) => `ldap:${directoryId}:${dn}`;
/** Unicode lookalikes (NFKC) of one unknown login share its counter. */
export const unknownLoginSubject = (login: string) => `login:${login.normalize('NFKC').toLowerCase()}`;
