/**
 * /account: what a person does with their own account as a whole. Change the email address (a link to the
 * new address makes the change, the old one is told: accounts/email-change.ts), download their data
 * (GDPR Art. 15/20: profile, factors without secrets, sessions, apps, recent audit events, as JSON), and
 * delete the account (Art. 17: after a recent sign-in and typing the address, the same erasure an operator
 * runs). Each needs a recent sign-in at the account's level, like the security pages.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { AccountLifecycle } from '../accounts/account-lifecycle.js';
import { DEFAULT_SCOPE } from '../accounts/account-lifecycle.js';
import { InvalidAccountInput } from '../accounts/accounts.js';
import { EmailChangeRefused, type EmailChange } from '../accounts/email-change.js';
import type { AuditLog } from '../audit/audit-log.js';
import { sourceOf } from '../audit/audit-log.js';
import type { createAccountAuth, AccountState } from './account-auth.js';
import type { SessionsAndApps } from '../oidc/sessions-and-apps.js';
import type { Title } from '../http/render.js';

export type SelfServiceDeps = {
  auth: ReturnType<typeof createAccountAuth>;
  emailChange: EmailChange;
  lifecycle: Pick<AccountLifecycle, 'show' | 'erase'>;
  sessionsAndApps: Pick<SessionsAndApps, 'sessions' | 'apps'>;
  audit: Pick<AuditLog, 'query' | 'record'>;
  page(ctx: Context, view: string, title: Title, locals?: Record<string, unknown>): Promise<void>;
};

const EXPORT_AUDIT_DAYS = 90;

/** What each state of an email-change link tells the person (message keys of account.json). */
const LINK_STATES: Record<string, string> = {
  expired: 'account.link.expired',
  used: 'account.link.used',
  superseded: 'account.link.superseded',
  unknown: 'account.link.unknown',
  other_account: 'account.link.otherAccount',
  taken: 'account.link.taken',
};
const HOME: Title = { key: 'account.home.title' };
const CONFIRM_TITLE: Title = { key: 'account.emailConfirm.title' };
const DELETE_TITLE: Title = { key: 'account.delete.title' };
/** Why a new address was refused, in the page's language. */
const EMAIL_REFUSED: Record<EmailChangeRefused['reason'], Title> = {
  not_an_address: { key: 'account.emailConfirm.notAnAddress' },
  unchanged: { key: 'account.emailConfirm.unchanged' },
};

export function registerSelfServiceRoutes(router: Router, deps: SelfServiceDeps): void {
  const { auth, page } = deps;
  const recent = auth.requireRecentSignIn;

  router.post('/email', recent, async (ctx) => {
    const { account } = ctx.state as AccountState;
    const form = ctx.state.form as Record<string, string>;
    try {
      await deps.emailChange.request(account, form.email ?? '', sourceOf(ctx));
    } catch (err) {
      if (!(err instanceof InvalidAccountInput)) throw err;
      ctx.status = 400;
      const emailError = err instanceof EmailChangeRefused ? EMAIL_REFUSED[err.reason] : { key: 'account.emailConfirm.enterAnother' };
      await page(ctx, 'account', HOME, { emailError });
      ctx.status = 400;
      return;
    }
    // the same answer whether or not the address is free (no hint who is registered)
    ctx.redirect('/account?notice=email-change-sent');
  });

  router.get('/email/confirm', async (ctx) => {
    const { account } = ctx.state as AccountState;
    const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
    const link = await deps.emailChange.inspect(token, account.id);
    if (link.state !== 'valid') return linkProblem(ctx, link.state);
    // a page with a button: a mail scanner following the link must not make the change
    await page(ctx, 'account-email-confirm', CONFIRM_TITLE, { token, email: link.email });
  });

  router.post('/email/confirm', async (ctx) => {
    const { account } = ctx.state as AccountState;
    const form = ctx.state.form as Record<string, string>;
    const outcome = await deps.emailChange.confirm(form.token ?? '', account.id, sourceOf(ctx));
    if (outcome.state !== 'valid') return linkProblem(ctx, outcome.state);
    ctx.redirect('/account?notice=email-changed');
  });

  async function linkProblem(ctx: Context, state: string): Promise<void> {
    ctx.status = 400;
    await page(ctx, 'account-email-confirm', CONFIRM_TITLE, { problem: LINK_STATES[state] ?? LINK_STATES.unknown });
    ctx.status = 400;
  }

  router.get('/data', recent, async (ctx) => {
    const { account, session } = ctx.state as AccountState;
    const details = await deps.lifecycle.show({ scope: DEFAULT_SCOPE, account: { id: account.id } });
    const since = Date.now() - EXPORT_AUDIT_DAYS * 86_400_000;
    const events = await deps.audit.query({ accountId: account.id, since, limit: 1000 });
    const data = {
      exported_at: new Date().toISOString(),
      profile: {
        id: account.id, email: account.email, email_verified: account.emailVerified, name: account.name, roles: details.roles,
        created_at: new Date(account.createdAt).toISOString(),
        last_login_at: account.lastLoginAt ? new Date(account.lastLoginAt).toISOString() : null,
      },
      // which factors, never their secrets
      factors: { totp: details.factors.totp, passkeys_and_security_keys: details.factors.webauthn, recovery_codes_left: details.factors.recoveryCodesLeft },
      federated_links: details.links.map((l) => ({ provider: l.providerId, linked_at: new Date(l.createdAt).toISOString() })),
      sessions: (await deps.sessionsAndApps.sessions(account.id, session.uid)).map((s) => ({
        signed_in_at: s.loginTs ? new Date(s.loginTs * 1000).toISOString() : null, methods: s.amr, apps: s.apps, this_browser: s.current,
      })),
      connected_apps: (await deps.sessionsAndApps.apps(account.id)).map((a) => ({ client_id: a.clientId, name: a.name, scopes: a.scopes })),
      [`audit_events_last_${EXPORT_AUDIT_DAYS}_days`]: events.map((e) => ({
        time: new Date(e.time).toISOString(), type: e.type, result: e.result, reason: e.reason, client_id: e.clientId, ip: e.ip, user_agent: e.userAgent,
      })),
    };
    await deps.audit.record({ type: 'account.data_exported', accountId: account.id }, sourceOf(ctx));
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Disposition', 'attachment; filename="my-account.json"');
    ctx.type = 'application/json';
    ctx.body = JSON.stringify(data, null, 2);
  });

  router.get('/delete', recent, (ctx) => page(ctx, 'account-delete', DELETE_TITLE));

  router.post('/delete', recent, async (ctx) => {
    const { account } = ctx.state as AccountState;
    const form = ctx.state.form as Record<string, string>;
    // typing the address is the confirmation step: a stray click or a forged form cannot erase an account
    if ((form.confirm_email ?? '').trim().toLowerCase() !== account.email) {
      ctx.status = 400;
      await page(ctx, 'account-delete', DELETE_TITLE, { error: { key: 'account.delete.mismatch' } });
      ctx.status = 400;
      return;
    }
    // erasure ends every session of the account, this browser's too: the next request signs in afresh. The
    // actor is the person erased: naming them (id, address, device) in the last event would undo the pseudonym.
    await deps.lifecycle.erase({ scope: DEFAULT_SCOPE, account: { id: account.id }, by: { via: 'account page: the person themself' } });
    await page(ctx, 'account-deleted', { key: 'account.deleted.title' }, { account: null });
  });
}
