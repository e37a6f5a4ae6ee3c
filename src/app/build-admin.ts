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
import { webhookRoutes } from '../admin/routes/webhooks.js';
import type { WebhookEndpoints } from '../events/webhook-endpoints.js';

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
  withAllRoles(id: string): Promise<{ roles: string[] } | undefined>;
  /** webhook endpoints (src/events/webhook-endpoints.ts) */
  webhooks: WebhookEndpoints;
};

/** Registers urn:gatehouse:admin once (another replica may have done it: a duplicate is fine). */
export async function registerAdminResource(d: Pick<AdminDeps, 'registries' | 'config' | 'logger'>): Promise<void> {
  const existing = await d.registries.resources.find(ADMIN_RESOURCE);
  if (existing) {
    const missing = Object.keys(ADMIN_SCOPES).filter((s) => !(s in existing.scopes));
    if (missing.length) d.logger.warn({ missing }, `${ADMIN_RESOURCE} was registered with fewer scopes than this version defines`);
    return;
  }
  try {
    await d.registries.resources.create({ identifier: ADMIN_RESOURCE, name: 'Gatehouse management API', scopes: { ...ADMIN_SCOPES }, accessTokenTtl: Math.min(d.config.ACCESS_TOKEN_TTL, 3600) });
  } catch (err) {
    if (!(err instanceof DuplicateError)) throw err;
  }
}

export async function buildAdmin(d: AdminDeps) {
  await registerAdminResource(d);
  const limiter = d.store.rateLimiter({ keyPrefix: 'admin-client', points: d.config.ADMIN_REQUESTS_PER_MINUTE, duration: 60, blockDuration: 0 });
  return createAdminApi({
    issuer: d.config.ISSUER,
    verifier: d.verifier,
    rolesOf: async (id) => (await d.withAllRoles(id))?.roles,
    audit: d.audit,
    rateLimiter: limiter,
    routes: [
      ...userRoutes({ accounts: d.accounts, audit: d.audit, invitations: d.invitations }),
      ...userLifecycleRoutes({ lifecycle: d.accountLifecycle }),
      ...userSessionRoutes({ lifecycle: d.accountLifecycle, sessionsAndApps: d.sessionsAndApps, audit: d.audit }),
      ...clientRoutes({ clients: d.registries.clients, audit: d.audit }),
      ...apiRoutes({ resources: d.registries.resources, audit: d.audit, defaultAccessTokenTtl: d.config.ACCESS_TOKEN_TTL }),
      ...auditRoutes({ audit: d.audit }),
      ...keyRoutes({ keyRing: d.keyRing, listKeys: () => d.store.signingKeys.list(), retentionMs: keyTimings(d.config).retentionMs, audit: d.audit }),
      ...webhookRoutes({ webhooks: d.webhooks, audit: d.audit }),
    ],
  });
}
