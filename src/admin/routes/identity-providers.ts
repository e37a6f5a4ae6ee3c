/**
 * /admin/v1/identity-providers: the upstream LDAP directories, SAML IdPs and OpenID Connect / OAuth 2.0
 * providers this deployment federates to, as the federation file (FEDERATION_FILE) declares them.
 * Read-only: the file is the one source of their settings (a ConfigMap in the Helm chart), so the answer
 * says where an operator changes them. Never a secret: no client secret, bind password or private key,
 * only which client authentication method is configured.
 */
import { z } from 'zod';
import type { FederationConfig } from '../../config/federation/federation-file.js';
import { providerSummaries } from '../../federation/provider-summary.js';
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
export function identityProviderRoutes(d: IdentityProviderRoutesDeps): AdminRoute[] {
  const all = providerSummaries(d.federation);
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
