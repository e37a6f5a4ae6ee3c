/**
 * RFC 7591 §2 `scope`: "String containing a space-separated list of scope values ... that the client can use
 * when requesting access tokens." oidc-provider's client schema accepts only its own (OpenID) scopes in that
 * field and leaves API scopes to the resource server hook, so a client's registered `scope` is kept whole in
 * our registry and split in two: the OpenID part is what the provider sees as the client's `scope`, the
 * API part limits what `getResourceServerInfo` offers this client (oidc/resource-server-info.ts).
 *
 * Fail closed: a client that registered no `scope` may use the OpenID scopes (oidc-provider's default for a
 * client without `scope`) and no API scope at all. A client_credentials client acts only on its own behalf and
 * has nothing to ask for but API scopes, so registering one without `scope` is refused.
 */

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export class InvalidClientScope extends Error {}

/** Client metadata: the API a client_credentials request without `resource` is for (oidc/client-credentials-target.ts). */
export const DEFAULT_RESOURCE = 'gatehouse_default_resource';

/** The scope values of a registered `scope`, or undefined when the client registered none. */
export function parseClientScope(scope: unknown): Set<string> | undefined {
  if (scope === undefined || scope === null) return undefined;
  if (typeof scope !== 'string') throw new InvalidClientScope('scope: expected a space-separated string of scope values');
  const values = scope.split(' ').filter(Boolean);
  const bad = values.find((v) => !SCOPE_TOKEN.test(v));
  if (bad !== undefined) throw new InvalidClientScope(`scope: ${JSON.stringify(bad)} is not a valid scope token (RFC 6749 §3.3)`);
  return new Set(values);
}

/** The metadata as oidc-provider should see it: `scope` holds only the scopes the provider itself defines. */
export function providerView(metadata: Record<string, unknown>, oidcScopes: ReadonlySet<string>): Record<string, unknown> {
  const registered = parseClientScope(metadata.scope);
  if (!registered) return metadata;
  const { scope: _whole, ...rest } = metadata;
  const oidcPart = [...registered].filter((s) => oidcScopes.has(s));
  return oidcPart.length ? { ...rest, scope: oidcPart.join(' ') } : rest;
}

/** RFC 6749 §4.4: a client_credentials client must say which (API) scopes it may ask for. */
export function requireScopeForClientCredentials(metadata: Record<string, unknown>): void {
  const grants = Array.isArray(metadata.grant_types) ? metadata.grant_types : [];
  if (!grants.includes('client_credentials')) return;
  if (!parseClientScope(metadata.scope)?.size) {
    throw new InvalidClientScope('scope: a client with the client_credentials grant must register the API scopes it may request (e.g. "scope": "invoices:read")');
  }
}
