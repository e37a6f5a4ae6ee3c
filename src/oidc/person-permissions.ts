/**
 * The person a protocol request acts for, and what their roles allow (issue 14), read once per request:
 * oidc-provider asks for the account (findAccount), then for each API's resource-server info, then
 * formats the token (extraTokenClaims) within one request, and all three reuse the same reads. So roles
 * cost one indexed read per token issued (RoleStore.findMany), on top of the account read the token
 * endpoint always made; nothing is cached across requests, so a role change applies to the next
 * request on every replica.
 */
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { AccountRecord, ResourceRecord } from '../../adapters/contract.js';
import type { Permissions, PermissionsOf } from '../roles/permissions.js';

type Memo<V> = WeakMap<object, Map<string, Promise<V>>>;

function remember<V>(memo: Memo<V>, ctx: object, key: string, load: () => Promise<V>): Promise<V> {
  let byKey = memo.get(ctx);
  if (!byKey) memo.set(ctx, (byKey = new Map()));
  let value = byKey.get(key);
  if (!value) byKey.set(key, (value = load()));
  return value;
}

type WithAccount = { accountId?: string } | undefined;

/**
 * The account a request acts for: the token being redeemed (code, refresh, device code) at the token
 * endpoint, the session's at the authorization endpoints; undefined for client_credentials, and before
 * anyone signed in (an API that takes scopes from roles then offers none: fail closed).
 */
export function personOf(ctx: KoaContextWithOIDC): string | undefined {
  const e = ctx.oidc.entities as Record<string, WithAccount>;
  return e.Account?.accountId ?? e.RefreshToken?.accountId ?? e.AuthorizationCode?.accountId ?? e.DeviceCode?.accountId
    ?? e.BackchannelAuthenticationRequest?.accountId ?? e.Session?.accountId;
}

export function createPersonPermissions(deps: {
  /** the account with all its roles, own and federated (build-accounts.ts withAllRoles) */
  withAllRoles(id: string): Promise<AccountRecord | undefined>;
  permissionsOf: PermissionsOf;
  findResource(identifier: string): Promise<ResourceRecord | undefined>;
}) {
  const accounts: Memo<AccountRecord | undefined> = new WeakMap();
  const permissions: Memo<Permissions | undefined> = new WeakMap();
  const resources: Memo<ResourceRecord | undefined> = new WeakMap();

  const account = (ctx: object, id: string) => remember(accounts, ctx, id, () => deps.withAllRoles(id));
  const permissionsOf = (ctx: object, id: string) =>
    remember(permissions, ctx, id, async () => {
      const found = await account(ctx, id);
      return found && found.disabledAt === null ? deps.permissionsOf(found.roles) : undefined;
    });

  return {
    account,
    /** what the person's roles allow; undefined when there is no such (active) account */
    permissionsOf,
    findResource: (ctx: object, identifier: string) => remember(resources, ctx, identifier, () => deps.findResource(identifier)),
    /** The scopes of this API the person may get: all of them unless the API takes them from roles. */
    async narrow(ctx: KoaContextWithOIDC, resource: ResourceRecord, scopes: string[], person = personOf(ctx)): Promise<string[]> {
      if (!resource.permissionsFromRoles) return scopes;
      const allowed = person ? (await permissionsOf(ctx, person))?.scopesFor(resource.identifier) : undefined;
      return allowed ? scopes.filter((s) => allowed.has(s)) : [];
    },
    /** The opt-in `roles` and `permissions` claims of an access token for this API (ResourceRecord.tokenClaims). */
    async tokenClaims(ctx: object, accountId: string | undefined, audience: string | undefined): Promise<Record<string, unknown> | undefined> {
      if (!accountId || !audience) return undefined;
      const resource = await remember(resources, ctx, audience, () => deps.findResource(audience));
      if (!resource?.tokenClaims.length) return undefined;
      const held = await permissionsOf(ctx, accountId);
      if (!held) return undefined;
      const claims: Record<string, unknown> = {};
      if (resource.tokenClaims.includes('roles')) claims.roles = held.roles;
      if (resource.tokenClaims.includes('permissions')) claims.permissions = [...held.scopesFor(resource.identifier)].sort();
      return claims;
    },
  };
}

export type PersonPermissions = ReturnType<typeof createPersonPermissions>;
