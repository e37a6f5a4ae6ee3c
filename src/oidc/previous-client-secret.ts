/**
 * The rotation overlap window at the token endpoints (token, introspection, revocation): a client that
 * authenticates with its previous secret while that secret's overlap window lasts is presented to
 * oidc-provider with its current one, whether the secret came in HTTP Basic (RFC 6749 §2.3.1,
 * client_secret_basic) or in the form body (§2.3.1 again, client_secret_post). Outside the window, or with
 * any other value, the request goes on unchanged and oidc-provider refuses it as it would (invalid_client),
 * so the throttles count it.
 *
 * The body: oidc-provider reads the stream itself, or, once an edge step has consumed it, parses the text
 * left in `request.body` (shared/selective_body.js). The edge readers before this step (token-endpoint-
 * guard.ts at /token, structured-token-endpoints.ts at introspection and revocation) leave that text; this
 * step only replaces the one `client_secret=` pair in it, keeping every other byte, so the provider still
 * parses the form once and sees what was sent but for the secret. A body over the provider's own limit, one
 * with no or several client_secret values, or one the replacement would change elsewhere goes on as sent.
 */
import querystring from 'node:querystring';
import { isDeepStrictEqual } from 'node:util';
import type { Context, Next } from 'koa';
import { protocolPath } from '../http/protocol-path.js';

export type PreviousSecrets = { currentSecretForPrevious(clientId: string, presented: string): Promise<string | undefined> };

const TOKEN_ENDPOINTS = new Set(['/token', '/token/introspection', '/token/revocation']);

/** oidc-provider's body limit (shared/selective_body.js LIMIT): a larger body is not ours to mend. */
const PROVIDER_BODY_LIMIT = 56 * 1024;
/** Longer than any secret we issue or import: not looked up. */
const MAX_SECRET = 512;

/** RFC 6749 §2.3.1: client_id and secret are form-urlencoded before the Basic encoding. */
function basicCredentials(header: string): { clientId: string; secret: string } | undefined {
  const match = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1) return undefined;
  try {
    const form = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    return { clientId: form(decoded.slice(0, colon)), secret: form(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

const formEncode = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');

/** The form pair's name as querystring.parse decodes it. */
const pairName = (pair: string) => querystring.unescape(pair.split('=', 1)[0]!.replace(/\+/g, ' '));

/**
 * `raw` with its one client_secret pair set to `secret`, or undefined unless the provider would parse the
 * result exactly as `raw` with only client_secret changed.
 */
export function withClientSecret(raw: string, secret: string): string | undefined {
  const pairs = raw.split('&');
  if (pairs.filter((p) => pairName(p) === 'client_secret').length !== 1) return undefined;
  const replaced = pairs.map((p) => (pairName(p) === 'client_secret' ? `client_secret=${formEncode(secret)}` : p)).join('&');
  const expected = querystring.parse(raw);
  expected.client_secret = secret;
  return isDeepStrictEqual(querystring.parse(replaced), expected) ? replaced : undefined;
}

/** The form text an edge reader left for the provider (undefined: none, so the provider reads the stream). */
function formText(ctx: Context): string | undefined {
  const body = (ctx.request as { body?: unknown }).body;
  return ctx.is('application/x-www-form-urlencoded') && typeof body === 'string' ? body : undefined;
}

export function previousClientSecret(deps: { secrets: PreviousSecrets }) {
  /** client_secret_basic: the Authorization header rewritten with the current secret. */
  async function viaBasic(ctx: Context, header: string): Promise<void> {
    const credentials = basicCredentials(header);
    if (!credentials || credentials.secret.length > MAX_SECRET) return;
    const current = await deps.secrets.currentSecretForPrevious(credentials.clientId, credentials.secret);
    if (current) ctx.request.headers.authorization = `Basic ${Buffer.from(`${formEncode(credentials.clientId)}:${formEncode(current)}`).toString('base64')}`;
  }

  /** client_secret_post: the client_secret pair of the form rewritten with the current secret. */
  async function viaPost(ctx: Context): Promise<void> {
    const raw = formText(ctx);
    if (raw === undefined || Buffer.byteLength(raw) > PROVIDER_BODY_LIMIT) return;
    const { client_id: clientId, client_secret: secret } = querystring.parse(raw);
    if (typeof clientId !== 'string' || typeof secret !== 'string' || !clientId || secret.length > MAX_SECRET) return;
    const current = await deps.secrets.currentSecretForPrevious(clientId, secret);
    const replaced = current ? withClientSecret(raw, current) : undefined;
    if (replaced !== undefined) (ctx.request as { body?: unknown }).body = replaced;
  }

  return async function acceptPreviousSecret(ctx: Context, next: Next): Promise<void> {
    if (ctx.method === 'POST' && TOKEN_ENDPOINTS.has(protocolPath(ctx.path))) {
      const header = ctx.get('authorization');
      // both at once is refused by oidc-provider (RFC 6749 §2.3: one method per request); nothing to mend
      if (header) await viaBasic(ctx, header);
      else await viaPost(ctx);
    }
    await next();
  };
}
