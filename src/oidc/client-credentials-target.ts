/**
 * Which API a client_credentials token is for, and with which scope (RFC 6749 §3.3, §4.4; RFC 8707 §2).
 * The client acts on its own behalf, so its token must name one registered API and scopes that API defines:
 *
 *   - a scope the client did not register is invalid_scope (RFC 6749 §5.2, "exceeds the scope granted");
 *   - an OpenID scope is invalid_scope: it asks for claims about a person, and this grant has none;
 *   - a scope that no registered API defines is invalid_scope;
 *   - without `resource`, the client's `gatehouse_default_resource`, else the one API that defines all
 *     requested scopes; two or more such APIs is invalid_target, none is invalid_scope, each naming the choices;
 *   - without `scope` (RFC 6749 §3.3 "MUST either ... use a pre-defined default value or fail"): the scopes the
 *     client registered for that API; none, or no API either, is invalid_scope.
 * So a client_credentials token always names an API and at least one of its scopes; never an opaque token for nothing.
 * The choices named in descriptions are APIs defining scopes the (authenticated) client registered: nothing else leaks.
 */
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { ResourceRecord } from '../../adapters/contract.js';
import { DEFAULT_RESOURCE } from '../clients/client-scope.js';

export type ClientCredentialsTargetDeps = {
  listResources(): Promise<ResourceRecord[]>;
  registeredScope(clientId: string): Promise<Set<string>>;
  /** the scopes oidc-provider defines (OpenID Connect's) */
  oidcScopes: ReadonlySet<string>;
};

export function isClientCredentialsRequest(ctx: KoaContextWithOIDC): boolean {
  return ctx.oidc.route === 'token' && ctx.oidc.params?.grant_type === 'client_credentials';
}

const requestedScopes = (ctx: KoaContextWithOIDC): string[] => [...new Set(String(ctx.oidc.params?.scope ?? '').split(' ').filter(Boolean))];
const list = (values: string[]) => values.join(', ');

export function createClientCredentialsTarget(deps: ClientCredentialsTargetDeps) {
  /** the checks that need no API: registered, not OpenID */
  async function checkRequested(ctx: KoaContextWithOIDC, clientId: string): Promise<{ requested: string[]; registered: Set<string> }> {
    const registered = await deps.registeredScope(clientId);
    const requested = requestedScopes(ctx);
    const beyond = requested.find((s) => !registered.has(s));
    if (beyond !== undefined) throw new errors.InvalidScope('requested scope is not allowed', beyond);
    const openid = requested.filter((s) => deps.oidcScopes.has(s));
    if (openid.length) throw new errors.InvalidScope(`OpenID scopes need a signed-in person, and client_credentials has none: ${list(openid)}`, openid.join(' '));
    return { requested, registered };
  }

  /** APIs defining `scope`, among all registered APIs */
  const definedBy = (apis: ResourceRecord[], scope: string) => apis.filter((api) => Object.hasOwn(api.scopes, scope)).map((api) => api.identifier);

  function undefinedScopes(apis: ResourceRecord[], requested: string[]): void {
    const nowhere = requested.filter((s) => definedBy(apis, s).length === 0);
    if (nowhere.length) throw new errors.InvalidScope(`no registered API defines ${list(nowhere)}`, nowhere.join(' '));
  }

  return {
    /** `resourceIndicators.defaultResource` for client_credentials: called only when the request has no `resource`. */
    async defaultResource(ctx: KoaContextWithOIDC, client: Record<string, unknown> & { clientId: string }): Promise<string> {
      const { requested } = await checkRequested(ctx, client.clientId);
      const configured = client[DEFAULT_RESOURCE];
      if (typeof configured === 'string') return configured;
      if (requested.length === 0) {
        throw new errors.InvalidScope('no scope requested and no default API for this client: ask for the scopes of one API (with resource), or register gatehouse_default_resource', '');
      }
      const apis = await deps.listResources();
      undefinedScopes(apis, requested);
      const all = apis.filter((api) => requested.every((s) => Object.hasOwn(api.scopes, s)));
      if (all.length === 1) return all[0]!.identifier;
      if (all.length > 1) {
        throw new errors.InvalidTarget(`the requested scope is defined by more than one API; name one with resource: ${list(all.map((a) => a.identifier))}`);
      }
      // RFC 8707 §2: a token is for one API; say which scope belongs where (only scopes this client registered)
      const where = requested.map((s) => `${s} (${list(definedBy(apis, s))})`);
      throw new errors.InvalidScope(`no single API defines all requested scopes; ask for the scopes of one API: ${where.join('; ')}`, requested.join(' '));
    },

    /**
     * In `getResourceServerInfo` for client_credentials, once the API is known: the scope the token gets, or a
     * refusal. Without `scope`, the request's scope becomes the client's registered scopes of this API (the
     * pre-defined default of RFC 6749 §3.3), so the grant handler and the token response both carry it.
     */
    async grantedScope(ctx: KoaContextWithOIDC, clientId: string, api: ResourceRecord): Promise<string[]> {
      const { requested, registered } = await checkRequested(ctx, clientId);
      const offered = Object.keys(api.scopes).filter((s) => registered.has(s));
      if (requested.length === 0) {
        if (!offered.length) throw new errors.InvalidScope(`the client is registered for no scope of ${api.identifier}`, '');
        ctx.oidc.params!.scope = offered.join(' ');
        return offered;
      }
      const granted = requested.filter((s) => Object.hasOwn(api.scopes, s));
      if (granted.length < requested.length) undefinedScopes(await deps.listResources(), requested);
      if (!granted.length) {
        throw new errors.InvalidScope(`${api.identifier} defines none of the requested scopes; it defines ${list(offered) || 'none this client registered'}`, requested.join(' '));
      }
      // the others belong to other APIs: RFC 6749 §3.3 lets the server grant less, and the response says so (§5.1)
      return granted;
    },
  };
}

export type ClientCredentialsTarget = ReturnType<typeof createClientCredentialsTarget>;
