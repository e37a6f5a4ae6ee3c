/**
 * Around oidc-provider's routes: on GET /auth/:uid that signed someone in, the interaction's trusted
 * upstream acr becomes that session's sign-in's (upstream-acr.ts). Reads only what provider-logout.ts
 * reads of oidc-provider (ctx.oidc.session, ctx.oidc.result).
 */
import type { Context, Middleware, Next } from 'koa';
import type { Logger } from 'pino';
import type { UpstreamAcrs } from './upstream-acr.js';
import { providerLogoutView } from '../provider-logout.js';

export function upstreamAcrHooks(deps: { acrs: Pick<UpstreamAcrs, 'attach'>; logger: Pick<Logger, 'warn'>; issuer: string }): Middleware {
  const { resumedLogin } = providerLogoutView(deps.issuer);
  return async (ctx: Context, next: Next) => {
    await next();
    if (ctx.method !== 'GET') return;
    const resumed = resumedLogin(ctx);
    if (!resumed) return;
    const session = resumed.session as typeof resumed.session & { loginTs?: number };
    // the ID token is issued later, at the token endpoint (response_type code only), after this has run
    await deps.acrs.attach(resumed.uid, session).catch((err: unknown) => {
      deps.logger.warn({ reqId: ctx.state.requestId, err }, "keeping the upstream's acr failed; the ID token goes without upstream_acr");
    });
  };
}
