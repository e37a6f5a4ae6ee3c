/**
 * Development only (issue 19 §4): the demo client's redirect URI is this page, so a newcomer's first
 * sign-in ends on Gatehouse itself, showing what the relying party received. /playground starts an
 * authorization request (code + PKCE S256, RFC 7636; state and nonce), /playground/callback redeems the
 * code with openid-client (which validates the ID token: OpenID Connect Core §3.1.3.7), asks userinfo,
 * and shows all three decoded. The verifier, state and nonce sit in a signed httpOnly cookie that lives
 * only for this flow; the refresh and ID tokens in another, so the buttons (refresh, logout, sign in
 * again with MFA) work without server-side state. Mounted only when NODE_ENV=development (create-app.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import * as oidc from 'openid-client';
import { ACR } from '../assurance/acr-amr.js';
import type { Renderer } from '../http/render.js';
import { basePathOf, cookiePath } from '../http/base-path.js';
import { describeTokens, type TokenSet } from './playground-explain.js';

export const PLAYGROUND_PATH = '/playground';
export const PLAYGROUND_CALLBACK = `${PLAYGROUND_PATH}/callback`;

const FLOW_COOKIE = 'gatehouse.playground-flow';
const TOKENS_COOKIE = 'gatehouse.playground-tokens';
const FLOW_TTL_MS = 10 * 60 * 1000;

export function createPlaygroundRouter(deps: {
  issuer: string;
  clientId: string;
  secure: boolean;
  viewsDir: string;
  render: Renderer;
  csrf: (ctx: Context, next: Next) => Promise<void>;
}) {
  const { issuer, clientId, render } = deps;
  const redirectUri = `${issuer}${PLAYGROUND_CALLBACK}`;
  const cookie = { signed: true, httpOnly: true, sameSite: 'lax' as const, secure: deps.secure, path: cookiePath(basePathOf(issuer), PLAYGROUND_PATH), overwrite: true };
  // discovery on first use: the server answers its own issuer URL only once it listens
  let discovered: Promise<oidc.Configuration> | undefined;
  const configuration = () => {
    discovered ??= oidc.discovery(new URL(issuer), clientId, undefined, oidc.None(), issuer.startsWith('http://') ? { execute: [oidc.allowInsecureRequests] } : {});
    discovered.catch(() => (discovered = undefined));
    return discovered;
  };

  const router = new Router({ prefix: PLAYGROUND_PATH });
  // the console's stylesheet (tables), which the shared layout does not link
  const css = readFileSync(join(deps.viewsDir, 'console', 'console.css'));
  router.get('/playground.css', (ctx) => {
    ctx.type = 'text/css';
    ctx.body = css;
  });
  router.use(deps.csrf);

  router.get('/', (ctx) => render(ctx, 'playground', { title: 'Playground', wide: true, issuer, clientId, result: null }));

  /** Starts a sign-in of the demo client; `?mfa=1` asks for a second factor (OpenID Connect Core §3.1.2.1 acr_values). */
  router.get('/sign-in', async (ctx) => {
    const config = await configuration();
    const flow = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier: oidc.randomPKCECodeVerifier() };
    ctx.cookies.set(FLOW_COOKIE, JSON.stringify(flow), { ...cookie, maxAge: FLOW_TTL_MS });
    const params: Record<string, string> = {
      redirect_uri: redirectUri, scope: 'openid profile email offline_access', prompt: 'consent',
      code_challenge: await oidc.calculatePKCECodeChallenge(flow.verifier), code_challenge_method: 'S256', state: flow.state, nonce: flow.nonce,
    };
    if (ctx.query.mfa === '1') params.acr_values = ACR.mfa;
    ctx.set('Cache-Control', 'no-store');
    ctx.redirect(oidc.buildAuthorizationUrl(config, params).href);
  });

  router.get('/callback', async (ctx) => {
    const raw = ctx.cookies.get(FLOW_COOKIE, { signed: true });
    ctx.cookies.set(FLOW_COOKIE, null, cookie);
    const flow = parse<{ state: string; nonce: string; verifier: string }>(raw);
    if (!flow) return failed(ctx, 'This sign-in was not started here (or took longer than 10 minutes). Start again.');
    const config = await configuration();
    let tokens: TokenSet;
    try {
      // the registered redirect URI plus the response's query: behind a proxy ctx.href may say http
      tokens = await oidc.authorizationCodeGrant(config, new URL(`${redirectUri}${ctx.search}`), {
        pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true,
      });
    } catch (err) {
      return failed(ctx, explainError(err));
    }
    return show(ctx, config, tokens, 'Signed in');
  });

  router.post('/refresh', async (ctx) => {
    const saved = parse<{ refresh_token?: string }>(ctx.cookies.get(TOKENS_COOKIE, { signed: true }));
    if (!saved?.refresh_token) return failed(ctx, 'There is no refresh token to use: sign in first.');
    const config = await configuration();
    try {
      return show(ctx, config, await oidc.refreshTokenGrant(config, saved.refresh_token), 'Refreshed');
    } catch (err) {
      return failed(ctx, explainError(err));
    }
  });

  /** RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2), back to the playground. */
  router.post('/logout', async (ctx) => {
    const saved = parse<{ id_token?: string }>(ctx.cookies.get(TOKENS_COOKIE, { signed: true }));
    ctx.cookies.set(TOKENS_COOKIE, null, cookie);
    const config = await configuration();
    const params: Record<string, string> = { post_logout_redirect_uri: `${issuer}${PLAYGROUND_PATH}`, client_id: clientId };
    if (saved?.id_token) params.id_token_hint = saved.id_token;
    ctx.redirect(oidc.buildEndSessionUrl(config, params).href);
  });

  async function show(ctx: Context, config: oidc.Configuration, tokens: TokenSet, heading: string) {
    const sub = tokens.claims()?.sub;
    let userinfo: unknown = null;
    try {
      if (sub) userinfo = await oidc.fetchUserInfo(config, tokens.access_token, sub);
    } catch (err) {
      userinfo = { error: explainError(err) };
    }
    const previous = parse<{ id_token?: string }>(ctx.cookies.get(TOKENS_COOKIE, { signed: true }));
    ctx.cookies.set(TOKENS_COOKIE, JSON.stringify({ refresh_token: tokens.refresh_token, id_token: tokens.id_token ?? previous?.id_token }), cookie);
    await render(ctx, 'playground', { title: heading, wide: true, issuer, clientId, result: describeTokens(tokens, userinfo) });
  }

  async function failed(ctx: Context, message: string) {
    ctx.status = 400;
    await render(ctx, 'playground', { title: 'Playground', wide: true, issuer, clientId, result: null, error: message });
    ctx.status = 400;
  }
  return router;
}

function parse<T>(raw: string | undefined): T | undefined {
  try {
    return raw ? (JSON.parse(raw) as T) : undefined;
  } catch {
    return undefined;
  }
}

function explainError(err: unknown): string {
  if (err instanceof oidc.AuthorizationResponseError || err instanceof oidc.ResponseBodyError) return `${err.error}: ${err.error_description ?? ''}`.trim();
  return err instanceof Error ? err.message : String(err);
}

/** A link that starts the playground; `npm start` prints it (seed-demo.ts). */
export const playgroundLink = (issuer: string): string => `${issuer}${PLAYGROUND_PATH}`;
