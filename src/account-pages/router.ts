/**
 * /account: the signed-in person's own pages (profile, password, sessions, connected apps), with the
 * second-factor pages in security-routes.ts. Every form is CSRF-protected; every page needs a sign-in
 * (account-auth.ts). Outcomes come back as a fixed notice key in the query, never as reflected text.
 */
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import type { Renderer, Title } from '../http/render.js';
import type { AccountService } from '../accounts/accounts.js';
import { InvalidAccountInput, PasswordRefused } from '../accounts/accounts.js';
import type { AccountRecord } from '../../adapters/contract.js';
import { accountSubject, type LoginThrottle } from '../accounts/login-throttle.js';
import { nameRefusalCode } from '../accounts/registration.js';
import { InvalidRequestError, TooManyRequestsError } from '../errors/errors.js';
import type { createAccountAuth, AccountState } from './account-auth.js';
import type { SessionsAndApps } from '../oidc/sessions-and-apps.js';
import { registerSecurityRoutes, type SecurityDeps } from './security-routes.js';
import { registerSelfServiceRoutes, type SelfServiceDeps } from './self-service-routes.js';
import { NOTICES, amrLabel } from './notices.js';
import { registerLinkedSignInRoutes, type LinkedSignInDeps } from './linked-sign-in-routes.js';
import { registerLanguageRoute, type LocalePreference } from './language-route.js';

export type AccountPagesDeps = {
  render: Renderer;
  csrf: (ctx: Context, next: Next) => Promise<void>;
  auth: ReturnType<typeof createAccountAuth>;
  /** `setLocale` saves the language form's choice; without it (a store that cannot keep one) the form is not shown */
  accounts: Pick<AccountService, 'authenticate' | 'setName' | 'setPassword'> & Partial<LocalePreference>;
  /** after a password change: the notice mail and the audit event (lifecycle), with what was signed out */
  onPasswordChanged?(account: AccountRecord, ctx: Context, signedOut?: { sessions: number; grants: number }): Promise<void>;
  passwordThrottle: LoginThrottle;
  sessionsAndApps: SessionsAndApps;
  selfService: Pick<SelfServiceDeps, 'emailChange' | 'lifecycle' | 'audit'>;
  /** /account/linked: upstream sign-ins linked to the account */
  linked?: Omit<LinkedSignInDeps, 'page' | 'auth'>;
} & Omit<SecurityDeps, 'page' | 'auth'>;

const HOME: Title = { key: 'account.home.title' };
// dates on the account pages in the page's locale, in UTC as before (the server does not know the person's zone)
const DATE_TIME: Intl.DateTimeFormatOptions = { dateStyle: 'medium', timeStyle: 'long', timeZone: 'UTC' };
const DATE_ONLY: Intl.DateTimeFormatOptions = { dateStyle: 'medium', timeZone: 'UTC' };

export function createAccountRouter(deps: AccountPagesDeps) {
  const { render, auth, sessionsAndApps } = deps;
  const router = new Router({ prefix: '/account' });

  const page = (ctx: Context, view: string, title: Title, locals: Record<string, unknown> = {}) => {
    const { account } = ctx.state as AccountState;
    // a message key, shown in the page's locale by the nav (partials/account-nav.ejs)
    const noticeKey = typeof ctx.query.notice === 'string' ? NOTICES[ctx.query.notice] : undefined;
    const notice: Title | null = noticeKey ? { key: noticeKey } : null;
    const languageForm = Boolean(deps.accounts.setLocale);
    return render(ctx, view, { title, wide: true, account, notice, amrLabel, section: view, languageForm, dateTime: DATE_TIME, dateOnly: DATE_ONLY, ...locals });
  };

  router.get('/callback', async (ctx) => {
    const outcome = await auth.callback(ctx);
    if (outcome.ok) return ctx.redirect(outcome.returnTo);
    if (outcome.error === 'state_mismatch') return ctx.redirect('/account');
    throw new InvalidRequestError('Signing in to your account did not complete. Go back and try again.', `account sign-in returned ${outcome.error}`).withPageMessage('errors.accountSignInFailed');
  });

  router.use(deps.csrf, auth.requireSignIn);

  router.get('/', (ctx) => page(ctx, 'account', HOME));

  router.post('/profile', async (ctx) => {
    const { account } = ctx.state as AccountState;
    const form = ctx.state.form as Record<string, string>;
    // the same rule as at registration: names are shown on pages and in mails
    const refusal = nameRefusalCode(form.name ?? '');
    if (refusal) {
      ctx.status = 400;
      // the registration page's words for the same rule, in the page's language
      return page(ctx, 'account', HOME, { error: { key: `lifecycle.name.${refusal}` } });
    }
    try {
      await deps.accounts.setName(account.id, form.name ?? '');
    } catch (err) {
      if (!(err instanceof InvalidAccountInput)) throw err;
      ctx.status = 400;
      return page(ctx, 'account', HOME, { error: { key: 'account.error.nameTooLong' } });
    }
    ctx.redirect('/account?notice=profile-saved');
  });

  // a new password is a change to how the person signs in: a recent sign-in at the account's level, as for factors
  router.post('/password', auth.requireRecentSignIn, async (ctx) => {
    const { account } = ctx.state as AccountState;
    const form = ctx.state.form as Record<string, string>;
    const fail = async (status: number, error: Title) => {
      ctx.status = status;
      await page(ctx, 'account', HOME, { passwordError: error });
      ctx.status = status;
    };
    // count first, then check, on the same counter as the account's sign-ins (accounts/login-throttle.ts)
    const attempt = await deps.passwordThrottle.begin(accountSubject(account.id), ctx.ip);
    if (attempt.refused) throw new TooManyRequestsError(attempt.retryAfter, 'Too many wrong passwords. Wait a few minutes and try again.').withPageMessage('errors.tooManyPasswords');
    const current = (form.current_password ?? '').slice(0, 1024);
    const next = form.new_password ?? '';
    if (!current || !(await deps.accounts.authenticate(account.email, current))) {
      await attempt.settle('failed');
      return fail(401, { key: 'account.error.wrongPassword' });
    }
    await attempt.settle('succeeded');
    if (next !== (form.confirm_password ?? '')) return fail(400, { key: 'account.error.passwordsDiffer' });
    try {
      // the password policy (length, blocklist, history) applies here as everywhere a password is set
      await deps.accounts.setPassword(account, next, {}, { event: { type: 'password.changed', accountId: account.id, details: { via: 'account page' } }, from: ctx });
    } catch (err) {
      // a refused value is shown on the form itself, in the page's language: the policy's reason (passwords.json)
      if (err instanceof PasswordRefused) return fail(400, { key: `passwords.${err.refusal.code}`, values: err.refusal.values });
      if (!(err instanceof InvalidAccountInput)) throw err;
      return fail(400, { key: 'account.error.choosePassword' });
    }
    // a password changed because it leaked is only half a fix while another browser stays signed in, or
    // an app keeps a refresh token it got there: other sessions end and their grants are revoked
    const signedOut = form.sign_out_others === 'yes'
      ? await sessionsAndApps.signOutOthers(account.id, (ctx.state as AccountState).session.uid)
      : undefined;
    await deps.onPasswordChanged?.(account, ctx, signedOut);
    ctx.redirect(signedOut ? '/account?notice=password-changed-signed-out' : '/account?notice=password-changed');
  });

  router.get('/sessions', async (ctx) => {
    const { account, session } = ctx.state as AccountState;
    await page(ctx, 'account-sessions', { key: 'account.sessions.title' }, { sessions: await sessionsAndApps.sessions(account.id, session.uid) });
  });

  router.post('/sessions/:uid/sign-out', async (ctx) => {
    const { account, session } = ctx.state as AccountState;
    const uid = String(ctx.params.uid);
    if (!(await sessionsAndApps.signOut(account.id, uid))) return ctx.redirect('/account/sessions?notice=session-gone');
    ctx.redirect(uid === session.uid ? '/account' : '/account/sessions?notice=session-signed-out');
  });

  router.get('/apps', async (ctx) => {
    const { account } = ctx.state as AccountState;
    await page(ctx, 'account-apps', { key: 'account.apps.title' }, { apps: await sessionsAndApps.apps(account.id) });
  });

  router.post('/apps/:clientId/revoke', async (ctx) => {
    const { account } = ctx.state as AccountState;
    const revoked = await sessionsAndApps.revokeApp(account.id, String(ctx.params.clientId));
    ctx.redirect(`/account/apps?notice=${revoked ? 'app-revoked' : 'app-gone'}`);
  });

  if (deps.accounts.setLocale) registerLanguageRoute(router, { locale: { setLocale: deps.accounts.setLocale.bind(deps.accounts) }, page });
  registerSecurityRoutes(router, { ...deps, page });
  if (deps.linked) registerLinkedSignInRoutes(router, { ...deps.linked, auth, page });
  registerSelfServiceRoutes(router, { ...deps.selfService, auth, sessionsAndApps, page });
  return router;
}
