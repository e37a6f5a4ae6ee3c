/**
 * Who is using the account pages: the person signed in to the provider's own session, read with
 * oidc-provider's public `Session.get`. Nobody signed in (or a sign-in weaker than policy requires, or
 * too old for changing second factors) is sent through an authorization request of the account client
 * (account-client.ts), which runs the usual login and mfa prompts and comes back to /account/callback.
 * The request's `state` sits in a signed cookie, so only this browser's own sign-in is accepted back.
 */
import { randomBytes } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { ProviderHost } from '../oidc/provider-host.js';
import type { AccountRecord } from '../../adapters/contract.js';
import { ACR, acrRank } from '../oidc/policy.js';
import { GatehouseError } from '../errors/errors.js';
import { ACCOUNT_CALLBACK_PATH, ACCOUNT_CLIENT_ID } from './account-client.js';

const STATE_COOKIE = 'gatehouse.account-signin';
const STATE_TTL_MS = 15 * 60 * 1000;

export type AccountSession = { accountId: string; uid: string; acr?: string; amr?: string[]; loginTs?: number; past(age: number): boolean };

export type AccountState = { account: AccountRecord; session: AccountSession };

export function createAccountAuth(deps: {
  issuer: string;
  secure: boolean;
  providers: ProviderHost;
  findAccount(id: string): Promise<AccountRecord | undefined>;
  /** policy (settings, roles) says this account must sign in with a second factor */
  mfaRequiredByPolicy(accountId: string): Promise<boolean>;
  /** seconds: changes to second factors need a sign-in at most this old */
  reauthMaxAge: number;
}) {
  const { issuer } = deps;

  /** Redirects to the provider's authorization endpoint for the account client; back at `returnTo`. */
  function signIn(ctx: Context, returnTo: string, extra: Record<string, string> = {}): void {
    const state = randomBytes(24).toString('base64url');
    ctx.cookies.set(STATE_COOKIE, JSON.stringify({ state, returnTo: safeReturnTo(returnTo) }), {
      signed: true, httpOnly: true, sameSite: 'lax', secure: deps.secure, path: '/account', maxAge: STATE_TTL_MS, overwrite: true,
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
      ctx.cookies.set(STATE_COOKIE, null, { path: '/account', signed: true });
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

    /** Middleware: ctx.state.account and ctx.state.session for a signed-in person, else a sign-in redirect. */
    async requireSignIn(ctx: Context, next: Next): Promise<void> {
      const session = (await deps.providers.current.Session.get(ctx)) as unknown as Partial<AccountSession>;
      const account = session.accountId ? await deps.findAccount(session.accountId) : undefined;
      const returnTo = ctx.method === 'GET' ? ctx.path : '/account';
      if (!account || !session.uid) return signIn(ctx, returnTo);
      if (acrRank(session.acr) < acrRank(ACR.mfa) && (await deps.mfaRequiredByPolicy(account.id))) {
        return signIn(ctx, returnTo, { acr_values: ACR.mfa, login_hint: account.email });
      }
      ctx.state.account = account;
      ctx.state.session = session as AccountSession;
      ctx.set('Cache-Control', 'no-store');
      await next();
    },

    /** Middleware for second-factor changes: the sign-in must be recent (else sign in again, with max_age). */
    async requireRecentSignIn(ctx: Context, next: Next): Promise<void> {
      const { session, account } = ctx.state as AccountState;
      if (session.past(deps.reauthMaxAge)) {
        // the page script's JSON requests cannot follow a sign-in: they get an error that says what to do
        if (ctx.accepts('html', 'json') === 'json') {
          throw new GatehouseError(401, 'login_required', 'For your security, sign in again to change this. Reload the page to continue.');
        }
        return signIn(ctx, ctx.method === 'GET' ? ctx.path : '/account/security', {
          max_age: String(deps.reauthMaxAge), login_hint: account.email,
        });
      }
      await next();
    },
  };
}

/** Only our own account pages are valid places to come back to. */
function safeReturnTo(path: string): string {
  return /^\/account(\/[A-Za-z0-9/_-]*)?$/.test(path) ? path : '/account';
}
