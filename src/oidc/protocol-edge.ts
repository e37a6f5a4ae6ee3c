/**
 * Small corrections to oidc-provider's responses where a spec says something more exact, applied after
 * the provider has answered. Each rule quotes its reason.
 */
import type { Context, Next } from 'koa';

type OidcCtx = Context & { oidc?: { route?: string } };

const GRANT_NOT_ALLOWED = /^requested grant type is not allowed for this client$/;
const RESPONSE_TYPE_NOT_ALLOWED = 'requested response_type is not allowed for this client';

export function protocolEdge(deps: { jwksMaxAgeSeconds: number }) {
  return async function correctProtocolResponses(ctx: Context, next: Next): Promise<void> {
    await next();
    const route = (ctx as OidcCtx).oidc?.route;
    const body = ctx.body as { error?: string; error_description?: string } | undefined;

    // RFC 6749 §5.2: "unauthorized_client — The authenticated client is not authorized to use this
    // authorization grant type." oidc-provider says invalid_request.
    if (route === 'token' && body?.error === 'invalid_request' && GRANT_NOT_ALLOWED.test(body.error_description ?? '')) {
      body.error = 'unauthorized_client';
    }

    // RFC 6749 §4.1.2.1: unauthorized_client when "the client is not authorized to request an
    // authorization code using this method" (a client registered without the code response type).
    // Koa 3's response.get() is res.getHeader(): undefined when no redirect was made (an error page)
    const location = ctx.response.get('Location');
    if (route === 'authorization' && typeof location === 'string' && location.includes('error=invalid_request')) {
      const url = new URL(location);
      if (url.searchParams.get('error_description') === RESPONSE_TYPE_NOT_ALLOWED) {
        url.searchParams.set('error', 'unauthorized_client');
        ctx.set('Location', url.toString());
      }
    }

    // Resource servers cache the JWKS; a key is published at least this long before it signs anything
    // (src/keys/rotation.ts jwksMaxAgeSeconds).
    if (route === 'jwks' && ctx.status === 200) {
      ctx.set('Cache-Control', `public, max-age=${deps.jwksMaxAgeSeconds}`);
    }
  };
}
