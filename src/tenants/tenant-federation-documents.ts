/**
 * A tenant's providers written through its management API or the CLI: its settings.federation, read and
 * written through the tenant registry, so the registry's checks (the federation file's reader, group
 * mappings naming the tenant's roles), its sealing and its change listeners (the tenant's app is rebuilt,
 * here at once and on other replicas within TENANT_SETTINGS_REFRESH) are the same as for PATCH
 * /admin/v1/tenants/{id}. The version is the tenant's: any change of the tenant makes a provider's ETag stale.
 */
import type { FederationDocument } from '../federation/provider-entries.js';
import { providerEntries } from '../federation/provider-entries.js';
import { InvalidProviderInput, type FederationDocumentStore } from '../federation/identity-provider-admin.js';
import { InvalidTenantInput, type TenantRegistry } from './tenant-registry.js';
import { storedTenantSettingsSchema } from './tenant-settings.js';

export function tenantFederationDocuments(d: {
  registry: Pick<TenantRegistry, 'find' | 'update'>;
  tenantId: string;
  openSealed(sealed: string): string;
}): FederationDocumentStore {
  return {
    async load() {
      const tenant = await d.registry.find(d.tenantId);
      if (!tenant) throw new Error(`tenant ${d.tenantId} is gone`);
      const stored = storedTenantSettingsSchema.parse(tenant.settings).federation;
      return { document: stored ? (JSON.parse(d.openSealed(stored.sealed)) as FederationDocument) : {}, version: tenant.version };
    },
    async save(document, version) {
      try {
        // null: the tenant has no providers left (tenant-registry.ts: settingsOf)
        const federation = providerEntries(document).length ? document : null;
        const updated = await d.registry.update(d.tenantId, { settings: { federation } }, version);
        return updated !== undefined && updated !== 'stale';
      } catch (err) {
        if (err instanceof InvalidTenantInput) {
          const message = err.message.slice(err.path.length + 2);
          // the provider's field; the registry's check of the group mappings names the whole settings
          const field = err.path.replace(/^settings\.federation\.?/, '').replace(/^(ldap|saml\.idps|oidc\.providers)\[\d+\]\.?/, '');
          throw new InvalidProviderInput(field || (/group mappings/.test(message) ? 'roles' : 'body'), message);
        }
        throw err;
      }
    },
  };
}
