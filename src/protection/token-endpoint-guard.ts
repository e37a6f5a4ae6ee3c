/**
 * Brute-force protection for the token endpoint that nobody can turn against a client.
 *
 * What counts: only failed client authentication, `invalid_client` (RFC 6749 §5.2: "Client authentication
 * failed (e.g., unknown client, no client authentication included, or unsupported authentication
 * method)"). Every other error (invalid_grant, invalid_scope, unauthorized_client, ...) is answered to a
 * client that proved who it is: it guesses nothing, and counting it would only let a client's own bugs, or
 * a stolen code replayed at it, throttle the client.
 *
 * Where it counts: per (client_id, client IP). An attacker who sends wrong secrets for a client from
 * address X exhausts the counter of (client, X) only; the client authenticating from any other address is
 * never refused. A second counter per IP (all client_ids together) stops one address from spraying many
 * client_ids; it, too, refuses nobody but that address.
 *
 * When: both attempts are counted before oidc-provider checks the secret
 * (src/protection/lockout.ts), so 40 parallel wrong secrets get at most the limit checked and the
 * rest HTTP 429 (RFC 6585) with Retry-After, unchecked. Over the limit the endpoint answers `slow_down`,
 * the token-endpoint error RFC 8628 §3.5 registers, which device-flow clients already understand.
 * Requests that authenticate are never counted as failures and never delayed.
 */
import querystring from 'node:querystring';
import type { Context, Next } from 'koa';
import { readRawBody } from '../http/raw-body.js';
import { ipKey } from '../http/client-ip.js';
import type { AttemptLockout } from './lockout.js';
import { protocolPath } from '../http/protocol-path.js';

export type TokenLockoutListener = (scope: 'ip' | 'client_ip', key: string, seconds: number, ctx: Context) => void;

export type TokenEndpointLockouts = {
  /** invalid_client answers from one IP, whatever the client_id (keyed by ipKey), counted before the check */
  perIp: AttemptLockout;
  /** attempts per (client_id, ipKey(IP)), counted before the check */
  perClientIp: AttemptLockout;
};

export function tokenEndpointGuard(deps: TokenEndpointLockouts & { path: string; onLockout: TokenLockoutListener }) {
  const { perIp, perClientIp } = deps;
  return async function guardTokenEndpoint(ctx: Context, next: Next): Promise<void> {
    // every spelling oidc-provider routes to the token endpoint (/TOKEN, /token/) is guarded
    if (protocolPath(ctx.path) !== deps.path || ctx.method !== 'POST') return next();
    let clientId = basicClientId(ctx.get('authorization'));
    if (ctx.is('application/x-www-form-urlencoded')) {
      const raw = await readRawBody(ctx);
      // oidc-provider reads `request.body` when the stream was already consumed (shared/selective_body.js)
      (ctx.request as { body?: unknown }).body = raw;
      const body = querystring.parse(raw);
      if (!clientId) clientId = single(body.client_id) ?? assertionSubject(single(body.client_assertion));
    }
    // an unknown or missing client_id is counted like any other: the answer is invalid_client either way
    const clientKey = (clientId ?? '').slice(0, 200);
    const pairKey = `${ipKey(ctx.ip)} ${clientKey}`;

    const byIp = await perIp.begin(ctx.ip);
    const attempt = 'settle' in byIp ? await perClientIp.begin(pairKey) : byIp;
    if (!('settle' in attempt) || !('settle' in byIp)) {
      if ('settle' in byIp) await byIp.settle(false);
      ctx.status = 429;
      ctx.set({ 'Retry-After': String(attempt.wait), 'Cache-Control': 'no-store' });
      ctx.body = { error: 'slow_down', error_description: `too many refused token requests; retry after ${attempt.wait} seconds` };
      return;
    }
    let failed = false;
    try {
      await next();
      failed = (ctx.body as { error?: unknown } | undefined)?.error === 'invalid_client';
    } finally {
      // a thrown error (a 5xx) is not a failed authentication: the point goes back
      const [pairLock, ipLock] = await Promise.all([attempt.settle(failed), byIp.settle(failed)]);
      if (pairLock) deps.onLockout('client_ip', clientKey, pairLock, ctx);
      if (ipLock) deps.onLockout('ip', ctx.ip, ipLock, ctx);
    }
  };
}

function single(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** private_key_jwt / client_secret_jwt (RFC 7523 §3): `sub` is the client_id. Read unverified, only to pick the counter; oidc-provider verifies the assertion. */
function assertionSubject(assertion: string | undefined): string | undefined {
  const payload = assertion?.split('.')[1];
  if (!payload) return undefined;
  try {
    const sub = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown }).sub;
    return typeof sub === 'string' ? sub : undefined;
  } catch {
    return undefined;
  }
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
