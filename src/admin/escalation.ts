/**
 * No escalation through the API (ATTACKS.md "Escalation"): a caller may give a client, a role or a
 * person only the management authority it holds itself. That authority is admin scopes: a client's
 * registered admin:* scopes, a role's permissions at urn:gatehouse:admin, and a person's roles'. All of
 * it must be among the caller's token scopes; the answer otherwise is 403 naming the first one missing.
 * The same holds for taking authority away, and for acting on a person who holds it.
 */
import type { RolePermission } from '../../adapters/contract.js';
import { ProblemError } from '../errors/errors.js';
import { ADMIN_RESOURCE, ADMIN_SCOPES } from './admin-scopes.js';
import type { AdminCaller } from './bearer-auth.js';
import { firstMissingAuthority } from '../roles/management-authority.js';

const isAdminScope = (s: string): boolean => s in ADMIN_SCOPES;

/** The admin scopes these roles give a person (their permissions at urn:gatehouse:admin). */
export type AuthorityOf = (roles: readonly string[]) => Promise<Set<string>>;

function requireAll(caller: AdminCaller, needed: Iterable<string>): void {
  const missing = firstMissingAuthority(caller.scopes, needed);
  if (missing) throw new ProblemError('forbidden', 403, `Granting ${missing} needs a token that holds it.`, undefined, {}, { scope: missing });
}

/** The admin scopes a client's registered `scope` gives it, all of which the caller must hold. */
export function requireCallerHoldsClientScopes(caller: AdminCaller, scope: unknown): void {
  if (typeof scope !== 'string') return;
  requireAll(caller, scope.split(' ').filter(isAdminScope));
}

/** The admin authority of a role's permissions, all of which the caller must hold. */
export function requireCallerHoldsPermissions(caller: AdminCaller, permissions: readonly RolePermission[]): void {
  requireAll(caller, permissions.filter((p) => p.resource === ADMIN_RESOURCE).map((p) => p.scope));
}

/** The admin authority a set of roles gives a person, all of which the caller must hold. */
export async function requireCallerHoldsRoles(caller: AdminCaller, roles: readonly string[], authorityOf: AuthorityOf): Promise<void> {
  requireAll(caller, await authorityOf(roles.map((r) => r.trim())));
}
