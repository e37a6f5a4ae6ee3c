/**
 * One tenant's app (issue 15): the same wiring as the default tenant's (context.ts, create-app.ts,
 * jobs.ts), on the tenant's store handle, with its configuration (src/tenants/tenant-config.ts). Built by
 * the tenant cache (src/tenants/tenant-apps.ts) on the tenant's first request; its first start creates
 * its signing keys, system roles and the management API's resource, in its own records.
 */
import type { Logger } from 'pino';
import type { Store, TenantRecord } from '../../adapters/contract.js';
import type { Config } from '../config/schema.js';
import type { TenantApp } from '../tenants/tenant-apps.js';
import { tenantConfig } from '../tenants/tenant-config.js';
import { buildTenantContext } from './context.js';
import { createApp } from './create-app.js';
import { startJobs } from './jobs.js';
import type { Metrics } from './metrics.js';
import type { AccountResources } from './build-accounts.js';
import type { TenantRegistry } from '../tenants/tenant-registry.js';
import { tenantFederationDocuments } from '../tenants/tenant-federation-documents.js';

export type TenantAppOptions = {
  config: Config; logger: Logger; viewsDir: string; keysDir: string; metrics: Metrics;
  /** the default tenant's: one common-password list and password hasher per process */
  accountResources: AccountResources;
  storeOf(id: string): Store;
  /** decrypts the tenant's stored federation settings */
  openSealed(sealed: string): string;
  /** where the tenant's management API writes its upstream providers (tenant-federation-documents.ts) */
  registry: Pick<TenantRegistry, 'find' | 'update'>;
};

export async function buildTenantApp(o: TenantAppOptions, tenant: TenantRecord): Promise<TenantApp> {
  const context = await buildTenantContext(
    { config: tenantConfig(o.config, tenant, o.openSealed), logger: o.logger.child({ tenant: tenant.id }), viewsDir: o.viewsDir, keysDir: o.keysDir },
    o.storeOf(tenant.id),
    { metrics: o.metrics, accountResources: o.accountResources, federationDocuments: tenantFederationDocuments({ registry: o.registry, tenantId: tenant.id, openSealed: o.openSealed }) },
  );
  const handle = createApp(context).callback();
  const jobs = startJobs(context);
  return {
    handle: (req, res) => void handle(req, res),
    async close() {
      jobs.stop();
      await context.close();
    },
  };
}
