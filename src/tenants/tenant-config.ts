/**
 * The settings a tenant's requests run under: the deployment's configuration with the tenant's issuer,
 * its stricter policy (tenant-settings.ts: effectivePolicy) and its branding. Every part of the app
 * reads its settings from a Config, so a tenant's app is built from this like the default tenant's is
 * built from the deployment's: one code path for every tenant.
 */
import type { TenantRecord } from '../../adapters/contract.js';
import type { Config } from '../config/schema.js';
import { tenantIssuer } from './tenant-issuer.js';
import { effectivePolicy, storedTenantSettingsSchema } from './tenant-settings.js';
import { readFederationSettings, type FederationConfig } from '../config/federation/federation-file.js';

/** how much less often a tenant's app polls its webhook outbox than the default tenant's */
export const TENANT_POLL_FACTOR = 30;

/**
 * `openSealed` decrypts the tenant's stored federation settings (the at-rest cipher); without it, or
 * without stored providers, the tenant federates to nothing.
 */
export function tenantConfig(config: Config, tenant: TenantRecord, openSealed?: (sealed: string) => string): Config {
  const { policy, branding, federation } = storedTenantSettingsSchema.parse(tenant.settings);
  const p = effectivePolicy(config, policy);
  return {
    ...config,
    ISSUER: tenantIssuer(config.ISSUER, tenant),
    PASSWORD_MIN_LENGTH: p.passwordMinLength,
    PASSWORD_HISTORY: p.passwordHistory,
    MFA_REQUIRED: p.mfaRequired,
    MFA_REQUIRED_ROLES: p.mfaRequiredRoles,
    SESSION_TTL: p.sessionTtl,
    // 0 is "none" in both: the tenant's value only where it is stricter
    SESSION_IDLE_TIMEOUT: stricter(config.SESSION_IDLE_TIMEOUT, p.sessionIdleTimeout),
    MAX_CONCURRENT_SESSIONS: stricter(config.MAX_CONCURRENT_SESSIONS, p.maxConcurrentSessions),
    REGISTRATION_ENABLED: p.registrationEnabled,
    REGISTRATION_EMAIL_DOMAINS: p.registrationEmailDomains ?? [],
    SIGN_IN_ALLOWED_IP_RANGES: p.allowedIpRanges ?? [],
    LOGIN_MAX_FAILURES_PER_ACCOUNT: p.lockoutMaxFailures,
    BRAND_NAME: branding.name ?? tenant.name,
    BRAND_LOGO_URL: branding.logoUrl ?? config.BRAND_LOGO_URL,
    BRAND_PRIMARY_COLOR: branding.primaryColor ?? config.BRAND_PRIMARY_COLOR,
    BRAND_BACKGROUND_COLOR: branding.backgroundColor ?? config.BRAND_BACKGROUND_COLOR,
    BRAND_SUPPORT_URL: branding.supportUrl ?? config.BRAND_SUPPORT_URL,
    DEFAULT_LOCALE: branding.defaultLocale ?? config.DEFAULT_LOCALE,
    // the deployment's names and links per locale are its own brand's, not a tenant's
    BRAND_TEXTS: {},
    // the federation file configures the default tenant's upstream providers; a tenant's are its own, stored
    FEDERATION_FILE: federation && openSealed ? tenantFederation(tenant.id, openSealed(federation.sealed)) : null,
    // the demo client and user are the default tenant's
    SEED_DEMO: false,
    // A tenant's app in memory polls its outbox for deliveries other replicas recorded; with a thousand
    // cached tenants the deployment's interval would mean a thousand queries a second. Its own events
    // still go out at once (start-delivery.ts: wake); another replica's wait up to this long.
    WEBHOOK_POLL_INTERVAL_MS: Math.min(60_000, config.WEBHOOK_POLL_INTERVAL_MS * TENANT_POLL_FACTOR),
  };
}

/** The smaller limit of the deployment's (0: none) and the tenant's (null: none). */
function stricter(deployment: number, tenant: number | null): number {
  if (tenant === null) return deployment;
  return deployment === 0 ? tenant : Math.min(deployment, tenant);
}

/** A tenant's federation settings, read as the federation file's (its files inline). */
export function tenantFederation(tenantId: string, json: string): FederationConfig {
  return readFederationSettings(JSON.parse(json), { source: `tenant ${tenantId}`, files: 'inline' });
}
