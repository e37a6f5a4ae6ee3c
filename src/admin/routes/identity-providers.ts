/**
 * /admin/v1/identity-providers: the upstream LDAP directories, SAML IdPs and OpenID Connect / OAuth 2.0
 * providers this deployment federates to, as the federation file (FEDERATION_FILE) declares them.
 * Read-only: the file is the one source of their settings (a ConfigMap in the Helm chart), so the answer
 * says where an operator changes them. Never a secret: no client secret, bind password or private key,
 * only which client authentication method is configured.
 */
import { z } from 'zod';
import type { FederationConfig } from '../../config/federation/federation-file.js';
import type { ProviderCommon } from '../../config/federation/provider-common.js';
import type { LdapDirectoryConfig } from '../../config/federation/ldap-config.js';
import type { SamlIdpConfig } from '../../config/federation/saml-config.js';
import type { OidcUpstreamConfig } from '../../config/federation/oidc-config.js';
import { ProblemError } from '../../errors/errors.js';
import { route, type AdminRoute } from '../route-table.js';

export type IdentityProviderRoutesDeps = { federation: FederationConfig | null };

const providerSchema = z.object({
  id: z.string(),
  protocol: z.enum(['ldap', 'saml', 'oidc', 'oauth2']),
  name: z.string().describe('the login button: "Continue with <name>"'),
  domains: z.array(z.string()).describe('email domains routed to it (home-realm discovery)'),
  email_domains: z.array(z.string()).describe('email domains it may assert addresses in'),
  outside_domains: z.enum(['unverified', 'refuse']),
  email_verified: z.boolean().describe('whether its addresses count as verified'),
  link_existing_accounts: z.boolean(),
  email_conflict: z.enum(['keep', 'refuse']),
  claims: z.record(z.string(), z.string()).describe('claim → upstream attribute or claim'),
  roles: z.record(z.string(), z.array(z.string())).describe('upstream group → Gatehouse roles'),
  settings: z.record(z.string(), z.unknown()).describe("the protocol's own settings, without secrets"),
  source: z.literal('federation-file').describe('where its settings are changed'),
});
type ProviderView = z.infer<typeof providerSchema>;

const common = (p: ProviderCommon, protocol: ProviderView['protocol'], settings: Record<string, unknown>): ProviderView => ({
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
export function identityProviders(f: FederationConfig | null): ProviderView[] {
  if (!f) return [];
  return [...f.ldap.map(ldapView), ...f.saml.idps.map(samlView), ...f.oidc.providers.map(oidcView)];
}

export function identityProviderRoutes(d: IdentityProviderRoutesDeps): AdminRoute[] {
  const all = identityProviders(d.federation);
  return [
    route({
      method: 'get', path: '/identity-providers', operationId: 'identityProviders.list',
      summary: 'List the upstream directories and identity providers (settings from FEDERATION_FILE, never secrets)', scope: 'admin:federation:read',
      response: z.object({ items: z.array(providerSchema) }),
      handler: async () => ({ body: { items: all } }),
    }),
    route({
      method: 'get', path: '/identity-providers/:id', operationId: 'identityProviders.get',
      summary: 'One upstream directory or identity provider', scope: 'admin:federation:read',
      params: z.object({ id: z.string().min(1).max(100) }),
      response: providerSchema,
      async handler({ params }) {
        const found = all.find((p) => p.id === params.id);
        if (!found) throw new ProblemError('not_found', 404, 'No identity provider has this id.');
        return { body: found };
      },
    }),
  ];
}
