/**
 * The rotation overlap window at the token endpoints (token, introspection, revocation): a client that
 * authenticates with HTTP Basic (RFC 6749 §2.3.1) and its previous secret, while that secret's overlap
 * window lasts, is presented to oidc-provider with its current one. Outside the window, or with any other
 * value, the request goes on unchanged and oidc-provider refuses it as it would (invalid_client), so the
 * throttles count it. client_secret_post clients get no overlap (documented).
 */
import type { Context, Next } from 'koa';
import { protocolPath } from '../http/protocol-path.js';

export type PreviousSecrets = { currentSecretForPrevious(clientId: string, presented: string): Promise<string | undefined> };

const TOKEN_ENDPOINTS = new Set(['/token', '/token/introspection', '/token/revocation']);

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

export function previousClientSecret(deps: { secrets: PreviousSecrets }) {
  return async function acceptPreviousSecret(ctx: Context, next: Next): Promise<void> {
    if (ctx.method === 'POST' && TOKEN_ENDPOINTS.has(protocolPath(ctx.path))) {
      const credentials = basicCredentials(ctx.get('authorization'));
      if (credentials && credentials.secret.length <= 512) {
        const current = await deps.secrets.currentSecretForPrevious(credentials.clientId, credentials.secret);
        if (current) {
          ctx.request.headers.authorization = `Basic ${Buffer.from(`${formEncode(credentials.clientId)}:${formEncode(current)}`).toString('base64')}`;
        }
      }
    }
    await next();
  };
}
