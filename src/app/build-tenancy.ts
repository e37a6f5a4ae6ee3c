/**
 * The deployment's tenants as the default tenant's context and the CLI hold them: the registry
 * (src/tenants/tenant-registry.ts) and each tenant's store handle. A new tenant gets its first signing
 * key when it is created.
 */
import type { RootStore, Store } from '../../adapters/contract.js';
import type { Config } from '../config/schema.js';
import { createTenantRegistry, InvalidTenantInput, type TenantRegistry } from '../tenants/tenant-registry.js';
import { rolesMappedBy } from '../roles/federation-mappings.js';
import { atRestCipherOf, buildKeys } from './build-stores.js';

export type Tenancy = {
  registry: TenantRegistry;
  storeOf(id: string): Store;
  /** decrypts a tenant's stored federation settings (tenant-config.ts) */
  openSealed(sealed: string): string;
};

export function tenancyOf(o: { config: Config; keysDir: string }, store: RootStore): Tenancy {
  const { config } = o;
  const cipher = atRestCipherOf(o);
  return {
    registry: createTenantRegistry({
      tenants: store.tenants, floors: config, issuerHost: new URL(config.ISSUER).hostname,
      provision: async (tenant) => void (await buildKeys(o, store.forTenant(tenant.id))),
      seal: (text) => cipher.encrypt(text),
      // the group mappings must name roles of the tenant, as the federation file's must at start-up
      async checkFederation(tenantId, federation) {
        const mapped = [...rolesMappedBy(federation).keys()];
        if (!mapped.length) return;
        const found = new Set((await store.forTenant(tenantId).roles.findMany(mapped)).map((r) => r.name));
        const missing = mapped.filter((name) => !found.has(name));
        if (missing.length) throw new InvalidTenantInput('settings.federation', `the group mappings name roles this tenant does not have: ${missing.join(', ')}`);
      },
    }),
    storeOf: (id) => store.forTenant(id),
    openSealed: (sealed) => cipher.decrypt(sealed),
  };
}
