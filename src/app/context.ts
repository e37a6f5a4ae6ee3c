/**
 * The one place that builds things: store, keys, services, provider and interaction steps. Everything
 * else receives what it uses from here (STYLE.md: wire once, pass in).
 */
import type { JWK } from 'jose';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Store } from '../../adapters/contract.js';
import { openStore } from '../../adapters/index.js';
import { createAtRestCipher, type AtRestCipher } from '../keys/at-rest-cipher.js';
import { loadOrCreateDevEncryptionKey } from '../keys/dev-encryption-key.js';
import { loadSigningJwks } from '../keys/keystore.js';
import { createPasswordHasher } from '../accounts/passwords.js';
import { createAccountService, type AccountService } from '../accounts/accounts.js';
import { createLoginThrottle } from '../accounts/login-throttle.js';
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
import { buildFederation, type Federation } from '../federation/federation-context.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createRenderer, type Renderer } from './render.js';

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
  ledger: JwtAccessTokenLedger;
  metrics: Metrics;
  render: Renderer;
  loginStep: LoginStep;
  consentStep: ConsentStep;
  /** upstream LDAP directories and SAML IdPs, when FEDERATION_FILE configures them */
  federation: Federation | undefined;
  close(): Promise<void>;
};

export type ContextOptions = { config: Config; logger: Logger; viewsDir: string; keysDir: string };

export async function buildContext(o: ContextOptions): Promise<AppContext> {
  const { config, logger } = o;
  const store = await openStore(config.DATABASE_URL);
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
  const signingJwks = await loadSigningJwks(store.signingKeys, cipher);

  const accounts = createAccountService({ accounts: store.accounts, passwords: createPasswordHasher(config.BCRYPT_COST) });
  const resources = createResourceRegistry({ resources: store.resources });
  const ledger = createJwtAccessTokenLedger({ oidc: store.oidc });
  const metrics = createMetrics();
  const render = createRenderer({
    viewsDir,
    branding: {
      name: config.BRAND_NAME,
      logoUrl: config.BRAND_LOGO_URL,
      primaryColor: config.BRAND_PRIMARY_COLOR,
      backgroundColor: config.BRAND_BACKGROUND_COLOR,
    },
  });

  // The client registry validates metadata with the provider, and the provider reads clients through
  // the registry: the validator reads the provider in service when it runs.
  let providers: ProviderHost | undefined;
  const clients = createClientRegistry({
    clients: store.clients,
    cipher,
    validate: async (metadata) => {
      await (providers as ProviderHost).current.Client.validate(metadata as never);
    },
  });
  const pages = createProviderPages({ render, logger });
  const adapter = createAdapterClass({ oidc: store.oidc, clients });
  const findAccount = createFindAccount({ findById: accounts.findById, rolesOf: (id) => store.federation.rolesOf(id) });
  providers = createProviderHost((jwks: JWK[]) => {
    const provider = createProvider({ config, adapter, findAccount, signingJwks: jwks, findResource: resources.find, pages, ledger });
    provider.on('grant.success', (ctx) => {
      metrics.tokensIssued.inc({ grant_type: String(ctx.oidc.params?.grant_type ?? 'unknown') });
    });
    provider.on('server_error', (ctx, err) => logger.error({ err, reqId: ctx.state?.requestId }, 'oidc-provider server_error'));
    return provider;
  }, signingJwks);

  const federation = config.FEDERATION_FILE
    ? await buildFederation({ config: config.FEDERATION_FILE, issuer: config.ISSUER, store, logger, render })
    : undefined;

  const throttleWindow = config.LOGIN_THROTTLE_WINDOW;
  const loginStep = createLoginStep({
    providers,
    render,
    accounts,
    throttle: createLoginThrottle({
      perAccount: store.rateLimiter({ keyPrefix: 'login-account', points: config.LOGIN_MAX_FAILURES_PER_ACCOUNT, duration: throttleWindow, blockDuration: throttleWindow }),
      perIp: store.rateLimiter({ keyPrefix: 'login-ip', points: config.LOGIN_MAX_FAILURES_PER_IP, duration: throttleWindow, blockDuration: throttleWindow }),
    }),
    onResult: (result) => metrics.logins.inc({ result }),
    ...(federation ? { federation: federation.login } : {}),
  });
  const consentStep = createConsentStep({ providers, render, findAccount: accounts.findById, findResource: resources.find });

  const sweeper = setInterval(() => {
    store.sweepExpired().catch((err: unknown) => logger.warn({ err }, 'sweeping expired records failed'));
  }, config.SWEEP_INTERVAL * 1000);
  sweeper.unref();

  return {
    config, logger, viewsDir, store, cipher, accounts, clients, resources, providers, ledger, metrics, render, loginStep, consentStep, federation,
    async close() {
      clearInterval(sweeper);
      await store.close();
    },
  };
}
