/**
 * Failed attempts at a secret (a password, a second-factor code), limited per subject (the account, or the
 * email typed, whether or not it exists) and per client IP, each with its own lockout and back-off.
 * For the MFA feature: context.ts builds one keyed by account id as `secondFactorThrottle`.
 */
import type { Lockout } from './lockout.js';

export type FailureThrottle = {
  /** Seconds to wait before another attempt is allowed, or 0. */
  retryAfter(subject: string, ip: string): Promise<number>;
  /** Counts a failure; says which lockouts it started (seconds, 0 for none). */
  recordFailure(subject: string, ip: string): Promise<{ subjectLockedFor: number; ipLockedFor: number }>;
  recordSuccess(subject: string): Promise<void>;
};

export function createFailureThrottle(lockouts: { perSubject: Lockout; perIp: Lockout }): FailureThrottle {
  const { perSubject, perIp } = lockouts;
  return {
    async retryAfter(subject, ip) {
      const [a, b] = await Promise.all([perSubject.retryAfter(subject), perIp.retryAfter(ip)]);
      return Math.max(a, b);
    },
    async recordFailure(subject, ip) {
      const [subjectLockedFor, ipLockedFor] = await Promise.all([perSubject.fail(subject), perIp.fail(ip)]);
      return { subjectLockedFor, ipLockedFor };
    },
    async recordSuccess(subject) {
      await perSubject.reset(subject);
    },
  };
}
