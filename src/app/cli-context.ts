/**
 * The CLI's context: the stores, keys and domain services the commands use, and no timers, pages or
 * metrics. oidc-provider is loaded only when a command needs it (it prints a notice when it loads, and
 * costs start-up time): to validate client metadata, to tell apps of a sign-out, or, with
 * `providerUpFront`, for a command that reads `providers.current` straight away.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { ProviderHost } from '../oidc/provider-host.js';
import { createRenderer } from '../http/render.js';
import type { AppContext } from './context.js';
import { atRestCipherOf, buildKeys, withStore } from './build-stores.js';
import { buildProtection } from './build-protection.js';
import { brandingOf, buildAccounts } from './build-accounts.js';
import { buildRegistries } from './build-clients.js';
import { buildSignOut } from './build-sign-out.js';
import { buildAccountLifecycle, buildDirectoryDn } from './build-account-lifecycle.js';
import { UnknownTenant } from '../tenants/tenant-registry.js';
import { tenancyOf } from './build-tenancy.js';
import { tenantConfig } from '../tenants/tenant-config.js';
import { DEFAULT_TENANT } from '../../adapters/contract.js';
import { basePathOf } from '../http/base-path.js';
import type { IdentityProviderAdmin } from '../federation/identity-provider-admin.js';
import { tenantFederationDocuments } from '../tenants/tenant-federation-documents.js';
import { defaultTenantFederation, identityProvidersOf } from './build-identity-providers.js';
import { upstreamLoader } from './prove-federation.js';

export type CliContext = Pick<
  AppContext,
  'config' | 'logger' | 'store' | 'cipher' | 'keyRing' | 'accounts' | 'roles' | 'clients' | 'resources' | 'audit' | 'mailer' | 'accountMail' | 'passwordPolicy' | 'signOutEverywhere' | 'accountLifecycle' | 'providers' | 'tenancy'
> & {
  /** upstream providers written at run time (`federation create|update|delete`), the tenant's or the default tenant's */
  identityProviders: IdentityProviderAdmin;
  close(): Promise<void>;
};

export type CliContextOptions = {
  config: Config; logger: Logger; viewsDir: string; keysDir: string; providerUpFront?: boolean;
  /** run inside this tenant (its store handle and configuration, tenant-config.ts); the default tenant when undefined */
  tenant?: string | undefined;
};

export function buildCliContext(o: CliContextOptions): Promise<CliContext> {
  return withStore(o.config, o.logger, async (root) => {
    const { logger } = o;
    const inTenant = o.tenant !== undefined && o.tenant !== DEFAULT_TENANT ? await root.tenants.find(o.tenant) : undefined;
    if (o.tenant !== undefined && o.tenant !== DEFAULT_TENANT && !inTenant) throw new UnknownTenant(o.tenant);
    // a tenant's command runs on its handle and its settings; the registry is the default tenant's alone
    const store = inTenant ? root.forTenant(inTenant.id) : root;
    const config = inTenant ? tenantConfig(o.config, inTenant, (sealed) => atRestCipherOf(o).decrypt(sealed)) : o.config;
    const opts = { ...o, config };
    const { cipher, keyRing, signingJwks } = await buildKeys(opts, store);
    const protection = buildProtection(config, store);
    const accounts = await buildAccounts(opts, store, protection.mayMail);

    // the provider, built the first time a command needs it, from the same registries and keys
    let loaded: ProviderHost | undefined;
    let loading: Promise<ProviderHost> | undefined;
    const loadProvider = () =>
      (loading ??= (async () => {
        const [{ buildFactors }, { buildProvider }] = await Promise.all([import('./build-factors.js'), import('./build-provider.js')]);
        const factors = buildFactors(config, store, cipher, accounts.withAllRoles);
        const render = createRenderer({ viewsDir: o.viewsDir, branding: brandingOf(config), basePath: basePathOf(config.ISSUER), locales: accounts.locales, defaultLocale: config.DEFAULT_LOCALE });
        loaded = buildProvider({
          config, logger, store, signingJwks, registries, accounts: accounts.accounts, withAllRoles: accounts.withAllRoles, permissionsOf: accounts.permissionsOf,
          mfaPolicy: factors.policy, audit: accounts.audit, render,
        }).providers;
        return loaded;
      })());
    const registries = buildRegistries(store, cipher, async (metadata) => {
      await (await loadProvider()).current.Client.validate(metadata as never);
    }, accounts.audit);
    const signOut = buildSignOut(store, loadProvider, logger);
    const accountLifecycle = buildAccountLifecycle(store, accounts, protection, signOut, await buildDirectoryDn(config, logger));
    if (o.providerUpFront) await loadProvider();
    return {
      config, logger, store, cipher, keyRing, ...registries,
      accounts: accounts.accounts,
      roles: accounts.roles,
      audit: accounts.audit,
      mailer: accounts.mailer,
      accountMail: accounts.accountMail,
      passwordPolicy: accounts.passwordPolicy,
      signOutEverywhere: signOut.signOutEverywhere,
      accountLifecycle,
      tenancy: inTenant ? undefined : tenancyOf(o, root),
      // a tenant's through the registry (its servers' apps are rebuilt within TENANT_SETTINGS_REFRESH); the
      // default tenant's in its settings record (its servers read it again within the same bound)
      identityProviders: identityProvidersOf(config, inTenant
        ? tenantFederationDocuments({ registry: tenancyOf(o, root).registry, tenantId: inTenant.id, openSealed: (sealed) => atRestCipherOf(o).decrypt(sealed) })
        : defaultTenantFederation({ store, cipher, unknownRoles: accounts.roles.unknown }), {
        tenant: inTenant !== undefined,
        // the written provider's upstream is loaded before it is stored, as the server's API does (a lighter check: no app is built)
        prove: upstreamLoader({ issuer: config.ISSUER, privateHosts: config.OUTBOUND_PRIVATE_HOSTS }),
      }),
      get providers(): ProviderHost {
        if (!loaded) throw new Error('this command needs the provider: build the CLI context with providerUpFront');
        return loaded;
      },
      async close() {
        await accounts.closeMail();
        await root.close();
      },
    };
  });
}
