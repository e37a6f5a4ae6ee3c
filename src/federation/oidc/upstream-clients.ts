/**
 * openid-client Configurations for the upstreams. OpenID Connect upstreams are discovered (OpenID
 * Connect Discovery 1.0 §4) at their first use and cached; the document's issuer must be the configured
 * one (§4.3: "MUST be identical"), or for a multi-tenant upstream the {tenantid} template of it. Plain
 * OAuth 2.0 upstreams are described by the file's endpoints. A Configuration is built per use (cheap), so
 * that Apple's client secret, a short-lived JWT, is always fresh.
 */
import { createPrivateKey } from 'node:crypto';
import * as client from 'openid-client';
import { SignJWT, createRemoteJWKSet, customFetch as joseCustomFetch, importPKCS8, type JWTVerifyGetKey } from 'jose';
import type { OidcUpstreamConfig } from '../../config/federation/oidc-config.js';
import type { UpstreamFetch } from './upstream-fetch.js';
import { OidcRejected } from './oidc-rejected.js';

export type UpstreamMetadata = client.ServerMetadata;

export type Upstream = {
  config: OidcUpstreamConfig;
  redirectUri: string;
  /** the issuer the ID tokens must carry (a {tenantid} template for multi-tenant upstreams) */
  issuer: string;
  metadata(): Promise<UpstreamMetadata>;
  /** a Configuration for one request; `fetch` replaces the guarded fetch (to inspect the token response) */
  configuration(fetch?: UpstreamFetch): Promise<client.Configuration>;
  /**
   * where the login page's "Continue with" form may end up (CSP form-action applies to the redirect
   * after the POST too): the issuer's origin, and the authorization endpoint's once discovered
   */
  formActionOrigins(): string[];
  /** the upstream's signing keys (its jwks_uri, cached by jose) */
  keys(): Promise<JWTVerifyGetKey>;
};

const DISCOVERY_TTL_MS = 60 * 60 * 1000;

export function createUpstream(config: OidcUpstreamConfig, deps: { fetch: UpstreamFetch; redirectUri: string }): Upstream {
  let cached: { at: number; metadata: UpstreamMetadata } | undefined;
  let jwks: { uri: string; keys: JWTVerifyGetKey } | undefined;
  const issuer = config.issuer ?? new URL(config.endpoints.authorization!).origin;

  async function discover(): Promise<UpstreamMetadata> {
    const base = config.issuer!.replace(/\/$/, '');
    let res: Response;
    try {
      res = await deps.fetch(`${base}/.well-known/openid-configuration`, { headers: { accept: 'application/json' } });
    } catch (err) {
      throw new OidcRejected(`discovery failed: ${(err as Error).message}`, 'upstream');
    }
    if (res.status !== 200) throw new OidcRejected(`discovery answered HTTP ${res.status}`, 'upstream');
    const doc = (await res.json().catch(() => null)) as UpstreamMetadata | null;
    if (!doc || typeof doc.issuer !== 'string') throw new OidcRejected('discovery document has no issuer', 'malformed');
    if (!issuerMatches(doc.issuer)) throw new OidcRejected(`discovery issuer ${JSON.stringify(doc.issuer)} is not ${JSON.stringify(config.issuer)}`, 'addressing');
    for (const key of ['authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const) {
      if (typeof doc[key] !== 'string') throw new OidcRejected(`discovery document has no ${key}`, 'malformed');
    }
    return doc;
  }

  /** §4.3, or the Entra multi-tenant form: template …/{tenantid}/… filled with the configured path segment */
  function issuerMatches(found: string): boolean {
    if (!config.multiTenant) return found === config.issuer;
    const [prefix, suffix, ...more] = found.split('{tenantid}');
    if (prefix === undefined || suffix === undefined || more.length) return false;
    const mine = config.issuer!;
    const segment = mine.slice(prefix.length, mine.length - suffix.length);
    return mine.startsWith(prefix) && mine.endsWith(suffix) && /^[A-Za-z0-9.-]+$/.test(segment);
  }

  async function metadata(): Promise<UpstreamMetadata> {
    if (config.protocol === 'oauth2') {
      return { issuer, authorization_endpoint: config.endpoints.authorization!, token_endpoint: config.endpoints.token! };
    }
    if (!cached || Date.now() - cached.at > DISCOVERY_TTL_MS) cached = { at: Date.now(), metadata: await discover() };
    return cached.metadata;
  }

  return {
    config,
    redirectUri: deps.redirectUri,
    get issuer() {
      return cached?.metadata.issuer ?? issuer;
    },
    metadata,
    formActionOrigins() {
      const urls = [config.issuer, config.endpoints.authorization, cached?.metadata.authorization_endpoint].filter((u): u is string => typeof u === 'string');
      return [...new Set(urls.map((u) => new URL(u).origin))];
    },
    async configuration(fetch = deps.fetch) {
      const discovered = await metadata();
      // a multi-tenant upstream's `iss` parameter (RFC 9207) names the tenant's issuer, not the template:
      // id-token-check.ts compares it, per tenant, so openid-client is not told to expect it
      const { authorization_response_iss_parameter_supported: _perTenant, ...rest } = discovered;
      const md = config.multiTenant ? rest : discovered;
      const configuration = new client.Configuration(md, config.clientId, { redirect_uris: [deps.redirectUri], response_types: ['code'] }, await clientAuth(config));
      configuration[client.customFetch] = fetch as client.CustomFetch;
      configuration.timeout = 10;
      // http only reaches loopback upstreams (oidc-config.ts refuses any other http:// URL)
      if (Object.values(md).some((v) => typeof v === 'string' && v.startsWith('http://'))) client.allowInsecureRequests(configuration);
      // the ID token's JWS signature is checked against the JWKS, not only trusted for arriving over TLS
      if (config.protocol === 'oidc') client.enableNonRepudiationChecks(configuration);
      return configuration;
    },
    async keys() {
      const uri = (await metadata()).jwks_uri!;
      if (jwks?.uri !== uri) jwks = { uri, keys: createRemoteJWKSet(new URL(uri), { [joseCustomFetch]: deps.fetch as never, timeoutDuration: 10_000 }) };
      return jwks.keys;
    },
  };
}

async function clientAuth(config: OidcUpstreamConfig): Promise<client.ClientAuth> {
  const auth = config.auth;
  switch (auth.method) {
    case 'client_secret_basic':
      return client.ClientSecretBasic(auth.secret);
    case 'client_secret_post':
      return client.ClientSecretPost(auth.secret);
    case 'private_key_jwt': {
      const key = createPrivateKey(auth.privateKey);
      const alg = key.asymmetricKeyType === 'ec' ? 'ES256' : 'RS256';
      const cryptoKey = await importPKCS8(key.export({ type: 'pkcs8', format: 'pem' }).toString(), alg);
      return client.PrivateKeyJwt({ key: cryptoKey, ...(auth.keyId ? { kid: auth.keyId } : {}) });
    }
    case 'apple_client_secret_jwt': {
      // Sign in with Apple, "Creating a client secret": ES256, kid = Key ID, iss = Team ID, sub = the
      // Services ID, aud https://appleid.apple.com, at most six months; ours live five minutes
      const key = await importPKCS8(createPrivateKey(auth.privateKey).export({ type: 'pkcs8', format: 'pem' }).toString(), 'ES256');
      const secret = await new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: auth.keyId })
        .setIssuer(auth.teamId).setSubject(config.clientId).setAudience(config.issuer ?? 'https://appleid.apple.com')
        .setIssuedAt().setExpirationTime('5m').sign(key);
      return client.ClientSecretPost(secret);
    }
  }
}
