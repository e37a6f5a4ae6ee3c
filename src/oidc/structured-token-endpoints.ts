/**
 * Introspection (RFC 7662) and revocation (RFC 7009) for our JWT access tokens, which oidc-provider
 * refuses with unsupported_token_type because it does not store them. At the edge, not in a fork:
 * the provider still authenticates the caller as usual, on a token value it will not find (so it
 * answers `active: false`, or 200 for revocation); only then, for an authenticated caller, do we answer
 * for the JWT from its verified claims and the ledger.
 */
import querystring from 'node:querystring';
import type { Context, Next } from 'koa';
import type { JwtAccessTokenLedger } from './jwt-access-token-ledger.js';
import { isJwt, type JwtAccessTokenVerifier } from './jwt-access-token-verifier.js';
import { readRawBody } from '../http/raw-body.js';
import { mayIntrospect } from './introspection-rights.js';
import { protocolPath } from '../http/protocol-path.js';

type ProviderClient = { clientId: string; clientAuthMethod: string; metadata(): Record<string, unknown> };
type WithOidc = Context & { oidc?: { client?: ProviderClient } };

const PLACEHOLDER = 'gatehouse-structured-token';

export function structuredTokenEndpoints(deps: { verifier: JwtAccessTokenVerifier; ledger: Pick<JwtAccessTokenLedger, 'forget'> }) {
  const routes = new Map([['/token/introspection', 'introspection'], ['/token/revocation', 'revocation']]);

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
    const claims = (await deps.verifier.verify(token))?.claims;
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

/** oidc-provider reads `request.body` when the stream was already consumed (shared/selective_body.js). */
function setParsedBody(ctx: Context, raw: string): void {
  (ctx.request as { body?: unknown }).body = raw;
}
