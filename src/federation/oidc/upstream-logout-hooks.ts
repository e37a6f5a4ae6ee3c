/**
 * Upstream logout for OIDC providers with `singleLogout`, the counterpart of SAML's
 * single-logout-hooks.ts (same places, same documented objects of oidc-provider):
 *   GET /auth/:uid              the interaction's upstream sign-in becomes the session's (oidc-sessions.ts)
 *   GET|POST /session/end       the logout page's form ends at the upstream: CSP form-action allows it
 *   POST /session/end/confirm   once oidc-provider has ended the session, a session that came from such
 *                               an upstream is sent to its end_session_endpoint (OpenID Connect
 *                               RP-Initiated Logout 1.0 §2) with id_token_hint, our post_logout_redirect_uri
 *                               (<ISSUER>/federation/oidc/<id>/logged-out) and a state, which brings the
 *                               browser back to where the provider meant to send it (oidc-routes.ts)
 */
import type { Context, Middleware, Next } from 'koa';
import type { Logger } from 'pino';
import * as client from 'openid-client';
import type { AuditLog } from '../../audit/audit-log.js';
import type { OidcLogins } from './oidc-logins.js';
import type { OidcSessions } from './oidc-sessions.js';
import { providerLogoutView, RESUME } from '../provider-logout.js';

export function upstreamLogoutHooks(deps: { logins: OidcLogins; sessions: OidcSessions; logger: Pick<Logger, 'info' | 'warn'>; audit: Pick<AuditLog, 'record'>; issuer: string }): Middleware {
  const { oidcOf, endedSignOut, resumedLogin } = providerLogoutView(deps.issuer);

  async function afterEndSession(ctx: Context): Promise<void> {
    const ended = endedSignOut(ctx);
    if (!ended) return;
    const { session, destination } = ended;
    const record = await deps.sessions.take(session);
    const upstream = record && deps.logins.get(record.providerId);
    if (!record || !upstream) return;
    const md = await upstream.metadata();
    if (!md.end_session_endpoint) return;
    const state = client.randomState();
    await deps.sessions.rememberReturn(state, destination.href);
    const url = client.buildEndSessionUrl(await upstream.configuration(), {
      post_logout_redirect_uri: `${deps.issuer}/federation/oidc/${upstream.config.id}/logged-out`, state,
      ...(record.idToken ? { id_token_hint: record.idToken } : { client_id: upstream.config.clientId }),
    });
    deps.logger.info({ reqId: ctx.state.requestId, provider: upstream.config.id }, 'upstream logout');
    await deps.audit.record({ type: 'federation.oidc.logout', accountId: record.accountId, details: { provider: upstream.config.id } }, ctx);
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 303;
    ctx.redirect(url.href);
  }

  async function afterLogoutPage(ctx: Context): Promise<void> {
    const session = oidcOf(ctx)?.session;
    const record = session && (await deps.sessions.peek(session));
    const upstream = record && deps.logins.get(record.providerId);
    const origins = ctx.state.formActionOrigins;
    if (upstream && origins instanceof Set) {
      const md = await upstream.metadata();
      if (md.end_session_endpoint) origins.add(new URL(md.end_session_endpoint).origin);
    }
  }

  async function afterResume(ctx: Context): Promise<void> {
    const resumed = resumedLogin(ctx);
    if (resumed) await deps.sessions.attach(resumed.uid, resumed.session);
  }

  return async (ctx: Context, next: Next) => {
    await next();
    const keep = (err: unknown) => deps.logger.warn({ reqId: ctx.state.requestId, err }, 'upstream logout bookkeeping failed; the upstream session goes on');
    if (ctx.method === 'POST' && ctx.path === '/session/end/confirm') return afterEndSession(ctx).catch(keep);
    if (ctx.path === '/session/end') return afterLogoutPage(ctx).catch(keep);
    if (ctx.method === 'GET' && RESUME.test(ctx.path)) return afterResume(ctx).catch(keep);
  };
}
