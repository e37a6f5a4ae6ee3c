/**
 * The server's composition root: the builders run in order (stores and keys → protection → accounts →
 * factors → registries → provider → federation → pages), each returning a small typed bundle that the
 * next receives. Everything else receives what it uses from here (STYLE.md: wire once, pass in). Timers
 * are not started here: server.ts starts them (jobs.ts). The CLI builds its own, leaner context
 * (cli-context.ts).
 */
import cluster from 'node:cluster';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { RootStore, Store } from '../../adapters/contract.js';
import type { AtRestCipher } from '../keys/at-rest-cipher.js';
import type { KeyRing } from '../keys/rotation.js';
import type { AccountService } from '../accounts/accounts.js';
import type { PasswordPolicy } from '../accounts/password-policy.js';
import type { AccountTokens } from '../accounts/account-tokens.js';
import type { SignOutEverywhere } from '../accounts/sign-out-everywhere.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Mailer } from '../mail/mailer.js';
import type { AccountMail } from '../mail/account-mail.js';
import type { FailureThrottle } from '../protection/failure-throttle.js';
import type { TokenEndpointLockouts } from '../protection/token-endpoint-guard.js';
import type { ClientRegistry } from '../clients/client-registry.js';
import type { ResourceRegistry } from '../clients/resource-registry.js';
import type { ProviderHost } from '../oidc/provider-host.js';
import type { JwtAccessTokenLedger } from '../oidc/jwt-access-token-ledger.js';
import type { JwtAccessTokenVerifier } from '../oidc/jwt-access-token-verifier.js';
import { createRenderer, type Renderer } from '../http/render.js';
import type { Locales } from '../i18n/locales.js';
import { createMetrics, type Metrics } from './metrics.js';
import { buildKeys, withStore } from './build-stores.js';
import { buildProtection } from './build-protection.js';
import { createInvitations } from '../accounts/invitation.js';
import { buildAccountLifecycle, buildDirectoryDn } from './build-account-lifecycle.js';
import type { AccountLifecycle } from '../accounts/account-lifecycle.js';
import { brandingOf, buildAccounts, createAccountResources, type AccountResources } from './build-accounts.js';
import { buildFactors, type Factors } from './build-factors.js';
import { buildRegistries } from './build-clients.js';
import { buildProvider } from './build-provider.js';
import { buildSignOut } from './build-sign-out.js';
import { createSessionCap } from '../accounts/session-cap.js';
import { buildPages, type Pages } from './build-pages.js';
import { createFederationHolder, type FederationHolder } from './federation-holder.js';
import type { FederationDocumentStore, IdentityProviderAdmin } from '../federation/identity-provider-admin.js';
import { mergeFederation } from '../federation/stored-federation.js';
import { federationProver } from './prove-federation.js';
import { defaultTenantFederation, identityProvidersOf } from './build-identity-providers.js';
import { readFederationSettings } from '../config/federation/federation-file.js';
import { buildAdmin } from './build-admin.js';
import { createSessionsAndApps } from '../oidc/sessions-and-apps.js';
import { assertMappedRolesExist } from '../roles/federation-mappings.js';
import type { RoleService } from '../roles/role-service.js';
import { createWebhookEndpoints } from '../events/webhook-endpoints.js';
import { auditFactorChanges } from '../audit/audited-factors.js';
import { buildConsole, type ConsoleRouter } from './build-console.js';
import type { TenantRegistry } from '../tenants/tenant-registry.js';
import { tenancyOf, type Tenancy } from './build-tenancy.js';
import { basePathOf } from '../http/base-path.js';

export type AppContext = {
  config: Config;
  logger: Logger;
  viewsDir: string;
  store: Store;
  cipher: AtRestCipher;
  accounts: AccountService;
  /** roles as records and their permissions (src/roles) */
  roles: RoleService;
  clients: ClientRegistry;
  resources: ResourceRegistry;
  providers: ProviderHost;
  keyRing: KeyRing;
  ledger: JwtAccessTokenLedger;
  accessTokenVerifier: JwtAccessTokenVerifier;
  metrics: Metrics;
  render: Renderer;
  /** the pages' and emails' translations (views/locales), shared by every tenant */
  locales: Locales;
  /** security events: other features call `audit.record({ type, accountId, ... }, ctx)` */
  audit: AuditLog;
  mailer: Mailer;
  /** account mail; the MFA feature calls `accountMail.factorAdded(account, { label }, forgotLink)` */
  accountMail: AccountMail;
  accountTokens: AccountTokens;
  passwordPolicy: PasswordPolicy;
  signOutEverywhere: SignOutEverywhere;
  /** what an operator does to an account: the CLI's `users` commands and the management API call it */
  accountLifecycle: AccountLifecycle;
  /** wrong second-factor codes, per account id and per IP, with lockout (for the MFA feature) */
  secondFactorThrottle: FailureThrottle;
  tokenEndpointLockouts: TokenEndpointLockouts;
  factors: Factors;
  /** upstream directories and IdPs in service (FEDERATION_FILE's and the stored ones), swapped when they change */
  federation: FederationHolder;
  /** upstream providers written at run time: /admin/v1/identity-providers and the CLI's `federation create|update|delete` */
  identityProviders: IdentityProviderAdmin;
  /** /admin/v1, the management API (admin/router.ts) */
  adminApi: Awaited<ReturnType<typeof buildAdmin>>;
  /**
   * The deployment's tenants (src/tenants), on the default tenant's context only: the registry behind
   * /admin/v1/tenants, and each tenant's store handle, which its own context is built on.
   */
  tenancy: Tenancy | undefined;
  /** what the tenants' contexts share with this one (build-accounts.ts) */
  accountResources: AccountResources;
  /** /console, the operators' pages (console/router.ts); undefined when CONSOLE_ENABLED is false */
  console: ConsoleRouter | undefined;
  close(): Promise<void>;
} & Pages;

export type ContextOptions = { config: Config; logger: Logger; viewsDir: string; keysDir: string };

/** The default tenant's context, on the store DATABASE_URL opens: the one every deployment has. */
export function buildContext(o: ContextOptions): Promise<AppContext> {
  return withStore(o.config, o.logger, (store) => assemble(o, store, { tenancy: tenancyOf(o, store) }));
}

/**
 * A tenant's context (src/tenants/tenant-apps.ts builds one on the tenant's first request): its own
 * configuration (tenant-config.ts) on its store handle, sharing the process's metrics. Closing it
 * leaves the store open (the handle's close does nothing).
 */
export function buildTenantContext(o: ContextOptions, store: Store, shared: Pick<AppContext, 'metrics' | 'accountResources'> & { federationDocuments: FederationDocumentStore }): Promise<AppContext> {
  return assemble(o, store, shared);
}


async function assemble(o: ContextOptions, store: Store, shared: { tenancy?: AppContext['tenancy']; metrics?: Metrics; accountResources?: AccountResources; federationDocuments?: FederationDocumentStore }): Promise<AppContext> {
  const { config, logger, viewsDir } = o;
  const tenancy = shared.tenancy;
  const { cipher, keyRing, signingJwks } = await buildKeys(o, store);
  const protection = buildProtection(config, store);
  const accountResources = shared.accountResources ?? createAccountResources();
  // the federation in service is built further down (it needs the accounts); its configuration is read at each use
  let federationInService: FederationHolder | undefined;
  const accounts = await buildAccounts(o, store, protection.mayMail, accountResources, () => federationInService?.config ?? config.FEDERATION_FILE);
  // the federation file's group mappings must name roles (issue 14): refuse to start otherwise
  await assertMappedRolesExist(config.FEDERATION_FILE, accounts.roles.unknown);
  const factors = auditFactorChanges(buildFactors(config, store, cipher, accounts.withAllRoles), accounts.audit);
  const metrics = shared.metrics ?? createMetrics({ clusterWorker: cluster.isWorker && config.WORKERS > 1 });
  const { locales } = accounts;
  const render = createRenderer({ viewsDir, branding: brandingOf(config), basePath: basePathOf(config.ISSUER), locales, defaultLocale: config.DEFAULT_LOCALE });

  // The client registry has the provider validate client metadata, and the provider reads its clients
  // through the registry: the validation reads the provider built just below, when it runs.
  const registries = buildRegistries(store, cipher, async (metadata) => {
    await providers.current.Client.validate(metadata as never);
  }, accounts.audit);
  const { providers, ledger, accessTokenVerifier } = buildProvider({
    config, logger, store, signingJwks, registries, accounts: accounts.accounts, withAllRoles: accounts.withAllRoles, permissionsOf: accounts.permissionsOf,
    mfaPolicy: factors.policy, audit: accounts.audit, render,
    onTokenIssued: (grantType) => metrics.tokensIssued.inc({ grant_type: grantType }),
    ...(config.MAX_CONCURRENT_SESSIONS ? { onSignIn: (accountId: string, sessionUid: string) => sessionCap!(accountId, sessionUid) } : {}),
  });
  const signOut = buildSignOut(store, async () => providers, logger);
  const sessionCap = config.MAX_CONCURRENT_SESSIONS
    ? createSessionCap({ max: config.MAX_CONCURRENT_SESSIONS, oidc: store.oidc, beforeSessionEnds: signOut.backchannelLogout })
    : undefined;

  // imported only when configured: samlify, ldapts and the XML stack cost ~20 MB and ~0.2 s at start-up
  // imported only when there are providers: samlify, ldapts and the XML stack cost ~20 MB and ~0.2 s at start-up
  const buildFederation = async (federationConfig: NonNullable<Config['FEDERATION_FILE']>) => (await import('./build-federation.js')).buildFederation({
    config: federationConfig, issuer: config.ISSUER, store, logger, render, audit: accounts.audit, signOutEverywhere: signOut.signOutEverywhere,
    outboundPrivateHosts: config.OUTBOUND_PRIVATE_HOSTS, checkPassword: (email, password) => accounts.accounts.checkPassword(email, password), loginThrottle: protection.loginThrottle,
    passkeys: factors.webauthn,
  });
  // A tenant's written providers are in its registry row (its app is rebuilt when they change, so its
  // FEDERATION_FILE is them); the default tenant's are its settings record, served with FEDERATION_FILE's.
  const defaultStored = shared.federationDocuments ? undefined : defaultTenantFederation({ store, cipher, unknownRoles: accounts.roles.unknown });
  const federationDocuments = shared.federationDocuments ?? defaultStored!;
  const federation = await createFederationHolder({
    build: buildFederation, fixed: config.FEDERATION_FILE, freshnessMs: config.TENANT_SETTINGS_REFRESH * 1000, logger,
    ...(defaultStored ? {
      stored: {
        version: () => defaultStored.version(),
        async configAt() {
          const { document, version } = await defaultStored.load();
          const merged = mergeFederation(config.FEDERATION_FILE, version ? readFederationSettings(document, { source: 'stored identity providers', files: 'inline' }) : null);
          if (merged.skipped.length) logger.warn({ providers: merged.skipped }, 'stored identity providers left out: FEDERATION_FILE has their id or domain');
          return { config: merged.config, version };
        },
      },
    } : {}),
  });
  federationInService = federation;
  const tenantProviders = shared.federationDocuments !== undefined;
  const identityProviders = identityProvidersOf(config, federationDocuments, {
    tenant: tenantProviders,
    // a tenant's written providers are its whole federation; the default tenant's are served with FEDERATION_FILE's
    prove: federationProver({ build: buildFederation, logger, inService: (stored) => (tenantProviders ? stored : mergeFederation(config.FEDERATION_FILE, stored).config) }),
  });

  const accountLifecycle = buildAccountLifecycle(store, accounts, protection, signOut, await buildDirectoryDn(config, logger));
  // one service for a person's sessions and connected apps, behind both the /account pages and /admin/v1
  const sessionsAndApps = createSessionsAndApps({ oidc: store.oidc, providers, ...signOut });
  const invitations = createInvitations({
    issuer: config.ISSUER, ttlSeconds: config.INVITATION_TTL, tokens: accounts.accountTokens, mail: accounts.accountMail, audit: accounts.audit, mayMail: protection.mayMail,
  });
  // one endpoints service behind both /admin/v1/webhooks and /console/webhooks
  const webhooks = createWebhookEndpoints({ store: store.webhooks, cipher, privateHosts: config.OUTBOUND_PRIVATE_HOSTS });
  const adminApi = await buildAdmin({
    config, logger, store, registries, accounts: accounts.accounts, accountLifecycle, invitations, sessionsAndApps, audit: accounts.audit, keyRing, verifier: accessTokenVerifier, withAllRoles: accounts.withAllRoles,
    roles: accounts.roles, permissionsOf: accounts.permissionsOf,
    webhooks, tenants: tenancy?.registry,
    identityProviders: { providers: identityProviders, changed: () => federation.refresh(true) },
  });

  const pages = buildPages({ config, store, render, providers, resources: registries.resources, accounts, factors, protection, signOut, metrics, federation, accountLifecycle, sessionsAndApps });
  const consoleRouter = buildConsole({
    config, viewsDir, store, render, csrf: pages.csrf, providers, accounts: accounts.accounts, withAllRoles: accounts.withAllRoles, permissionsOf: accounts.permissionsOf,
    roles: accounts.roles, accountLifecycle, sessionsAndApps, audit: accounts.audit, registries, keyRing, passwordReset: pages.lifecycle.reset, webhooks,
  });

  return {
    config, logger, viewsDir, store, cipher, keyRing, providers, adminApi, tenancy, accountResources, ledger, accessTokenVerifier, metrics, render, locales, federation, factors, identityProviders,
    ...registries,
    accounts: accounts.accounts,
    roles: accounts.roles,
    audit: accounts.audit,
    mailer: accounts.mailer,
    accountMail: accounts.accountMail,
    accountTokens: accounts.accountTokens,
    passwordPolicy: accounts.passwordPolicy,
    signOutEverywhere: signOut.signOutEverywhere,
    accountLifecycle,
    secondFactorThrottle: protection.secondFactorThrottle,
    tokenEndpointLockouts: protection.tokenEndpointLockouts,
    ...pages,
    console: consoleRouter,
    async close() {
      await accounts.closeMail();
      await accounts.audit.flush();
      await store.close();
    },
  };
}
