/**
 * What every upstream provider (LDAP directory or SAML IdP) declares besides its protocol settings:
 * who it is, which email domains it owns, and how its attributes and groups become Gatehouse claims.
 */
import { DOMAIN, PROVIDER_ID, PROVIDER_ID_ACCEPTED, type Section } from './checks.js';

export type ProviderCommon = {
  id: string;
  /** shown on the login page: "Continue with <name>" */
  name: string;
  /** email domains this provider owns (home-realm discovery); lower-case */
  domains: string[];
  /** claim → upstream attribute; `email` is required (accounts are keyed by email) */
  claims: { email: string; name?: string };
  /** whether the provider's email addresses count as verified (email_verified) */
  emailVerified: boolean;
  /** upstream group → Gatehouse roles; groups not listed grant nothing */
  roles: Record<string, string[]>;
  /**
   * A first login whose email already belongs to an account without this link: link to that account
   * (true) or refuse (false, the default). Only for providers trusted to assert their users' emails.
   */
  linkExistingAccounts: boolean;
};

export function readProviderCommon(s: Section): ProviderCommon {
  const claims = s.stringMap('claims', { keys: ['email', 'name'], accepted: 'an attribute name' });
  if (!claims.email) s.fail('claims', 'an object with at least "email" (the attribute holding the email address)');
  return {
    id: s.requiredString('id', { pattern: PROVIDER_ID, accepted: PROVIDER_ID_ACCEPTED }),
    name: s.requiredString('name', { max: 80, accepted: 'a display name of 1 to 80 characters' }),
    domains: s.stringList('domains', { optional: true, pattern: DOMAIN, accepted: 'a list of email domains', item: 'a lower-case email domain such as example.org' }),
    claims: { email: claims.email, ...(claims.name ? { name: claims.name } : {}) },
    emailVerified: s.boolean('emailVerified', false),
    roles: s.roleMap('roles'),
    linkExistingAccounts: s.boolean('linkExistingAccounts', false),
  };
}
