/**
 * Introspection (RFC 7662) and revocation (RFC 7009) for our JWT access tokens, which oidc-provider
 * refuses with unsupported_token_type because it does not store them. At the edge, not in a fork:
 * the provider still authenticates the caller as usual, on a token value it will not find (so it
 * answers `active: false`, or 200 for revocation); only then, for an authenticated caller, do we answer
 * for the JWT from its verified claims and the ledger.
 */
import querystring from 'node:querystring';
import { createLocalJWKSet, jwtVerify, decodeProtectedHeader, type JSONWebKeySet, type JWTPayload } from 'jose';
import type { Context, Next } from 'koa';
import type { JwtAccessTokenLedger } from './jwt-access-token-ledger.js';
import { readRawBody } from '../http/raw-body.js';
import { mayIntrospect } from './introspection-rights.js';
import { protocolPath } from '../http/protocol-path.js';

type ProviderClient = { clientId: string; clientAuthMethod: string; metadata(): Record<string, unknown> };
type WithOidc = Context & { oidc?: { client?: ProviderClient } };

const PLACEHOLDER = 'gatehouse-structured-token';

export function structuredTokenEndpoints(deps: {
  issuer: string;
  publicJwks(): JSONWebKeySet;
  ledger: JwtAccessTokenLedger;
  grantExists(grantId: string): Promise<boolean>;
}) {
  const routes = new Map([['/token/introspection', 'introspection'], ['/token/revocation', 'revocation']]);

  // One key set per published JWKS (a new object when keys rotate): jose imports each key once per set,
  // so building a set per request would re-import the RSA public key on every call.
  let published: JSONWebKeySet | undefined;
  let keySet: ReturnType<typeof createLocalJWKSet> | undefined;
  const currentKeySet = () => {
    const jwks = deps.publicJwks();
    if (jwks !== published || !keySet) {
      published = jwks;
      keySet = createLocalJWKSet(jwks);
    }
    return keySet;
  };

  async function verify(token: string): Promise<JWTPayload | undefined> {
    try {
      const { payload } = await jwtVerify(token, currentKeySet(), {
        issuer: deps.issuer,
        typ: 'at+jwt',
        algorithms: ['RS256'],
      });
      if (typeof payload.jti !== 'string') return undefined;
      const entry = await deps.ledger.find(payload.jti);
      if (!entry || entry.clientId !== payload.client_id) return undefined;
      if (entry.grantId && !(await deps.grantExists(entry.grantId))) return undefined;
      return payload;
    } catch {
      return undefined; // expired, tampered, foreign: simply not active
    }
  }

  return async function answerForJwtAccessTokens(ctx: Context, next: Next): Promise<void> {
    const route = routes.get(protocolPath(ctx.path));
    if (!route || ctx.method !== 'POST' || !ctx.is('application/x-www-form-urlencoded')) return next();
    const raw = await readRawBody(ctx);
    const params = querystring.parse(raw);
    const token = params.token;
    if (typeof token !== 'string' || !isJwt(token)) {
      setParsedBody(ctx, raw); // oidc-provider parses it exactly as it would have from the stream
      return next();
    }
    const claims = await verify(token);
    setParsedBody(ctx, querystring.stringify({ ...params, token: PLACEHOLDER }));
    await next();

    const client = (ctx as WithOidc).oidc?.client;
    if (ctx.status !== 200 || !client || !claims) return;
    // RFC 7662 §2.1, §4: the same rule as oidc-provider's allowedPolicy (introspection-rights.ts); otherwise
    // the provider's own answer for the placeholder, `active: false`, stands
    if (route === 'introspection' && mayIntrospect(client, { clientId: claims.client_id, aud: claims.aud })) {
      const cnf = claims.cnf as { jkt?: string } | undefined;
      ctx.body = { ...claims, active: true, token_type: cnf?.jkt ? 'DPoP' : 'Bearer' };
    } else if (route === 'revocation' && claims.client_id === client.clientId) {
      // RFC 7009 §2.1: a client may revoke only its own tokens
      await deps.ledger.forget(claims.jti as string);
    }
  };
}

function isJwt(token: string): boolean {
  // RFC 7515 §7.1 / RFC 7516 §7.1: compact JWS has 3 parts, JWE 5 (all decodeProtectedHeader accepts).
  // Counted first because decodeProtectedHeader throws, with a stack trace, on every opaque token.
  const parts = token.split('.', 6).length;
  if (parts !== 3 && parts !== 5) return false;
  try {
    return !!decodeProtectedHeader(token);
  } catch {
    return false;
  }
}

/** oidc-provider reads `request.body` when the stream was already consumed (shared/selective_body.js). */
function setParsedBody(ctx: Context, raw: string): void {
  (ctx.request as { body?: unknown }).body = raw;
}
