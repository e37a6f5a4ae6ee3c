/**
 * The `claims` request parameter (OpenID Connect Core §5.5): what oidc-provider accepts in it.
 */
import { errors } from 'oidc-provider';
import { SCOPE_CLAIMS } from './claims.js';

const KNOWN_CLAIMS: ReadonlySet<string> = new Set(Object.values(SCOPE_CLAIMS).flat());

/** The claims a client's registered scope releases; undefined when it registered none (oidc-provider: any). */
function releasedClaims(scope: string | undefined): Set<string> | undefined {
  if (typeof scope !== 'string') return undefined;
  const scopes = new Set(['openid', ...scope.split(' ')]);
  return new Set(Object.entries(SCOPE_CLAIMS).filter(([s]) => scopes.has(s)).flatMap(([, claims]) => claims as string[]));
}

/**
 * oidc-provider's `features.claimsParameter.assertClaimsParameter`: its default shape check (each member
 * null or an object), and Core §5.5.1: `value` is a string and `values` an array of strings. A malformed
 * request is invalid_request before anyone is asked to sign in. A client that registered a `scope` may ask
 * only for the claims those scopes release (SCOPE_CLAIMS), so the parameter is not a way around its registration.
 */
export async function assertClaimsParameter(_ctx: unknown, parameter: object, client?: { scope?: string }): Promise<void> {
  const claims = parameter as Record<string, unknown>;
  const released = releasedClaims(client?.scope);
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  for (const container of ['userinfo', 'id_token']) {
    const members = claims[container];
    if (members === undefined) continue;
    if (!isObject(members)) throw new errors.InvalidRequest(`claims.${container} must be an object`);
    for (const [name, request] of Object.entries(members)) {
      // a claim that only a scope the client did not register releases (e.g. roles): refused, like that scope
      if (released && KNOWN_CLAIMS.has(name) && !released.has(name)) {
        throw new errors.InvalidRequest(`claims.${container}.${name} is not released to this client (its registered scope)`);
      }
      if (request === null) continue;
      if (!isObject(request)) throw new errors.InvalidRequest(`claims.${container} members must be null or objects`);
      if (request.essential !== undefined && typeof request.essential !== 'boolean') throw new errors.InvalidRequest(`claims.${container}.${name}.essential must be a boolean`);
      if (name === 'acr' && request.value !== undefined && typeof request.value !== 'string') throw new errors.InvalidRequest(`claims.${container}.acr.value must be a string`);
      if (name === 'acr' && request.values !== undefined && !(Array.isArray(request.values) && request.values.every((v) => typeof v === 'string'))) {
        throw new errors.InvalidRequest(`claims.${container}.acr.values must be an array of strings`);
      }
    }
  }
}

