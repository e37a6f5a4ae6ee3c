/**
 * Attempts at a secret (a password, a second-factor code), limited per subject and per client IP. Count
 * first, then check (protection/lockout.ts): `begin` takes a point from both counters before the secret is
 * verified, so N parallel attempts never get more than the limit verified, and a request over a limit is
 * refused without running bcrypt or the code check. `settle` says how the check went: a failure keeps
 * its points (and may start a lockout), a success gives the IP's point back and clears the subject's count.
 *
 * The per-IP counter is a brake, not a wall (a shared office or NAT address must not lock out a person
 * who knows their password): past `ipDelayAfter` failures in the window every attempt from that address
 * waits a little longer before it is checked (`ipDelayStepMs` per failure over, up to `ipDelayMaxMs`), and
 * only the per-IP lockout's own limit (set well above it) refuses outright.
 */
import type { AttemptLockout } from './lockout.js';

export type ThrottledAttempt =
  | { refused: true; retryAfter: number }
  | { refused: false; settle(outcome: 'failed' | 'succeeded'): Promise<{ subjectLockedFor: number; ipLockedFor: number }> };

export type FailureThrottle = {
  /** Takes a point for an attempt about to be verified; `refused` when a limit is reached (do not verify it). */
  begin(subject: string, ip: string): Promise<ThrottledAttempt>;
  /** An operator's unlock of one subject (its per-IP counters are left alone: they are not the person's). */
  unlock(subject: string): Promise<void>;
};

export type IpBrake = { ipDelayAfter: number; ipDelayStepMs: number; ipDelayMaxMs: number };

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createFailureThrottle(deps: { perSubject: AttemptLockout; perIp: AttemptLockout; brake?: IpBrake }): FailureThrottle {
  const { perSubject, perIp, brake } = deps;
  return {
    unlock: (subject) => perSubject.forget(subject),
    async begin(subject, ip) {
      const bySubject = await perSubject.begin(subject);
      if (!('settle' in bySubject)) return { refused: true, retryAfter: bySubject.wait };
      const byIp = await perIp.begin(ip);
      if (!('settle' in byIp)) {
        await bySubject.settle(false);
        return { refused: true, retryAfter: byIp.wait };
      }
      if (brake && byIp.count > brake.ipDelayAfter) {
        await pause(Math.min(brake.ipDelayMaxMs, (byIp.count - brake.ipDelayAfter) * brake.ipDelayStepMs));
      }
      return {
        refused: false,
        async settle(outcome) {
          const failed = outcome === 'failed';
          const [subjectLockedFor, ipLockedFor] = await Promise.all([bySubject.settle(failed), byIp.settle(failed)]);
          if (!failed) await perSubject.reset(subject);
          return { subjectLockedFor, ipLockedFor };
        },
      };
    },
  };
}
