/**
 * No escalation through the API (ATTACKS.md "Escalation"): a caller may give a client, or a person's
 * roles, only the management authority it holds itself. A client's admin:* scopes, and the roles that
 * allow admin scopes to a person (gatehouse:admin: all of them; a role named as a scope: that one), must
 * all be among the caller's token scopes; the answer otherwise is 403 naming the first one missing.
 */
import { ProblemError } from '../errors/errors.js';
import { ADMIN_SCOPES } from './admin-scopes.js';
import { ADMIN_ROLE, type AdminCaller } from './bearer-auth.js';

const isAdminScope = (s: string): boolean => s in ADMIN_SCOPES;

function refuse(missing: string): never {
  throw new ProblemError('forbidden', 403, `Granting ${missing} needs a token that holds it.`, undefined, {}, { scope: missing });
}

/** The admin scopes a client's registered `scope` gives it, all of which the caller must hold. */
export function requireCallerHoldsClientScopes(caller: AdminCaller, scope: unknown): void {
  if (typeof scope !== 'string') return;
  const missing = scope.split(' ').filter(isAdminScope).find((s) => !caller.scopes.has(s));
  if (missing) refuse(missing);
}

/** The admin authority a set of roles gives a person, all of which the caller must hold. */
export function requireCallerHoldsRoles(caller: AdminCaller, roles: readonly string[]): void {
  for (const role of roles) {
    const needed = role.trim() === ADMIN_ROLE ? Object.keys(ADMIN_SCOPES) : isAdminScope(role.trim()) ? [role.trim()] : [];
    const missing = needed.find((s) => !caller.scopes.has(s));
    if (missing) refuse(missing);
  }
}
