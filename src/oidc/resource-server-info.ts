/**
 * oidc-provider's `resourceIndicators.getResourceServerInfo`: which API a resource indicator (RFC 8707) names,
 * the scopes this client may get for it, and the format of its access tokens (RFC 9068 JWT).
 */
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { ResourceRecord } from '../../adapters/contract.js';
import { isClientCredentialsRequest, type ClientCredentialsTarget } from './client-credentials-target.js';

export type ResourceServerInfoDeps = {
  /** the API, read once per request (person-permissions.ts: the token's claims read it again) */
  findResource(ctx: object, identifier: string): Promise<ResourceRecord | undefined>;
  /** the client's registered `scope` (RFC 7591 §2); empty when it registered none (no API scope: fail closed) */
  registeredScope(clientId: string): Promise<Set<string>>;
  /** what a client_credentials token may carry (client-credentials-target.ts) */
  clientCredentials: ClientCredentialsTarget;
  /** a person's request: only the scopes their roles allow, at an API that takes them from roles (person-permissions.ts) */
  narrowToPerson(ctx: KoaContextWithOIDC, resource: ResourceRecord, scopes: string[]): Promise<string[]>;
};

export function createResourceServerInfo(deps: ResourceServerInfoDeps) {
  const registeredOf = async (clientId: string, resource: ResourceRecord) => {
    const registered = await deps.registeredScope(clientId);
    return Object.keys(resource.scopes).filter((s) => registered.has(s));
  };
  return async function getResourceServerInfo(ctx: KoaContextWithOIDC, indicator: string, client: { clientId: string }) {
    const resource = await deps.findResource(ctx, indicator);
    // RFC 8707 §2: an unknown resource is invalid_target
    if (!resource) throw new errors.InvalidTarget('resource indicator is not registered');
    // RFC 6749 §4.4: the client asks on its own behalf, so its registration is the whole grant, and asking
    // beyond it is RFC 6749 §5.2 invalid_scope ("exceeds the scope granted by the resource owner"). Roles
    // are a person's: a machine client's token carries its registered scope, whatever roles exist.
    if (isClientCredentialsRequest(ctx)) return resourceServerOf(resource, await deps.clientCredentials.grantedScope(ctx, client.clientId, resource));
    // a person's: what the client may ask for and the person's roles allow. Consent then lists only that
    // (oidc-provider's rs_scopes_missing reads these scopes), and a refresh re-evaluates it: a removed role
    // shrinks the next access token (to an empty scope if nothing is left: the client keeps its refresh
    // token, and gets the scope back when the role returns), never beyond what the person consented to.
    return resourceServerOf(resource, await deps.narrowToPerson(ctx, resource, await registeredOf(client.clientId, resource)));
  };
}

/** An API as oidc-provider's resource server: the scopes a token may carry for it, RFC 9068 JWT access tokens. */
export function resourceServerOf(resource: ResourceRecord, scopes: string[]) {
  return {
    scope: scopes.join(' '),
    audience: resource.identifier,
    accessTokenTTL: resource.accessTokenTtl,
    accessTokenFormat: 'jwt' as const,
    jwt: { sign: { alg: 'RS256' as const } },
  };
}
