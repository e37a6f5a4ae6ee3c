/**
 * Throttles failed logins per account (keyed by the normalised email, whether or not it exists, so the
 * throttle itself reveals nothing) and per client IP. Counters live in the durable store via
 * rate-limiter-flexible, so limits hold across replicas.
 */
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { normaliseEmail } from './accounts.js';

export type LoginThrottle = {
  /** Seconds to wait before another attempt is allowed, or 0. */
  retryAfter(email: string, ip: string): Promise<number>;
  recordFailure(email: string, ip: string): Promise<void>;
  recordSuccess(email: string): Promise<void>;
};

export function createLoginThrottle(limiters: { perAccount: RateLimiterAbstract; perIp: RateLimiterAbstract }): LoginThrottle {
  const { perAccount, perIp } = limiters;
  const blockedFor = async (limiter: RateLimiterAbstract, key: string) => {
    const res = await limiter.get(key);
    return res && res.consumedPoints >= limiter.points ? Math.ceil(res.msBeforeNext / 1000) : 0;
  };
  return {
    async retryAfter(email, ip) {
      return Math.max(await blockedFor(perAccount, normaliseEmail(email)), await blockedFor(perIp, ip));
    },
    async recordFailure(email, ip) {
      // consume() rejects once the limit is passed; that is the signal retryAfter() reads next time
      await Promise.allSettled([perAccount.consume(normaliseEmail(email)), perIp.consume(ip)]);
    },
    async recordSuccess(email) {
      await perAccount.delete(normaliseEmail(email));
    },
  };
}
