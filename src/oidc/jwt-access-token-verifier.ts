/**
 * Our RFC 9068 JWT access tokens, read back: signature by a published key, our issuer, `typ: at+jwt`, not
 * expired, and still live in the ledger (not revoked, its grant not revoked, its client not deleted). Introspection, revocation
 * (structured-token-endpoints.ts) and token exchange (token-exchange.ts) all ask this one question.
 */
import { createLocalJWKSet, jwtVerify, decodeProtectedHeader, type JSONWebKeySet, type JWTPayload } from 'jose';
import type { JwtAccessTokenLedger } from './jwt-access-token-ledger.js';

export type JwtAccessTokenVerifier = ReturnType<typeof createJwtAccessTokenVerifier>;
/** A live token's claims, and the grant it was issued under (the ledger's, not a claim anyone could set). */
export type LiveJwtAccessToken = { claims: JWTPayload; grantId?: string };

export function createJwtAccessTokenVerifier(deps: {
  issuer: string;
  publicJwks(): JSONWebKeySet;
  ledger: Pick<JwtAccessTokenLedger, 'find'>;
  grantExists(grantId: string): Promise<boolean>;
  /** a deleted client's tokens die with it (the management API deletes clients) */
  clientExists?(clientId: string): Promise<boolean>;
}) {
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

  return {
    /** The token's claims when it is one of ours and live; undefined for anything else. */
    async verify(token: string): Promise<LiveJwtAccessToken | undefined> {
      try {
        const { payload } = await jwtVerify(token, currentKeySet(), { issuer: deps.issuer, typ: 'at+jwt', algorithms: ['RS256'] });
        if (typeof payload.jti !== 'string') return undefined;
        const entry = await deps.ledger.find(payload.jti);
        if (!entry || entry.clientId !== payload.client_id) return undefined;
        if (entry.grantId && !(await deps.grantExists(entry.grantId))) return undefined;
        if (deps.clientExists && !(await deps.clientExists(entry.clientId))) return undefined;
        return { claims: payload, ...(entry.grantId ? { grantId: entry.grantId } : {}) };
      } catch {
        return undefined; // expired, tampered, foreign: simply not active
      }
    },
  };
}

/** Whether a token value is a JWS or JWE in compact form (else: an opaque token). */
export function isJwt(token: string): boolean {
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
