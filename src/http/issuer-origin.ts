/**
 * Every URL Gatehouse hands out is on ISSUER, never on the Host or X-Forwarded-Host of the request.
 *
 * oidc-provider builds discovery's endpoints, redirects and `Location` headers from `ctx.href`, i.e. from the
 * request's protocol and host (`ctx.oidc.urlFor`). Whoever writes the Host header would choose the
 * endpoints in the answer, and a shared cache could serve that answer to others. So before anything reads
 * them, this middleware fixes the request's protocol and host, for this request only, to those of the
 * issuer: oidc-provider and our pages then build every absolute URL from ISSUER without being told. (The
 * alternative, refusing a request whose Host differs, would also refuse health probes and internal callers
 * that reach a pod by its address.) The real Host is never used for anything.
 */
import type { Context, Next } from 'koa';

export function originFromIssuer(issuer: string) {
  const url = new URL(issuer);
  const fixed = {
    protocol: { value: url.protocol.slice(0, -1), enumerable: true },
    host: { value: url.host, enumerable: true },
    hostname: { value: url.hostname, enumerable: true },
  } satisfies PropertyDescriptorMap;
  return async function pinOriginToIssuer(ctx: Context, next: Next): Promise<void> {
    // own properties of this request's object shadow Koa's getters (request.origin, href, secure and URL read them)
    Object.defineProperties(ctx.request, fixed);
    return next();
  };
}
