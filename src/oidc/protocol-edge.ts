/**
 * Small corrections to oidc-provider's responses where a spec says something more exact, applied after
 * the provider has answered. Each rule quotes its reason.
 */
import type { Context, Next } from 'koa';
import { GatehouseError } from '../errors/errors.js';
import { protocolPath } from '../http/protocol-path.js';

type OidcCtx = Context & { oidc?: { route?: string } };

/** oidc-provider's descriptions for a client using a grant it is not registered for (token, device). */
const GRANT_NOT_ALLOWED = /^(requested grant type|urn:ietf:params:oauth:grant-type:device_code) is not allowed for this client$/;
const RESPONSE_TYPE_NOT_ALLOWED = 'requested response_type is not allowed for this client';

/**
 * The endpoints that take only POST, at oidc-provider's default routes (its router ignores letter case and
 * one trailing slash: protocolPath). RFC 6749 §3.2 (token), RFC 7662 §2.1 (introspection), RFC 7009 §2.1
 * (revocation), RFC 9126 §2 (PAR), RFC 8628 §3.1 (device authorization): "MUST use the HTTP POST method".
 * OPTIONS stays the provider's: it answers CORS preflights for browser clients.
 */
const POST_ONLY = new Map([
  ['/token', 'token endpoint'],
  ['/token/introspection', 'introspection endpoint'],
  ['/token/revocation', 'revocation endpoint'],
  ['/request', 'pushed authorization request endpoint'],
  ['/device/auth', 'device authorization endpoint'],
]);
const ALLOW = 'POST, OPTIONS';

/** The routes where oidc-provider authenticates the client (RFC 6749 §2.3). */
const CLIENT_AUTHENTICATING = new Set(['token', 'introspection', 'revocation', 'pushed_authorization_request', 'device_authorization']);
/** oidc-provider's 400 invalid_request descriptions that are, by RFC 6749 §5.2, failed client authentication. */
const CLIENT_AUTHENTICATION_MISSING = new Set([
  'no client authentication mechanism provided',
  // the client tried the Authorization header: "MUST respond with an HTTP 401"
  'invalid authorization header value format',
]);

export function protocolEdge(deps: { issuer: string; jwksMaxAgeSeconds: number }) {
  // RFC 9110 §11.6.1: a 401 carries a challenge; the realm is the issuer, as oidc-provider writes it
  const challenge = `Basic realm="${deps.issuer}", error="invalid_client"`;
  return async function correctProtocolResponses(ctx: Context, next: Next): Promise<void> {
    const postOnly = POST_ONLY.get(protocolPath(ctx.path));
    // RFC 9110 §15.5.6: a method the endpoint does not have is 405 with Allow, not 404 (oidc-provider has no
    // such route) and not the `/device/:uid` page (GET /device/auth would end in a 500 there). The body is
    // the JSON error every one of these endpoints speaks, also for a browser.
    if (postOnly && ctx.method !== 'POST' && ctx.method !== 'OPTIONS') {
      ctx.status = 405;
      ctx.set('Allow', ALLOW);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { error: 'invalid_request', error_description: `The ${postOnly} accepts only POST.` };
      return;
    }
    try {
      await next();
    } catch (err) {
      // oidc-provider saves a touched session after a device page failed; a session that was never stored
      // (no cookie) cannot be saved, and that TypeError hides the real, client-side refusal.
      if (err instanceof TypeError && /^persist can only be called on previously persisted Sessions$/.test(err.message)) {
        throw new GatehouseError(400, 'invalid_request', 'This device sign-in could not be continued. Start again from the code shown on your device.', err.message)
          .withPageMessage('errors.deviceRestart');
      }
      throw err;
    }
    const route = (ctx as OidcCtx).oidc?.route;
    const body = ctx.body as { error?: string; error_description?: string } | undefined;

    // RFC 9110 §9.3.7: a plain OPTIONS (not a CORS preflight, which the provider answered) names the methods
    if (postOnly && ctx.method === 'OPTIONS' && ctx.status === 404) {
      ctx.status = 204;
      ctx.set('Allow', ALLOW);
      ctx.body = null;
      return;
    }

    // RFC 6749 §5.2: "invalid_client — Client authentication failed (e.g., unknown client, no client
    // authentication included ...)", 401 (RFC 7662 §2.1 and RFC 7009 §2.1 point here). oidc-provider answers
    // a request with no client at all as 400 invalid_request, and some 401s without WWW-Authenticate.
    if (route && CLIENT_AUTHENTICATING.has(route) && body) {
      if (ctx.status === 400 && body.error === 'invalid_request' && CLIENT_AUTHENTICATION_MISSING.has(body.error_description ?? '')) {
        ctx.status = 401;
        body.error = 'invalid_client';
      }
      if (ctx.status === 401 && body.error === 'invalid_client' && !ctx.response.get('WWW-Authenticate')) ctx.set('WWW-Authenticate', challenge);
    }

    // RFC 6749 §5.2: "unauthorized_client — The authenticated client is not authorized to use this
    // authorization grant type." oidc-provider says invalid_request.
    // RFC 8628 §3.2 answers with the same §5.2 codes at the device authorization endpoint.
    if ((route === 'token' || route === 'device_authorization') && body?.error === 'invalid_request' && GRANT_NOT_ALLOWED.test(body.error_description ?? '')) {
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
