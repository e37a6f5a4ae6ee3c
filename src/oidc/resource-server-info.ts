/**
 * oidc-provider's `resourceIndicators.getResourceServerInfo`: which API a resource indicator (RFC 8707) names,
 * the scopes this client may get for it, and the format of its access tokens (RFC 9068 JWT).
 */
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { ResourceRecord } from '../../adapters/contract.js';

export type ResourceServerInfoDeps = {
  findResource(identifier: string): Promise<ResourceRecord | undefined>;
  /** the client's registered `scope` (RFC 7591 §2); empty when it registered none (no API scope: fail closed) */
  registeredScope(clientId: string): Promise<Set<string>>;
};

export function createResourceServerInfo(deps: ResourceServerInfoDeps) {
  return async function getResourceServerInfo(ctx: KoaContextWithOIDC, indicator: string, client: { clientId: string }) {
    const resource = await deps.findResource(indicator);
    // RFC 8707 §2: an unknown resource is invalid_target
    if (!resource) throw new errors.InvalidTarget('resource indicator is not registered');
    const registered = await deps.registeredScope(client.clientId);
    if (isClientCredentialsRequest(ctx)) {
      // RFC 6749 §4.4: the client asks on its own behalf, so its registration is the whole grant, and asking
      // beyond it is RFC 6749 §5.2 invalid_scope ("exceeds the scope granted by the resource owner"), as
      // oidc-provider already answers for the OpenID scopes outside a client's `scope`.
      const beyond = String(ctx.oidc.params?.scope ?? '').split(' ').find((s) => s && !registered.has(s));
      if (beyond !== undefined) throw new errors.InvalidScope('requested scope is not allowed', beyond);
    }
    const scopes = Object.keys(resource.scopes).filter((s) => registered.has(s));
    return {
      scope: scopes.join(' '),
      audience: resource.identifier,
      accessTokenTTL: resource.accessTokenTtl,
      accessTokenFormat: 'jwt' as const,
      jwt: { sign: { alg: 'RS256' as const } },
    };
  };
}

function isClientCredentialsRequest(ctx: KoaContextWithOIDC): boolean {
  return ctx.oidc.route === 'token' && ctx.oidc.params?.grant_type === 'client_credentials';
}
