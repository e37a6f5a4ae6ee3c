/**
 * Security headers on every response, and a strict nonce-based CSP. oidc-provider appends the hashes of its
 * own inline scripts (form_post, logout) to script-src, so the CSP is set before the request goes down.
 * Browsers apply form-action to the redirects that follow a form post, so the origin of the relying
 * party's redirect URI is added to form-action once it is known (after the request), and only once
 * oidc-provider validated it for the client.
 */
import { randomFillSync } from 'node:crypto';
import type { Context, Next } from 'koa';

type OidcClient = { redirectUriAllowed?(uri: string): boolean; postLogoutRedirectUriAllowed?(uri: string): boolean };
type WithOidcParams = { oidc?: { params?: Record<string, unknown>; client?: OidcClient } };

/**
 * The redirect URIs of this request that the client registered (oidc-provider's own check: exact match,
 * with the port of a native client's loopback URI free, RFC 8252 §7.3). A URI that was only sent, not
 * validated (unknown client, unregistered URI, an error page), never widens form-action.
 */
function validatedRedirectUris(oidc: WithOidcParams['oidc']): string[] {
  const client = oidc?.client;
  const params = oidc?.params;
  if (!client || !params) return [];
  const checks: [string, ((uri: string) => boolean) | undefined][] = [
    ['redirect_uri', client.redirectUriAllowed?.bind(client)],
    ['post_logout_redirect_uri', client.postLogoutRedirectUriAllowed?.bind(client)],
  ];
  return checks.flatMap(([key, allowed]) => {
    const value = params[key];
    return typeof value === 'string' && allowed?.(value) === true ? [value] : [];
  });
}

/** `imageOrigins`: a list, or a function read per request (the default tenant's upstream logos change at run time) */
const imgSrcOf = (origins: string[]) => ["'self'", 'data:', 'https:', ...origins].join(' ');

export function securityHeaders(deps: { https: boolean; imageOrigins: string[] | (() => string[]) }) {
  const fixedImgSrc = Array.isArray(deps.imageOrigins) ? imgSrcOf(deps.imageOrigins) : undefined;
  const imageOrigins = deps.imageOrigins;
  const nonces = nonceSource();
  return async function setSecurityHeaders(ctx: Context, next: Next): Promise<void> {
    const nonce = nonces();
    const imgSrc = fixedImgSrc ?? imgSrcOf((imageOrigins as () => string[])());
    ctx.state.nonce = nonce;
    ctx.state.formActionOrigins = new Set<string>();
    const csp = (formAction: string) =>
      [
        "default-src 'none'",
        `script-src 'nonce-${nonce}'`,
        `style-src 'self' 'nonce-${nonce}'`,
        `img-src ${imgSrc}`,
        "connect-src 'self'",
        `form-action ${formAction}`,
        "frame-ancestors 'none'",
        "base-uri 'none'",
      ].join('; ');
    ctx.set({
      'Content-Security-Policy': csp("'self'"),
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
    });
    if (deps.https) ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    await next();

    const origins = ctx.state.formActionOrigins as Set<string>;
    for (const uri of validatedRedirectUris((ctx as Context & WithOidcParams).oidc)) origins.add(originOf(uri));
    origins.delete('');
    const current = ctx.response.get('Content-Security-Policy');
    if (origins.size && current) {
      ctx.set('Content-Security-Policy', current.replace("form-action 'self'", `form-action 'self' ${[...origins].join(' ')}`));
    }
  };
}

/**
 * 128-bit nonces (CSP Level 3 asks for at least 128 bits) cut from a buffer of CSPRNG output that is
 * refilled when used up: each request otherwise paid for its own randomBytes call, the costliest
 * single step of a light request (about 5 % of a /health/live or /jwks request in the bench profile).
 * Every byte is used once.
 */
function nonceSource(): () => string {
  const pool = Buffer.alloc(16 * 256);
  let offset = pool.length;
  return () => {
    if (offset === pool.length) {
      randomFillSync(pool);
      offset = 0;
    }
    offset += 16;
    return pool.toString('base64', offset - 16, offset);
  };
}

/** The origin a form-action source expression may name; '' for anything that is not http(s). */
export function originOf(uri: string): string {
  try {
    const u = new URL(uri);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : `${u.protocol}`;
  } catch {
    return '';
  }
}

/** A page whose form ends in a redirect to the relying party: CSP form-action must allow its origin. */
export function allowFormRedirectTo(ctx: Context, redirectUri: unknown): void {
  if (typeof redirectUri === 'string') (ctx.state.formActionOrigins as Set<string>).add(originOf(redirectUri));
}
