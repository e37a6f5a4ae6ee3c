/**
 * The roles the federation file's group mappings (`roles` of each LDAP directory and SAML IdP) name.
 * Each must be a role record: start-up refuses a file that names one that is not (an unknown name would
 * silently grant nothing), and such a role cannot be deleted while the file maps to it.
 */
import type { FederationConfig } from '../config/federation/federation-file.js';
import { ConfigError } from '../config/load-config.js';

/** role → the first provider (by id) whose mapping names it */
export function rolesMappedBy(config: FederationConfig | null | undefined): Map<string, string> {
  const mapped = new Map<string, string>();
  if (!config) return mapped;
  for (const provider of [...config.ldap, ...config.saml.idps]) {
    for (const roles of Object.values(provider.roles)) for (const role of roles) if (!mapped.has(role)) mapped.set(role, provider.id);
  }
  return mapped;
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
      'Create them first (gatehouse roles create NAME, or POST /admin/v1/roles), or remove them from the file.',
  );
}
