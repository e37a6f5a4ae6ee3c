/**
 * The provider: oidc-provider configured (src/oidc/provider.ts) with everything it reads passed in, inside
 * the host that rebuilds it when the signing keys change, with the audit, metrics and logging of its events.
 */
import type { JWK } from 'jose';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Store } from '../../adapters/contract.js';
import type { Renderer } from '../http/render.js';
import type { AuditLog } from '../audit/audit-log.js';
import { auditProviderEvents } from '../audit/provider-events.js';
import { recordSignIns } from '../oidc/last-sign-in.js';
import type { AccountService } from '../accounts/accounts.js';
import { mfaClientMetadata, type MfaPolicy } from '../factors/mfa-policy.js';
import { createAdapterClass } from '../oidc/adapter.js';
import { createFindAccount } from '../oidc/find-account.js';
import { createUpstreamAcrs } from '../federation/oidc/upstream-acr.js';
import { createPersonPermissions } from '../oidc/person-permissions.js';
import { createProvider } from '../oidc/provider.js';
import { createProviderHost, type ProviderHost } from '../oidc/provider-host.js';
import { createProviderPages } from '../oidc/provider-pages.js';
import { createJwtAccessTokenLedger, type JwtAccessTokenLedger } from '../oidc/jwt-access-token-ledger.js';
import { createJwtAccessTokenVerifier, type JwtAccessTokenVerifier } from '../oidc/jwt-access-token-verifier.js';
import { createLifecyclePrompts } from '../lifecycle/prompts.js';
import { lifecycleClientMetadata } from '../lifecycle/client-metadata.js';
import { accountClientMetadata, loadExistingGrant } from '../account-pages/account-client.js';
import { consoleClientMetadata, withConsoleGrant } from '../console/console-client.js';
import type { Accounts } from './build-accounts.js';
import type { Registries } from './build-clients.js';

export type ProviderBundle = { providers: ProviderHost; ledger: JwtAccessTokenLedger; accessTokenVerifier: JwtAccessTokenVerifier };

export function buildProvider(deps: {
  config: Config;
  logger: Logger;
  store: Store;
  signingJwks: JWK[];
  registries: Registries;
  accounts: Pick<AccountService, 'findById' | 'passwordExpired' | 'recordSignIn'>;
  withAllRoles: Accounts['withAllRoles'];
  permissionsOf: Accounts['permissionsOf'];
  mfaPolicy: Pick<MfaPolicy, 'fromContext'>;
  audit: AuditLog;
  render: Renderer;
  /** a token endpoint success, by grant type (the server's metrics) */
  onTokenIssued?(grantType: string): void;
  /** a sign-in completed in a browser session (the concurrent-session cap) */
  onSignIn?(accountId: string, sessionUid: string): Promise<unknown>;
}): ProviderBundle {
  const { config, logger, store, audit, accounts } = deps;
  const { clients, resources } = deps.registries;
  const ledger = createJwtAccessTokenLedger({ oidc: store.oidc });
  const pages = createProviderPages({ render: deps.render, logger });
  const adapter = createAdapterClass({ oidc: store.oidc, clients });
  // the published keys are read when a token is checked, from the host built just below
  const accessTokenVerifier = createJwtAccessTokenVerifier({
    issuer: config.ISSUER,
    publicJwks: () => providers.publicJwks(),
    ledger,
    grantExists: async (grantId) => !!(await store.oidc.find('Grant', grantId)),
    clientExists: async (clientId) => !!(await store.clients.find(clientId)),
  });
  const person = createPersonPermissions({ withAllRoles: deps.withAllRoles, permissionsOf: deps.permissionsOf, findResource: resources.find });
  const upstreamAcrs = createUpstreamAcrs({ records: store.records });
  const findAccount = createFindAccount({ account: person.account, idTokenClaims: (token) => upstreamAcrs.idTokenClaims(token) });
  const providers = createProviderHost((jwks: JWK[]) => {
    const provider = createProvider({
      config, adapter, findAccount, person, signingJwks: jwks, findResource: resources.find, listResources: resources.list, registeredScope: clients.registeredScope, pages, ledger, accessTokenVerifier,
      mfaRequirement: (ctx) => deps.mfaPolicy.fromContext(ctx),
      promptsAfterMfa: createLifecyclePrompts({ findAccount: accounts.findById, passwordExpired: accounts.passwordExpired }),
      clientMetadata: [mfaClientMetadata, lifecycleClientMetadata],
      // the account pages' own first-party client, consented by construction (src/account-pages/account-client.ts)
      staticClients: [accountClientMetadata(config.ISSUER, config.BRAND_NAME), ...(config.CONSOLE_ENABLED ? [consoleClientMetadata(config.ISSUER, config.BRAND_NAME)] : [])],
      // and the console's, when it is on (src/console/console-client.ts)
      loadExistingGrant: withConsoleGrant(loadExistingGrant) as typeof loadExistingGrant,
    });
    auditProviderEvents(provider, audit);
    recordSignIns(provider, accounts, (err) => logger.warn({ err }, 'dating a sign-in failed'), audit, deps.onSignIn);
    provider.on('grant.success', (ctx) => deps.onTokenIssued?.(String(ctx.oidc.params?.grant_type ?? 'unknown')));
    provider.on('server_error', (ctx, err) => logger.error({ err, reqId: ctx.state?.requestId }, 'oidc-provider server_error'));
    // a relying party that did not get its logout token is still signed in there: the operator must hear of it
    provider.on('backchannel.error', (ctx, err, client) =>
      logger.warn({ reqId: ctx.state?.requestId, clientId: client.clientId, err: err.message }, 'back-channel logout not delivered'));
    return provider;
  }, deps.signingJwks);
  return { providers, ledger, accessTokenVerifier };
}
