/**
 * The floor Gatehouse is compared with: `new Provider(...)` and nothing else that matters. Same signing
 * key kind (RSA 2048, RS256), same token formats (RFC 9068 JWT access tokens for the registered API,
 * opaque ones for userinfo), the same features switched on (they shape discovery) and the same lifetimes;
 * but an unbounded in-memory adapter, two static clients, an in-memory account and a bare interaction
 * handler (bare/interactions.ts). Run as a process by run.ts with its settings as JSON in BENCH_BARE.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import bcrypt from 'bcrypt';
import { Provider, errors, interactionPolicy, type Configuration } from 'oidc-provider';
import { createMemoryAdapterClass } from './bare/memory-adapter.js';
import { createInteractionHandler } from './bare/interactions.js';

export type BareSettings = {
  port: number;
  bcryptCost: number;
  cookieKey: string;
  user: { email: string; password: string; name: string };
  service: { clientId: string; clientSecret: string };
  spa: { clientId: string; redirectUri: string };
  api: { identifier: string; scopes: string[]; accessTokenTtl: number };
};

async function main(): Promise<void> {
  const s = JSON.parse(process.env.BENCH_BARE ?? '') as BareSettings;
  const issuer = `http://127.0.0.1:${s.port}`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };
  const account = { id: randomUUID(), email: s.user.email, passwordHash: await bcrypt.hash(s.user.password, s.bcryptCost) };
  const claims = { sub: account.id, email: s.user.email, email_verified: true, name: s.user.name };

  const configuration: Configuration = {
    adapter: createMemoryAdapterClass(),
    clients: [
      {
        client_id: s.service.clientId,
        client_secret: s.service.clientSecret,
        // and signs people in itself: the opaque tokens it introspects are its own (bench/scenarios.ts)
        grant_types: ['client_credentials', 'authorization_code'],
        response_types: ['code'],
        redirect_uris: [s.spa.redirectUri],
        token_endpoint_auth_method: 'client_secret_basic',
      },
      {
        client_id: s.spa.clientId,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [s.spa.redirectUri],
        token_endpoint_auth_method: 'none',
      },
    ],
    findAccount: async (_ctx, sub) => (sub === account.id ? { accountId: sub, claims: async () => claims } : undefined),
    jwks: { keys: [jwk as never] },
    claims: { openid: ['sub', 'acr', 'amr', 'auth_time'], profile: ['name'], email: ['email', 'email_verified'] },
    conformIdTokenClaims: false,
    acrValues: ['urn:gatehouse:acr:password'],
    responseTypes: ['code'],
    pkce: { required: () => true },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    rotateRefreshToken: true,
    cookies: { keys: [s.cookieKey], long: { httpOnly: true, sameSite: 'lax', signed: true }, short: { httpOnly: true, sameSite: 'lax', signed: true } },
    interactions: { policy: interactionPolicy.base(), url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: {
      AccessToken: 3600, ClientCredentials: 3600, AuthorizationCode: 60, IdToken: 3600, RefreshToken: 14 * 86400,
      Grant: 14 * 86400, Session: 14 * 86400, Interaction: 3600, DeviceCode: 600,
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: async (_ctx, client) => client.clientAuthMethod !== 'none' },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      backchannelLogout: { enabled: true },
      deviceFlow: { enabled: true },
      dPoP: { enabled: true },
      pushedAuthorizationRequests: { enabled: true },
      requestObjects: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, _client, oneOf) => oneOf,
        useGrantedResource: async () => false,
        getResourceServerInfo: async (_ctx, indicator) => {
          if (indicator !== s.api.identifier) throw new errors.InvalidTarget('resource indicator is not registered');
          return { scope: s.api.scopes.join(' '), audience: indicator, accessTokenTTL: s.api.accessTokenTtl, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
        },
      },
    },
  };
  const provider = new Provider(issuer, configuration);
  const interactions = createInteractionHandler(provider, account);
  const callback = provider.callback();
  const server = createServer((req, res) => {
    interactions(req, res).then(
      (handled) => {
        if (!handled) void callback(req, res);
      },
      (err: unknown) => {
        if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' });
        res.end(String((err as Error).message));
      },
    );
  });
  server.keepAliveTimeout = 65_000; // as Gatehouse's server.ts
  server.listen(s.port, '127.0.0.1');
  process.once('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`bare provider failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
