/**
 * Where a tenant lives (issue 15 §1): its own host name when it has one (https://{host}), otherwise
 * under the deployment's issuer at {ISSUER}/t/{id}. The default tenant's issuer is ISSUER itself.
 */
import { DEFAULT_TENANT, type TenantRecord } from '../../adapters/contract.js';

export const TENANT_PATH_PREFIX = '/t/';

export function tenantIssuer(issuer: string, tenant: Pick<TenantRecord, 'id' | 'host'>): string {
  if (tenant.id === DEFAULT_TENANT) return issuer;
  if (tenant.host) return `https://${tenant.host}`;
  return `${issuer.replace(/\/+$/, '')}${TENANT_PATH_PREFIX}${tenant.id}`;
}

/** The path every tenant's issuer without a host of its own starts with: `{ISSUER's path}/t/`. */
export function tenantPathPrefix(issuer: string): string {
  return `${new URL(issuer).pathname.replace(/\/+$/, '')}${TENANT_PATH_PREFIX}`;
}
