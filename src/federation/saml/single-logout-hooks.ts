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
import type { SamlSessions } from './saml-sessions.js';
import type { SpLogout } from './sp-logout.js';
import { providerLogoutView, RESUME } from '../provider-logout.js';

export function singleLogoutHooks(deps: {
  sessions: SamlSessions;
  spLogout: SpLogout;
  render: Renderer;
  logger: Pick<Logger, 'info' | 'warn'>;
  audit: Pick<AuditLog, 'record'>;
  issuer: string;
}): Middleware {
  const { oidcOf, endedSignOut, resumedLogin } = providerLogoutView(deps.issuer);

  async function afterEndSession(ctx: Context): Promise<void> {
    const ended = endedSignOut(ctx);
    if (!ended) return;
    const { session, location } = ended;
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
    const session = oidcOf(ctx)?.session;
    if (!session?.uid || !session.accountId) return;
    const resumed = resumedLogin(ctx);
    if (resumed && (await deps.sessions.attach(resumed.uid, session))) return;
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
