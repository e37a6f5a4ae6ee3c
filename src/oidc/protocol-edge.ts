/**
 * Small corrections to oidc-provider's responses where a spec says something more exact, applied after
 * the provider has answered. Each rule quotes its reason.
 */
import type { Context, Next } from 'koa';
import { GatehouseError } from '../errors/errors.js';

type OidcCtx = Context & { oidc?: { route?: string } };

const GRANT_NOT_ALLOWED = /^requested grant type is not allowed for this client$/;
const RESPONSE_TYPE_NOT_ALLOWED = 'requested response_type is not allowed for this client';

/** oidc-provider's default device_authorization route; its router matches paths without case. */
const DEVICE_AUTHORIZATION = '/device/auth';

export function protocolEdge(deps: { jwksMaxAgeSeconds: number }) {
  return async function correctProtocolResponses(ctx: Context, next: Next): Promise<void> {
    // RFC 8628 §3.1: the device authorization request is an HTTP POST. Any other method (HEAD, GET, in any
    // letter case of the path) would fall to the `/device/:uid` resume route and end in a 500; answer 405.
    if (ctx.path.toLowerCase().replace(/\/+$/, '') === DEVICE_AUTHORIZATION && ctx.method !== 'POST' && ctx.method !== 'OPTIONS') {
      throw new GatehouseError(405, 'invalid_request', 'The device authorization endpoint accepts only POST.', undefined, { Allow: 'POST, OPTIONS' });
    }
    try {
      await next();
    } catch (err) {
      // oidc-provider saves a touched session after a device page failed; a session that was never stored
      // (no cookie) cannot be saved, and that TypeError hides the real, client-side refusal.
      if (err instanceof TypeError && /^persist can only be called on previously persisted Sessions$/.test(err.message)) {
        throw new GatehouseError(400, 'invalid_request', 'This device sign-in could not be continued. Start again from the code shown on your device.', err.message);
      }
      throw err;
    }
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
