/**
 * Who may introspect what (RFC 7662 §2.1, §4): a client learns about a token only when it was issued to
 * that client, or when the token's audience is an API the client is registered to serve (a resource
 * server introspecting with its own credentials). Every other token answers `{"active": false}`, so
 * introspection tells a stranger nothing, not even that the token exists.
 */
import { errors } from 'oidc-provider';
import type { ClientMetadataPart } from './client-metadata.js';

/** Client metadata: the resource identifiers (RFC 8707) of the APIs this client serves, as an array of URIs. */
export const CLIENT_INTROSPECTS = 'gatehouse_introspects';

export const introspectionClientMetadata: ClientMetadataPart = {
  properties: [CLIENT_INTROSPECTS],
  validate(key, value) {
    if (key !== CLIENT_INTROSPECTS || value === undefined) return;
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && URL.canParse(v))) {
      throw new errors.InvalidClientMetadata(`${CLIENT_INTROSPECTS} must be an array of resource identifiers (absolute URIs)`);
    }
  },
};

type Caller = { clientId: string; clientAuthMethod?: string; metadata(): Record<string, unknown> };
type Introspected = { clientId?: unknown; aud?: unknown };

/** The APIs a client registered to serve. */
export function servedResources(client: Caller): string[] {
  const value = client.metadata()[CLIENT_INTROSPECTS];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** oidc-provider's `features.introspection.allowedPolicy`, and the same rule for our JWT access tokens. */
export function mayIntrospect(client: Caller, token: Introspected): boolean {
  // RFC 7662 §2.1: the caller must authenticate; a public client has nothing to authenticate with.
  if (client.clientAuthMethod === 'none') return false;
  if (token.clientId === client.clientId) return true;
  const audiences = Array.isArray(token.aud) ? token.aud : typeof token.aud === 'string' ? [token.aud] : [];
  const served = new Set(servedResources(client));
  return audiences.some((aud) => served.has(aud));
}
