/**
 * Brute-force protection for the token endpoint: refused token requests (bad client credentials, bad or
 * replayed grants) count per client IP and per client_id; over the limit the endpoint answers HTTP 429
 * (RFC 6585) with Retry-After and a JSON error body before oidc-provider sees the request. The error code
 * is `slow_down`, the token-endpoint error registered by RFC 8628 §3.5 for "slow down", which device-flow
 * clients already understand. Successful requests are never counted or delayed.
 */
import querystring from 'node:querystring';
import type { Context, Next } from 'koa';
import { readRawBody } from '../app/raw-body.js';
import type { Lockout } from './lockout.js';

/** Device-flow polling answers (RFC 8628 §3.5): part of the protocol, not failures. */
const POLLING = new Set(['authorization_pending', 'slow_down', 'expired_token']);

export type TokenLockoutListener = (scope: 'ip' | 'client', key: string, seconds: number, ctx: Context) => void;

export function tokenEndpointGuard(deps: { path: string; perIp: Lockout; perClient: Lockout; onLockout: TokenLockoutListener }) {
  const { perIp, perClient } = deps;
  return async function guardTokenEndpoint(ctx: Context, next: Next): Promise<void> {
    if (ctx.path !== deps.path || ctx.method !== 'POST') return next();
    let clientId = basicClientId(ctx.get('authorization'));
    if (ctx.is('application/x-www-form-urlencoded')) {
      const raw = await readRawBody(ctx);
      // oidc-provider reads `request.body` when the stream was already consumed (shared/selective_body.js)
      (ctx.request as { body?: unknown }).body = raw;
      const bodyClientId = querystring.parse(raw).client_id;
      if (!clientId && typeof bodyClientId === 'string') clientId = bodyClientId;
    }
    const clientKey = clientId?.slice(0, 200);
    const wait = Math.max(await perIp.retryAfter(ctx.ip), clientKey ? await perClient.retryAfter(clientKey) : 0);
    if (wait > 0) {
      ctx.status = 429;
      ctx.set({ 'Retry-After': String(wait), 'Cache-Control': 'no-store' });
      ctx.body = { error: 'slow_down', error_description: `too many refused token requests; retry after ${wait} seconds` };
      return;
    }
    await next();
    const error = (ctx.body as { error?: unknown } | undefined)?.error;
    if (ctx.status < 400 || ctx.status >= 500 || typeof error !== 'string' || POLLING.has(error)) return;
    const [ipLock, clientLock] = await Promise.all([perIp.fail(ctx.ip), clientKey ? perClient.fail(clientKey) : 0]);
    if (ipLock) deps.onLockout('ip', ctx.ip, ipLock, ctx);
    if (clientLock && clientKey) deps.onLockout('client', clientKey, clientLock, ctx);
  };
}

/** RFC 6749 §2.3.1: the client id is form-urlencoded before base64. */
function basicClientId(header: string): string | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header.trim());
  if (!m) return undefined;
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  try {
    return decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}
