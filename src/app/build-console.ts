/**
 * The operators' console (/console, src/console/): built only when CONSOLE_ENABLED, from the same domain
 * services the management API calls (one implementation, two doors), with the console's own
 * first-party client (registered with the provider in build-provider.ts).
 */
import type Router from '@koa/router';
import type { Context, Next } from 'koa';
import type { Config } from '../config/schema.js';
import type { Store } from '../../adapters/contract.js';
import type { Renderer } from '../http/render.js';
import type { ProviderHost } from '../oidc/provider-host.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { AccountService } from '../accounts/accounts.js';
import { InvalidAccountInput } from '../accounts/accounts.js';
import type { AccountLifecycle } from '../accounts/account-lifecycle.js';
import type { SessionsAndApps } from '../oidc/sessions-and-apps.js';
import type { RoleService } from '../roles/role-service.js';
import type { PermissionsOf } from '../roles/permissions.js';
import type { KeyRing } from '../keys/rotation.js';
import { keyTimings } from '../keys/rotation.js';
import { recordedIfDone, sourceOf } from '../audit/audit-log.js';
import type { PasswordReset } from '../accounts/password-reset.js';
import { InvalidRequestError } from '../errors/errors.js';
import type { Registries } from './build-clients.js';
import type { WebhookEndpoints } from '../events/webhook-endpoints.js';
import { ADMIN_RESOURCE } from '../admin/admin-scopes.js';
import { createConsoleAuth } from '../console/console-auth.js';
import { createConsoleRouter } from '../console/router.js';

export type ConsoleRouter = Router;

export function buildConsole(d: {
  config: Config;
  viewsDir: string;
  store: Store;
  render: Renderer;
  csrf: (ctx: Context, next: Next) => Promise<void>;
  providers: ProviderHost;
  accounts: AccountService;
  withAllRoles(id: string): Promise<{ roles: string[]; disabledAt: number | null } | undefined>;
  permissionsOf: PermissionsOf;
  roles: RoleService;
  accountLifecycle: AccountLifecycle;
  sessionsAndApps: SessionsAndApps;
  audit: AuditLog;
  registries: Registries;
  keyRing: KeyRing;
  passwordReset: Pick<PasswordReset, 'request'>;
  /** the endpoints service the management API's /webhooks routes call */
  webhooks: WebhookEndpoints;
}): ConsoleRouter | undefined {
  const { config } = d;
  if (!config.CONSOLE_ENABLED) return undefined;
  const authorityOf = async (roles: readonly string[]) => (await d.permissionsOf(roles)).scopesFor(ADMIN_RESOURCE);
  const timings = keyTimings(config);
  const listKeys = () => d.store.signingKeys.list();
  const auth = createConsoleAuth({
    issuer: config.ISSUER,
    secure: config.ISSUER.startsWith('https://'),
    providers: d.providers,
    requireMfa: config.CONSOLE_REQUIRE_MFA,
    sessionTtl: config.CONSOLE_SESSION_TTL,
    idleTimeout: config.CONSOLE_IDLE_TIMEOUT,
    authorityOf,
    async findOperator(id) {
      const [account, withRoles] = await Promise.all([d.accounts.findById(id), d.withAllRoles(id)]);
      return account && withRoles ? { account, roles: withRoles.roles } : undefined;
    },
  });
  return createConsoleRouter({
    viewsDir: d.viewsDir,
    render: d.render,
    csrf: d.csrf,
    auth,
    dashboard: {
      audit: d.audit, listKeys, retentionMs: timings.retentionMs, rotationIntervalMs: timings.rotationIntervalMs,
      // what /health/ready asks (src/app/health.ts), and, with REDIS_URL, Redis on its own: sessions live
      // there (split-store.ts), so reading one answers whether Redis does, and in how long
      async health() {
        const timed = async (work: () => Promise<unknown>) => {
          const started = performance.now();
          const ok = await work().then(() => true, () => false);
          return { ok, ms: Math.round(performance.now() - started) };
        };
        const lines = [{ name: `Store (${d.store.kind}), as /health/ready checks it`, ...(await timed(() => d.store.ping())) }];
        if (config.REDIS_URL) lines.push({ name: 'Redis (sessions, sign-in state, rate limits)', ...(await timed(() => d.store.oidc.find('Session', 'console-health-probe'))) });
        return lines;
      },
      activeSessions: () => d.store.oidc.countLive('Session'),
    },
    users: {
      lifecycle: d.accountLifecycle, sessionsAndApps: d.sessionsAndApps, audit: d.audit, roles: d.roles, authorityOf,
      sendPasswordReset: (email, ctx) => d.passwordReset.request(email, {}, sourceOf(ctx)),
      // the management API's users.assignRole / users.removeRole: the same service call and audit event
      async setRole({ accountId, role, assign, by, ctx }) {
        const event = { type: assign ? 'role.assigned' : 'role.removed', accountId, details: { role, by_account: by.accountId, via: 'console' } };
        try {
          await d.accounts.changeRole(accountId, role, assign, recordedIfDone({ event, from: ctx }));
        } catch (err) {
          if (err instanceof InvalidAccountInput) throw new InvalidRequestError(err.publicMessage ?? 'There is no such role.', err.message);
          throw err;
        }
      },
    },
    clients: { clients: d.registries.clients, audit: d.audit },
    keys: { keyRing: d.keyRing, listKeys, retentionMs: timings.retentionMs, audit: d.audit },
    roles: d.roles,
    apis: { resources: d.registries.resources, audit: d.audit, defaultAccessTokenTtl: config.ACCESS_TOKEN_TTL },
    webhooks: d.webhooks,
  });
}
