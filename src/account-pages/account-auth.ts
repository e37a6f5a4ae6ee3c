/**
 * Who is using the account pages: the person signed in to the provider's own session, read with
 * oidc-provider's public `Session.get`. The session must reach the acr that signing in would require of
 * this account (mfa-policy.ts `accountRequirement`, the same answer the mfa prompt uses: an enrolled
 * second factor counts), so a browser that gave the password but not yet the second factor opens
 * nothing here. Nobody signed in (or a weaker or, for changes to sign-in methods, older sign-in) is sent
 * through an authorization request of the account client (account-client.ts), which runs the usual
 * login and mfa prompts and comes back to /account/callback. The request's `state` sits in a signed
 * cookie, so only this browser's own sign-in is accepted back.
 */
import { randomBytes } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { ProviderHost } from '../oidc/provider-host.js';
import type { AccountRecord } from '../../adapters/contract.js';
import { ACR, acrRank, meetsRequirement, type MfaRequirement } from '../assurance/acr-amr.js';
import { LoginRequiredError } from '../errors/errors.js';
import { ACCOUNT_CALLBACK_PATH, ACCOUNT_CLIENT_ID } from './account-client.js';
import { basePathOf, cookiePath } from '../http/base-path.js';
import { savedLocale } from './language-route.js';

const STATE_COOKIE = 'gatehouse.account-signin';
const STATE_TTL_MS = 15 * 60 * 1000;

export type AccountSession = { accountId: string; uid: string; acr?: string; amr?: string[]; loginTs?: number; past(age: number): boolean };

export type AccountState = { account: AccountRecord; session: AccountSession; requirement: MfaRequirement };

export function createAccountAuth(deps: {
  issuer: string;
  secure: boolean;
  providers: ProviderHost;
  findAccount(id: string): Promise<AccountRecord | undefined>;
  /** the acr a sign-in of this account must reach (mfa-policy.ts `accountRequirement`) */
  accountRequirement(accountId: string): Promise<MfaRequirement>;
  /** seconds: changes to sign-in methods (factors, password) need a sign-in at most this old */
  reauthMaxAge: number;
}) {
  const { issuer } = deps;
  const statePath = cookiePath(basePathOf(issuer), '/account');

  /** Redirects to the provider's authorization endpoint for the account client; back at `returnTo`. */
  function signIn(ctx: Context, returnTo: string, extra: Record<string, string> = {}): void {
    const state = randomBytes(24).toString('base64url');
    ctx.cookies.set(STATE_COOKIE, JSON.stringify({ state, returnTo: safeReturnTo(returnTo) }), {
      signed: true, httpOnly: true, sameSite: 'lax', secure: deps.secure, path: statePath, maxAge: STATE_TTL_MS, overwrite: true,
    });
    const url = new URL(`${issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: ACCOUNT_CLIENT_ID, response_type: 'none', scope: 'openid', redirect_uri: `${issuer}${ACCOUNT_CALLBACK_PATH}`, state, ...extra,
    }).toString();
    ctx.set('Cache-Control', 'no-store');
    ctx.redirect(url.toString());
  }

  return {
    signIn,

    /** GET /account/callback: the authorization response (RFC 6749 §4.1.2; state checked, then forgotten). */
    async callback(ctx: Context): Promise<{ ok: true; returnTo: string } | { ok: false; error: string }> {
      const raw = ctx.cookies.get(STATE_COOKIE, { signed: true });
      ctx.cookies.set(STATE_COOKIE, null, { path: statePath, signed: true });
      let saved: { state?: unknown; returnTo?: unknown } = {};
      try {
        saved = raw ? (JSON.parse(raw) as typeof saved) : {};
      } catch {
        saved = {};
      }
      const state = ctx.query.state;
      if (typeof saved.state !== 'string' || typeof state !== 'string' || state !== saved.state) return { ok: false, error: 'state_mismatch' };
      if (typeof ctx.query.error === 'string') return { ok: false, error: ctx.query.error };
      return { ok: true, returnTo: safeReturnTo(String(saved.returnTo ?? '/account')) };
    },

    /**
     * Middleware: ctx.state.account, .session and .requirement for a person signed in at the level the
     * account requires; else a sign-in redirect (JSON callers: 401), with acr_values when the session
     * is there but weaker (the mfa prompt then asks for the second factor only).
     */
    async requireSignIn(ctx: Context, next: Next): Promise<void> {
      const session = (await deps.providers.current.Session.get(ctx)) as unknown as Partial<AccountSession>;
      const account = session.accountId ? await deps.findAccount(session.accountId) : undefined;
      const returnTo = ctx.method === 'GET' ? ctx.path : '/account';
      if (!account || !session.uid) return signInAgain(ctx, returnTo, {});
      const requirement = await deps.accountRequirement(account.id);
      if (!meetsRequirement(session.acr, requirement)) {
        return signInAgain(ctx, returnTo, { ...acrValues(requirement), login_hint: account.email });
      }
      ctx.state.account = account;
      // the person's saved language outranks the browser's on their own pages (i18n/choose-locale.ts: no
      // ui_locales here, and the person is known)
      const saved = savedLocale(account);
      if (saved) ctx.state.locale = saved;
      ctx.state.session = session as AccountSession;
      ctx.state.requirement = requirement;
      ctx.set('Cache-Control', 'no-store');
      await next();
    },

    /**
     * Middleware for changes to how the person signs in (second factors, recovery codes, password): the
     * sign-in must be recent AND at the account's level (else sign in again, with max_age and acr_values).
     */
    async requireRecentSignIn(ctx: Context, next: Next): Promise<void> {
      const { session, account } = ctx.state as AccountState;
      const requirement = (ctx.state as Partial<AccountState>).requirement ?? (await deps.accountRequirement(account.id));
      if (session.past(deps.reauthMaxAge) || !meetsRequirement(session.acr, requirement)) {
        const returnTo = ctx.method === 'GET' ? ctx.path : ctx.path.startsWith('/account/security') ? '/account/security' : '/account';
        return signInAgain(ctx, returnTo, { max_age: String(deps.reauthMaxAge), login_hint: account.email, ...acrValues(requirement) });
      }
      await next();
    },
  };

  /** A sign-in redirect; the page script's JSON requests cannot follow one, so they get an error that says what to do. */
  function signInAgain(ctx: Context, returnTo: string, extra: Record<string, string>): void {
    if (ctx.accepts('html', 'json') === 'json') {
      throw new LoginRequiredError('For your security, sign in again to change this. Reload the page to continue.').withPageMessage('errors.signInAgain');
    }
    return signIn(ctx, returnTo, extra);
  }
}

/** acr_values for the account client's request when the account needs more than a password. */
const acrValues = (requirement: MfaRequirement): Record<string, string> =>
  acrRank(requirement.acr) > acrRank(ACR.password) ? { acr_values: requirement.acr } : {};

/** Only our own account pages are valid places to come back to. */
function safeReturnTo(path: string): string {
  return /^\/account(\/[A-Za-z0-9/_-]*)?$/.test(path) ? path : '/account';
}
