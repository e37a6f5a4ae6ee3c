/**
 * The management API (/admin/v1): registers Gatehouse's own API as the resource urn:gatehouse:admin with
 * its scopes (so a client_credentials client can get a token for it), and builds the router from the
 * route tables of each area. Its rate limit (ADMIN_REQUESTS_PER_MINUTE) counts per management client in
 * the shared store, so it holds across replicas.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { DuplicateError, type Store } from '../../adapters/contract.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { AccountService } from '../accounts/accounts.js';
import type { KeyRing } from '../keys/rotation.js';
import { keyTimings } from '../keys/rotation.js';
import type { JwtAccessTokenVerifier } from '../oidc/jwt-access-token-verifier.js';
import type { Registries } from './build-clients.js';
import { ADMIN_RESOURCE, ADMIN_SCOPES } from '../admin/admin-scopes.js';
import { createAdminApi } from '../admin/router.js';
import { clientRoutes } from '../admin/routes/clients.js';
import { apiRoutes } from '../admin/routes/apis.js';
import { auditRoutes } from '../admin/routes/audit.js';
import { keyRoutes } from '../admin/routes/keys.js';
import { userRoutes } from '../admin/routes/users.js';
import { userLifecycleRoutes } from '../admin/routes/user-lifecycle.js';
import type { AccountLifecycle } from '../accounts/account-lifecycle.js';
import type { Invitations } from '../accounts/invitation.js';
import type { SessionsAndApps } from '../oidc/sessions-and-apps.js';
import { userSessionRoutes } from '../admin/routes/user-sessions.js';
import { roleRoutes } from '../admin/routes/roles.js';
import type { RoleService } from '../roles/role-service.js';
import type { PermissionsOf } from '../roles/permissions.js';
import { webhookRoutes } from '../admin/routes/webhooks.js';
import { identityProviderRoutes, type IdentityProviderRoutesDeps } from '../admin/routes/identity-providers.js';
import type { WebhookEndpoints } from '../events/webhook-endpoints.js';
import { tenantRoutes } from '../admin/routes/tenants.js';
import type { TenantRegistry } from '../tenants/tenant-registry.js';
import { tenantIssuer } from '../tenants/tenant-issuer.js';

export type AdminDeps = {
  config: Config;
  logger: Logger;
  store: Store;
  registries: Registries;
  accounts: AccountService;
  accountLifecycle: AccountLifecycle;
  invitations: Invitations;
  /** the same instance the /account pages use (context.ts) */
  sessionsAndApps: SessionsAndApps;
  audit: AuditLog;
  keyRing: KeyRing;
  verifier: Pick<JwtAccessTokenVerifier, 'verify'>;
  /** an account with its own and its federated roles (build-accounts.ts) */
  withAllRoles(id: string): Promise<{ roles: string[]; disabledAt: number | null } | undefined>;
  roles: RoleService;
  permissionsOf: PermissionsOf;
  /** webhook endpoints (src/events/webhook-endpoints.ts) */
  webhooks: WebhookEndpoints;
  /** the tenants of the deployment (src/tenants): managed from the default tenant's API only (undefined in a tenant's) */
  tenants: TenantRegistry | undefined;
  /** upstream providers written at run time (federation/identity-provider-admin.ts) */
  identityProviders: Omit<IdentityProviderRoutesDeps, 'audit'>;
};

/**
 * Registers urn:gatehouse:admin (another replica may have done it: a duplicate is fine), or brings an
 * earlier registration up to this version: every scope it defines, and people's scopes from their roles.
 */
export async function registerAdminResource(d: Pick<AdminDeps, 'registries' | 'config' | 'logger'>): Promise<void> {
  const existing = await d.registries.resources.find(ADMIN_RESOURCE);
  if (existing) {
    const missing = Object.keys(ADMIN_SCOPES).filter((s) => !(s in existing.scopes));
    if (missing.length || !existing.permissionsFromRoles) {
      await d.registries.resources.update(ADMIN_RESOURCE, { scopes: { ...existing.scopes, ...ADMIN_SCOPES }, permissionsFromRoles: true });
      if (missing.length) d.logger.info({ added: missing }, `${ADMIN_RESOURCE}: scopes of this version added`);
    }
    return;
  }
  try {
    await d.registries.resources.create({
      identifier: ADMIN_RESOURCE, name: 'Gatehouse management API', scopes: { ...ADMIN_SCOPES }, accessTokenTtl: Math.min(d.config.ACCESS_TOKEN_TTL, 3600), permissionsFromRoles: true,
    });
  } catch (err) {
    if (!(err instanceof DuplicateError)) throw err;
  }
}

export async function buildAdmin(d: AdminDeps) {
  await registerAdminResource(d);
  const authorityOf = async (roles: readonly string[]) => (await d.permissionsOf(roles)).scopesFor(ADMIN_RESOURCE);
  const limiter = d.store.rateLimiter({ keyPrefix: 'admin-client', points: d.config.ADMIN_REQUESTS_PER_MINUTE, duration: 60, blockDuration: 0 });
  return createAdminApi({
    issuer: d.config.ISSUER,
    verifier: d.verifier,
    adminScopesOf: async (id) => {
      const account = await d.withAllRoles(id);
      return account && account.disabledAt === null ? authorityOf(account.roles) : undefined;
    },
    audit: d.audit,
    rateLimiter: limiter,
    routes: [
      ...userRoutes({ accounts: d.accounts, audit: d.audit, invitations: d.invitations, authorityOf }),
      ...userLifecycleRoutes({ lifecycle: d.accountLifecycle, authorityOf }),
      ...userSessionRoutes({ lifecycle: d.accountLifecycle, sessionsAndApps: d.sessionsAndApps, audit: d.audit, authorityOf }),
      ...roleRoutes({ roles: d.roles, accounts: d.accounts, lifecycle: d.accountLifecycle, audit: d.audit, authorityOf }),
      ...clientRoutes({ clients: d.registries.clients, audit: d.audit }),
      ...apiRoutes({ resources: d.registries.resources, audit: d.audit, defaultAccessTokenTtl: d.config.ACCESS_TOKEN_TTL }),
      ...auditRoutes({ audit: d.audit }),
      ...keyRoutes({ keyRing: d.keyRing, listKeys: () => d.store.signingKeys.list(), retentionMs: keyTimings(d.config).retentionMs, audit: d.audit }),
      ...webhookRoutes({ webhooks: d.webhooks, audit: d.audit }),
      ...identityProviderRoutes({ ...d.identityProviders, audit: d.audit }),
      ...(d.tenants ? tenantRoutes({ tenants: d.tenants, audit: d.audit, issuerOf: (t) => tenantIssuer(d.config.ISSUER, t) }) : []),
    ],
  });
}
