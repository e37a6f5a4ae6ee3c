/**
 * A role's permissions as the console's forms write them: one a line, `API=scope` (the CLI's
 * --permission syntax, e.g. `https://api.example.com=orders:read`), and the management authority among
 * them (the scopes at urn:gatehouse:admin) for the no-escalation rule.
 */
import type { RolePermission } from '../../adapters/contract.js';

// the management API's resource indicator (src/admin/admin-scopes.ts; a door does not import another)
const ADMIN_RESOURCE = 'urn:gatehouse:admin';

/** What is wrong with a line that is not a permission: a message key of console.json, shown in the page's locale. */
export type PermissionsRefusal = { key: 'console.roles.notPermission'; values: { line: string } };

/** The permissions, or what is wrong with the first line that is not one. */
export function permissionsFromText(text: string): RolePermission[] | PermissionsRefusal {
  const permissions: RolePermission[] = [];
  for (const line of text.split(/[\r\n]+/).map((l) => l.trim()).filter(Boolean)) {
    const at = line.lastIndexOf('=');
    if (at <= 0 || at === line.length - 1) return { key: 'console.roles.notPermission', values: { line } };
    permissions.push({ resource: line.slice(0, at).trim(), scope: line.slice(at + 1).trim() });
  }
  return permissions;
}

export const permissionsToText = (permissions: readonly RolePermission[]) => permissions.map((p) => `${p.resource}=${p.scope}`).join('\n');

export const adminScopesOf = (permissions: readonly RolePermission[]) => permissions.filter((p) => p.resource === ADMIN_RESOURCE).map((p) => p.scope);
