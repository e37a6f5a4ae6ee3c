/**
 * The redirect URI registered at each upstream: /federation/oidc/:provider/callback.
 *   GET   the authorization response in the query (RFC 6749 §4.1.2)
 *   POST  the same as a form (OAuth 2.0 Form Post Response Mode), only for providers with responseMode
 *         form_post (Apple). The upstream's page posts it cross-site, so it carries no cookie and no
 *         CSRF token: what binds it to the browser is the state (a sign-in this interaction sent), then
 *         the interaction cookie, which the redirect to /interaction/:uid/federated/... checks.
 * Every refusal is an audit event `federation.oidc.refused` with the reason; the page names only its category.
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Logger } from 'pino';
import { readRawBody } from '../../http/raw-body.js';
import type { AuditLog } from '../../audit/audit-log.js';
import { InvalidRequestError, NotFoundError, TooManyRequestsError } from '../../errors/errors.js';
import type { Quota } from '../../protection/lockout.js';
import { FederationRefusedError, refusalMessages } from '../federation-errors.js';
import type { OidcLogins } from './oidc-logins.js';
import { OidcRejected } from './oidc-rejected.js';

const MAX_FORM_BYTES = 64 * 1024;

export function createOidcRouter(deps: {
  logins: OidcLogins;
  logger: Pick<Logger, 'info' | 'warn'>;
  audit: Pick<AuditLog, 'record'>;
  /** callbacks per client IP (each may cost a token request upstream) */
  callbackQuota: Quota;
  /** upstream logout (providers with singleLogout): where the upstream's logout comes back to */
  logoutReturn?(state: string): Promise<string | undefined>;
}) {
  const router = new Router({ prefix: '/federation/oidc' });

  async function answer(ctx: Context, params: URLSearchParams) {
    const upstream = deps.logins.get(ctx.params.provider as string);
    if (!upstream) throw new NotFoundError();
    const wait = await deps.callbackQuota.take(ctx.ip);
    if (wait > 0) throw new TooManyRequestsError(wait, 'Too many sign-in answers from your address. Wait a minute and try again.').withPageMessage('errors.tooManyUpstreamAnswers');
    let accepted: { uid: string; handle: string };
    try {
      accepted = await deps.logins.accept(upstream.config.id, params);
    } catch (err) {
      if (!(err instanceof OidcRejected)) throw err;
      deps.logger.info({ reqId: ctx.state.requestId, provider: upstream.config.id, reason: err.message, category: err.category }, 'upstream sign-in refused');
      await deps.audit.record({ type: 'federation.oidc.refused', result: 'failure', reason: err.message.slice(0, 300), details: { provider: upstream.config.id, category: err.category } }, ctx);
      throw new FederationRefusedError(refusalMessages.upstreamRejected(upstream.config.name, err.category), `upstream answer refused: ${err.message}`);
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 303;
    ctx.redirect(`/interaction/${encodeURIComponent(accepted.uid)}/federated/${upstream.config.id}/complete?handle=${accepted.handle}`);
  }

  router.get('/:provider/callback', (ctx) => answer(ctx, new URLSearchParams(ctx.querystring)));

  router.post('/:provider/callback', async (ctx) => {
    const upstream = deps.logins.get(ctx.params.provider as string);
    if (!upstream || upstream.config.responseMode !== 'form_post') throw new NotFoundError();
    if (!ctx.is('application/x-www-form-urlencoded')) throw new InvalidRequestError('Expected an authorization response (form_post).');
    await answer(ctx, new URLSearchParams(await readRawBody(ctx, MAX_FORM_BYTES)));
  });

  // RP-initiated logout at the upstream answers here (post_logout_redirect_uri); the state says where to go on
  router.get('/:provider/logged-out', async (ctx) => {
    if (!deps.logins.get(ctx.params.provider as string) || !deps.logoutReturn) throw new NotFoundError();
    const next = await deps.logoutReturn(typeof ctx.query.state === 'string' ? ctx.query.state : '');
    if (!next) throw new InvalidRequestError('You are signed out. This sign-out answer was already used or has expired.').withPageMessage('errors.signOutAnswerUsed');
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 303;
    ctx.redirect(next);
  });

  return router;
}
