/**
 * The counters that protect sign-in, second factors, the token endpoint and mail. Every one lives in the
 * shared store, so limits hold across replicas. Per-IP counters go through keyedByIp: an IPv6 address
 * counts by its /64 (src/http/client-ip.ts).
 */
import type { Config } from '../config/schema.js';
import type { RateLimiterOptions, Store } from '../../adapters/contract.js';
import { keyedByIp } from '../http/client-ip.js';
import { createAttemptLockout, createQuota, type Quota } from '../protection/lockout.js';
import type { TokenEndpointLockouts } from '../protection/token-endpoint-guard.js';
import { createFailureThrottle, type FailureThrottle } from '../protection/failure-throttle.js';
import type { LoginThrottle } from '../accounts/login-throttle.js';

/** An address is slowed down past LOGIN_MAX_FAILURES_PER_IP failures and locked out only at this many times that. */
const IP_LOCKOUT_FACTOR = 10;

export type Protection = {
  /** failed logins (and wrong current passwords on the account page), per person and per IP */
  loginThrottle: LoginThrottle;
  /** wrong second-factor codes, per account id and per IP, with lockout */
  secondFactorThrottle: FailureThrottle;
  tokenEndpointLockouts: TokenEndpointLockouts;
  /** EMAIL_LIMIT_PER_ACCOUNT: whether one more mail may go to this address this hour (counts it) */
  mayMail(email: string): Promise<boolean>;
  /** forgets the address's mail count (account erasure) */
  forgetMailAddress(email: string): Promise<void>;
  registrationPerIp: Quota;
  emailPerIp: Quota;
};

export function buildProtection(config: Config, store: Pick<Store, 'rateLimiter'>): Protection {
  const limiter = (options: RateLimiterOptions) => store.rateLimiter(options);
  // count first, then check (protection/lockout.ts): for secrets verified per request
  const attemptLockout = (keyPrefix: string, maxFailures: number) =>
    createAttemptLockout({
      attempts: limiter({ keyPrefix, points: maxFailures, duration: config.LOGIN_THROTTLE_WINDOW, blockDuration: 0 }),
      lockouts: limiter({ keyPrefix: `${keyPrefix}-lockouts`, points: 1_000_000, duration: config.LOCKOUT_MEMORY, blockDuration: 0 }),
      baseSeconds: config.LOGIN_THROTTLE_WINDOW,
      maxSeconds: config.LOCKOUT_MAX_DURATION,
    });
  const hourly = (keyPrefix: string, points: number) => createQuota(limiter({ keyPrefix, points, duration: 3600, blockDuration: 0 }));

  // failed logins count per person (login-throttle.ts) and per IP, before the password is checked; the
  // per-IP limit slows an address down before it locks it
  const ipBrake = { ipDelayAfter: config.LOGIN_MAX_FAILURES_PER_IP, ipDelayStepMs: 250, ipDelayMaxMs: 5000 };
  const loginThrottle = createFailureThrottle({
    perSubject: attemptLockout('login-account', config.LOGIN_MAX_FAILURES_PER_ACCOUNT),
    perIp: keyedByIp(attemptLockout('login-ip', config.LOGIN_MAX_FAILURES_PER_IP * IP_LOCKOUT_FACTOR)),
    brake: ipBrake,
  });
  // wrong second-factor codes count like wrong passwords, per account (by id) and per IP, with their own lockouts
  const secondFactorThrottle = createFailureThrottle({
    perSubject: attemptLockout('mfa-account', config.MFA_MAX_FAILURES_PER_ACCOUNT),
    perIp: keyedByIp(attemptLockout('mfa-ip', config.LOGIN_MAX_FAILURES_PER_IP * IP_LOCKOUT_FACTOR)),
    brake: ipBrake,
  });
  // the token endpoint counts failed client authentication per (client, IP), before the check (token-endpoint-guard.ts)
  const tokenEndpointLockouts: TokenEndpointLockouts = {
    perIp: keyedByIp(attemptLockout('token-ip', config.TOKEN_MAX_FAILURES_PER_IP)),
    perClientIp: attemptLockout('token-client-ip', config.TOKEN_MAX_FAILURES_PER_CLIENT),
  };
  // EMAIL_LIMIT_PER_ACCOUNT counts mails sent to an address, taken where a mail is about to be made
  const mailPerAddress = hourly('mail-address', config.EMAIL_LIMIT_PER_ACCOUNT);
  return {
    loginThrottle,
    secondFactorThrottle,
    tokenEndpointLockouts,
    mayMail: async (email) => (await mailPerAddress.take(email)) === 0,
    forgetMailAddress: (email) => mailPerAddress.forget(email),
    registrationPerIp: keyedByIp(hourly('registration-ip', config.REGISTRATION_LIMIT_PER_IP)),
    emailPerIp: keyedByIp(hourly('mail-ip', config.EMAIL_LIMIT_PER_IP)),
  };
}
