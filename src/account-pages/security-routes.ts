/**
 * /account/security: the person's second factors. An authenticator app (TOTP: QR code and secret,
 * confirmed by a first code), security keys and passkeys (registered by the page script, several per
 * account, each named), and recovery codes (shown once, regenerated on request). Adding or removing a
 * factor needs a recent sign-in at the account's level (account-auth.ts); removing the last one is
 * refused while a policy requires one. A first authenticator app is set up inside the sign-in's own
 * mfa prompt (step-up with acr_values), so the session that set it up holds the mfa level afterwards.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import type { FailureThrottle } from '../protection/failure-throttle.js';
import type { TotpService } from '../factors/totp.js';
import type { RecoveryCodes } from '../factors/recovery-codes.js';
import type { AccountFactors, RemovalRefusal } from '../factors/account-factors.js';
import { parseCredentialJson, type WebAuthnService } from '../factors/webauthn.js';
import { InvalidRequestError, TooManyRequestsError } from '../errors/errors.js';
import type { createAccountAuth, AccountState } from './account-auth.js';
import { ACR, acrRank } from '../assurance/acr-amr.js';
import { browserPath } from '../http/base-path.js';
import type { Title } from '../http/render.js';

export type SecurityDeps = {
  auth: ReturnType<typeof createAccountAuth>;
  totp: Pick<TotpService, 'startEnrolment' | 'confirmEnrolment'>;
  webauthn: Pick<WebAuthnService, 'registrationOptions' | 'verifyRegistration'>;
  recoveryCodes: Pick<RecoveryCodes, 'regenerate'>;
  factors: Pick<AccountFactors, 'overview' | 'issueRecoveryCodesIfNone' | 'removeTotp' | 'removeCredential'>;
  secondFactorThrottle: FailureThrottle;
  page(ctx: Context, view: string, title: Title, locals?: Record<string, unknown>): Promise<void>;
};

const WRONG_CODE: Title = { key: 'account.totp.wrongCode' };
const TOTP_TITLE: Title = { key: 'account.totp.title' };
/** Why a factor stays, in the page's language (account.json). */
const REMOVAL_REFUSED: Record<RemovalRefusal, Title> = {
  last_factor: { key: 'account.security.lastFactor' },
  not_on_account: { key: 'account.security.notOnAccount' },
};

export function registerSecurityRoutes(router: Router, deps: SecurityDeps): void {
  const { auth, page } = deps;
  const recent = auth.requireRecentSignIn;
  const accountOf = (ctx: Context) => (ctx.state as AccountState).account;

  const securityPage = async (ctx: Context, locals: Record<string, unknown> = {}) =>
    page(ctx, 'account-security', { key: 'account.security.title' }, { overview: await deps.factors.overview(accountOf(ctx).id), ...locals });

  // the security page itself needs a recent sign-in too, so its forms and script run inside that window
  router.get('/security', recent, (ctx) => securityPage(ctx));

  // A session below mfa (an account with no factor yet) sets up its first app through the mfa prompt,
  // which enrols it and upgrades the session; the account pages then accept the account's new level.
  const belowMfa = (ctx: Context) => acrRank((ctx.state as AccountState).session.acr) < acrRank(ACR.mfa);
  const enrolThroughSignIn = (ctx: Context) =>
    auth.signIn(ctx, '/account/security/totp', { acr_values: ACR.mfa, login_hint: accountOf(ctx).email });

  router.get('/security/totp', recent, async (ctx) => {
    const account = accountOf(ctx);
    if (belowMfa(ctx)) return enrolThroughSignIn(ctx);
    const enrolment = await deps.totp.startEnrolment(account.id, account.email);
    if (!enrolment) return ctx.redirect('/account/security');
    await page(ctx, 'account-totp', TOTP_TITLE, { enrolment });
  });

  router.post('/security/totp', recent, async (ctx) => {
    const account = accountOf(ctx);
    if (belowMfa(ctx)) return enrolThroughSignIn(ctx);
    const throttle = deps.secondFactorThrottle;
    // count first, then check (protection/failure-throttle.ts)
    const attempt = await throttle.begin(account.id, ctx.ip);
    if (attempt.refused) throw new TooManyRequestsError(attempt.retryAfter, 'Too many wrong codes. Wait a few minutes and try again.').withPageMessage('mfa.tooManyCodes');
    const code = String((ctx.state.form as Record<string, string>).code ?? '').slice(0, 64);
    if (!(await deps.totp.confirmEnrolment(account.id, code))) {
      await attempt.settle('failed');
      const enrolment = await deps.totp.startEnrolment(account.id, account.email);
      if (!enrolment) return ctx.redirect('/account/security');
      ctx.status = 400;
      await page(ctx, 'account-totp', TOTP_TITLE, { enrolment, error: WRONG_CODE });
      ctx.status = 400;
      return;
    }
    await attempt.settle('succeeded');
    const codes = await deps.factors.issueRecoveryCodesIfNone(account.id);
    if (!codes) return ctx.redirect('/account/security?notice=totp-added');
    await page(ctx, 'recovery-codes', { key: 'account.recovery.savedTitle' }, { codes, continueUrl: '/account/security?notice=totp-added', continueLabel: { key: 'account.recovery.done' } });
  });

  router.post('/security/totp/remove', recent, async (ctx) => {
    const verdict = await deps.factors.removeTotp(accountOf(ctx).id);
    if (verdict.ok) return ctx.redirect('/account/security?notice=totp-removed');
    ctx.status = 409;
    await securityPage(ctx, { error: REMOVAL_REFUSED[verdict.reason] });
    ctx.status = 409;
  });

  router.post('/security/recovery-codes', recent, async (ctx) => {
    const account = accountOf(ctx);
    const overview = await deps.factors.overview(account.id);
    if (overview.totp !== 'active' && overview.credentials.length === 0) throw new InvalidRequestError('Add a second factor before creating recovery codes.').withPageMessage('errors.needsSecondFactor');
    const codes = await deps.recoveryCodes.regenerate(account.id);
    await page(ctx, 'recovery-codes', { key: 'account.recovery.newTitle' }, { codes, continueUrl: '/account/security', continueLabel: { key: 'account.recovery.done' }, replaced: true });
  });

  // Security keys and passkeys: JSON for the page script (views/assets/webauthn.js)
  router.post('/security/passkeys/options', recent, async (ctx) => {
    ctx.body = await deps.webauthn.registrationOptions(accountOf(ctx));
  });

  router.post('/security/passkeys', recent, async (ctx) => {
    const account = accountOf(ctx);
    const form = ctx.state.form as Record<string, string>;
    // a malformed response is a WebAuthnInputError, answered by the error handler (errors/error-handler.ts)
    const response = parseCredentialJson<RegistrationResponseJSON>(form.credential, 'registration');
    const verdict = await deps.webauthn.verifyRegistration(account.id, response, form.name ?? '');
    if (!verdict.ok) throw new InvalidRequestError('The security key or passkey could not be registered. Try again.', verdict.detail).withPageMessage('errors.passkeyNotAdded');
    // recovery codes are offered on the security page (one POST shows them once)
    ctx.body = { redirect: browserPath(ctx, '/account/security?notice=passkey-added') };
  });

  router.post('/security/passkeys/:id/remove', recent, async (ctx) => {
    const verdict = await deps.factors.removeCredential(accountOf(ctx).id, String(ctx.params.id));
    if (verdict.ok) return ctx.redirect('/account/security?notice=passkey-removed');
    ctx.status = 409;
    await securityPage(ctx, { error: REMOVAL_REFUSED[verdict.reason] });
    ctx.status = 409;
  });
}
