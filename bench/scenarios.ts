/**
 * What is measured: one operation per endpoint, the same for Gatehouse and the bare provider. Tokens the
 * later scenarios need are harvested from the earlier ones (client_credentials → JWT access tokens to
 * introspect; login flows → refresh tokens; refresh → opaque access tokens for userinfo). The opaque
 * tokens introspected are the service client's own, from its own sign-ins (serviceLoginFlow): a client
 * may introspect only its own tokens or those of an API it serves (src/oidc/introspection-rights.ts).
 *
 * Refresh is measured as sequential chains: each refresh token is used once, and the one it rotates to
 * is the chain's next request. A chain is only ever used by one request at a time, so no token is
 * replayed (a replay would revoke the grant, RFC 9700 §4.14.2); each chain starts from its own login
 * flow, so it is its own grant.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { Operation } from './load.js';
import type { FixedRequest } from './wrk.js';
import { API, LOGIN_SCOPE, SPA, USER } from './bench-data.js';
import { UserAgent, signIn } from '../test/helpers/user-agent.js';

export type Target = {
  name: 'gatehouse' | 'bare';
  origin: string;
  pool: Dispatcher;
  service: { clientId: string; clientSecret: string };
  jwtAccessTokens: Ring;
  opaqueAccessTokens: Ring;
  /** the confidential service client's own opaque access tokens (introspection) */
  serviceOpaqueTokens: Ring;
  refreshChains: RefreshChains;
};

export type Scenario = {
  id: string;
  label: string;
  /** a password hash in the path: no paced pass, measured against the hash-only rate */
  hashBound?: boolean;
  /** why this target is not measured here */
  skip?(t: Target): string | undefined;
  op(t: Target): Operation;
  /**
   * The scenario as one request sent unchanged, for wrk's maximum-rate pass (bench/wrk.ts); absent where
   * every request differs (refresh: each token once) or is several (login flows). Same answer check as op.
   */
  fixed?(t: Target): FixedRequest;
};

const FORM = 'application/x-www-form-urlencoded';

const DISCOVERY: FixedRequest = { method: 'GET', path: '/.well-known/openid-configuration' };
const JWKS: FixedRequest = { method: 'GET', path: '/jwks' };
const clientCredentials = (t: Target): FixedRequest => ({
  method: 'POST',
  path: '/token',
  headers: { 'content-type': FORM, authorization: basic(t.service) },
  body: new URLSearchParams({ grant_type: 'client_credentials', resource: API.identifier, scope: API.scope }).toString(),
});
const userinfo = (token: string): FixedRequest => ({ method: 'GET', path: '/me', headers: { authorization: `Bearer ${token}` } });
const introspection = (t: Target, token: string): FixedRequest => ({
  method: 'POST',
  path: '/token/introspection',
  headers: { 'content-type': FORM, authorization: basic(t.service) },
  body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
  // RFC 7662 §2.2: an unknown or expired token is a 200 too, with active false
  expectBody: '"active":true',
});

export const SCENARIOS: Scenario[] = [
  { id: 'discovery', label: 'discovery', op: (t) => () => call(t, DISCOVERY), fixed: () => DISCOVERY },
  { id: 'jwks', label: 'JWKS', op: (t) => () => call(t, JWKS), fixed: () => JWKS },
  {
    id: 'client_credentials',
    label: 'client_credentials (JWT AT)',
    op: (t) => async () => {
      const json = await callJson(t, clientCredentials(t));
      t.jwtAccessTokens.add(String(json.access_token));
    },
    fixed: clientCredentials,
  },
  {
    id: 'login_flow',
    label: 'login flow (code + PKCE)',
    hashBound: true,
    op: (t) => async () => {
      const tokens = await loginFlow(t.origin);
      t.refreshChains.release(String(tokens.refresh_token));
    },
  },
  {
    id: 'refresh',
    label: 'refresh (rotating)',
    op: (t) => async () => {
      const refreshToken = await t.refreshChains.acquire();
      const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: SPA.clientId }).toString();
      // on failure the chain is dropped: its token may have been consumed
      const json = await callJson(t, { method: 'POST', path: '/token', headers: { 'content-type': FORM }, body });
      t.refreshChains.release(String(json.refresh_token));
      t.opaqueAccessTokens.add(String(json.access_token));
    },
  },
  {
    id: 'userinfo',
    label: 'userinfo',
    op: (t) => () => call(t, userinfo(t.opaqueAccessTokens.next())),
    // one of the harvested tokens, the same in every request
    fixed: (t) => userinfo(t.opaqueAccessTokens.next()),
  },
  {
    id: 'introspection',
    label: 'introspection (opaque AT)',
    // its tokens come from a few sign-ins of the service client first (targets.ts: prepare)
    op: (t) => () => introspect(t, t.serviceOpaqueTokens.next()),
    fixed: (t) => introspection(t, t.serviceOpaqueTokens.next()),
  },
  {
    id: 'introspection_jwt',
    label: 'introspection (JWT AT)',
    skip: (t) => (t.name === 'bare' ? 'oidc-provider refuses JWT access tokens at introspection (unsupported_token_type)' : undefined),
    op: (t) => () => introspect(t, t.jwtAccessTokens.next()),
    fixed: (t) => introspection(t, t.jwtAccessTokens.next()),
  },
];

async function introspect(t: Target, token: string): Promise<void> {
  const json = await callJson(t, introspection(t, token));
  if (json.active !== true) throw new Error(`introspection: token not active: ${JSON.stringify(json).slice(0, 200)}`);
}

type Req = Omit<FixedRequest, 'expectBody'>;

async function call(t: Target, req: Req): Promise<void> {
  const res = await t.pool.request({ method: req.method, path: req.path, headers: req.headers, body: req.body });
  if (res.statusCode !== 200) throw new Error(`${req.path} → ${res.statusCode} ${(await res.body.text()).slice(0, 200)}`);
  await res.body.dump();
}

async function callJson(t: Target, req: Req): Promise<Record<string, unknown>> {
  const res = await t.pool.request({ method: req.method, path: req.path, headers: req.headers, body: req.body });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${req.path} → ${res.statusCode} ${text.slice(0, 200)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

// RFC 6749 §2.3.1: client_id and secret are form-encoded, then base64 (ours are base64url: unchanged)
const basic = (c: { clientId: string; clientSecret: string }) => `Basic ${Buffer.from(`${encodeURIComponent(c.clientId)}:${encodeURIComponent(c.clientSecret)}`).toString('base64')}`;

/** The service client (confidential) signing the bench person in for itself: an opaque access token for userinfo. */
export async function serviceLoginFlow(t: Target): Promise<Record<string, unknown>> {
  const verifier = randomBytes(32).toString('base64url');
  const params = new URLSearchParams({
    client_id: t.service.clientId, response_type: 'code', redirect_uri: SPA.redirectUri, scope: 'openid',
    state: randomBytes(12).toString('base64url'), nonce: randomBytes(12).toString('base64url'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
  });
  const callback = new URL(await signIn(new UserAgent(), `${t.origin}/auth?${params}`, SPA.redirectUri, USER));
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`no code in the callback: ${callback.search.slice(0, 200)}`);
  const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: SPA.redirectUri, code_verifier: verifier }).toString();
  const json = await callJson(t, { method: 'POST', path: '/token', headers: { 'content-type': FORM, authorization: basic(t.service) }, body });
  if (String(json.access_token).split('.').length === 3) throw new Error('the service client got a JWT access token, not an opaque one');
  return json;
}

/**
 * One person signing in, as a browser does: authorization request → login page → POST login (the
 * password hash) → consent page → POST consent → redirect with the code → the SPA's token request.
 */
export type LoginFlowOptions = {
  /** who signs in (default the bench person) */
  user?: { email: string; password: string };
  /** every request of the flow through this pool (default: fetch's own connections) */
  dispatcher?: Dispatcher;
  /**
   * false: the code exchange names no resource, so its access token is the opaque one for userinfo (the
   * grant still holds the API, and so does the refresh token); default true, a JWT access token for the API
   */
  exchangeForApi?: boolean;
};

/** A browser whose requests go through a given pool: many people behind one proxy share its connections. */
class PooledUserAgent extends UserAgent {
  constructor(private readonly dispatcher: Dispatcher) {
    super();
  }
  override fetch(url: string, init: RequestInit = {}): Promise<Response> {
    return super.fetch(url, { ...init, dispatcher: this.dispatcher } as RequestInit);
  }
}

export async function loginFlow(origin: string, o: LoginFlowOptions = {}): Promise<Record<string, unknown>> {
  const verifier = randomBytes(32).toString('base64url');
  const params = new URLSearchParams({
    client_id: SPA.clientId,
    response_type: 'code',
    redirect_uri: SPA.redirectUri,
    scope: LOGIN_SCOPE,
    resource: API.identifier,
    // OpenID Connect Core §11: offline_access is only honoured together with prompt=consent
    prompt: 'consent',
    state: randomBytes(12).toString('base64url'),
    nonce: randomBytes(12).toString('base64url'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  });
  const agent = o.dispatcher ? new PooledUserAgent(o.dispatcher) : new UserAgent();
  const callback = new URL(await signIn(agent, `${origin}/auth?${params}`, SPA.redirectUri, o.user ?? USER));
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`no code in the callback: ${callback.search.slice(0, 200)}`);
  const exchange = { grant_type: 'authorization_code', code, redirect_uri: SPA.redirectUri, code_verifier: verifier, client_id: SPA.clientId };
  const res = await fetch(`${origin}/token`, {
    method: 'POST',
    headers: { 'content-type': FORM },
    body: new URLSearchParams(o.exchangeForApi === false ? exchange : { ...exchange, resource: API.identifier }),
    ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
  } as RequestInit);
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status !== 200 || typeof json.refresh_token !== 'string') throw new Error(`code exchange → ${res.status} ${JSON.stringify(json).slice(0, 200)}`);
  return json;
}

/** The most recent tokens of a kind, handed out round-robin. */
export class Ring {
  private items: string[] = [];
  private cursor = 0;
  constructor(private readonly capacity = 256) {}
  add(item: string): void {
    if (this.items.length < this.capacity) this.items.push(item);
    else this.items[this.cursor++ % this.capacity] = item;
  }
  next(): string {
    if (this.items.length === 0) throw new Error('no tokens harvested for this scenario');
    return this.items[this.cursor++ % this.items.length] as string;
  }
  get size(): number {
    return this.items.length;
  }
}

/** Refresh tokens, each the head of a chain; a chain is used by one request at a time. */
export class RefreshChains {
  private idle: string[] = [];
  private waiting: ((token: string) => void)[] = [];
  acquire(timeoutMs = 10_000): Promise<string> {
    const token = this.idle.pop();
    if (token !== undefined) return Promise.resolve(token);
    return new Promise((resolve, reject) => {
      const waiter = (t: string) => {
        clearTimeout(timer);
        resolve(t);
      };
      const timer = setTimeout(() => {
        this.waiting = this.waiting.filter((w) => w !== waiter);
        reject(new Error('no refresh token chain became free'));
      }, timeoutMs);
      this.waiting.push(waiter);
    });
  }
  release(token: string): void {
    const waiter = this.waiting.shift();
    if (waiter) waiter(token);
    else this.idle.push(token);
  }
  get size(): number {
    return this.idle.length;
  }
}
