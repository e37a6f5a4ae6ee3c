/**
 * What the playground shows: each token decoded, and each claim with a line saying what it means (the
 * spec that defines it in brackets), so a newcomer learns what a relying party receives.
 */
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type * as oidc from 'openid-client';

export type TokenSet = oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;

const CLAIMS: Record<string, string> = {
  iss: 'Issuer: who made this token; must equal the issuer you configured (OIDC Core §2)',
  sub: 'Subject: the stable identifier of the person at this issuer; key your user records on iss + sub',
  aud: 'Audience: who the token is for (the client id for an ID token, the API for an access token)',
  exp: 'Expires at (seconds since 1970)',
  iat: 'Issued at (seconds since 1970)',
  auth_time: 'When the person last actually signed in (OIDC Core §2)',
  nonce: 'Echo of the nonce the app sent: proves this ID token answers this sign-in (replay protection)',
  acr: 'Authentication context class: how strongly the person signed in (password, mfa, phishing-resistant)',
  amr: 'Authentication methods used (RFC 8176): pwd, otp, hwk, ...',
  azp: 'Authorized party: the client the token was issued to',
  at_hash: 'Hash of the access token: binds it to this ID token (OIDC Core §3.1.3.6)',
  sid: 'Session id at the provider: used by front- and back-channel logout',
  jti: 'Unique id of this token',
  scope: 'Scopes granted to this access token',
  client_id: 'The client the access token was issued to (RFC 9068)',
  email: 'Email address (scope email)',
  email_verified: 'Whether the provider has verified that address',
  name: 'Full name (scope profile)',
  given_name: 'Given name (scope profile)',
  family_name: 'Family name (scope profile)',
  updated_at: 'When the profile last changed',
};

export type Claim = { name: string; value: string; meaning: string };
export type DecodedToken = { kind: string; raw: string; header: string | null; claims: Claim[]; note: string };

const claimsOf = (payload: Record<string, unknown>): Claim[] =>
  Object.entries(payload).map(([name, value]) => ({
    name,
    value: ['exp', 'iat', 'auth_time', 'nbf', 'updated_at'].includes(name) && typeof value === 'number'
      ? `${value} (${new Date(value * 1000).toISOString()})`
      : typeof value === 'string' ? value : JSON.stringify(value),
    meaning: CLAIMS[name] ?? '',
  }));

function decodeToken(kind: string, raw: string | undefined, opaqueNote: string): DecodedToken | null {
  if (!raw) return null;
  if (raw.split('.').length !== 3) return { kind, raw, header: null, claims: [], note: opaqueNote };
  try {
    return { kind, raw, header: JSON.stringify(decodeProtectedHeader(raw)), claims: claimsOf(decodeJwt(raw) as Record<string, unknown>), note: 'A JWT: anyone can decode it; only its signature, checked against the JWKS, makes it trustworthy.' };
  } catch {
    return { kind, raw, header: null, claims: [], note: opaqueNote };
  }
}

export function describeTokens(tokens: TokenSet, userinfo: unknown) {
  return {
    idToken: decodeToken('ID token', tokens.id_token, ''),
    accessToken: decodeToken(
      'Access token',
      tokens.access_token,
      'Opaque: a reference only the provider can look up. An API checks it by introspection (RFC 7662); ask for a resource (RFC 8707) to get a JWT instead.',
    ),
    refreshToken: tokens.refresh_token ?? null,
    tokenResponse: { token_type: tokens.token_type, expires_in: tokens.expires_in, scope: tokens.scope },
    userinfo: userinfo && typeof userinfo === 'object' ? claimsOf(userinfo as Record<string, unknown>) : [],
  };
}
