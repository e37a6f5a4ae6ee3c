/**
 * Count first, then check: a lockout for secrets that are verified per request (passwords, second-factor codes,
 * client secrets). Each attempt takes a point from the key's counter in the shared store BEFORE the
 * credential is checked, atomically, so N parallel attempts can never have more than `points` checked.
 * An attempt that turns out not to be a failure gives its point back; a failed one keeps it. The failure
 * that held the last point locks the key for the base duration, doubled for every earlier lockout within
 * the lockouts' memory, up to the maximum. Counters live in the shared store, so replicas see the same counts.
 *
 *   attempts: points = max failures, duration = window         (a point per attempt; block = lockout)
 *   lockouts: points = unlimited, duration = memory            (consumedPoints = how many lockouts so far)
 */
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { TooManyRequestsError } from '../errors/errors.js';

/** `count`: the points taken in the window, this attempt's included (attempts in flight count). */
export type AttemptOutcome = { wait: number } | { wait: 0; count: number; settle(failed: boolean): Promise<number> };

export type AttemptLockout = {
  /** Takes a point for an attempt about to be checked: `wait` > 0 when over the limit (do not check it), else `settle` with the outcome (returns the lockout it started in seconds, or 0). */
  begin(key: string): Promise<AttemptOutcome>;
  /** Without taking a point: the seconds to wait if an attempt now would be refused, else 0. */
  refusal(key: string): Promise<number>;
  /** Forgets the key's failures (after a success); earlier lockouts still count towards the back-off. */
  reset(key: string): Promise<void>;
  /** An operator's unlock: the count, any lockout in force, and the memory of earlier lockouts all go. */
  forget(key: string): Promise<void>;
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

export function createAttemptLockout(deps: {
  attempts: RateLimiterAbstract;
  lockouts: RateLimiterAbstract;
  baseSeconds: number;
  maxSeconds: number;
}): AttemptLockout {
  const { attempts, lockouts } = deps;
  return {
    async begin(key) {
      const taken = await consumed(attempts, key);
      if (taken.consumedPoints > attempts.points) {
        // refused unchecked; its point goes back, so refusals alone never extend a window or a lockout
        await attempts.reward(key, 1);
        return { wait: Math.max(1, Math.ceil(taken.msBeforeNext / 1000)) };
      }
      return {
        wait: 0,
        count: taken.consumedPoints,
        async settle(failed) {
          if (!failed) {
            await attempts.reward(key, 1);
            return 0;
          }
          if (taken.consumedPoints !== attempts.points) return 0;
          const count = (await consumed(lockouts, key)).consumedPoints;
          const seconds = Math.min(deps.baseSeconds * 2 ** Math.min(count - 1, 30), deps.maxSeconds);
          await attempts.block(key, seconds);
          return seconds;
        },
      };
    },
    async refusal(key) {
      const res = await attempts.get(key);
      return res && res.consumedPoints >= attempts.points ? Math.max(1, Math.ceil(res.msBeforeNext / 1000)) : 0;
    },
    async reset(key) {
      await attempts.delete(key);
    },
    async forget(key) {
      await Promise.all([attempts.delete(key), lockouts.delete(key)]);
    },
  };
}

/** A plain hourly (or other) quota: `take` counts one request and returns seconds to wait when over it, else 0. */
export type Quota = {
  take(key: string): Promise<number>;
  /** drops the key's count (an erased account's address must not stay in the store as a counter key) */
  forget(key: string): Promise<void>;
};

export function createQuota(limiter: RateLimiterAbstract): Quota {
  return {
    async take(key) {
      const res = await consumed(limiter, key);
      return res.consumedPoints > limiter.points ? Math.max(1, Math.ceil(res.msBeforeNext / 1000)) : 0;
    },
    async forget(key) {
      await limiter.delete(key);
    },
  };
}

/** "15 minutes", "2 hours": how long to wait, for pages. */
/** `inWords`'s unit and count, for a message's plural (the same rounding). */
export function waitIn(seconds: number): { unit: 'seconds' | 'minutes' | 'hours'; count: number } {
  if (seconds < 90) return { unit: 'seconds', count: Math.max(1, Math.round(seconds)) };
  if (seconds < 90 * 60) return { unit: 'minutes', count: Math.round(seconds / 60) };
  return { unit: 'hours', count: Math.round(seconds / 3600) };
}

export function inWords(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} second${Math.round(seconds) === 1 ? '' : 's'}`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} minutes`;
  return `${Math.round(seconds / 3600)} hours`;
}

/** Takes one request from each quota; over any of them, HTTP 429 with Retry-After and a friendly page. */
/** The quotas' names in the page's message (errors.quota selects on them). */
const QUOTA_NAMES = { registrations: 'registrations', 'password reset requests': 'resets', 'verification emails': 'verifications' } as const;

export async function takeQuotas(what: keyof typeof QUOTA_NAMES, ...takes: Promise<number>[]): Promise<void> {
  const wait = Math.max(...(await Promise.all(takes)));
  if (wait > 0) {
    throw new TooManyRequestsError(wait, `Too many ${what} in a short time. Try again in ${inWords(wait)}.`)
      .withPageMessage('errors.quota', { what: QUOTA_NAMES[what], ...waitIn(wait) });
  }
}
