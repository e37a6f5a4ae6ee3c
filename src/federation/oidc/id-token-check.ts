/**
 * Our own validation of an upstream ID token (OpenID Connect Core §3.1.3.7), run on every one, after
 * openid-client's: the signature against the upstream's JWKS (fetched through the SSRF guard), `iss`,
 * `aud` (and `azp` when there are several audiences), `exp`/`iat`, and `nonce`. It is the only check of
 * `iss` for a multi-tenant issuer (Entra ID's https://login.microsoftonline.com/{tenantid}/v2.0): there the
 * expected issuer is the template filled with the token's own `tid`, so a token of tenant A is accepted
 * only as tenant A's, and `tenants` may restrict which tenants sign in at all.
 */
import { jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { OidcRejected } from './oidc-rejected.js';

export type IdTokenExpectations = {
  /** the issuer, or a template holding {tenantid} */
  issuer: string;
  multiTenant: boolean;
  tenants: readonly string[];
  clientId: string;
  nonce: string;
  algorithms: string[];
  clockToleranceSeconds: number;
  /** RFC 9207 §2.4: the `iss` of the authorization response, when the upstream sent one */
  authorizationIss?: string;
};

const TENANT = /^[A-Za-z0-9._-]{1,100}$/;

/** The issuer this token must come from: the template filled with its `tid`, for multi-tenant upstreams. */
export function expectedIssuer(e: Pick<IdTokenExpectations, 'issuer' | 'multiTenant' | 'tenants'>, claims: JWTPayload): string {
  if (!e.multiTenant) return e.issuer;
  const tid = claims.tid;
  if (typeof tid !== 'string' || !TENANT.test(tid)) throw new OidcRejected('multi-tenant ID token without a usable tid claim', 'addressing');
  if (e.tenants.length && !e.tenants.includes(tid)) throw new OidcRejected(`tenant ${tid} is not in the provider's tenants`, 'addressing');
  return e.issuer.replace('{tenantid}', tid);
}

export async function checkIdToken(idToken: string, keys: JWTVerifyGetKey, e: IdTokenExpectations): Promise<JWTPayload> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, keys, {
      audience: e.clientId, algorithms: e.algorithms, clockTolerance: e.clockToleranceSeconds, requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
    }));
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    const category = code === 'ERR_JWT_EXPIRED' ? 'expired' : code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' ? 'addressing' : 'signature';
    throw new OidcRejected(`ID token: ${(err as Error).message}`, category);
  }
  const issuer = expectedIssuer(e, payload);
  if (payload.iss !== issuer) throw new OidcRejected(`ID token iss ${JSON.stringify(payload.iss)} is not ${JSON.stringify(issuer)}`, 'addressing');
  // RFC 9207 §2.4: "clients MUST ... compare the value of the iss parameter with the issuer identifier"
  if (e.authorizationIss !== undefined && e.authorizationIss !== issuer) throw new OidcRejected('the authorization response came from another issuer (RFC 9207 iss)', 'addressing');
  // Core §3.1.3.7 (4)/(5): several audiences need azp, and azp must be us
  if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== e.clientId) throw new OidcRejected('ID token azp is not our client id', 'addressing');
  if (payload.azp !== undefined && payload.azp !== e.clientId) throw new OidcRejected('ID token azp is not our client id', 'addressing');
  // Core §3.1.3.7 (11): the nonce we sent, bound to this sign-in
  if (payload.nonce !== e.nonce) throw new OidcRejected('ID token nonce does not match this sign-in', 'replay');
  if (typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 255) throw new OidcRejected('ID token sub is unusable', 'identifier');
  return payload;
}
