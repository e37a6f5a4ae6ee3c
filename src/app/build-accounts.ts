/**
 * Accounts: the audit log, passwords and their policy, the account service, account mail, mailed-link
 * tokens and email verification. Nothing here needs (or loads) oidc-provider, so the CLI builds this
 * bundle too.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { AccountRecord, Store } from '../../adapters/contract.js';
import type { Branding } from '../http/render.js';
import { loadLocales, type Locales } from '../i18n/locales.js';
import { createPasswordHasher, type PasswordHasher } from '../accounts/passwords.js';
import { createAccountService, type AccountService } from '../accounts/accounts.js';
import { createPasswordPolicy, loadCommonPasswords, type PasswordPolicy } from '../accounts/password-policy.js';
import { createAccountTokens, type AccountTokens } from '../accounts/account-tokens.js';
import { createEmailVerification, type EmailVerification } from '../accounts/email-verification.js';
import { createAuditLog, type AuditLog } from '../audit/audit-log.js';
import { createMailTransport } from '../mail/transport.js';
import { createRoleService, type RoleService } from '../roles/role-service.js';
import { createPermissionEvaluator, type PermissionsOf } from '../roles/permissions.js';
import { currentFederatedRoles, rolesMappedBy } from '../roles/federation-mappings.js';
import { ADMIN_ROLES } from '../admin/admin-scopes.js';
import { createMailer, type Mailer } from '../mail/mailer.js';
import { createAccountMail, type AccountMail } from '../mail/account-mail.js';

export const brandingOf = (config: Config): Branding => ({
  name: config.BRAND_NAME,
  logoUrl: config.BRAND_LOGO_URL,
  primaryColor: config.BRAND_PRIMARY_COLOR,
  backgroundColor: config.BRAND_BACKGROUND_COLOR,
  supportUrl: config.BRAND_SUPPORT_URL,
  termsUrl: config.REGISTRATION_TERMS_URL,
  byLocale: config.BRAND_TEXTS,
});

export type Accounts = {
  audit: AuditLog;
  passwordPolicy: PasswordPolicy;
  accounts: AccountService;
  /** an account with every role: those set on it (CLI) and those upstream providers grant (federation) */
  withAllRoles(id: string): Promise<AccountRecord | undefined>;
  /** roles as records, their permissions, the built-in ones written (src/roles) */
  roles: RoleService;
  permissionsOf: PermissionsOf;
  /** the roles upstream providers grant the account, as the federation file maps them now */
  federatedRolesOf(id: string): Promise<string[]>;
  mailer: Mailer;
  accountMail: AccountMail;
  accountTokens: AccountTokens;
  verification: EmailVerification;
  /** the translations of pages and mail (views/locales) */
  locales: Locales;
  /** waits for mail in flight, then closes the transport */
  closeMail(): Promise<void>;
};

/**
 * What every tenant's accounts can share in one process, made once per setting value: the common-password
 * list (unzipped and parsed: ~70 ms and ~1 MB per copy) and the password hasher, whose timing-equaliser
 * hash costs one bcrypt at BCRYPT_COST on the thread pool. Without sharing, every tenant app built would
 * pay both (the tenants bench: cold discovery 220 ms, most of it these).
 */
export type AccountResources = {
  commonPasswords(minLength: number): Set<string>;
  passwordHasher(cost: number): PasswordHasher;
  /** the translated texts (views/locales), read once per process: every tenant's pages share them */
  locales(dir: string, logger: Logger): Locales;
};

export function createAccountResources(): AccountResources {
  const lists = new Map<number, Set<string>>();
  const hashers = new Map<number, PasswordHasher>();
  let locales: Locales | undefined;
  return {
    locales(dir, logger) {
      locales ??= loadLocales({ dir, logger });
      return locales;
    },
    commonPasswords(minLength) {
      let list = lists.get(minLength);
      if (!list) lists.set(minLength, (list = loadCommonPasswords(minLength)));
      return list;
    },
    passwordHasher(cost) {
      let hasher = hashers.get(cost);
      if (!hasher) hashers.set(cost, (hasher = createPasswordHasher(cost)));
      return hasher;
    },
  };
}

export async function buildAccounts(
  o: { config: Config; logger: Logger; viewsDir: string },
  store: Store,
  mayMail: (email: string) => Promise<boolean>,
  resources: AccountResources = createAccountResources(),
  /**
   * the upstream providers in service, read at each use: the default tenant's include those written at
   * run time (app/federation-holder.ts), whose group mappings grant roles and protect them from deletion
   * as the file's do
   */
  federationConfig: () => Config['FEDERATION_FILE'] = () => o.config.FEDERATION_FILE,
): Promise<Accounts> {
  const { config, logger } = o;
  const audit = createAuditLog({ store: store.audit, units: store, logger, retentionSeconds: config.AUDIT_RETENTION });
  const passwordPolicy = createPasswordPolicy({
    minLength: config.PASSWORD_MIN_LENGTH,
    maxLength: config.PASSWORD_MAX_LENGTH,
    common: resources.commonPasswords(config.PASSWORD_MIN_LENGTH),
    serviceName: config.BRAND_NAME,
  });
  // computed again only when the configuration in service is another object (a swap)
  let mappedOf: { config: Config['FEDERATION_FILE']; mapped: Map<string, string> } | undefined;
  const mappedBy = (role: string) => {
    const current = federationConfig();
    if (mappedOf?.config !== current) mappedOf = { config: current, mapped: rolesMappedBy(current) };
    return mappedOf.mapped.get(role);
  };
  const roles = createRoleService({ roles: store.roles, resources: store.resources, systemRoles: ADMIN_ROLES, mappedBy, audit });
  await roles.ensureSystemRoles();
  const permissionsOf = createPermissionEvaluator({ roles: store.roles });
  const accounts = createAccountService({
    unknownRoles: roles.unknown,
    audit,
    accounts: store.accounts,
    passwords: resources.passwordHasher(config.BCRYPT_COST),
    policy: passwordPolicy,
    history: store.passwordHistory,
    historySize: config.PASSWORD_HISTORY,
    maxPasswordAge: config.PASSWORD_MAX_AGE,
  });
  const federatedRolesOf = async (id: string) => currentFederatedRoles(federationConfig(), await store.federation.sourcedRolesOf(id));
  const withAllRoles = async (id: string) => {
    const [account, federated] = await Promise.all([accounts.findById(id), federatedRolesOf(id)]);
    if (!account) return undefined;
    const roles = [...new Set([...account.roles, ...federated])].sort();
    return { ...account, roles };
  };
  const locales = resources.locales(join(o.viewsDir, 'locales'), logger);
  const transport = await createMailTransport({ smtpUrl: config.SMTP_URL, from: config.MAIL_FROM, logger, revealLinksInLog: config.NODE_ENV === 'development' });
  const mailer = createMailer({ transport, viewsDir: o.viewsDir, branding: brandingOf(config), issuer: config.ISSUER, logger, locales });
  const accountMail = createAccountMail({ mailer, locales, branding: brandingOf(config), defaultLocale: config.DEFAULT_LOCALE });
  const accountTokens = createAccountTokens({ store: store.accountTokens });
  const verification = createEmailVerification({
    issuer: config.ISSUER, ttlSeconds: config.EMAIL_VERIFICATION_TTL, tokens: accountTokens, accounts, mail: accountMail, audit, mayMail,
  });
  return {
    audit, passwordPolicy, accounts, withAllRoles, federatedRolesOf, roles, permissionsOf, mailer, accountMail, accountTokens, verification, locales,
    async closeMail() {
      await mailer.drain();
      transport.close();
    },
  };
}
