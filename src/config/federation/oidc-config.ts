/**
 * The `oidc` section of the federation file: upstream OpenID Connect providers (discovery from `issuer`)
 * and plain OAuth 2.0 providers (GitHub's style: endpoints named, profile from a userinfo-like API and an
 * emails API). A `preset` (google, microsoft, github, apple) fills in what those providers publish; every
 * key of the entry still overrides it. Everything is checked here, at start-up; discovery runs at the
 * first sign-in (federation/oidc/upstream-clients.ts) and is refused then if it disagrees with the file.
 */
import { createPrivateKey } from 'node:crypto';
import { Section } from './checks.js';
import { readProviderCommon, type ProviderCommon } from './provider-common.js';
import { PRESETS, type PresetName } from './oidc-presets.js';

export type OidcClientAuth =
  | { method: 'client_secret_basic' | 'client_secret_post'; secret: string }
  /** RFC 7523 §2.2 client assertion signed with this key (PEM), `kid` in the header when given */
  | { method: 'private_key_jwt'; privateKey: string; keyId?: string }
  /** Sign in with Apple: the client secret is an ES256 JWT made from the developer key, renewed as it nears expiry */
  | { method: 'apple_client_secret_jwt'; teamId: string; keyId: string; privateKey: string };

export type OidcUpstreamConfig = ProviderCommon & {
  protocol: 'oidc' | 'oauth2';
  preset?: PresetName;
  /**
   * oidc: the issuer whose /.well-known/openid-configuration is read. A discovery document whose issuer
   * holds `{tenantid}` (Entra ID's common / organizations) is accepted only with `multiTenant`; each ID
   * token's iss must then equal that template with the token's own `tid` claim.
   */
  issuer?: string;
  multiTenant: boolean;
  /** multi-tenant only: the tenant ids accepted (empty: any tenant) */
  tenants: string[];
  /** oauth2: the endpoints (oidc reads them from discovery) */
  endpoints: { authorization?: string; token?: string; userinfo?: string; emails?: string };
  clientId: string;
  auth: OidcClientAuth;
  scopes: string[];
  /** `form_post` (OAuth 2.0 Form Post Response Mode): the answer is POSTed to the callback (Apple) */
  responseMode: 'query' | 'form_post';
  /** an https URL of the button's logo (shown at 20px) */
  logo?: string;
  /**
   * add the upstream's RFC 8176 amr values to ours, and report its acr in our ID token as `upstream_acr`
   * (a printable string of at most 200 characters, else dropped); our own acr stays ours (federated /
   * federated-mfa), and the upstream's acr counts as a second factor only through trustUpstreamMfa and mfaAcrValues
   */
  trustUpstreamAuthContext: boolean;
  /** the upstream's amr containing "mfa" (or an acr listed in `mfaAcrValues`) counts as a second factor here */
  trustUpstreamMfa: boolean;
  mfaAcrValues: string[];
  /** RP-initiated logout at Gatehouse also ends the upstream session (its end_session_endpoint) */
  singleLogout: boolean;
};

export type OidcSettings = {
  /** how long a sign-in sent upstream may be answered */
  stateTtlSeconds: number;
  providers: OidcUpstreamConfig[];
};

const CLAIM_KEYS = ['subject', 'email', 'email_verified', 'name', 'groups', 'acr', 'amr'] as const;
const DEFAULT_CLAIMS = { subject: 'sub', email: 'email', email_verified: 'email_verified', name: 'name' };
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

export function readOidcSettings(s: Section): OidcSettings {
  const settings = { stateTtlSeconds: s.duration('stateTtl', '10m', 60, 3600), providers: s.list('providers').map(readUpstream) };
  s.done();
  return settings;
}

/** https, or http to a loopback host (tests, a sidecar): codes and tokens cross this connection. */
function url(s: Section, key: string, optional: boolean, what: string): string | undefined {
  const v = s.string(key, { optional, pattern: /^https?:\/\/\S+$/, accepted: `the ${what} (an https:// URL)` });
  if (v === undefined) return undefined;
  const u = new URL(v);
  if (u.protocol === 'http:' && !LOOPBACK.test(u.hostname)) s.fail(key, `an https:// URL (${what}; only loopback hosts may use http://)`);
  if (u.username || u.password || u.hash) s.fail(key, `an https:// URL without credentials or fragment (${what})`);
  return v;
}

function readUpstream(raw: Section): OidcUpstreamConfig {
  const presetName = raw.has('preset') ? raw.oneOf('preset', Object.keys(PRESETS) as PresetName[], 'google') : undefined;
  const preset = presetName ? PRESETS[presetName] : undefined;
  // the preset's values come first; the entry's own keys override them (an emulator's issuer, another scope)
  const s = preset ? withPreset(raw, preset.defaults(raw)) : raw;
  if (presetName) s.raw('preset');
  if (preset) for (const k of preset.consumed) s.raw(k);
  const common = readProviderCommon(s, { keys: CLAIM_KEYS, defaults: DEFAULT_CLAIMS });
  const protocol = s.oneOf('protocol', ['oidc', 'oauth2'] as const, 'oidc');
  const issuer = url(s, 'issuer', protocol === 'oauth2', 'issuer identifier');
  if (protocol === 'oauth2' && issuer) s.fail('issuer', 'nothing with protocol "oauth2" (name the endpoints instead)');
  const endpoints = {
    authorization: url(s, 'authorizationEndpoint', protocol === 'oidc', 'authorization endpoint'),
    token: url(s, 'tokenEndpoint', protocol === 'oidc', 'token endpoint'),
    userinfo: url(s, 'userinfoEndpoint', protocol === 'oidc', 'endpoint that describes the signed-in person'),
    emails: url(s, 'emailsEndpoint', true, "endpoint that lists the person's email addresses"),
  };
  if (protocol === 'oidc' && (endpoints.authorization || endpoints.token || endpoints.userinfo || endpoints.emails)) {
    s.fail('authorizationEndpoint', 'no endpoints with protocol "oidc" (they come from discovery)');
  }
  const cleanEndpoints = Object.fromEntries(Object.entries(endpoints).filter(([, v]) => v !== undefined));
  const multiTenant = s.boolean('multiTenant', false);
  const tenants = s.stringList('tenants', { optional: true, pattern: /^[A-Za-z0-9._-]{1,100}$/, accepted: 'a list of tenant ids', item: 'a tenant id' });
  if (tenants.length && !multiTenant) s.fail('tenants', 'nothing, unless multiTenant is true');
  const config: OidcUpstreamConfig = {
    ...common,
    protocol,
    ...(presetName ? { preset: presetName } : {}),
    ...(issuer ? { issuer } : {}),
    multiTenant,
    tenants,
    endpoints: cleanEndpoints,
    clientId: s.requiredString('clientId', { max: 500, accepted: 'the client id registered at the provider' }),
    auth: readAuth(s),
    scopes: s.stringList('scopes', { optional: true, pattern: /^[\x21\x23-\x5B\x5D-\x7E]+$/, accepted: 'a list of scopes', item: 'a scope (RFC 6749 §3.3 scope-token)' }),
    responseMode: s.oneOf('responseMode', ['query', 'form_post'] as const, 'query'),
    ...optional('logo', url(s, 'logo', true, 'logo image')),
    trustUpstreamAuthContext: s.boolean('trustUpstreamAuthContext', false),
    trustUpstreamMfa: s.boolean('trustUpstreamMfa', false),
    mfaAcrValues: s.stringList('mfaAcrValues', { optional: true, accepted: 'a list of acr values that mean a second factor took part' }),
    singleLogout: s.boolean('singleLogout', false),
  };
  if (protocol === 'oidc' && !config.scopes.includes('openid')) config.scopes = ['openid', ...config.scopes];
  if (protocol === 'oidc' && config.scopes.length === 1) config.scopes.push('email', 'profile');
  if (protocol === 'oauth2' && config.singleLogout) s.fail('singleLogout', 'false with protocol "oauth2" (plain OAuth 2.0 has no logout endpoint)');
  if (Object.keys(config.roles).length > 0 && !config.claims.groups) s.fail('claims', 'a "groups" claim, because "roles" maps groups');
  s.done();
  return config;
}

function readAuth(s: Section): OidcClientAuth {
  const method = s.oneOf('clientAuth', ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'apple_client_secret_jwt'] as const, 'client_secret_basic');
  if (method === 'client_secret_basic' || method === 'client_secret_post') {
    return { method, secret: s.requiredString('clientSecret', { secret: true, accepted: 'the client secret issued by the provider' }) };
  }
  const privateKey = s.file('privateKeyFile') as string;
  let type: string | undefined;
  try {
    type = createPrivateKey(privateKey).asymmetricKeyType;
  } catch {
    s.fail('privateKeyFile', 'an unencrypted PEM private key', true);
  }
  const keyId = s.string('keyId', { optional: true, max: 200, accepted: 'the key id (kid) registered with the public key' });
  if (method === 'private_key_jwt') {
    if (type !== 'rsa' && type !== 'ec') s.fail('privateKeyFile', 'an RSA or EC private key', true);
    return { method, privateKey, ...(keyId ? { keyId } : {}) };
  }
  // Sign in with Apple: "ES256 ... signed with the private key from your developer account"
  if (type !== 'ec') s.fail('privateKeyFile', 'the EC (P-256) private key downloaded from the Apple developer account', true);
  if (!keyId) s.fail('keyId', 'the Key ID of the Sign in with Apple key');
  return { method, teamId: s.requiredString('teamId', { pattern: /^[A-Z0-9]{10}$/, accepted: 'the 10-character Apple Team ID' }), keyId, privateKey };
}

const optional = <K extends string, V>(key: K, value: V | undefined): { [k in K]?: V } => (value === undefined ? {} : ({ [key]: value } as { [k in K]: V }));

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The entry over the preset's keys (read through a new Section, which then refuses unknown keys itself). */
function withPreset(raw: Section, defaults: Record<string, unknown>): Section {
  const own = rawObject(raw);
  // claims merge key by key (an entry naming only `groups` keeps the preset's `subject`)
  const claims = isObject(defaults.claims) && isObject(own.claims) ? { claims: { ...defaults.claims, ...own.claims } } : {};
  return Section.of(raw.path, { ...defaults, ...own, ...claims }, raw.files);
}

function rawObject(s: Section): Record<string, unknown> {
  return Object.fromEntries(s.keys().map((k) => [k, s.raw(k)]));
}
