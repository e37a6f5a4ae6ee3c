/**
 * Builds upstream federation from FEDERATION_FILE: directories, IdPs, home-realm discovery, just-in-time
 * accounts, the SAML endpoints, the federated sign-in step and the login page's view of it. Part of the
 * composition root: federation/ itself knows nothing of the pages that use it.
 */
import type { Logger } from 'pino';
import * as samlify from 'samlify';
import type { Store } from '../../adapters/contract.js';
import type { Renderer } from '../http/render.js';
import type { AuditLog } from '../audit/audit-log.js';
import { createQuota } from '../protection/lockout.js';
import { keyedByIp } from '../http/client-ip.js';
import type { LoginFederation } from '../interactions/login.js';
import { createFederatedStep, type FederatedStep } from '../interactions/federated.js';
import type { FederationConfig } from '../config/federation/federation-file.js';
import { createFederatedAccounts } from '../federation/federated-accounts.js';
import { createHomeRealms } from '../federation/home-realm.js';
import { createLdapDirectory } from '../federation/ldap/ldap-directory.js';
import { createDirectoryLogin } from '../federation/ldap/directory-login.js';
import { createSamlSchemaValidator } from '../federation/saml/schema-validator.js';
import { loadSamlProviders } from '../federation/saml/saml-providers.js';
import { createSamlLogins } from '../federation/saml/saml-logins.js';
import { createSamlRouter } from '../federation/saml/saml-routes.js';
import { createSamlLogout } from '../federation/saml/saml-logout.js';
import type { SignOutEverywhere } from '../accounts/sign-out-everywhere.js';
import { createMetadataRefresher, type MetadataRefresher } from '../federation/saml/metadata-refresh.js';
import type { Middleware } from 'koa';
import { createSamlSessions } from '../federation/saml/saml-sessions.js';
import { createSpLogout } from '../federation/saml/sp-logout.js';
import { singleLogoutHooks } from '../federation/saml/single-logout-hooks.js';
import type { AccountRecord } from '../../adapters/contract.js';
import type { LoginThrottle } from '../accounts/login-throttle.js';
import type { WebAuthnService } from '../factors/webauthn.js';
import { createUpstreamFetch } from '../federation/oidc/upstream-fetch.js';
import { createUpstream } from '../federation/oidc/upstream-clients.js';
import { createOidcLogins } from '../federation/oidc/oidc-logins.js';
import { createOidcRouter } from '../federation/oidc/oidc-routes.js';
import { createOidcSessions } from '../federation/oidc/oidc-sessions.js';
import { upstreamLogoutHooks } from '../federation/oidc/upstream-logout-hooks.js';
import { createUpstreamAcrs } from '../federation/oidc/upstream-acr.js';
import { upstreamAcrHooks } from '../federation/oidc/upstream-acr-hooks.js';

export type Federation = {
  login: LoginFederation;
  step: FederatedStep;
  samlRouter: ReturnType<typeof createSamlRouter>;
  /** refreshes URL-sourced IdP metadata; the holder (federation-holder.ts) runs its timer once the server's jobs start it */
  metadata: MetadataRefresher;
  /** around oidc-provider's routes: SAML and OIDC upstream logout (singleLogout), upstream_acr (trustUpstreamAuthContext) */
  providerHooks?: Middleware;
  /** the callbacks of OpenID Connect / OAuth 2.0 upstreams; only when the file has some */
  oidcRouter?: ReturnType<typeof createOidcRouter>;
  /** loads what provider `id` needs from its upstream now rather than at its first sign-in (an OIDC issuer's discovery) */
  probe(id: string): Promise<void>;
};

export async function buildFederation(deps: {
  config: FederationConfig;
  issuer: string;
  store: Store;
  logger: Logger;
  render: Renderer;
  audit: AuditLog;
  /** what an IdP's LogoutRequest ends the account's sessions with (and tells their apps) */
  signOutEverywhere: SignOutEverywhere;
  /** OUTBOUND_PRIVATE_HOSTS: upstreams on loopback or private addresses the SSRF guard lets through */
  outboundPrivateHosts?: readonly string[];
  /** the local password that proves an account before an upstream identity is linked to it */
  checkPassword?(email: string, password: string): Promise<{ account?: AccountRecord }>;
  loginThrottle?: LoginThrottle;
  /** the local account's passkeys, the other proof before a link */
  passkeys?: Pick<WebAuthnService, 'list' | 'authenticationOptions' | 'verifyAuthentication'>;
}): Promise<Federation> {
  const { config, store, logger } = deps;
  // samlify keeps its schema validator in module state and refuses every message until one is set; this
  // is the one place that sets it, always to the same real validator.
  const schema = createSamlSchemaValidator();
  samlify.setSchemaValidator(schema);

  const accounts = createFederatedAccounts({ accounts: store.accounts, federation: store.federation, domainOwners: config.domainOwners, logger, audit: deps.audit });
  const realms = createHomeRealms([
    ...config.ldap.map((d) => ({ kind: 'ldap' as const, id: d.id, domains: d.domains })),
    ...config.saml.idps.map((i) => ({ kind: 'saml' as const, id: i.id, domains: i.domains })),
    ...config.oidc.providers.map((p) => ({ kind: 'oidc' as const, id: p.id, domains: p.domains })),
  ]);
  const upstreamFetch = createUpstreamFetch(deps.outboundPrivateHosts ?? []);
  const oidcLogins = config.oidc.providers.length && deps.checkPassword && deps.loginThrottle
    ? createOidcLogins({
      upstreams: config.oidc.providers.map((p) => createUpstream(p, { fetch: upstreamFetch, redirectUri: `${deps.issuer}/federation/oidc/${p.id}/callback` })),
      fetch: upstreamFetch, records: store.records, stateTtlSeconds: config.oidc.stateTtlSeconds,
    })
    : undefined;
  const directoryLogin = createDirectoryLogin({
    directories: config.ldap.map((d) => createLdapDirectory(d, { logger })),
    order: config.ldapOrder,
    realms,
    accounts,
    logger,
  });
  const samlProviders = await loadSamlProviders(config.saml, deps.issuer);
  const saml = createSamlLogins({
    providers: samlProviders,
    records: store.records,
    clockSkewSeconds: config.saml.clockSkewSeconds,
    requestTtlSeconds: config.saml.requestTtlSeconds,
  });
  const sessions = createSamlSessions({ records: store.records, singleLogout: (id) => saml.get(id)?.config.singleLogout === true });
  const spLogout = createSpLogout({
    provider: (id) => saml.get(id), records: store.records, schema,
    clockSkewSeconds: config.saml.clockSkewSeconds, requestTtlSeconds: config.saml.requestTtlSeconds,
  });
  const singleLogout = config.saml.idps.some((i) => i.singleLogout);
  const oidcLogout = oidcLogins && config.oidc.providers.some((p) => p.singleLogout);
  const oidcSessions = createOidcSessions({ records: store.records, singleLogout: (id) => config.oidc.providers.some((p) => p.id === id && p.singleLogout) });
  const samlHooks = singleLogout ? singleLogoutHooks({ sessions, spLogout, render: deps.render, logger, audit: deps.audit, issuer: deps.issuer }) : undefined;
  const oidcHooks = oidcLogout ? upstreamLogoutHooks({ logins: oidcLogins, sessions: oidcSessions, logger, audit: deps.audit, issuer: deps.issuer }) : undefined;
  // upstream_acr in the ID token (federation/oidc/upstream-acr.ts), for providers that trust the upstream's context
  const trustedAcr = oidcLogins && config.oidc.providers.some((p) => p.trustUpstreamAuthContext);
  const upstreamAcrs = createUpstreamAcrs({ records: store.records });
  const acrHooks = trustedAcr ? upstreamAcrHooks({ acrs: upstreamAcrs, logger, issuer: deps.issuer }) : undefined;
  const hooks = [samlHooks, oidcHooks, acrHooks].filter((h): h is Middleware => h !== undefined);
  const step = createFederatedStep({
    saml, accounts, render: deps.render, ...(singleLogout ? { sessions } : {}),
    ...(oidcLogins ? {
      oidc: {
        logins: oidcLogins, records: store.records, federation: store.federation, audit: deps.audit,
        findAccountByEmail: (email: string) => store.accounts.findByEmail(email), checkPassword: deps.checkPassword!, throttle: deps.loginThrottle!,
        ...(deps.passkeys ? { passkeys: deps.passkeys } : {}),
        ...(oidcLogout ? { sessions: oidcSessions } : {}),
        ...(trustedAcr ? { upstreamAcrs } : {}),
      },
    } : {}),
  });
  return {
    step,
    async probe(id) {
      await oidcLogins?.get(id)?.metadata();
    },
    metadata: createMetadataRefresher({ providers: samlProviders, settings: config.saml, issuer: deps.issuer, logger }),
    ...(oidcLogins ? {
      oidcRouter: createOidcRouter({
        logins: oidcLogins, logger, audit: deps.audit,
        callbackQuota: keyedByIp(createQuota(store.rateLimiter({ keyPrefix: 'oidc-callback-ip', points: 60, duration: 60, blockDuration: 0 }))),
        ...(oidcLogout ? { logoutReturn: (state: string) => oidcSessions.takeReturn(state) } : {}),
      }),
    } : {}),
    // SAML's hooks run around the OIDC upstreams' (a session came from one of them at most), then upstream_acr's
    ...(hooks.length ? { providerHooks: hooks.reduceRight((inner: Middleware, outer: Middleware): Middleware => (ctx, next) => outer(ctx, () => inner(ctx, next))) } : {}),
    samlRouter: createSamlRouter({
      saml, logger, audit: deps.audit, render: deps.render, spLogout,
      logout: createSamlLogout({
        provider: (id) => saml.get(id), records: store.records, federation: store.federation,
        signOutEverywhere: deps.signOutEverywhere, schema, clockSkewSeconds: config.saml.clockSkewSeconds,
      }),
      // in the shared store like every other limiter, so the quota holds across replicas
      acsQuota: keyedByIp(createQuota(store.rateLimiter({ keyPrefix: 'saml-acs-ip', points: config.saml.acsRequestsPerMinute, duration: 60, blockDuration: 0 }))),
    }),
    login: {
      buttons: step.buttons,
      get formActionOrigins() {
        return step.formActionOrigins;
      },
      idpFor(login) {
        const realm = realms.discover(login);
        return realm.kind === 'saml' || realm.kind === 'oidc' ? realm.id : undefined;
      },
      startSso: (ctx, interaction, idpId) => step.start(ctx, interaction, idpId),
      subjectOf: (login) => directoryLogin.subjectOf(login),
      checkPassword: (login, password, local) => directoryLogin.checkPassword(login, password, local),
    },
  };
}
