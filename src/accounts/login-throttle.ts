/**
 * Throttles failed logins per account (keyed by the normalised email, whether or not it exists, so the
 * throttle itself reveals nothing) and per client IP, with temporary lockouts that back off exponentially
 * (protection/lockout.ts). Counters live in the shared store, so limits hold across replicas.
 */
import { normaliseEmail } from './accounts.js';
import { createFailureThrottle, type FailureThrottle } from '../protection/failure-throttle.js';
import type { Lockout } from '../protection/lockout.js';

export type LoginThrottle = FailureThrottle;

export function createLoginThrottle(lockouts: { perAccount: Lockout; perIp: Lockout }): LoginThrottle {
  const throttle = createFailureThrottle({ perSubject: lockouts.perAccount, perIp: lockouts.perIp });
  return {
    retryAfter: (email, ip) => throttle.retryAfter(normaliseEmail(email), ip),
    recordFailure: (email, ip) => throttle.recordFailure(normaliseEmail(email), ip),
    recordSuccess: (email) => throttle.recordSuccess(normaliseEmail(email)),
  };
}
