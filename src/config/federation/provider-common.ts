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
  /**
   * email domains this provider may assert addresses in (and mark them verified, with `emailVerified`);
   * defaults to `domains`. No other provider may list a domain here or in its `domains`.
   */
  emailDomains: string[];
  /**
   * an asserted email outside `emailDomains`: stored unverified (the default; it never links to an
   * existing account) or the sign-in is refused. An address in another provider's domain is always refused.
   */
  outsideDomains: 'unverified' | 'refuse';
  /** claim → upstream attribute; `email` is required (accounts are keyed by email) */
  claims: { email: string; name?: string; [upstreamOnly: string]: string | undefined };
  /** whether the provider's email addresses count as verified (email_verified) */
  emailVerified: boolean;
  /** upstream group → Gatehouse roles; groups not listed grant nothing */
  roles: Record<string, string[]>;
  /**
   * A first login whose email already belongs to an account without this link: link to that account
   * (true) or refuse (false, the default). Only for providers trusted to assert their users' emails, and
   * only for a verified address inside `emailDomains`, to an account with no password and no link to
   * another provider (an account pre-created for this provider): a local account is never taken over.
   */
  linkExistingAccounts: boolean;
  /**
   * A linked person's upstream email changed to an address another account here holds: keep the old email
   * and sign in ("keep", the default; the person is told, the audit log records it), or refuse the sign-in
   * ("refuse"). Two accounts are never merged, and the other account is never touched.
   */
  emailConflict: 'keep' | 'refuse';
};

/** The keys `claims` may hold (OpenID Connect upstreams add subject, email_verified, groups, ...) and their defaults. */
export type ClaimKeys = { keys: readonly string[]; defaults?: Record<string, string> };

export function readProviderCommon(s: Section, claimKeys: ClaimKeys = { keys: ['email', 'name'] }): ProviderCommon {
  const claims: Record<string, string> = { ...claimKeys.defaults, ...s.stringMap('claims', { keys: claimKeys.keys, accepted: 'an attribute name' }) };
  if (!claims.email) s.fail('claims', 'an object with at least "email" (the attribute holding the email address)');
  const domains = s.stringList('domains', { optional: true, pattern: DOMAIN, accepted: 'a list of email domains', item: 'a lower-case email domain such as example.org' });
  const emailDomains = s.has('emailDomains')
    ? s.stringList('emailDomains', { pattern: DOMAIN, accepted: 'a list of email domains', item: 'a lower-case email domain such as example.org' })
    : domains;
  return {
    id: s.requiredString('id', { pattern: PROVIDER_ID, accepted: PROVIDER_ID_ACCEPTED }),
    name: s.requiredString('name', { max: 80, accepted: 'a display name of 1 to 80 characters' }),
    domains,
    emailDomains,
    outsideDomains: s.oneOf('outsideDomains', ['unverified', 'refuse'] as const, 'unverified'),
    claims: { ...claims, email: claims.email },
    emailVerified: s.boolean('emailVerified', false),
    roles: s.roleMap('roles'),
    linkExistingAccounts: s.boolean('linkExistingAccounts', false),
    emailConflict: s.oneOf('emailConflict', ['keep', 'refuse'] as const, 'keep'),
  };
}
