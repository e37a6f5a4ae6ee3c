/**
 * The service behind /admin/v1/identity-providers and `gatehouse federation create|update|delete`
 * (federation/identity-provider-admin.ts), on the place a tenant's written providers are kept: a
 * tenant's registry row (tenants/tenant-federation-documents.ts), or the default tenant's sealed
 * settings record (federation/stored-federation.ts), whose providers are served with FEDERATION_FILE's.
 * Wired here for the server (context.ts) and the CLI (cli-context.ts) alike.
 */
import type { Store } from '../../adapters/contract.js';
import type { Config } from '../config/schema.js';
import { readFederationSettings, type FederationConfig } from '../config/federation/federation-file.js';
import { createIdentityProviderAdmin, InvalidProviderInput, type FederationDocumentStore, type IdentityProviderAdmin } from '../federation/identity-provider-admin.js';
import { storedFederation } from '../federation/stored-federation.js';
import { rolesMappedBy } from '../roles/federation-mappings.js';

/** The default tenant's stored providers, whose group mappings must name roles that exist (as the file's must at start-up). */
export function defaultTenantFederation(d: {
  store: Pick<Store, 'settings'>;
  cipher: { encrypt(plain: string): string; decrypt(sealed: string): string };
  unknownRoles(names: readonly string[]): Promise<string[]>;
}) {
  return storedFederation({
    settings: d.store.settings, cipher: d.cipher,
    async check(document) {
      const mapped = rolesMappedBy(readFederationSettings(document, { source: 'stored identity providers', files: 'inline' }));
      const missing = await d.unknownRoles([...mapped.keys()]);
      if (missing.length) throw new InvalidProviderInput('roles', `roles that exist (create them first): ${missing.join(', ')}`);
    },
  });
}

/**
 * `tenantDocuments`: a tenant's (its registry row); without them, the default tenant's, beside FEDERATION_FILE's.
 * `prove` (the server's, prove-federation.ts): the federation a create or replace would put in service is built before it is stored.
 */
export function identityProvidersOf(config: Config, documents: FederationDocumentStore, o: { tenant: boolean; prove?: (stored: FederationConfig, id: string) => Promise<void> }): IdentityProviderAdmin {
  return createIdentityProviderAdmin({
    store: documents, file: o.tenant ? null : config.FEDERATION_FILE,
    source: o.tenant ? 'this tenant' : 'the default tenant', privateHosts: config.OUTBOUND_PRIVATE_HOSTS,
    ...(o.prove ? { prove: o.prove } : {}),
  });
}
