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
 *
 * What a known credential skips: a request that presents, from the same address, exactly the client
 * credential that got tokens there within the last minute (the Authorization header, the client_secret
 * field, or no credential at all for a public client) guesses nothing, so it is not counted first: the
 * counting would cost four writes to the shared store on every token request of a busy client. Only
 * this process remembers it (a keyed hash, never the secret, for CREDENTIAL_MEMORY_MS, at most
 * CREDENTIAL_MEMORY_SIZE of them); oidc-provider still authenticates it in full. If it fails (the secret was
 * rotated away or the client deleted), it is forgotten and counted as a failure. Client assertions
 * (private_key_jwt, client_secret_jwt) are single-use and always counted. A lockout in force still
 * refuses it (two reads instead of four writes), so every replica answers alike; what changes is only
 * that a busy client's own parallel requests never hold points an attacker's guesses could be refused for.
 */
import { createHmac, randomBytes } from 'node:crypto';
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

const CREDENTIAL_MEMORY_MS = 60_000;
const CREDENTIAL_MEMORY_SIZE = 10_000;

/** Credentials that got tokens from an address: keyed hashes, each with the time it is forgotten. */
function knownCredentials(now: () => number) {
  const key = randomBytes(32);
  const until = new Map<string, number>();
  return {
    hash: (pair: string, credential: string) => createHmac('sha256', key).update(pair).update('\0').update(credential).digest('base64url'),
    has(h: string): boolean {
      const t = until.get(h);
      if (t !== undefined && t > now()) return true;
      if (t !== undefined) until.delete(h);
      return false;
    },
    remember(h: string): void {
      until.delete(h);
      // the oldest goes first (a Map keeps insertion order)
      if (until.size >= CREDENTIAL_MEMORY_SIZE) until.delete(until.keys().next().value as string);
      until.set(h, now() + CREDENTIAL_MEMORY_MS);
    },
    forget(h: string): void {
      until.delete(h);
    },
  };
}

export function tokenEndpointGuard(deps: TokenEndpointLockouts & { path: string; onLockout: TokenLockoutListener; now?: () => number }) {
  const { perIp, perClientIp } = deps;
  const known = knownCredentials(deps.now ?? Date.now);
  const lockedOut = (pairLock: number, ipLock: number, clientKey: string, ctx: Context) => {
    if (pairLock) deps.onLockout('client_ip', clientKey, pairLock, ctx);
    if (ipLock) deps.onLockout('ip', ctx.ip, ipLock, ctx);
  };
  return async function guardTokenEndpoint(ctx: Context, next: Next): Promise<void> {
    // every spelling oidc-provider routes to the token endpoint (/TOKEN, /token/) is guarded
    if (protocolPath(ctx.path) !== deps.path || ctx.method !== 'POST') return next();
    const authorization = ctx.get('authorization');
    let clientId = basicClientId(authorization);
    // the credential as presented; undefined for one that is never remembered (an assertion, or a mix)
    let credential: string | undefined = clientId ? `basic ${authorization.trim()}` : undefined;
    if (ctx.is('application/x-www-form-urlencoded')) {
      const raw = await readRawBody(ctx);
      // oidc-provider reads `request.body` when the stream was already consumed (shared/selective_body.js)
      (ctx.request as { body?: unknown }).body = raw;
      const body = querystring.parse(raw);
      if (!clientId) {
        clientId = single(body.client_id) ?? assertionSubject(single(body.client_assertion));
        credential = body.client_assertion !== undefined || authorization ? undefined : `post ${single(body.client_secret) ?? ''}`;
      }
    }
    // an unknown or missing client_id is counted like any other: the answer is invalid_client either way
    const clientKey = (clientId ?? '').slice(0, 200);
    const pairKey = `${ipKey(ctx.ip)} ${clientKey}`;
    const remembered = clientId !== undefined && credential !== undefined ? known.hash(pairKey, credential) : undefined;

    if (remembered !== undefined && known.has(remembered)) {
      const wait = Math.max(...(await Promise.all([perIp.refusal(ctx.ip), perClientIp.refusal(pairKey)])));
      if (wait > 0) return slowDown(ctx, wait);
      await next();
      if ((ctx.body as { error?: unknown } | undefined)?.error !== 'invalid_client') return;
      // it no longer authenticates: forgotten, and counted as the failure it is
      known.forget(remembered);
      const [byIp, pair] = await Promise.all([perIp.begin(ctx.ip), perClientIp.begin(pairKey)]);
      const [pairLock, ipLock] = await Promise.all(['settle' in pair ? pair.settle(true) : 0, 'settle' in byIp ? byIp.settle(true) : 0]);
      lockedOut(pairLock, ipLock, clientKey, ctx);
      return;
    }

    const byIp = await perIp.begin(ctx.ip);
    const attempt = 'settle' in byIp ? await perClientIp.begin(pairKey) : byIp;
    if (!('settle' in attempt) || !('settle' in byIp)) {
      if ('settle' in byIp) await byIp.settle(false);
      return slowDown(ctx, attempt.wait);
    }
    let failed = false;
    try {
      await next();
      failed = (ctx.body as { error?: unknown } | undefined)?.error === 'invalid_client';
      // tokens were issued: the client proved this credential from this address
      if (ctx.status === 200 && remembered !== undefined) known.remember(remembered);
    } finally {
      // a thrown error (a 5xx) is not a failed authentication: the point goes back
      const [pairLock, ipLock] = await Promise.all([attempt.settle(failed), byIp.settle(failed)]);
      lockedOut(pairLock, ipLock, clientKey, ctx);
    }
  };
}

/** over the limit: RFC 8628 §3.5's slow_down, with RFC 6585's 429 and Retry-After */
function slowDown(ctx: Context, wait: number): void {
  ctx.status = 429;
  ctx.set({ 'Retry-After': String(wait), 'Cache-Control': 'no-store' });
  ctx.body = { error: 'slow_down', error_description: `too many refused token requests; retry after ${wait} seconds` };
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
