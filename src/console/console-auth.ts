/**
 * Who is using the console. Signing in is an authorization request of the console client
 * (console-client.ts): code + PKCE S256 (RFC 7636), state and nonce, `max_age` of CONSOLE_SESSION_TTL or
 * CONSOLE_IDLE_TIMEOUT, the shorter (OpenID Connect Core §3.1.2.1: an older sign-in signs in again) and, by default, `acr_values` asking for
 * a second factor. The code is redeemed with openid-client, which validates the ID token; its `acr` must
 * reach what the console requires. The console session is then a signed httpOnly cookie (path /console,
 * SameSite=Strict) that ends after CONSOLE_SESSION_TTL whatever happens, and every request also checks
 * that the provider's own session is still this person's: signing out of Gatehouse, being signed out
 * everywhere or disabled ends the console session at once. The operator's permissions are read from
 * their roles on every request, so a role taken away applies at the next click. A session unused for
 * CONSOLE_IDLE_TIMEOUT ends too (OWASP ASVS 4.0 §3.3.2: an inactivity timeout, here well under the
 * absolute one): every request renews the cookie's last-activity time, and after an idle end the
 * sign-in asks for the password again (`prompt=login`, OpenID Connect Core §3.1.2.1), so the provider's
 * own, longer session cannot silently bring the idle console session back.
 */
import type { Context, Next } from 'koa';
import * as oidc from 'openid-client';
import type { AccountRecord } from '../../adapters/contract.js';
import { ACR, acrRank } from '../assurance/acr-amr.js';
import { sourceOf } from '../audit/audit-log.js';
import type { Actor } from '../accounts/account-lifecycle.js';
import type { ProviderHost } from '../oidc/provider-host.js';
import { InvalidRequestError } from '../errors/errors.js';
import { basePathOf, cookiePath } from '../http/base-path.js';
import { CONSOLE_CALLBACK_PATH, CONSOLE_CLIENT_ID, CONSOLE_PATH, CONSOLE_SIGNED_OUT_PATH } from './console-client.js';

const FLOW_COOKIE = 'gatehouse.console-signin';
const SESSION_COOKIE = 'gatehouse.console';
const FLOW_TTL_MS = 15 * 60 * 1000;

export type Operator = {
  account: AccountRecord;
  /** the admin:* scopes the person's roles give at urn:gatehouse:admin */
  scopes: Set<string>;
  /** who acts, for the services' audit events */
  actor: Actor;
  can(scope: string): boolean;
};

export type ConsoleAuthDeps = {
  issuer: string;
  secure: boolean;
  providers: ProviderHost;
  requireMfa: boolean;
  /** seconds */
  sessionTtl: number;
  /** seconds without a request after which the console session ends */
  idleTimeout: number;
  /** the account (undefined when gone) with its own and federated roles */
  findOperator(id: string): Promise<{ account: AccountRecord; roles: string[] } | undefined>;
  /** the admin scopes these roles give (roles/permissions.ts at urn:gatehouse:admin) */
  authorityOf(roles: readonly string[]): Promise<Set<string>>;
  now?: () => number;
};

type Flow = { state: string; nonce: string; verifier: string; returnTo: string };
/** exp: the absolute end (ms); seen: the last request (ms), for the idle timeout */
type SessionCookie = { sub: string; exp: number; seen: number; idToken?: string };

export function createConsoleAuth(deps: ConsoleAuthDeps) {
  const { issuer } = deps;
  const now = deps.now ?? Date.now;
  const cookie = { signed: true, httpOnly: true, secure: deps.secure, path: cookiePath(basePathOf(issuer), CONSOLE_PATH), overwrite: true };
  let discovered: Promise<oidc.Configuration> | undefined;
  const configuration = () => {
    discovered ??= oidc.discovery(new URL(issuer), CONSOLE_CLIENT_ID, undefined, oidc.None(), issuer.startsWith('http://') ? { execute: [oidc.allowInsecureRequests] } : {});
    discovered.catch(() => (discovered = undefined));
    return discovered;
  };

  // a console sign-in needs an authentication more recent than the idle timeout (and the session TTL):
  // otherwise a provider session alone, older than an idle end, would open the console again
  const maxAge = Math.min(deps.sessionTtl, deps.idleTimeout);
  const setSession = (ctx: Context, session: SessionCookie) =>
    ctx.cookies.set(SESSION_COOKIE, JSON.stringify(session), { ...cookie, sameSite: 'strict', maxAge: Math.max(0, session.exp - now()) });

  async function signIn(ctx: Context, returnTo: string, reauthenticate = false): Promise<void> {
    const flow: Flow = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier: oidc.randomPKCECodeVerifier(), returnTo: safeReturnTo(returnTo) };
    ctx.cookies.set(FLOW_COOKIE, JSON.stringify(flow), { ...cookie, sameSite: 'lax', maxAge: FLOW_TTL_MS });
    const params: Record<string, string> = {
      redirect_uri: `${issuer}${CONSOLE_CALLBACK_PATH}`, scope: 'openid', state: flow.state, nonce: flow.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(flow.verifier), code_challenge_method: 'S256', max_age: String(maxAge),
    };
    if (deps.requireMfa) params.acr_values = ACR.mfa;
    if (reauthenticate) params.prompt = 'login';
    ctx.set('Cache-Control', 'no-store');
    ctx.redirect(oidc.buildAuthorizationUrl(await configuration(), params).href);
  }

  return {
    signIn,

    /** GET /console/callback: redeem the code (state, nonce and PKCE checked), then the console session. */
    async callback(ctx: Context): Promise<void> {
      const flow = parse<Flow>(ctx.cookies.get(FLOW_COOKIE, { signed: true }));
      ctx.cookies.set(FLOW_COOKIE, null, cookie);
      if (!flow) return ctx.redirect(CONSOLE_PATH);
      let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
      try {
        tokens = await oidc.authorizationCodeGrant(await configuration(), new URL(`${issuer}${CONSOLE_CALLBACK_PATH}${ctx.search}`), {
          pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true, maxAge,
        });
      } catch (err) {
        const detail = err instanceof oidc.AuthorizationResponseError ? err.error : err instanceof Error ? err.message : String(err);
        throw new InvalidRequestError('Signing in to the console did not complete. Go back and try again.', `console sign-in: ${detail}`).withPageMessage('console.signIn.incomplete');
      }
      const claims = tokens.claims()!;
      if (deps.requireMfa && acrRank(typeof claims.acr === 'string' ? claims.acr : undefined) < acrRank(ACR.mfa)) {
        throw new InvalidRequestError('The console needs a sign-in with a second factor.', `console sign-in with acr ${String(claims.acr)}`).withPageMessage('console.signIn.needsMfa');
      }
      setSession(ctx, { sub: claims.sub, exp: now() + deps.sessionTtl * 1000, seen: now(), ...(tokens.id_token ? { idToken: tokens.id_token } : {}) });
      ctx.redirect(flow.returnTo);
    },

    /** POST /console/sign-out: the console session ends, and the provider's too (RP-Initiated Logout 1.0 §2). */
    async signOut(ctx: Context): Promise<void> {
      const session = parse<SessionCookie>(ctx.cookies.get(SESSION_COOKIE, { signed: true }));
      ctx.cookies.set(SESSION_COOKIE, null, cookie);
      const params: Record<string, string> = { client_id: CONSOLE_CLIENT_ID, post_logout_redirect_uri: `${issuer}${CONSOLE_SIGNED_OUT_PATH}` };
      if (session?.idToken) params.id_token_hint = session.idToken;
      ctx.redirect(oidc.buildEndSessionUrl(await configuration(), params).href);
    },

    /** Middleware: ctx.state.operator, or a sign-in redirect. */
    async requireOperator(ctx: Context, next: Next): Promise<void> {
      const returnTo = ctx.method === 'GET' ? ctx.path : CONSOLE_PATH;
      const session = parse<SessionCookie>(ctx.cookies.get(SESSION_COOKIE, { signed: true }));
      if (!session || typeof session.sub !== 'string' || !(session.exp > now())) return signIn(ctx, returnTo);
      // idle: the cookie stays (it opens nothing) so that every try until a new sign-in asks for the password
      if (!(now() - session.seen < deps.idleTimeout * 1000)) return signIn(ctx, returnTo, true);
      // the provider's session must still be this person's (signed out elsewhere: the console too)
      const providerSession = (await deps.providers.current.Session.get(ctx)) as unknown as { accountId?: string };
      const found = providerSession.accountId === session.sub ? await deps.findOperator(session.sub) : undefined;
      if (!found || found.account.disabledAt !== null) {
        ctx.cookies.set(SESSION_COOKIE, null, cookie);
        return signIn(ctx, returnTo);
      }
      const scopes = await deps.authorityOf(found.roles);
      const operator: Operator = {
        account: found.account,
        scopes,
        actor: { via: 'console', operator: found.account.email, accountId: found.account.id, source: sourceOf(ctx) },
        can: (scope) => scopes.has(scope),
      };
      ctx.state.operator = operator;
      setSession(ctx, { ...session, seen: now() });
      ctx.set('Cache-Control', 'no-store');
      await next();
    },
  };
}

function parse<T>(raw: string | undefined): T | undefined {
  try {
    return raw ? (JSON.parse(raw) as T) : undefined;
  } catch {
    return undefined;
  }
}

/** Only console pages are places to come back to. */
function safeReturnTo(path: string): string {
  return /^\/console(\/[A-Za-z0-9/_.@%-]*)?$/.test(path) && !path.includes('..') ? path : CONSOLE_PATH;
}
