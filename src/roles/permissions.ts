/**
 * What a set of roles allows: the union of their permissions, per API (resource indicator). A person's
 * roles are names (their own and those upstream providers grant); a name that is no role record grants
 * nothing. One indexed read (RoleStore.findMany) per evaluation.
 */
import type { RolePermission, RoleRecord, RoleStore } from '../../adapters/contract.js';

export type Permissions = {
  /** the role records behind the names, in name order (names without a record left out) */
  roles: string[];
  /** the scopes of this API the roles allow */
  scopesFor(resource: string): Set<string>;
  /** every permission, distinct */
  all(): RolePermission[];
};

export function permissionsOfRecords(records: readonly RoleRecord[]): Permissions {
  const byResource = new Map<string, Set<string>>();
  for (const role of records) {
    for (const p of role.permissions) {
      let scopes = byResource.get(p.resource);
      if (!scopes) byResource.set(p.resource, (scopes = new Set()));
      scopes.add(p.scope);
    }
  }
  return {
    roles: records.map((r) => r.name),
    scopesFor: (resource) => new Set(byResource.get(resource) ?? []),
    all: () => [...byResource].flatMap(([resource, scopes]) => [...scopes].map((scope) => ({ resource, scope }))),
  };
}

export function createPermissionEvaluator(deps: { roles: Pick<RoleStore, 'findMany'> }) {
  return async function permissionsOf(roleNames: readonly string[]): Promise<Permissions> {
    return permissionsOfRecords(roleNames.length ? await deps.roles.findMany(roleNames) : []);
  };
}

export type PermissionsOf = ReturnType<typeof createPermissionEvaluator>;
