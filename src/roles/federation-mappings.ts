/**
 * The roles the federation file's group mappings (`roles` of each LDAP directory, SAML IdP and OpenID Connect / OAuth 2.0 upstream) name.
 * Each must be a role record: start-up refuses a file that names one that is not (an unknown name would
 * silently grant nothing), and such a role cannot be deleted while the file maps to it.
 */
import type { FederationConfig } from '../config/federation/federation-file.js';
import { ConfigError } from '../config/load-config.js';

/** role → the first provider (by id) whose mapping names it */
export function rolesMappedBy(config: FederationConfig | null | undefined): Map<string, string> {
  const mapped = new Map<string, string>();
  if (!config) return mapped;
  for (const provider of [...config.ldap, ...config.saml.idps, ...config.oidc.providers]) {
    for (const roles of Object.values(provider.roles)) for (const role of roles) if (!mapped.has(role)) mapped.set(role, provider.id);
  }
  return mapped;
}

/** provider id → the roles its group mapping names */
export function mappingsBySource(config: FederationConfig | null | undefined): Map<string, Set<string>> {
  const bySource = new Map<string, Set<string>>();
  for (const provider of config ? [...config.ldap, ...config.saml.idps, ...config.oidc.providers] : []) {
    bySource.set(provider.id, new Set(Object.values(provider.roles).flat()));
  }
  return bySource;
}

/**
 * The roles upstream providers grant, as the file maps them now: a role a provider granted at its last
 * sign-in counts only while that provider's mapping still names it, so removing a mapping (or the
 * provider) takes effect at the next refresh, not only at the person's next sign-in there.
 */
export function currentFederatedRoles(config: FederationConfig | null | undefined, granted: readonly { source: string; role: string }[]): string[] {
  const bySource = mappingsBySource(config);
  return [...new Set(granted.filter((g) => bySource.get(g.source)?.has(g.role)).map((g) => g.role))];
}

export async function assertMappedRolesExist(
  config: FederationConfig | null | undefined,
  unknown: (names: readonly string[]) => Promise<string[]>,
): Promise<void> {
  const mapped = rolesMappedBy(config);
  const missing = await unknown([...mapped.keys()]);
  if (!missing.length) return;
  const list = missing.map((role) => `"${role}" (provider "${mapped.get(role)}")`).join(', ');
  throw new ConfigError(
    `FEDERATION_FILE ${config!.file}: the group mappings name roles that do not exist: ${list}. ` +
      'Create them first (gatehouse roles create --name NAME, or POST /admin/v1/roles), or remove them from the file.',
  );
}
