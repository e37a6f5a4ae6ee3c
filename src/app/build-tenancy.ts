/**
 * The deployment's tenants as the default tenant's context and the CLI hold them: the registry
 * (src/tenants/tenant-registry.ts) and each tenant's store handle. A new tenant gets its first signing
 * key when it is created.
 */
import type { RootStore, Store } from '../../adapters/contract.js';
import type { Config } from '../config/schema.js';
import { createTenantRegistry, type TenantRegistry } from '../tenants/tenant-registry.js';
import { buildKeys } from './build-stores.js';

export type Tenancy = { registry: TenantRegistry; storeOf(id: string): Store };

export function tenancyOf(o: { config: Config; keysDir: string }, store: RootStore): Tenancy {
  const { config } = o;
  return {
    registry: createTenantRegistry({
      tenants: store.tenants, floors: config, issuerHost: new URL(config.ISSUER).hostname,
      provision: async (tenant) => void (await buildKeys(o, store.forTenant(tenant.id))),
    }),
    storeOf: (id) => store.forTenant(id),
  };
}
