/**
 * new Provider(issuer, configuration): every protocol decision lives here, each with the reason.
 * Nothing reaches into oidc-provider's internals; gaps between its defaults and the specs are closed
 * by configuration here or at the edge (authorization-post.ts, structured-token-endpoints.ts, protocol-edge.ts).
 */
import { Provider, type ClientMetadata, type Configuration, type FindAccount, type KoaContextWithOIDC } from 'oidc-provider';
import type { JWK } from 'jose';
import type { Config } from '../config/schema.js';
import type { ResourceRecord } from '../../adapters/contract.js';
import { OIDC_SCOPES, SCOPE_CLAIMS } from './claims.js';
import { createInteractionPolicy, type PolicyDeps } from './policy.js';
import { ACR } from '../assurance/acr-amr.js';
import { LOCALES } from '../i18n/locale-list.js';
import { assertClaimsParameter } from './claims-parameter.js';
import type { ProviderPages } from './provider-pages.js';
import type { JwtAccessTokenLedger } from './jwt-access-token-ledger.js';
import { createResourceServerInfo } from './resource-server-info.js';
import { createClientCredentialsTarget, isClientCredentialsRequest } from './client-credentials-target.js';
import { defaultResourceClientMetadata } from './default-resource-metadata.js';
import { createOutboundFetch } from './outbound-fetch.js';
import { combineClientMetadata, type ClientMetadataPart } from './client-metadata.js';
import { createPairwiseIdentifier } from './pairwise-subject.js';
import { applyProxyTrust } from '../http/client-ip.js';
import { ipRangeCheck } from '../http/ip-ranges.js';
import { basePathOf } from '../http/base-path.js';
import { introspectionClientMetadata, mayIntrospect } from './introspection-rights.js';
import type { JwtAccessTokenVerifier } from './jwt-access-token-verifier.js';
import { createTokenExchange, tokenExchangeClientMetadata } from './token-exchange.js';
import type { PersonPermissions } from './person-permissions.js';

const pairwiseOffered = (config: { NODE_ENV: string; PAIRWISE_SALT: string }) => config.PAIRWISE_SALT !== '' || config.NODE_ENV !== 'production';

export type ProviderDeps = {
  config: Config;
  adapter: NonNullable<Configuration['adapter']>;
  findAccount: FindAccount;
  /** the person a request acts for and what their roles allow, read once per request */
  person: PersonPermissions;
  signingJwks: JWK[];
  findResource(identifier: string): Promise<ResourceRecord | undefined>;
  listResources(): Promise<ResourceRecord[]>;
  registeredScope(clientId: string): Promise<Set<string>>;
  pages: ProviderPages;
  ledger: JwtAccessTokenLedger;
  /** reads our JWT access tokens back (token exchange's subject and actor tokens) */
  accessTokenVerifier: JwtAccessTokenVerifier;
  /** how strong a sign-in must be for a request (the `mfa` prompt) */
  mfaRequirement: PolicyDeps['requirement'];
  /** prompts after the second factor, before consent (lifecycle: update_password, verify_email) */
  promptsAfterMfa?: PolicyDeps['afterMfa'];
  /** Gatehouse's own client metadata properties, by feature (MFA's `gatehouse_require_mfa`, the lifecycle's flags) */
  clientMetadata?: ClientMetadataPart[];
  /** clients defined in code rather than registered (the account pages' first-party client) */
  staticClients?: ClientMetadata[];
  /** oidc-provider's `loadExistingGrant` (the account pages pre-consent their own client) */
  loadExistingGrant?: Configuration['loadExistingGrant'];
};

export function createProvider(deps: ProviderDeps): Provider {
  const { config, pages } = deps;
  // ISSUER with a path (http/base-path.ts): the session cookie is scoped to it, and the interaction page is
  // named by its absolute URL, whose path oidc-provider also gives the interaction cookie
  const base = basePathOf(config.ISSUER);
  const clientCredentials = createClientCredentialsTarget({ listResources: deps.listResources, registeredScope: deps.registeredScope, oidcScopes: OIDC_SCOPES });
  // RFC 8693, for clients with a gatehouse_token_exchange policy (token-exchange.ts)
  const tokenExchange = createTokenExchange({
    verifier: deps.accessTokenVerifier,
    findResource: deps.findResource,
    registeredScope: deps.registeredScope,
    defaultAccessTokenTtl: config.ACCESS_TOKEN_TTL,
    narrowToPerson: deps.person.narrow,
  });
  const configuration: Configuration = {
    adapter: deps.adapter,
    clients: deps.staticClients ?? [],
    ...(deps.loadExistingGrant ? { loadExistingGrant: deps.loadExistingGrant } : {}),
    // `gatehouse_require_mfa: true` in a client's metadata makes its sign-ins use a second factor
    findAccount: deps.findAccount,
    jwks: { keys: deps.signingJwks as NonNullable<Configuration['jwks']>['keys'] },
    claims: SCOPE_CLAIMS,
    // Core §5.4 lets scope-requested claims go in the ID token too; relying parties expect profile/email there.
    conformIdTokenClaims: false,
    acrValues: Object.values(ACR),
    // Core §8: `subject_type` is each client's choice; public is the default, pairwise is derived in
    // pairwise-subject.ts. In production pairwise needs PAIRWISE_SALT (never the development constant):
    // without it only public subjects are offered, so an upgrade needs no new secret until it is wanted.
    ...(pairwiseOffered(config)
      ? { subjectTypes: ['public', 'pairwise'], pairwiseIdentifier: createPairwiseIdentifier(config.PAIRWISE_SALT) }
      : { subjectTypes: ['public'] }),
    // 'none' only for the account client, which needs the session and nothing issued
    responseTypes: ['code', 'none'],
    // OAuth 2.0 Security BCP (RFC 9700 §2.1.1): PKCE for every client, and only S256.
    pkce: { required: () => true },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    extraClientMetadata: combineClientMetadata([...(deps.clientMetadata ?? []), defaultResourceClientMetadata, introspectionClientMetadata, tokenExchangeClientMetadata]),
    clientDefaults: { grant_types: ['authorization_code', 'refresh_token'], id_token_signed_response_alg: 'RS256', response_types: ['code'] },
    // RFC 9700 §4.14.2: rotate refresh tokens; oidc-provider revokes the grant when a rotated one comes back.
    rotateRefreshToken: true,
    cookies: {
      keys: config.COOKIE_KEYS,
      long: { httpOnly: true, sameSite: 'lax', signed: true, ...(base ? { path: base } : {}) },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },
    // OpenID Connect Discovery 1.0 §3: the languages of the hosted pages, which ui_locales chooses from
    // (i18n/choose-locale.ts); oidc-provider adds `discovery` to its document as given
    discovery: { claim_types_supported: ['normal'], ui_locales_supported: [...LOCALES] },
    interactions: {
      policy: createInteractionPolicy({
        requirement: deps.mfaRequirement, afterMfa: deps.promptsAfterMfa,
        ...(config.SIGN_IN_ALLOWED_IP_RANGES.length ? { signInAllowedFrom: ipRangeCheck(config.SIGN_IN_ALLOWED_IP_RANGES) } : {}),
      }),
      // under a base path an absolute URL: a path would get the base a second time from our redirect (http/base-path.ts)
      url: (_ctx, interaction) => (base ? `${new URL(config.ISSUER).origin}${base}/interaction/${interaction.uid}` : `/interaction/${interaction.uid}`),
    },
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? config.ACCESS_TOKEN_TTL,
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? config.ACCESS_TOKEN_TTL,
      AuthorizationCode: config.AUTHORIZATION_CODE_TTL,
      IdToken: config.ID_TOKEN_TTL,
      RefreshToken: config.REFRESH_TOKEN_TTL,
      Grant: config.REFRESH_TOKEN_TTL,
      // saved again on every request that uses it: an absolute lifetime from the sign-in (SESSION_TTL),
      // and with SESSION_IDLE_TIMEOUT one that each use renews
      Session: (_ctx, session) => sessionTtl(config, session.loginTs, Math.floor(Date.now() / 1000)),
      Interaction: config.INTERACTION_TTL,
      DeviceCode: 600,
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // RFC 7662 §2.1, §4: only tokens issued to the caller, or for an API it serves (introspection-rights.ts)
        allowedPolicy: async (_ctx, client, token) =>
          mayIntrospect(client, { clientId: token.clientId, aud: audienceOf(token) }),
      },
      // RFC 7009 §2.1: the server "verifies whether the token was issued to the client making the revocation request"
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      userinfo: { enabled: true },
      // OIDC Core §5.5: the `claims` request parameter; an essential acr drives the mfa prompt (policy.ts)
      claimsParameter: { enabled: true, assertClaimsParameter },
      rpInitiatedLogout: { enabled: true, logoutSource: pages.logoutSource, postLogoutSuccessSource: pages.postLogoutSuccessSource },
      backchannelLogout: { enabled: true },
      deviceFlow: {
        enabled: true,
        userCodeInputSource: pages.userCodeInputSource,
        userCodeConfirmSource: pages.userCodeConfirmSource,
        successSource: pages.deviceSuccessSource,
      },
      // RFC 7591 / 7592, off unless DYNAMIC_REGISTRATION: registering needs an initial access token the
      // operator created (`gatehouse clients initial-token create`); the registration access token it returns
      // reads, updates and deletes that one registration and is replaced on every update. Clients are stored
      // through the adapter's Client model, i.e. the client registry (secrets encrypted, the registry's rules).
      registration: { enabled: config.DYNAMIC_REGISTRATION, initialAccessToken: true, issueRegistrationAccessToken: true },
      registrationManagement: { enabled: config.DYNAMIC_REGISTRATION, rotateRegistrationAccessToken: true },
      dPoP: { enabled: true },
      pushedAuthorizationRequests: { enabled: true },
      requestObjects: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // client_credentials: the client's default API or the one API defining the scopes (client-credentials-target.ts)
        defaultResource: async (ctx, client, oneOf) =>
          oneOf === undefined && isClientCredentialsRequest(ctx) ? clientCredentials.defaultResource(ctx, client as never) : oneOf,
        useGrantedResource: async () => false,
        getResourceServerInfo: createResourceServerInfo({
          findResource: deps.person.findResource, registeredScope: deps.registeredScope, clientCredentials, narrowToPerson: deps.person.narrow,
        }),
      },
    },
    formats: {
      // RFC 9068 tokens are not stored by oidc-provider; the ledger remembers their jti and grant so
      // introspection and revocation can answer for them (structured-token-endpoints.ts).
      customizers: { jwt: async (_ctx, token, parts) => deps.ledger.record(token, parts) },
    },
    // RFC 8693 §4.1: the `act` claim of an exchanged token; and an API's opt-in `roles` / `permissions`
    // claims of a person's token (ResourceRecord.tokenClaims)
    extraTokenClaims: async (ctx, token) => {
      const t = token as { accountId?: string; resourceServer?: { audience?: string } };
      const roleClaims = await deps.person.tokenClaims(ctx, t.accountId, t.resourceServer?.audience);
      const act = tokenExchange.extraTokenClaims(token);
      return roleClaims || act ? { ...roleClaims, ...act } : undefined;
    },
    renderError: pages.renderError,
    fetch: createOutboundFetch(config.OUTBOUND_PRIVATE_HOSTS),
  };
  const provider = new Provider(config.ISSUER, configuration);
  // the same proxy trust as the app (src/http/client-ip.ts), for the contexts oidc-provider builds itself
  applyProxyTrust(provider, { trustProxy: config.TRUST_PROXY, hops: config.TRUST_PROXY_HOPS });
  tokenExchange.register(provider);
  return provider;
}

/** An opaque token's audience: its `aud`, or the API it was issued for (RFC 8707). */
function audienceOf(token: object): unknown {
  const t = token as { aud?: unknown; resourceServer?: { audience?: unknown } };
  return t.aud ?? t.resourceServer?.audience;
}

export type { KoaContextWithOIDC };

/**
 * Seconds a session is kept from now: what is left of SESSION_TTL since the sign-in (`loginTs`), or less,
 * SESSION_IDLE_TIMEOUT, when that is set. At least 1 (oidc-provider wants a positive TTL): a session past
 * its lifetime is gone a second later, and the next request signs in again.
 */
export function sessionTtl(config: Pick<Config, 'SESSION_TTL' | 'SESSION_IDLE_TIMEOUT'>, loginTs: number | undefined, now: number): number {
  const left = loginTs === undefined ? config.SESSION_TTL : config.SESSION_TTL - (now - loginTs);
  return Math.max(1, Math.min(left, config.SESSION_IDLE_TIMEOUT || Infinity));
}
