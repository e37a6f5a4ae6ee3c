/**
 * Gatehouse's SAML service-provider endpoints, one set per IdP:
 *   GET  /federation/saml/:idp/metadata  the SP metadata to give the IdP's administrators
 *   POST /federation/saml/:idp/acs       the Assertion Consumer Service (HTTP-POST binding)
 * The ACS is posted to by the IdP's page, so it has no CSRF token: what binds the response to the
 * browser is InResponseTo + RelayState (a request this interaction sent), then the interaction cookie,
 * which the redirect to /interaction/:uid/federated/... checks.
 */
import Router from '@koa/router';
import type { Logger } from 'pino';
import { readRawBody } from '../../app/raw-body.js';
import { BadRequestError, NotFoundError } from '../../errors/errors.js';
import { FederationRefusedError, refusalMessages } from '../federation-errors.js';
import type { SamlLogins } from './saml-logins.js';
import { SamlRejected } from './saml-xml.js';

const MAX_RESPONSE_BYTES = 512 * 1024;

export function createSamlRouter(deps: { saml: SamlLogins; logger: Pick<Logger, 'info'> }) {
  const { saml } = deps;
  const router = new Router({ prefix: '/federation/saml' });

  router.get('/:idp/metadata', (ctx) => {
    const provider = saml.get(ctx.params.idp as string);
    if (!provider) throw new NotFoundError();
    ctx.type = 'application/samlmetadata+xml';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = provider.sp.getMetadata();
  });

  router.post('/:idp/acs', async (ctx) => {
    const provider = saml.get(ctx.params.idp as string);
    if (!provider) throw new NotFoundError();
    if (!ctx.is('application/x-www-form-urlencoded')) throw new BadRequestError('Expected a SAML response (HTTP-POST binding).');
    const form = Object.fromEntries(new URLSearchParams(await readRawBody(ctx, MAX_RESPONSE_BYTES)));
    let accepted: { uid: string; handle: string };
    try {
      accepted = await saml.acceptResponse(provider.config.id, form);
    } catch (err) {
      if (!(err instanceof SamlRejected)) throw err;
      deps.logger.info({ reqId: ctx.state.requestId, idp: provider.config.id, reason: err.message }, 'SAML response refused');
      throw new FederationRefusedError(refusalMessages.rejected(provider.config.name), `SAML response refused: ${err.message}`);
    }
    ctx.status = 303;
    ctx.redirect(`/interaction/${encodeURIComponent(accepted.uid)}/federated/${provider.config.id}/complete?handle=${accepted.handle}`);
  });

  return router;
}
