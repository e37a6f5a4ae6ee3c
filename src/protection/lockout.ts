/**
 * Temporary lockout with exponential back-off, on rate-limiter-flexible counters that live in the shared
 * store (so every replica sees the same counts). A key (an account, an email, an IP, a client) may fail
 * `points` times within the window; the failure that reaches the limit locks the key out for the base
 * duration, and every further lockout within the memory period doubles it, up to the maximum.
 *
 *   failures: points = max failures, duration = window           (consume per failure; block = lockout)
 *   lockouts: points = unlimited, duration = memory               (consumedPoints = how many lockouts so far)
 */
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

export type Lockout = {
  /** Seconds until the key may try again, or 0. */
  retryAfter(key: string): Promise<number>;
  /** Counts a failure; returns the lockout it started in seconds, or 0. */
  fail(key: string): Promise<number>;
  /** Forgets the key's failures (after a success); earlier lockouts still count towards the back-off. */
  reset(key: string): Promise<void>;
};

/** consume() rejects with a RateLimiterRes over the limit, and with an Error when the store fails. */
async function consumed(limiter: RateLimiterAbstract, key: string): Promise<RateLimiterRes> {
  try {
    return await limiter.consume(key);
  } catch (res) {
    if (res instanceof RateLimiterRes) return res;
    throw res;
  }
}

export function createLockout(deps: {
  failures: RateLimiterAbstract;
  lockouts: RateLimiterAbstract;
  baseSeconds: number;
  maxSeconds: number;
}): Lockout {
  const { failures, lockouts } = deps;
  return {
    async retryAfter(key) {
      const res = await failures.get(key);
      return res && res.consumedPoints >= failures.points && res.msBeforeNext > 0 ? Math.ceil(res.msBeforeNext / 1000) : 0;
    },
    async fail(key) {
      const res = await consumed(failures, key);
      // exactly one failure reaches the limit (the store increments atomically), so one lockout starts
      if (res.consumedPoints !== failures.points) return 0;
      const count = (await consumed(lockouts, key)).consumedPoints;
      const seconds = Math.min(deps.baseSeconds * 2 ** Math.min(count - 1, 30), deps.maxSeconds);
      await failures.block(key, seconds);
      return seconds;
    },
    async reset(key) {
      await failures.delete(key);
    },
  };
}

/** A plain hourly (or other) quota: `take` counts one request and returns seconds to wait when over it, else 0. */
export type Quota = { take(key: string): Promise<number> };

export function createQuota(limiter: RateLimiterAbstract): Quota {
  return {
    async take(key) {
      const res = await consumed(limiter, key);
      return res.consumedPoints > limiter.points ? Math.max(1, Math.ceil(res.msBeforeNext / 1000)) : 0;
    },
  };
}

/** "15 minutes", "2 hours": how long to wait, for pages. */
export function inWords(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} second${Math.round(seconds) === 1 ? '' : 's'}`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} minutes`;
  return `${Math.round(seconds / 3600)} hours`;
}
