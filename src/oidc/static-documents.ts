/**
 * Discovery (OpenID Connect Discovery 1.0 §4) and the JWKS (RFC 7517 §5) are the same document for every
 * request until the provider in service changes (a new signing key builds a new one: provider-host.ts).
 * So the first GET of each goes down the whole pipeline to oidc-provider, and what it answered (body,
 * content type, cache lifetime) is kept for that provider instance; later GETs are answered from memory
 * with the same headers the pipeline sets on a JSON answer, an ETag, and 304 for a matching
 * If-None-Match (RFC 9110 §13.1.2). They skip the per-request CSP nonce, the edge fixes and a second Koa
 * context inside oidc-provider: the JWKS and discovery are what every resource server and RP polls.
 * Request logging, the request id and metrics still see every request (they run before this).
 */
import { createHash } from 'node:crypto';
import type { Context, Next } from 'koa';

/** path → oidc-provider's name for the route (what the metrics label a request with) */
const DOCUMENTS = new Map([['/.well-known/openid-configuration', 'discovery'], ['/jwks', 'jwks']]);

type Kept = { body: Buffer; type: string; cacheControl: string; etag: string };

/** The headers securityHeaders sets, for a JSON document: nothing in it runs, so no nonce is needed. */
function jsonSecurityHeaders(https: boolean): Record<string, string> {
  return {
    'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
    ...(https ? { 'Strict-Transport-Security': 'max-age=31536000; includeSubDomains' } : {}),
  };
}

/**
 * RFC 9110 §13.1.2: If-None-Match is false when any of its entity tags matches the current one by weak
 * comparison (or it is `*`). The origin server evaluates it whatever the request's Cache-Control says
 * (no-cache is for caches, RFC 9111 §5.2.1.4; Koa's `fresh` treats it as a reload, which fetch sends).
 */
function noneMatch(header: string, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => opaque(tag) === etag);
}

export function staticProtocolDocuments(deps: { current(): object; https: boolean }) {
  const kept = new WeakMap<object, Map<string, Kept>>();
  const headers = jsonSecurityHeaders(deps.https);

  return async function answerFromMemory(ctx: Context, next: Next): Promise<void> {
    if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || !DOCUMENTS.has(ctx.path)) return next();
    const provider = deps.current();
    let documents = kept.get(provider);
    if (!documents) kept.set(provider, (documents = new Map()));
    const doc = documents.get(ctx.path);
    if (!doc) {
      await next();
      // only a plain success is kept (never an error, a redirect, or what another middleware wrapped)
      const body = ctx.body;
      if (ctx.status === 200 && body && typeof body === 'object' && !Buffer.isBuffer(body) && !('pipe' in body)) {
        const bytes = Buffer.from(JSON.stringify(body));
        documents.set(ctx.path, {
          body: bytes,
          type: ctx.response.get('Content-Type') || 'application/json; charset=utf-8',
          cacheControl: ctx.response.get('Cache-Control'),
          etag: `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`,
        });
      }
      return;
    }
    // the route label oidc-provider's own answer gets in the metrics (app/metrics.ts)
    (ctx as { _matchedRoute?: string })._matchedRoute = DOCUMENTS.get(ctx.path);
    ctx.set(headers);
    // oidc-provider's CORS for these documents: any origin may read them (they are public)
    const origin = ctx.get('Origin');
    if (origin) ctx.set('Access-Control-Allow-Origin', origin);
    ctx.vary('Origin');
    if (doc.cacheControl) ctx.set('Cache-Control', doc.cacheControl);
    ctx.set('ETag', doc.etag);
    if (noneMatch(ctx.get('If-None-Match'), doc.etag)) {
      ctx.status = 304;
      return;
    }
    ctx.status = 200;
    ctx.body = doc.body;
    ctx.type = doc.type;
  };
}
