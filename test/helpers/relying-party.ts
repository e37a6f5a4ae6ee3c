/**
 * A tiny relying party for browser tests: a node:http server on 127.0.0.1 whose /callback redeems the
 * authorization code with openid-client (PKCE, state and nonce checked) and shows who signed in, so a
 * browser flow ends on a real page. Start it first (its redirect URI is needed to register the client),
 * then `connect()` it to the discovered configuration.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oidc from 'openid-client';

type Tokens = Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;

export type RelyingPartyCallback = { url: URL; tokens?: Tokens; error?: string };

export type TestRelyingParty = {
  origin: string;
  /** origin + /callback */
  redirectUri: string;
  /** origin + /signed-out */
  postLogoutRedirectUri: string;
  connect(config: oidc.Configuration): void;
  /** A fresh authorization URL (code + PKCE S256, state, nonce); extra params override the defaults. */
  authorizationUrl(params?: Record<string, string>): Promise<URL>;
  /** RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2) back to postLogoutRedirectUri. */
  logoutUrl(params: { id_token_hint: string; state?: string }): URL;
  /** Every request that reached /callback, in order, with the token response when the code was redeemed. */
  callbacks: RelyingPartyCallback[];
  close(): Promise<void>;
};

type Pending = { verifier: string; nonce: string };

export async function startRelyingParty(): Promise<TestRelyingParty> {
  let config: oidc.Configuration | undefined;
  const pending = new Map<string, Pending>();
  const callbacks: RelyingPartyCallback[] = [];

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => send(res, 500, 'Relying party error', `<p>${escapeHtml(err.message)}</p>`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const redirectUri = `${origin}/callback`;

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', origin);
    if (url.pathname === '/callback') return callback(url, res);
    if (url.pathname === '/signed-out') return send(res, 200, 'Signed out', '<h1>Signed out of the test app</h1>');
    return send(res, 404, 'Not found', '<h1>Not found</h1>');
  }

  async function callback(url: URL, res: ServerResponse) {
    const entry: RelyingPartyCallback = { url };
    callbacks.push(entry);
    const state = url.searchParams.get('state') ?? '';
    const flow = pending.get(state);
    pending.delete(state);
    if (url.searchParams.has('error')) {
      entry.error = url.searchParams.get('error')!;
      return send(res, 200, 'Not signed in', `<h1>Not signed in</h1><p id="error">${escapeHtml(entry.error)}</p>`);
    }
    if (!config || !flow) {
      entry.error = 'unknown state';
      return send(res, 400, 'Unknown state', '<h1>Unknown state</h1>');
    }
    try {
      entry.tokens = await oidc.authorizationCodeGrant(config, url, { pkceCodeVerifier: flow.verifier, expectedState: state, expectedNonce: flow.nonce });
    } catch (err) {
      entry.error = (err as Error).message;
      return send(res, 400, 'Sign-in failed', `<h1>Sign-in failed</h1><p id="error">${escapeHtml(entry.error)}</p>`);
    }
    const email = String(entry.tokens.claims()?.email ?? '');
    return send(res, 200, 'Signed in', `<h1>Signed in</h1><p>Welcome, <strong id="email">${escapeHtml(email)}</strong></p>`);
  }

  return {
    origin,
    redirectUri,
    postLogoutRedirectUri: `${origin}/signed-out`,
    callbacks,
    connect(c) {
      config = c;
    },
    async authorizationUrl(params = {}) {
      if (!config) throw new Error('relying party: connect() it to Gatehouse first');
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      pending.set(state, { verifier, nonce });
      return oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: 'openid',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
        ...params,
      });
    },
    logoutUrl(params) {
      if (!config) throw new Error('relying party: connect() it to Gatehouse first');
      return oidc.buildEndSessionUrl(config, { post_logout_redirect_uri: `${origin}/signed-out`, ...params });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function send(res: ServerResponse, status: number, title: string, body: string) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  // an empty data: icon keeps the browser from asking for /favicon.ico
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>${title}</title></head><body>${body}</body></html>`);
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
