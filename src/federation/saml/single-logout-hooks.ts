/**
 * Koa middleware around oidc-provider's own routes (it runs just before the provider in app/create-app.ts,
 * and reads what the provider left on the context after it answered) for SP-initiated single logout:
 *   GET /auth/:uid              the resumed authorization: the interaction's SAML sign-in (saml-sessions.ts)
 *                               becomes the session's, now that the session exists and is logged in
 *   GET|POST /auth              an authorization renews the session's expiry; the record follows
 *   GET|POST /session/end       the logout page: its form posts to /session/end/confirm, which may
 *                               redirect to the IdP, so CSP form-action must allow the IdP's origin
 *   POST /session/end/confirm   RP-initiated logout (OIDC RP-Initiated Logout 1.0 §2, oidc-provider's
 *                               end_session): once the provider has ended the session (and sent its
 *                               back-channel logouts, OIDC Back-Channel Logout 1.0 §2.5), a session that
 *                               came from an IdP with `singleLogout` is sent on to that IdP's
 *                               SingleLogoutService with a signed LogoutRequest (sp-logout.ts) instead of
 *                               to the provider's redirect, which the LogoutResponse continues to
 * Only oidc-provider's documented objects are read: ctx.oidc.session (uid, accountId, exp, destroyed),
 * ctx.oidc.result, and the response's status and Location.
 */
import type { Context, Middleware, Next } from 'koa';
import type { Logger } from 'pino';
import type { AuditLog } from '../../audit/audit-log.js';
import type { Renderer } from '../../http/render.js';
import type { SamlSessions, OidcSessionView } from './saml-sessions.js';
import type { SpLogout } from './sp-logout.js';
import { basePathOf } from '../../http/base-path.js';

type ProviderView = { session?: OidcSessionView & { destroyed?: boolean }; result?: { login?: unknown } };

const RESUME = /^\/auth\/([^/]+)$/;

export function singleLogoutHooks(deps: {
  sessions: SamlSessions;
  spLogout: SpLogout;
  render: Renderer;
  logger: Pick<Logger, 'info' | 'warn'>;
  audit: Pick<AuditLog, 'record'>;
  issuer: string;
}): Middleware {
  const issuerOrigin = new URL(deps.issuer).origin;
  // oidc-provider's resume URL, as an app-relative path when it is ours (the issuer may have a path, http/base-path.ts)
  const base = basePathOf(deps.issuer);
  const isResume = (u: URL) => u.origin === issuerOrigin && u.pathname.startsWith(`${base}/`) && RESUME.test(u.pathname.slice(base.length));
  // the provider's view of the request, when it handled it (ctx.oidc is oidc-provider's, defined on its routes only)
  const oidcOf = (ctx: Context) => (ctx as Context & { oidc?: ProviderView }).oidc;

  async function afterEndSession(ctx: Context): Promise<void> {
    const session = oidcOf(ctx)?.session;
    // "Stay signed in" (no logout=yes) only signs out of the one app: the session goes on, so does the IdP's
    if (ctx.status !== 303 || !session?.destroyed) return;
    const location = ctx.response.get('Location');
    // oidc-provider ends the session itself before another account signs in on this browser (its resume
    // step posts here with the resume URL as the destination): that sign-in, perhaps at the same IdP, is
    // under way, so the IdP's session is left alone
    if (!location) return;
    const destination = new URL(location, deps.issuer);
    if (isResume(destination)) return;
    const record = await deps.sessions.take(session);
    if (!record) return;
    const begun = await deps.spLogout.begin(record, location);
    if (!begun) return;
    const idp = begun.provider.config.id;
    deps.logger.info({ reqId: ctx.state.requestId, idp, requestId: begun.requestId }, 'SAML single logout sent to the IdP');
    await deps.audit.record({ type: 'federation.saml.logout_request', accountId: record.accountId, details: { idp, binding: begun.provider.idpSlo?.binding } }, ctx);
    ctx.set('Cache-Control', 'no-store');
    const { answer } = begun;
    if (answer.kind === 'redirect') {
      ctx.status = 303;
      ctx.redirect(answer.url);
      return;
    }
    ctx.remove('Location');
    const origins = ctx.state.formActionOrigins;
    if (origins instanceof Set) origins.add(new URL(answer.action).origin);
    const name = begun.provider.config.name;
    await deps.render(ctx, 'saml-logout-post', { title: { key: 'federated.saml.signingOutHeading', values: { idp: name } }, idpName: name, action: answer.action, fields: answer.fields });
    ctx.status = 200;
  }

  async function afterLogoutPage(ctx: Context): Promise<void> {
    const session = oidcOf(ctx)?.session;
    if (!session) return;
    const record = await deps.sessions.peek(session);
    const origin = record ? deps.spLogout.redirectOrigin(record.providerId) : undefined;
    const origins = ctx.state.formActionOrigins;
    if (origin && origins instanceof Set) origins.add(origin);
  }

  async function afterAuthorization(ctx: Context): Promise<void> {
    const oidc = oidcOf(ctx);
    const session = oidc?.session;
    if (!session?.uid || !session.accountId) return;
    const resumed = RESUME.exec(ctx.path);
    if (resumed && oidc?.result?.login && (await deps.sessions.attach(decodeURIComponent(resumed[1] as string), session))) return;
    await deps.sessions.renew(session);
  }

  return async (ctx: Context, next: Next) => {
    await next();
    const { path } = ctx;
    if (ctx.method === 'POST' && path === '/session/end/confirm') {
      // the session has ended whatever happens here: on a store failure, the provider's own redirect stands
      await afterEndSession(ctx).catch((err: unknown) => deps.logger.warn({ reqId: ctx.state.requestId, err }, 'SAML single logout not sent; the IdP session goes on'));
      return;
    }
    if (path === '/session/end') return afterLogoutPage(ctx);
    if (path === '/auth' || (ctx.method === 'GET' && RESUME.test(path))) {
      // bookkeeping only: a store hiccup here must not fail a sign-in that has succeeded
      await afterAuthorization(ctx).catch((err: unknown) => deps.logger.warn({ reqId: ctx.state.requestId, err }, 'SAML session record not kept'));
    }
  };
}
