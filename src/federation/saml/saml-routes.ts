/**
 * Gatehouse's SAML service-provider endpoints, one set per IdP:
 *   GET  /federation/saml/:idp/metadata  the SP metadata to give the IdP's administrators
 *   POST /federation/saml/:idp/acs       the Assertion Consumer Service (HTTP-POST binding)
 *   GET|POST /federation/saml/:idp/slo   the SingleLogoutService: IdP-initiated LogoutRequests over the
 *                                        HTTP-Redirect (GET) and HTTP-POST bindings (saml-logout.ts), and
 *                                        the LogoutResponses that answer ours (SP-initiated, sp-logout.ts);
 *                                        only with an SP signing key and an SLO endpoint in the IdP's metadata
 * The ACS is posted to by the IdP's page, so it has no CSRF token: what binds the response to the
 * browser is InResponseTo + RelayState (a request this interaction sent), then the interaction cookie,
 * which the redirect to /interaction/:uid/federated/... checks.
 *
 * The ACS is open to anyone, and XML parsing, schema validation and signature checks are the expensive
 * part, so the cheap refusals come first: a per-IP quota (before the body is read), a bounded body, then
 * the RelayState lookup (saml-logins.ts), and only then the XML. Every refusal is an audit event
 * `federation.saml.refused` with the reason; the page names only its category (federation-errors.ts).
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Logger } from 'pino';
import { readRawBody } from '../../http/raw-body.js';
import type { AuditLog } from '../../audit/audit-log.js';
import { InvalidRequestError, NotFoundError, TooManyRequestsError } from '../../errors/errors.js';
import type { Quota } from '../../protection/lockout.js';
import { FederationRefusedError, refusalMessages } from '../federation-errors.js';
import type { SamlLogins } from './saml-logins.js';
import type { SamlLogout, LogoutMessage } from './saml-logout.js';
import type { SpLogout } from './sp-logout.js';
import type { Renderer } from '../../http/render.js';
import { SamlRejected } from './saml-xml.js';

const MAX_RESPONSE_BYTES = 512 * 1024;

export function createSamlRouter(deps: {
  saml: SamlLogins;
  logout: SamlLogout;
  spLogout: SpLogout;
  render: Renderer;
  logger: Pick<Logger, 'info' | 'warn'>;
  audit: Pick<AuditLog, 'record'>;
  /** POSTs to any ACS, per client IP (SamlSettings.acsRequestsPerMinute) */
  acsQuota: Quota;
}) {
  const { saml } = deps;
  const router = new Router({ prefix: '/federation/saml' });

  async function refused(ctx: Context, idp: string, reason: string, category?: string) {
    deps.logger.info({ reqId: ctx.state.requestId, idp, reason, category }, 'SAML response refused');
    await deps.audit.record({ type: 'federation.saml.refused', result: 'failure', reason, details: { idp, ...(category ? { category } : {}) } }, ctx);
  }

  router.get('/:idp/metadata', (ctx) => {
    const provider = saml.get(ctx.params.idp as string);
    if (!provider) throw new NotFoundError();
    ctx.type = 'application/samlmetadata+xml';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = provider.spMetadata;
  });

  router.post('/:idp/acs', async (ctx) => {
    const provider = saml.get(ctx.params.idp as string);
    if (!provider) throw new NotFoundError();
    const wait = await deps.acsQuota.take(ctx.ip);
    if (wait > 0) {
      await refused(ctx, provider.config.id, 'over the per-IP limit of the ACS');
      throw new TooManyRequestsError(wait, 'Too many sign-in answers from your address. Wait a minute and try again.').withPageMessage('errors.tooManyUpstreamAnswers');
    }
    if (!ctx.is('application/x-www-form-urlencoded')) throw new InvalidRequestError('Expected a SAML response (HTTP-POST binding).');
    const form = Object.fromEntries(new URLSearchParams(await readRawBody(ctx, MAX_RESPONSE_BYTES)));
    let accepted: { uid: string; handle: string };
    try {
      accepted = await saml.acceptResponse(provider.config.id, form);
    } catch (err) {
      if (!(err instanceof SamlRejected)) throw err;
      await refused(ctx, provider.config.id, err.message, err.category);
      throw new FederationRefusedError(refusalMessages.rejected(provider.config.name, err.category), `SAML response refused: ${err.message}`);
    }
    ctx.status = 303;
    ctx.redirect(`/interaction/${encodeURIComponent(accepted.uid)}/federated/${provider.config.id}/complete?handle=${accepted.handle}`);
  });

  async function singleLogout(ctx: Context, message: () => Promise<LogoutMessage>) {
    const provider = saml.get(ctx.params.idp as string);
    if (!provider || !deps.logout.offered(provider)) throw new NotFoundError();
    const wait = await deps.acsQuota.take(ctx.ip);
    if (wait > 0) {
      await refused(ctx, provider.config.id, 'over the per-IP limit of the SAML endpoints');
      throw new TooManyRequestsError(wait, 'Too many sign-out requests from your address. Wait a minute and try again.').withPageMessage('errors.tooManySignOuts');
    }
    const received = await message();
    if (isLogoutResponse(received)) return logoutResponse(ctx, provider, received);
    let outcome: Awaited<ReturnType<SamlLogout['acceptRequest']>>;
    try {
      outcome = await deps.logout.acceptRequest(provider, received);
    } catch (err) {
      if (!(err instanceof SamlRejected)) throw err;
      await refused(ctx, provider.config.id, `LogoutRequest: ${err.message}`, err.category);
      throw new FederationRefusedError(refusalMessages.logoutRejected(provider.config.name, err.category), `SAML LogoutRequest refused: ${err.message}`);
    }
    if (outcome.refused) {
      await refused(ctx, provider.config.id, `LogoutRequest: ${outcome.refused.message}`, outcome.refused.category);
    } else {
      deps.logger.info({ reqId: ctx.state.requestId, idp: provider.config.id, status: outcome.status, sessions: outcome.sessions }, 'SAML single logout');
      await deps.audit.record({
        type: 'federation.saml.logout', result: outcome.status === 'Success' ? 'success' : 'failure',
        ...(outcome.accountId ? { accountId: outcome.accountId } : {}),
        details: { idp: provider.config.id, status: outcome.status, sessions: outcome.sessions },
      }, ctx);
    }
    ctx.set('Cache-Control', 'no-store');
    const { answer } = outcome;
    if (answer.kind === 'redirect') {
      ctx.status = 303;
      ctx.redirect(answer.url);
      return;
    }
    const origins = ctx.state.formActionOrigins;
    if (origins instanceof Set) origins.add(new URL(answer.action).origin);
    await deps.render(ctx, 'saml-post', { title: { key: 'login.continueWith', values: { idp: provider.config.name } }, idpName: provider.config.name, action: answer.action, fields: answer.fields });
  }

  /**
   * The IdP's answer to a LogoutRequest we sent at RP-initiated logout (sp-logout.ts). Gatehouse's session
   * has already ended; only an authentic first answer continues to the destination stored with our
   * request. A refused one shows our own page and goes nowhere else; a non-Success status still
   * continues (the person asked to sign out, and is signed out here), and is logged and audited.
   */
  async function logoutResponse(ctx: Context, provider: NonNullable<ReturnType<SamlLogins['get']>>, message: LogoutMessage) {
    const idp = provider.config.id;
    let accepted: Awaited<ReturnType<SpLogout['acceptResponse']>>;
    try {
      accepted = await deps.spLogout.acceptResponse(provider, message);
    } catch (err) {
      if (!(err instanceof SamlRejected)) throw err;
      await refused(ctx, idp, `LogoutResponse: ${err.message}`, err.category);
      throw new FederationRefusedError(refusalMessages.logoutResponseRejected(provider.config.name, err.category), `SAML LogoutResponse refused: ${err.message}`);
    }
    const status = accepted.subStatus ? `${accepted.status} ${accepted.subStatus}` : accepted.status;
    if (!accepted.success) deps.logger.warn({ reqId: ctx.state.requestId, idp, status }, 'SAML LogoutResponse is not Success; the IdP session may go on');
    else deps.logger.info({ reqId: ctx.state.requestId, idp }, 'SAML single logout confirmed by the IdP');
    await deps.audit.record({
      type: 'federation.saml.logout_response', result: accepted.success ? 'success' : 'failure', accountId: accepted.accountId,
      ...(accepted.success ? {} : { reason: 'idp_status' }), details: { idp, status },
    }, ctx);
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 303;
    ctx.redirect(accepted.next);
  }

  router.get('/:idp/slo', (ctx) => singleLogout(ctx, async () => {
    if (ctx.querystring.length > 2 * MAX_RESPONSE_BYTES) throw new InvalidRequestError('The sign-out request is too large.');
    return { binding: 'redirect', query: ctx.querystring };
  }));
  router.post('/:idp/slo', (ctx) => singleLogout(ctx, async () => {
    if (!ctx.is('application/x-www-form-urlencoded')) throw new InvalidRequestError('Expected a SAML LogoutRequest (HTTP-POST binding).');
    return { binding: 'post', form: Object.fromEntries(new URLSearchParams(await readRawBody(ctx, MAX_RESPONSE_BYTES))) };
  }));

  return router;
}

/** The answer to a LogoutRequest of ours (SAMLResponse, and no SAMLRequest), rather than an IdP's LogoutRequest. */
function isLogoutResponse(m: LogoutMessage): boolean {
  const fields = m.binding === 'redirect' ? new URLSearchParams(m.query) : new URLSearchParams(m.form);
  return fields.has('SAMLResponse') && !fields.has('SAMLRequest');
}
