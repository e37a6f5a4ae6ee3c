/**
 * Which claims each scope releases (OpenID Connect Core §5.4), and how an account becomes claims.
 */
import type { AccountRecord } from '../../adapters/contract.js';

export const SCOPE_CLAIMS = {
  // acr/amr/auth_time are only emitted when a scope lists them; every ID token should say how the person signed in
  // upstream_acr: a trusted upstream's own acr, in the ID token only (federation/oidc/upstream-acr.ts)
  openid: ['sub', 'acr', 'amr', 'auth_time', 'upstream_acr'],
  profile: ['name'],
  email: ['email', 'email_verified'],
  // the roles upstream directories and IdPs grant (src/federation): group-to-role mapping, per provider
  roles: ['roles'],
};

/** The scopes oidc-provider defines: its defaults (openid, offline_access) and one per SCOPE_CLAIMS entry. */
export const OIDC_SCOPES: ReadonlySet<string> = new Set(['openid', 'offline_access', ...Object.keys(SCOPE_CLAIMS)]);

export function accountClaims(account: AccountRecord): { sub: string } & Record<string, unknown> {
  return {
    sub: account.id,
    email: account.email,
    email_verified: account.emailVerified,
    ...(account.name ? { name: account.name } : {}),
  };
}

/** Plain words for the consent page. */
/** The consent page's words for the standard scopes, in English: views/locales/<locale>/scopes.json has them in every locale (the key-parity test keeps the English equal to these). */
export const SCOPE_DESCRIPTIONS: Record<string, string> = {
  openid: 'Know who you are (your account identifier)',
  profile: 'See your name',
  email: 'See your email address and whether it is verified',
  offline_access: 'Keep access when you are not using the app',
  roles: 'See the roles your organisation gives you',
};
