/**
 * What the upstream logout hooks (SAML's single-logout-hooks.ts, OIDC's upstream-logout-hooks.ts) read
 * of oidc-provider after it has answered one of its own routes: only its documented objects
 * (ctx.oidc.session with uid, accountId, destroyed; ctx.oidc.result) and the response's status and
 * Location. One reading for both, so they agree on when a sign-out is real.
 */
import type { Context } from 'koa';
import { basePathOf } from '../http/base-path.js';

export type ProviderSessionView = { uid?: string; accountId?: string; exp?: number; destroyed?: boolean };
type ProviderView = { session?: ProviderSessionView; result?: { login?: unknown } };

/** oidc-provider's resume of an interaction, app-relative: GET /auth/:uid */
export const RESUME = /^\/auth\/([^/]+)$/;

export type ProviderLogoutView = ReturnType<typeof providerLogoutView>;

export function providerLogoutView(issuer: string) {
  const issuerOrigin = new URL(issuer).origin;
  // oidc-provider's resume URL, as an app-relative path when it is ours (the issuer may have a path, http/base-path.ts)
  const base = basePathOf(issuer);
  const isResume = (u: URL) => u.origin === issuerOrigin && u.pathname.startsWith(`${base}/`) && RESUME.test(u.pathname.slice(base.length));
  // the provider's view of the request, when it handled it (ctx.oidc is oidc-provider's, defined on its routes only)
  const oidcOf = (ctx: Context) => (ctx as Context & { oidc?: ProviderView }).oidc;

  return {
    oidcOf,
    /**
     * After POST /session/end/confirm: the session oidc-provider ended and where it sends the browser,
     * when this is a real sign-out; undefined for "stay signed in" (no logout=yes: the session goes on),
     * and when oidc-provider ends the session itself before another account signs in on this browser (its
     * resume step posts here with the resume URL as the destination): that sign-in, perhaps at the same
     * upstream, is under way, so the upstream's session is left alone.
     */
    endedSignOut(ctx: Context): { session: ProviderSessionView; location: string; destination: URL } | undefined {
      const session = oidcOf(ctx)?.session;
      if (ctx.status !== 303 || !session?.destroyed) return undefined;
      const location = ctx.response.get('Location');
      if (!location) return undefined;
      const destination = new URL(location, issuer);
      if (isResume(destination)) return undefined;
      return { session, location, destination };
    },
    /** On GET /auth/:uid that signed someone in: the interaction's uid and the session it resumed into. */
    resumedLogin(ctx: Context): { uid: string; session: ProviderSessionView & { uid: string } } | undefined {
      const oidc = oidcOf(ctx);
      const resumed = RESUME.exec(ctx.path);
      const session = oidc?.session;
      if (!resumed || !oidc?.result?.login || !session?.uid) return undefined;
      return { uid: decodeURIComponent(resumed[1] as string), session: session as ProviderSessionView & { uid: string } };
    },
  };
}
