/**
 * The upstream providers of the federation file as the doors show them (the management API's
 * /admin/v1/identity-providers and `gatehouse federation list`): what each is and how it maps and links
 * people, never a secret (no client secret, bind password or private key; only which client
 * authentication method is configured).
 */
import type { FederationConfig } from '../config/federation/federation-file.js';
import type { ProviderCommon } from '../config/federation/provider-common.js';
import type { LdapDirectoryConfig } from '../config/federation/ldap-config.js';
import type { SamlIdpConfig } from '../config/federation/saml-config.js';
import type { OidcUpstreamConfig } from '../config/federation/oidc-config.js';

export type ProviderSummary = {
  id: string;
  protocol: 'ldap' | 'saml' | 'oidc' | 'oauth2';
  name: string;
  domains: string[];
  email_domains: string[];
  outside_domains: 'unverified' | 'refuse';
  email_verified: boolean;
  link_existing_accounts: boolean;
  email_conflict: 'keep' | 'refuse';
  claims: Record<string, string>;
  roles: Record<string, string[]>;
  settings: Record<string, unknown>;
  /** where its settings are changed: FEDERATION_FILE, or the management API / CLI (stored settings) */
  source: 'federation-file' | 'api';
};

const common = (p: ProviderCommon, protocol: ProviderSummary['protocol'], settings: Record<string, unknown>): ProviderSummary => ({
  id: p.id, protocol, name: p.name, domains: p.domains, email_domains: p.emailDomains, outside_domains: p.outsideDomains,
  email_verified: p.emailVerified, link_existing_accounts: p.linkExistingAccounts, email_conflict: p.emailConflict,
  claims: Object.fromEntries(Object.entries(p.claims).filter((e): e is [string, string] => typeof e[1] === 'string')),
  roles: p.roles, settings, source: 'federation-file',
});

const ldapView = (p: LdapDirectoryConfig) => common(p, 'ldap', {
  urls: p.urls, start_tls: p.startTls, bind_dn: p.bindDn, user_base: p.userBase, user_scope: p.userScope, user_filter: p.userFilter,
  id_attribute: p.idAttribute, groups: { member_of: p.groups.memberOf, base: p.groups.base ?? null, group_of_names: p.groups.groupOfNames, posix_group: p.groups.posixGroup },
});

const samlView = (p: SamlIdpConfig) => common(p, 'saml', {
  metadata: 'url' in p.metadata ? { url: p.metadata.url, fingerprints: p.metadata.fingerprints ?? [] } : { file: true },
  binding: p.binding, name_id_format: p.nameIdFormat, allow_create: p.allowCreate, id_attribute: p.idAttribute ?? null,
  groups_attribute: p.groupsAttribute ?? null, sign_authn_requests: p.signAuthnRequests, sp_entity_id: p.spEntityId ?? null,
  require_encrypted_assertions: p.requireEncryptedAssertions, single_logout: p.singleLogout,
});

const oidcView = (p: OidcUpstreamConfig) => common(p, p.protocol, {
  preset: p.preset ?? null, issuer: p.issuer ?? null, multi_tenant: p.multiTenant, tenants: p.tenants,
  endpoints: p.endpoints, client_id: p.clientId, client_auth_method: p.auth.method, scopes: p.scopes, response_mode: p.responseMode,
  logo: p.logo ?? null, trust_upstream_auth_context: p.trustUpstreamAuthContext, trust_upstream_mfa: p.trustUpstreamMfa,
  mfa_acr_values: p.mfaAcrValues, single_logout: p.singleLogout,
});

/** Every provider of the file, directories first (in ldapOrder's file order), then SAML, then OIDC/OAuth 2.0. */
export function providerSummaries(f: FederationConfig | null): ProviderSummary[] {
  if (!f) return [];
  return [...f.ldap.map(ldapView), ...f.saml.idps.map(samlView), ...f.oidc.providers.map(oidcView)];
}

