/**
 * The pages: the interaction steps (login, consent, second factor, passkey), the lifecycle pages
 * (registration, verification, password reset) and the /account pages, each given everything it uses,
 * so create-app.ts only mounts them.
 */
import type { Context, Next } from 'koa';
import type { Config } from '../config/schema.js';
import type { Store } from '../../adapters/contract.js';
import type { Renderer } from '../http/render.js';
import { csrfProtection } from '../http/csrf.js';
import { basePathOf, cookiePath } from '../http/base-path.js';
import { createInteractionLocale, type InteractionLocale } from '../i18n/interaction-locale.js';
import type { ProviderHost } from '../oidc/provider-host.js';
import { createInteractionLoader } from '../oidc/interaction.js';
import type { ResourceRegistry } from '../clients/resource-registry.js';
import { createRegistration } from '../accounts/registration.js';
import { createPasswordReset } from '../accounts/password-reset.js';
import { createLoginStep, type LoginStep } from '../interactions/login.js';
import { createConsentStep, type ConsentStep } from '../interactions/consent.js';
import { createMfaStep, type MfaStep } from '../interactions/mfa-step.js';
import { createWebAuthnStep, type WebAuthnStep } from '../interactions/mfa-webauthn.js';
import { registrationAllowed } from '../lifecycle/registration-routes.js';
import type { LifecycleDeps } from '../lifecycle/router.js';
import { createAccountAuth } from '../account-pages/account-auth.js';
import type { SessionsAndApps } from '../oidc/sessions-and-apps.js';
import type { AccountPagesDeps } from '../account-pages/router.js';
import type { Metrics } from './metrics.js';
import type { Accounts } from './build-accounts.js';
import type { AccountLifecycle } from '../accounts/account-lifecycle.js';
import { createEmailChange } from '../accounts/email-change.js';
import type { Factors } from './build-factors.js';
import type { Protection } from './build-protection.js';
import type { SignOut } from './build-sign-out.js';
import { sessionsEndedEvent } from '../accounts/sign-out-everywhere.js';
import type { FederationHolder } from './federation-holder.js';

export type Pages = {
  csrf: (ctx: Context, next: Next) => Promise<void>;
  loginStep: LoginStep;
  consentStep: ConsentStep;
  mfaStep: MfaStep;
  webAuthnStep: WebAuthnStep;
  lifecycle: LifecycleDeps;
  accountPages: AccountPagesDeps;
  /** the locale of an interaction's pages: ui_locales, the person's saved preference (i18n/) */
  interactionLocale: InteractionLocale;
};

export function buildPages(deps: {
  config: Config;
  store: Store;
  render: Renderer;
  providers: ProviderHost;
  resources: Pick<ResourceRegistry, 'find'>;
  accounts: Accounts;
  factors: Factors;
  protection: Protection;
  signOut: SignOut;
  metrics: Metrics;
  federation: FederationHolder;
  accountLifecycle: AccountLifecycle;
  sessionsAndApps: SessionsAndApps;
}): Pages {
  const { config, render, providers, factors, protection, metrics, federation } = deps;
  const { accounts, audit, accountMail, verification, accountTokens } = deps.accounts;
  const { signOutEverywhere } = deps.signOut;
  const secure = config.ISSUER.startsWith('https://');
  const csrf = csrfProtection({ secret: config.COOKIE_KEYS[0] as string, secure, basePath: basePathOf(config.ISSUER) });
  const interactionLocale = createInteractionLocale({
    locales: deps.accounts.locales,
    fallback: config.DEFAULT_LOCALE,
    accountLocale: async (id) => (await accounts.findById(id))?.locale,
    secure,
    cookiePath: cookiePath(basePathOf(config.ISSUER), '/'),
  });

  const loginStep = createLoginStep({
    providers,
    render,
    accounts,
    throttle: protection.loginThrottle,
    onResult: (result) => metrics.logins.inc({ result }),
    // read per request: the default tenant's federation is swapped when its providers change (federation-holder.ts)
    get federation() {
      return federation.current?.login;
    },
    audit,
    links: async (interaction) => {
      const client = await providers.current.Client.find(String(interaction.params.client_id));
      return {
        forgot: `/password/forgot?interaction=${interaction.uid}`,
        register: registrationAllowed({ registrationEnabled: config.REGISTRATION_ENABLED }, client) ? `/interaction/${interaction.uid}/register` : null,
      };
    },
  });
  const mfaStep = createMfaStep({
    providers, render, findAccount: accounts.findById, totp: factors.totp, recoveryCodes: factors.recoveryCodes, factors: factors.account,
    throttle: protection.secondFactorThrottle,
    onResult: (result) => metrics.secondFactors.inc({ method: 'code', result }),
  });
  const maySignIn = async (accountId: string) => (await accounts.findById(accountId))?.disabledAt === null;
  const webAuthnStep = createWebAuthnStep({ webauthn: factors.webauthn, mfa: mfaStep, maySignIn, onResult: (result) => metrics.secondFactors.inc({ method: 'webauthn', result }) });
  const consentStep = createConsentStep({ providers, render, findAccount: accounts.findById, findResource: deps.resources.find });

  const accountPages: AccountPagesDeps = {
    render,
    csrf,
    auth: createAccountAuth({
      issuer: config.ISSUER,
      secure,
      providers,
      // a session that outlived a disable (it raced the sign-out) opens no account page
      findAccount: async (id: string) => {
        const account = await accounts.findById(id);
        return account?.disabledAt === null ? account : undefined;
      },
      accountRequirement: factors.policy.accountRequirement,
      reauthMaxAge: config.ACCOUNT_REAUTH_MAX_AGE,
    }),
    accounts,
    passwordThrottle: protection.loginThrottle,
    sessionsAndApps: deps.sessionsAndApps,
    selfService: {
      emailChange: createEmailChange({
        issuer: config.ISSUER, ttlSeconds: config.EMAIL_VERIFICATION_TTL, tokens: accountTokens, accounts, lifecycle: deps.accountLifecycle,
        mail: accountMail, audit, mayMail: protection.mayMail,
      }),
      lifecycle: deps.accountLifecycle,
      audit,
    },
    totp: factors.totp, webauthn: factors.webauthn, recoveryCodes: factors.recoveryCodes, factors: factors.account,
    secondFactorThrottle: protection.secondFactorThrottle,
    // listed even without a federation file (an empty list), so the account navigation is always right
    linked: { federation: deps.store.federation, audit, providerName: (id: string) => federation.current?.login.buttons.find((b) => b.id === id)?.name ?? id },
    async onPasswordChanged(account, ctx, signedOut) {
      accountMail.passwordChanged(account, 'changed', `${config.ISSUER}/password/forgot`);
      const ended = signedOut && sessionsEndedEvent(account.id, 'password_changed', signedOut);
      if (ended) await audit.record(ended, ctx);
    },
  };

  const later = deps.accounts.mailer.later;
  const { mayMail } = protection;
  const lifecycle: LifecycleDeps = {
    issuer: config.ISSUER,
    secureCookies: secure,
    registrationEnabled: config.REGISTRATION_ENABLED,
    termsUrl: config.REGISTRATION_TERMS_URL,
    interactionTtlSeconds: config.INTERACTION_TTL,
    providers,
    render,
    csrf,
    loadInteraction: createInteractionLoader(providers, interactionLocale),
    accounts,
    policy: deps.accounts.passwordPolicy,
    verification,
    registration: createRegistration({ issuer: config.ISSUER, accounts, verification, mail: accountMail, audit, later, mayMail, emailDomains: config.REGISTRATION_EMAIL_DOMAINS }),
    reset: createPasswordReset({
      issuer: config.ISSUER, ttlSeconds: config.PASSWORD_RESET_TTL, tokens: accountTokens, accounts, signOutEverywhere, mail: accountMail, audit, later, mayMail,
    }),
    mail: accountMail,
    audit,
    limits: { registrationPerIp: protection.registrationPerIp, emailPerIp: protection.emailPerIp },
  };
  return { csrf, loginStep, consentStep, mfaStep, webAuthnStep, lifecycle, accountPages, interactionLocale };
}
