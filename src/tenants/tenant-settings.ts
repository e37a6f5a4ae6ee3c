/**
 * A tenant's policy and branding (issue 15 §3, §6): what it may set, and how it combines with the
 * deployment's settings. The deployment's values are the defaults; where one is a security floor, a
 * tenant can only be stricter (a longer minimum password, a longer history, shorter sessions, fewer
 * failures before lockout, MFA on where the deployment requires it). The README's tenant policy table
 * is this file's.
 */
import { LOCALES } from '../i18n/locale-list.js';
import { z } from 'zod';
import type { Config } from '../config/schema.js';
import { parseIpRange } from '../http/ip-ranges.js';

export { ipAllowed } from '../http/ip-ranges.js';

const seconds = (max: number) => z.number().int().min(60).max(max);
const roleName = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'a role name: letters, digits and _ . : -, at most 64');
const domain = z.string().regex(/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'a lower-case domain name such as example.com');
const color = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour as #rrggbb');
const httpsUrl = z.string().max(2048).refine((v) => URL.canParse(v) && new URL(v).protocol === 'https:', 'an https:// URL');

/** An IPv4 or IPv6 range in CIDR notation (or one address). */
const cidr = z.string().max(64).refine((v) => parseIpRange(v) !== undefined, 'an IP range in CIDR notation, such as 192.0.2.0/24 or 2001:db8::/32');

export const tenantPolicySchema = z.object({
  passwordMinLength: z.number().int().min(8).max(128).optional().describe('shortest password; at least PASSWORD_MIN_LENGTH'),
  passwordHistory: z.number().int().min(0).max(50).optional().describe('recent passwords that may not be reused; at least PASSWORD_HISTORY'),
  mfaRequired: z.boolean().optional().describe('every sign-in needs a second factor; cannot be false where MFA_REQUIRED is true'),
  mfaRequiredRoles: z.array(roleName).max(100).optional().describe('holders of these roles need a second factor (added to MFA_REQUIRED_ROLES)'),
  sessionTtl: seconds(31_536_000).optional().describe('browser session lifetime in seconds; at most SESSION_TTL'),
  sessionIdleTimeout: seconds(31_536_000).optional().describe('a session unused this long (seconds) ends'),
  maxConcurrentSessions: z.number().int().min(1).max(1000).optional().describe('sessions per person; a new sign-in ends the oldest'),
  allowedIpRanges: z.array(cidr).max(200).optional().describe('sign-in only from these ranges (CIDR); none: anywhere'),
  registrationEnabled: z.boolean().optional().describe('self-registration (REGISTRATION_ENABLED by default)'),
  registrationEmailDomains: z.array(domain).max(200).optional().describe('self-registration only with an email of these domains; none: any'),
  lockoutMaxFailures: z.number().int().min(1).max(1000).optional().describe('failed sign-ins before lockout; at most LOGIN_MAX_FAILURES_PER_ACCOUNT'),
}).strict();

export const tenantBrandingSchema = z.object({
  name: z.string().min(1).max(100).optional().describe('product name on pages and in emails (BRAND_NAME by default)'),
  logoUrl: httpsUrl.optional().describe('logo shown on pages (https)'),
  primaryColor: color.optional().describe('buttons and links'),
  backgroundColor: color.optional().describe('page background'),
  supportUrl: httpsUrl.optional().describe('"Need help?" link on pages and in emails'),
  defaultLocale: z.enum(LOCALES).optional().describe('language of pages and emails when nothing else chooses one (DEFAULT_LOCALE by default)'),
}).strict();

export const tenantSettingsSchema = z.object({
  policy: tenantPolicySchema.default({}),
  branding: tenantBrandingSchema.default({}),
}).strict();

/**
 * A tenant's upstream providers as stored: the federation settings (the federation file's format, with
 * file contents inline: config/federation/checks.ts FileMode) encrypted at rest as one sealed JSON text,
 * since they hold LDAP bind passwords, client secrets and private keys; and the providers' ids and
 * protocols, which is all a reader of the tenant is shown.
 */
export const storedFederationSchema = z.object({
  sealed: z.string(),
  providers: z.array(z.object({ id: z.string(), protocol: z.enum(['ldap', 'saml', 'oidc', 'oauth2']) }).strict()),
}).strict();

/** The settings as stored: policy, branding, and the sealed federation when the tenant has providers. */
export const storedTenantSettingsSchema = tenantSettingsSchema.extend({ federation: storedFederationSchema.optional() });

export type StoredFederation = z.infer<typeof storedFederationSchema>;

/** What a reader is shown of the stored settings (API, CLI): the ids and protocols of its providers, never their settings. */
export function shownSettings(settings: Record<string, unknown>) {
  const { policy, branding, federation } = storedTenantSettingsSchema.parse(settings);
  return { policy, branding, ...(federation ? { federation: { providers: federation.providers } } : {}) };
}
export type StoredTenantSettings = z.infer<typeof storedTenantSettingsSchema>;

export type TenantPolicy = z.infer<typeof tenantPolicySchema>;
export type TenantBranding = z.infer<typeof tenantBrandingSchema>;
export type TenantSettings = z.infer<typeof tenantSettingsSchema>;

/** A setting a tenant asked for that the deployment's floor does not allow: `path` names it. */
export class TenantSettingsRefused extends Error {
  constructor(readonly path: string, message: string) {
    super(`${path}: ${message}`);
  }
}

export type PolicyFloors = Pick<Config, 'PASSWORD_MIN_LENGTH' | 'PASSWORD_HISTORY' | 'MFA_REQUIRED' | 'SESSION_TTL' | 'LOGIN_MAX_FAILURES_PER_ACCOUNT'>;

/** Refuses a policy that is weaker than one of the deployment's floors (the comparison the table documents). */
export function checkFloors(policy: TenantPolicy, floors: PolicyFloors): void {
  const refuse = (field: keyof TenantPolicy, message: string) => {
    throw new TenantSettingsRefused(`policy.${field}`, message);
  };
  if (policy.passwordMinLength !== undefined && policy.passwordMinLength < floors.PASSWORD_MIN_LENGTH) {
    refuse('passwordMinLength', `must be at least ${floors.PASSWORD_MIN_LENGTH} (PASSWORD_MIN_LENGTH)`);
  }
  if (policy.passwordHistory !== undefined && policy.passwordHistory < floors.PASSWORD_HISTORY) {
    refuse('passwordHistory', `must be at least ${floors.PASSWORD_HISTORY} (PASSWORD_HISTORY)`);
  }
  if (policy.mfaRequired === false && floors.MFA_REQUIRED) refuse('mfaRequired', 'cannot be false: the deployment requires MFA (MFA_REQUIRED)');
  if (policy.sessionTtl !== undefined && policy.sessionTtl > floors.SESSION_TTL) {
    refuse('sessionTtl', `must be at most ${floors.SESSION_TTL} seconds (SESSION_TTL)`);
  }
  if (policy.sessionIdleTimeout !== undefined && policy.sessionIdleTimeout > (policy.sessionTtl ?? floors.SESSION_TTL)) {
    refuse('sessionIdleTimeout', 'must not be longer than the session lifetime');
  }
  if (policy.lockoutMaxFailures !== undefined && policy.lockoutMaxFailures > floors.LOGIN_MAX_FAILURES_PER_ACCOUNT) {
    refuse('lockoutMaxFailures', `must be at most ${floors.LOGIN_MAX_FAILURES_PER_ACCOUNT} (LOGIN_MAX_FAILURES_PER_ACCOUNT)`);
  }
}

/** The policy a tenant's requests run under: the deployment's settings, with the tenant's stricter ones. */
export type EffectivePolicy = {
  passwordMinLength: number;
  passwordHistory: number;
  mfaRequired: boolean;
  mfaRequiredRoles: string[];
  sessionTtl: number;
  /** seconds; null: no idle timeout */
  sessionIdleTimeout: number | null;
  /** null: no cap */
  maxConcurrentSessions: number | null;
  /** null: sign-in from anywhere */
  allowedIpRanges: string[] | null;
  registrationEnabled: boolean;
  /** null: any domain */
  registrationEmailDomains: string[] | null;
  lockoutMaxFailures: number;
};

export function effectivePolicy(config: PolicyFloors & Pick<Config, 'MFA_REQUIRED_ROLES' | 'REGISTRATION_ENABLED' | 'SIGN_IN_ALLOWED_IP_RANGES' | 'REGISTRATION_EMAIL_DOMAINS'>, policy: TenantPolicy = {}): EffectivePolicy {
  return {
    passwordMinLength: Math.max(config.PASSWORD_MIN_LENGTH, policy.passwordMinLength ?? 0),
    passwordHistory: Math.max(config.PASSWORD_HISTORY, policy.passwordHistory ?? 0),
    mfaRequired: config.MFA_REQUIRED || policy.mfaRequired === true,
    mfaRequiredRoles: [...new Set([...config.MFA_REQUIRED_ROLES, ...(policy.mfaRequiredRoles ?? [])])].sort(),
    sessionTtl: Math.min(config.SESSION_TTL, policy.sessionTtl ?? Infinity),
    sessionIdleTimeout: policy.sessionIdleTimeout ?? null,
    maxConcurrentSessions: policy.maxConcurrentSessions ?? null,
    allowedIpRanges: policy.allowedIpRanges?.length ? policy.allowedIpRanges : config.SIGN_IN_ALLOWED_IP_RANGES.length ? config.SIGN_IN_ALLOWED_IP_RANGES : null,
    registrationEnabled: policy.registrationEnabled ?? config.REGISTRATION_ENABLED,
    registrationEmailDomains: policy.registrationEmailDomains?.length ? policy.registrationEmailDomains : config.REGISTRATION_EMAIL_DOMAINS.length ? config.REGISTRATION_EMAIL_DOMAINS : null,
    lockoutMaxFailures: Math.min(config.LOGIN_MAX_FAILURES_PER_ACCOUNT, policy.lockoutMaxFailures ?? Infinity),
  };
}
