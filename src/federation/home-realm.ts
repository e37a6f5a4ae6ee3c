/**
 * Home-realm discovery: an email address whose domain a directory, an IdP or an OIDC upstream owns belongs to that
 * provider, and signs in there. Everything else is a local account (then the ordered directories).
 */
export type Realm = { kind: 'ldap' | 'saml' | 'oidc'; id: string } | { kind: 'local' };

export type HomeRealms = { discover(login: string): Realm };

export function createHomeRealms(providers: { kind: 'ldap' | 'saml' | 'oidc'; id: string; domains: string[] }[]): HomeRealms {
  const byDomain = new Map<string, { kind: 'ldap' | 'saml' | 'oidc'; id: string }>();
  for (const p of providers) for (const d of p.domains) byDomain.set(d, { kind: p.kind, id: p.id });
  return {
    discover(login) {
      const at = login.lastIndexOf('@');
      const realm = at > 0 ? byDomain.get(login.slice(at + 1).trim().toLowerCase()) : undefined;
      return realm ?? { kind: 'local' };
    },
  };
}
