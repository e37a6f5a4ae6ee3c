/**
 * Attribute-to-claim and group-to-role mapping, the same for directories and IdPs: the upstream speaks in
 * attributes and groups; Gatehouse keeps an email, a name, email_verified and a list of roles.
 */
import type { ProviderCommon } from '../config/federation/provider-common.js';
import { normaliseEmail } from '../accounts/accounts.js';

export type UpstreamProfile = { email: string; name: string | null; emailVerified: boolean; roles: string[] };

/** A person as the upstream described them, after their credentials or assertion were verified. */
export type UpstreamIdentity = {
  providerId: string;
  /** the provider's stable id for the person (entryUUID, persistent NameID, ...) */
  externalId: string;
  /** attribute values by name; LDAP names are matched case-insensitively by the directory module */
  attribute(name: string): string[];
  /** the person's groups, already in the form the `roles` keys use (see `groupKey`) */
  groups: string[];
};

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The profile, or undefined when the upstream gave no usable email address (accounts need one). */
export function mapProfile(provider: ProviderCommon, identity: UpstreamIdentity, groupKey: (group: string) => string = (g) => g): UpstreamProfile | undefined {
  const email = normaliseEmail(identity.attribute(provider.claims.email)[0] ?? '');
  if (!EMAIL.test(email) || email.length > 254) return undefined;
  const name = provider.claims.name ? identity.attribute(provider.claims.name)[0]?.trim().slice(0, 200) || null : null;
  const byGroup = new Map(Object.entries(provider.roles).map(([group, roles]) => [groupKey(group), roles]));
  const roles = new Set<string>();
  for (const group of identity.groups) for (const role of byGroup.get(groupKey(group)) ?? []) roles.add(role);
  return { email, name, emailVerified: provider.emailVerified, roles: [...roles].sort() };
}
