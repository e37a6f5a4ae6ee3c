/**
 * The one place that builds things: store, keys, services, provider and interaction steps. Everything
 * else receives what it uses from here (STYLE.md: wire once, pass in).
 */
import cluster from 'node:cluster';
import type { JWK } from 'jose';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { RateLimiterOptions, Store } from '../../adapters/contract.js';
import { openStore } from '../../adapters/index.js';
import { createAtRestCipher, type AtRestCipher } from '../keys/at-rest-cipher.js';
import { loadOrCreateDevEncryptionKey } from '../keys/dev-encryption-key.js';
import { createKeyRing, keyTimings, type KeyRing } from '../keys/rotation.js';
import { createPasswordHasher } from '../accounts/passwords.js';
import { createAccountService, type AccountService } from '../accounts/accounts.js';
import type { LoginThrottle } from '../accounts/login-throttle.js';
import { createPasswordPolicy, loadCommonPasswords, type PasswordPolicy } from '../accounts/password-policy.js';
import { createAccountTokens } from '../accounts/account-tokens.js';
import { createSignOutEverywhere, type SignOutEverywhere } from '../accounts/sign-out-everywhere.js';
import { createEmailVerification } from '../accounts/email-verification.js';
import { createPasswordReset } from '../accounts/password-reset.js';
import { createRegistration } from '../accounts/registration.js';
import { createAuditLog, type AuditLog } from '../audit/audit-log.js';
import { auditProviderEvents } from '../audit/provider-events.js';
import { createMailTransport } from '../mail/transport.js';
import { createMailer, type Mailer } from '../mail/mailer.js';
import { createAccountMail, type AccountMail } from '../mail/account-mail.js';
import { keyedByIp } from '../http/client-ip.js';
import { createAttemptLockout, createQuota } from '../protection/lockout.js';
import type { TokenEndpointLockouts } from '../protection/token-endpoint-guard.js';
import { createFailureThrottle, type FailureThrottle } from '../protection/failure-throttle.js';
import { createLifecyclePrompts } from '../lifecycle/prompts.js';
import { lifecycleClientMetadata } from '../lifecycle/client-metadata.js';
import { registrationAllowed } from '../lifecycle/registration-routes.js';
import type { LifecycleDeps } from '../lifecycle/router.js';
import { createClientRegistry, type ClientRegistry } from '../clients/client-registry.js';
import { createResourceRegistry, type ResourceRegistry } from '../clients/resource-registry.js';
import { createAdapterClass } from '../oidc/adapter.js';
import { createFindAccount } from '../oidc/find-account.js';
import { createProvider } from '../oidc/provider.js';
import { createProviderHost, type ProviderHost } from '../oidc/provider-host.js';
import { createProviderPages } from '../oidc/provider-pages.js';
import { createJwtAccessTokenLedger, type JwtAccessTokenLedger } from '../oidc/jwt-access-token-ledger.js';
import { createLoginStep, type LoginStep } from '../interactions/login.js';
import { createConsentStep, type ConsentStep } from '../interactions/consent.js';
import { createTotpService, type TotpService } from '../factors/totp.js';
import { createRecoveryCodes, type RecoveryCodes } from '../factors/recovery-codes.js';
import { createWebAuthnService, type WebAuthnService } from '../factors/webauthn.js';
import { createMfaPolicy, mfaClientMetadata, type MfaPolicy } from '../factors/mfa-policy.js';
import { createAccountFactors, type AccountFactors } from '../factors/account-factors.js';
import { createMfaStep, type MfaStep } from '../interactions/mfa-step.js';
import { createWebAuthnStep, type WebAuthnStep } from '../interactions/mfa-webauthn.js';
import { createAccountAuth } from '../account-pages/account-auth.js';
import { accountClientMetadata, loadExistingGrant } from '../account-pages/account-client.js';
import { createBackchannelLogout, createSessionsAndApps } from '../account-pages/sessions-and-apps.js';
import type { AccountPagesDeps } from '../account-pages/router.js';
import type { Federation } from './build-federation.js';
import { OIDC_SCOPES } from '../oidc/claims.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createRenderer, type Renderer } from '../http/render.js';

export type AppContext = {
  config: Config;
  logger: Logger;
  viewsDir: string;
  store: Store;
  cipher: AtRestCipher;
  accounts: AccountService;
  clients: ClientRegistry;
  resources: ResourceRegistry;
  providers: ProviderHost;
  keyRing: KeyRing;
  ledger: JwtAccessTokenLedger;
  metrics: Metrics;
  render: Renderer;
  loginStep: LoginStep;
  consentStep: ConsentStep;
  /** security events: other features call `audit.record({ type, accountId, ... }, ctx)` */
  audit: AuditLog;
  mailer: Mailer;
  /** account mail; the MFA feature calls `accountMail.factorAdded(account, { label }, forgotLink)` */
  accountMail: AccountMail;
  passwordPolicy: PasswordPolicy;
  signOutEverywhere: SignOutEverywhere;
  /** wrong second-factor codes, per account id and per IP, with lockout (for the MFA feature) */
  secondFactorThrottle: FailureThrottle;
  tokenEndpointLockouts: TokenEndpointLockouts;
  /** what the lifecycle pages need (create-app.ts adds the CSRF check and the interaction loader) */
  lifecycle: Omit<LifecycleDeps, 'csrf' | 'loadInteraction'>;
  factors: { totp: TotpService; webauthn: WebAuthnService; recoveryCodes: RecoveryCodes; policy: MfaPolicy; account: AccountFactors };
  mfaStep: MfaStep;
  webAuthnStep: WebAuthnStep;
  /** what the /account router needs, but its render and csrf (create-app.ts) */
  accountPages: Omit<AccountPagesDeps, 'render' | 'csrf'>;
  /** upstream LDAP directories and SAML IdPs, when FEDERATION_FILE configures them */
  federation: Federation | undefined;
  close(): Promise<void>;
};

/** Kept this long after expiry, so a late click on a mailed link gets "expired" rather than "not valid". */
const EXPIRED_LINK_GRACE_SECONDS = 7 * 86400;
/** An address is slowed down past LOGIN_MAX_FAILURES_PER_IP failures and locked out only at this many times that. */
const IP_LOCKOUT_FACTOR = 10;

export type ContextOptions = { config: Config; logger: Logger; viewsDir: string; keysDir: string };

export async function buildContext(o: ContextOptions): Promise<AppContext> {
  const { config, logger } = o;
  const store = await openStore({
    databaseUrl: config.DATABASE_URL,
    redisUrl: config.REDIS_URL,
    onError: (err, source) => logger.warn({ err, source }, 'store connection error (the driver reconnects)'),
  });
  try {
    return await assemble(o, store);
  } catch (err) {
    await store.close();
    throw err;
  }
}

async function assemble(o: ContextOptions, store: Store): Promise<AppContext> {
  const { config, logger, viewsDir } = o;
  const cipher = createAtRestCipher(
    config.KEY_ENCRYPTION_KEYS.length > 0 ? config.KEY_ENCRYPTION_KEYS : [loadOrCreateDevEncryptionKey(o.keysDir)],
  );
  const keyRing = createKeyRing({ keys: store.signingKeys, locks: store, cipher, timings: keyTimings(config) });
  const signingJwks = await keyRing.start();

  const audit = createAuditLog({ store: store.audit, logger, retentionSeconds: config.AUDIT_RETENTION });
  const passwordPolicy = createPasswordPolicy({
    minLength: config.PASSWORD_MIN_LENGTH,
    maxLength: config.PASSWORD_MAX_LENGTH,
    common: loadCommonPasswords(config.PASSWORD_MIN_LENGTH),
    serviceName: config.BRAND_NAME,
  });
  const accounts = createAccountService({
    accounts: store.accounts,
    passwords: createPasswordHasher(config.BCRYPT_COST),
    policy: passwordPolicy,
    history: store.passwordHistory,
    historySize: config.PASSWORD_HISTORY,
    maxPasswordAge: config.PASSWORD_MAX_AGE,
  });
  const resources = createResourceRegistry({ resources: store.resources });
  const ledger = createJwtAccessTokenLedger({ oidc: store.oidc });
  const metrics = createMetrics({ clusterWorker: cluster.isWorker && config.WORKERS > 1 });

  const branding = {
    name: config.BRAND_NAME,
    logoUrl: config.BRAND_LOGO_URL,
    primaryColor: config.BRAND_PRIMARY_COLOR,
    backgroundColor: config.BRAND_BACKGROUND_COLOR,
  };
  const transport = await createMailTransport({ smtpUrl: config.SMTP_URL, from: config.MAIL_FROM, logger, revealLinksInLog: config.NODE_ENV === 'development' });
  const mailer = createMailer({ transport, viewsDir, branding, issuer: config.ISSUER, logger });
  const accountMail = createAccountMail({ mailer, brandName: config.BRAND_NAME });

  // Every counter below lives in the shared store, so limits hold across replicas. Per-IP counters go
  // through keyedByIp: an IPv6 address counts by its /64 (src/http/client-ip.ts).
  const limiter = (options: RateLimiterOptions) => store.rateLimiter(options);
  // count first, then check (protection/lockout.ts): for secrets verified per request
  const attemptLockout = (keyPrefix: string, maxFailures: number) =>
    createAttemptLockout({
      attempts: limiter({ keyPrefix, points: maxFailures, duration: config.LOGIN_THROTTLE_WINDOW, blockDuration: 0 }),
      lockouts: limiter({ keyPrefix: `${keyPrefix}-lockouts`, points: 1_000_000, duration: config.LOCKOUT_MEMORY, blockDuration: 0 }),
      baseSeconds: config.LOGIN_THROTTLE_WINDOW,
      maxSeconds: config.LOCKOUT_MAX_DURATION,
    });
  const hourly = (keyPrefix: string, points: number) => createQuota(limiter({ keyPrefix, points, duration: 3600, blockDuration: 0 }));

  // The client registry validates metadata with the provider, and the provider reads clients through
  // the registry: the validator reads the provider in service when it runs.
  let providers: ProviderHost | undefined;
  const clients = createClientRegistry({
    clients: store.clients,
    cipher,
    oidcScopes: OIDC_SCOPES,
    resourceExists: async (identifier) => (await resources.find(identifier)) !== undefined,
    validate: async (metadata) => {
      await (providers as ProviderHost).current.Client.validate(metadata as never);
    },
  });
  const render = createRenderer({ viewsDir, branding });
  const pages = createProviderPages({ render, logger });
  const adapter = createAdapterClass({ oidc: store.oidc, clients });

  // An account's roles: those set on the account (CLI) and those upstream providers grant (federation).
  const withAllRoles = async (id: string) => {
    const account = await accounts.findById(id);
    if (!account) return undefined;
    const roles = [...new Set([...account.roles, ...(await store.federation.rolesOf(id))])].sort();
    return { ...account, roles };
  };

  // second factors (src/factors) and the policy that says who needs one
  const totp = createTotpService({ factors: store.factors, cipher, issuer: config.BRAND_NAME });
  const recoveryCodes = createRecoveryCodes({ factors: store.factors });
  const webauthn = createWebAuthnService({ credentials: store.factors, challenges: store.oidc, issuer: config.ISSUER, rpName: config.BRAND_NAME });
  const mfaPolicy = createMfaPolicy({
    required: config.MFA_REQUIRED,
    requiredRoles: config.MFA_REQUIRED_ROLES,
    findAccount: withAllRoles,
    factorsOf: async (id) => ({ totp: (await totp.status(id)) === 'active', webauthn: (await webauthn.list(id)).length }),
  });
  const accountFactors = createAccountFactors({ totp, webauthn, recoveryCodes, policy: mfaPolicy });

  const findAccount = createFindAccount({ findById: accounts.findById, rolesOf: async (id) => (await withAllRoles(id))?.roles ?? [] });
  providers = createProviderHost((jwks: JWK[]) => {
    const provider = createProvider({
      config, adapter, findAccount, signingJwks: jwks, findResource: resources.find, listResources: resources.list, registeredScope: clients.registeredScope, pages, ledger,
      mfaRequirement: (ctx) => mfaPolicy.fromContext(ctx),
      promptsAfterMfa: createLifecyclePrompts({ findAccount: accounts.findById, passwordExpired: accounts.passwordExpired }),
      clientMetadata: [mfaClientMetadata, lifecycleClientMetadata],
      // the account pages' own first-party client, consented by construction (src/account-pages/account-client.ts)
      staticClients: [accountClientMetadata(config.ISSUER, config.BRAND_NAME)],
      loadExistingGrant,
    });
    auditProviderEvents(provider, audit);
    provider.on('grant.success', (ctx) => {
      metrics.tokensIssued.inc({ grant_type: String(ctx.oidc.params?.grant_type ?? 'unknown') });
    });
    provider.on('server_error', (ctx, err) => logger.error({ err, reqId: ctx.state?.requestId }, 'oidc-provider server_error'));
    // a relying party that did not get its logout token is still signed in there: the operator must hear of it
    provider.on('backchannel.error', (ctx, err, client) =>
      logger.warn({ reqId: ctx.state?.requestId, clientId: client.clientId, err: err.message }, 'back-channel logout not delivered'));
    return provider;
  }, signingJwks);

  // imported only when configured: samlify, ldapts and the XML stack cost ~20 MB and ~0.2 s at start-up
  const federation = config.FEDERATION_FILE
    ? await (await import('./build-federation.js')).buildFederation({ config: config.FEDERATION_FILE, issuer: config.ISSUER, store, logger, render, audit })
    : undefined;

  // failed logins (and wrong current passwords on the account page) count per person (login-throttle.ts)
  // and per IP, before the password is checked; the per-IP limit slows an address down before it locks it
  const ipBrake = { ipDelayAfter: config.LOGIN_MAX_FAILURES_PER_IP, ipDelayStepMs: 250, ipDelayMaxMs: 5000 };
  const loginThrottle: LoginThrottle = createFailureThrottle({
    perSubject: attemptLockout('login-account', config.LOGIN_MAX_FAILURES_PER_ACCOUNT),
    perIp: keyedByIp(attemptLockout('login-ip', config.LOGIN_MAX_FAILURES_PER_IP * IP_LOCKOUT_FACTOR)),
    brake: ipBrake,
  });
  const loginStep = createLoginStep({
    providers,
    render,
    accounts,
    throttle: loginThrottle,
    onResult: (result) => metrics.logins.inc({ result }),
    ...(federation ? { federation: federation.login } : {}),
    audit,
    links: async (interaction) => {
      const client = await providers.current.Client.find(String(interaction.params.client_id));
      return {
        forgot: `/password/forgot?interaction=${interaction.uid}`,
        register: registrationAllowed({ registrationEnabled: config.REGISTRATION_ENABLED }, client) ? `/interaction/${interaction.uid}/register` : null,
      };
    },
  });
  // wrong second-factor codes count like wrong passwords, per account (by id) and per IP, with their own lockouts
  const secondFactorThrottle = createFailureThrottle({
    perSubject: attemptLockout('mfa-account', config.MFA_MAX_FAILURES_PER_ACCOUNT),
    perIp: keyedByIp(attemptLockout('mfa-ip', config.LOGIN_MAX_FAILURES_PER_IP * IP_LOCKOUT_FACTOR)),
    brake: ipBrake,
  });
  const mfaStep = createMfaStep({
    providers, render, findAccount: accounts.findById, totp, recoveryCodes, factors: accountFactors, throttle: secondFactorThrottle,
    onResult: (result) => metrics.secondFactors.inc({ method: 'code', result }),
  });
  const webAuthnStep = createWebAuthnStep({ webauthn, mfa: mfaStep, onResult: (result) => metrics.secondFactors.inc({ method: 'webauthn', result }) });
  // every sign-out that ends sessions of an account (password reset, password change, CLI) tells their apps
  const backchannelLogout = createBackchannelLogout({
    providers,
    onBackchannelError: (err, clientId) => logger.warn({ err, clientId }, 'back-channel logout failed'),
  });
  const signOutEverywhere = createSignOutEverywhere({ oidc: store.oidc, beforeSessionEnds: backchannelLogout });
  const accountPages: AppContext['accountPages'] = {
    auth: createAccountAuth({
      issuer: config.ISSUER,
      secure: config.ISSUER.startsWith('https://'),
      providers,
      findAccount: accounts.findById,
      accountRequirement: mfaPolicy.accountRequirement,
      reauthMaxAge: config.ACCOUNT_REAUTH_MAX_AGE,
    }),
    accounts,
    passwordThrottle: loginThrottle,
    sessionsAndApps: createSessionsAndApps({ oidc: store.oidc, providers, backchannelLogout, signOutEverywhere }),
    totp, webauthn, recoveryCodes, factors: accountFactors, secondFactorThrottle,
    async onPasswordChanged(account, ctx, signedOut) {
      accountMail.passwordChanged(account, 'changed', `${config.ISSUER}/password/forgot`);
      const ended = signedOut ? { sessionsEnded: signedOut.sessions, grantsRevoked: signedOut.grants } : {};
      await audit.record({ type: 'password.changed', accountId: account.id, details: { via: 'account page', ...ended } }, ctx);
    },
  };
  // the token endpoint counts failed client authentication per (client, IP), before the check (token-endpoint-guard.ts)
  const tokenEndpointLockouts: TokenEndpointLockouts = {
    perIp: keyedByIp(attemptLockout('token-ip', config.TOKEN_MAX_FAILURES_PER_IP)),
    perClientIp: attemptLockout('token-client-ip', config.TOKEN_MAX_FAILURES_PER_CLIENT),
  };

  const tokens = createAccountTokens({ store: store.accountTokens });
  const later = mailer.later;
  // EMAIL_LIMIT_PER_ACCOUNT counts mails sent to an address, taken where a mail is about to be made
  const mailPerAddress = hourly('mail-address', config.EMAIL_LIMIT_PER_ACCOUNT);
  const mayMail = async (email: string) => (await mailPerAddress.take(email)) === 0;
  const verification = createEmailVerification({ issuer: config.ISSUER, ttlSeconds: config.EMAIL_VERIFICATION_TTL, tokens, accounts, mail: accountMail, audit, mayMail });
  const lifecycle: AppContext['lifecycle'] = {
    issuer: config.ISSUER,
    secureCookies: config.ISSUER.startsWith('https://'),
    registrationEnabled: config.REGISTRATION_ENABLED,
    termsUrl: config.REGISTRATION_TERMS_URL,
    interactionTtlSeconds: config.INTERACTION_TTL,
    providers,
    render,
    accounts,
    policy: passwordPolicy,
    verification,
    registration: createRegistration({ issuer: config.ISSUER, accounts, verification, mail: accountMail, audit, later, mayMail }),
    reset: createPasswordReset({ issuer: config.ISSUER, ttlSeconds: config.PASSWORD_RESET_TTL, tokens, accounts, signOutEverywhere, mail: accountMail, audit, later, mayMail }),
    mail: accountMail,
    audit,
    limits: {
      registrationPerIp: keyedByIp(hourly('registration-ip', config.REGISTRATION_LIMIT_PER_IP)),
      emailPerIp: keyedByIp(hourly('mail-ip', config.EMAIL_LIMIT_PER_IP)),
    },
  };
  const consentStep = createConsentStep({ providers, render, findAccount: accounts.findById, findResource: resources.find });

  const sweeper = setInterval(() => {
    const sweeps = [store.sweepExpired(), audit.sweep(), tokens.sweep(EXPIRED_LINK_GRACE_SECONDS)];
    Promise.all(sweeps).catch((err: unknown) => logger.warn({ err }, 'sweeping expired records failed'));
  }, config.SWEEP_INTERVAL * 1000);
  sweeper.unref();
  // every replica picks up a rotation within KEY_REFRESH_INTERVAL (src/keys/rotation.ts)
  const keyRefresher = setInterval(() => {
    keyRing.refresh().then((jwks) => {
      if (!jwks) return;
      providers!.replaceKeys(jwks);
      logger.info({ kids: jwks.map((k) => k.kid) }, 'signing keys changed');
    }).catch((err: unknown) => logger.error({ err }, 'refreshing the signing keys failed (the keys in service stay)'));
  }, config.KEY_REFRESH_INTERVAL * 1000);
  keyRefresher.unref();

  return {
    config, logger, viewsDir, store, cipher, keyRing, accounts, clients, resources, providers, ledger, metrics, render, loginStep, consentStep, federation,
    audit, mailer, accountMail, passwordPolicy, signOutEverywhere, secondFactorThrottle, tokenEndpointLockouts, lifecycle,
    factors: { totp, webauthn, recoveryCodes, policy: mfaPolicy, account: accountFactors }, mfaStep, webAuthnStep, accountPages,
    async close() {
      clearInterval(sweeper);
      clearInterval(keyRefresher);
      await mailer.drain();
      transport.close();
      await store.close();
    },
  };
}
