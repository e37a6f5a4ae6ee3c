/**
 * /admin/v1/roles: roles as records (src/roles) — create, read, change, delete, and who holds one — and
 * /admin/v1/users/{id}/roles: a person's direct roles (assign, remove). The escalation rule holds
 * throughout (escalation.ts): a role's permissions at urn:gatehouse:admin, given, taken away or deleted,
 * must all be held by the caller, and so must the authority of the person being changed.
 */
import { z } from 'zod';
import type { Context } from 'koa';
import { DuplicateError, type RoleRecord } from '../../../adapters/contract.js';
import { recordedIfDone, type AuditLog } from '../../audit/audit-log.js';
import type { AccountService } from '../../accounts/accounts.js';
import { DEFAULT_SCOPE, type AccountLifecycle } from '../../accounts/account-lifecycle.js';
import { InvalidAccountInput } from '../../accounts/accounts.js';
import { InvalidRoleInput, RoleProtected, type RoleService } from '../../roles/role-service.js';
import { ProblemError } from '../../errors/errors.js';
import { etagOf, requireIfMatch } from '../etag.js';
import { pageOf, pageQuery, paginate } from '../pagination.js';
import { route, type AdminRoute } from '../route-table.js';
import { requireCallerHoldsPermissions, requireCallerHoldsRoles, type AuthorityOf } from '../escalation.js';
import type { AdminCaller } from '../bearer-auth.js';
import { managedTarget } from './user-lifecycle.js';
import { userSchema, userView } from './users.js';

export type RoleRoutesDeps = {
  roles: Pick<RoleService, 'list' | 'find' | 'create' | 'update' | 'delete' | 'isSystem'>;
  accounts: Pick<AccountService, 'changeRole'>;
  lifecycle: Pick<AccountLifecycle, 'list' | 'show'>;
  audit: Pick<AuditLog, 'record'>;
  authorityOf: AuthorityOf;
};

const permissionSchema = z.object({
  resource: z.string().min(1).max(2048).describe('the API (resource indicator)'),
  scope: z.string().min(1).max(200).describe('one of its scopes'),
}).strict();

const roleSchema = z.object({
  name: z.string(),
  description: z.string(),
  permissions: z.array(permissionSchema),
  system: z.boolean().describe('built in: cannot be changed or deleted'),
  created_at: z.string(),
  updated_at: z.string(),
});

const nameParams = z.object({ name: z.string().min(1).max(64) });
const userRolesSchema = z.object({
  assigned: z.array(z.string()).describe('roles assigned to the account directly'),
  effective: z.array(z.string()).describe('every role it holds: assigned, and granted by upstream providers at their last sign-in'),
});

export function roleRoutes(d: RoleRoutesDeps): AdminRoute[] {
  const view = (r: RoleRecord) => ({
    name: r.name, description: r.description, permissions: r.permissions, system: r.system || d.roles.isSystem(r.name),
    created_at: new Date(r.createdAt).toISOString(), updated_at: new Date(r.updatedAt).toISOString(),
  });
  const current = async (name: string) => {
    const found = await d.roles.find(name);
    if (!found) throw new ProblemError('not_found', 404, 'No role has this name.');
    return found;
  };
  const asProblem = (err: unknown): never => {
    if (err instanceof DuplicateError) throw new ProblemError('conflict', 409, 'A role with this name exists.');
    if (err instanceof RoleProtected) throw new ProblemError('conflict', 409, err.message);
    if (err instanceof InvalidRoleInput || err instanceof InvalidAccountInput) {
      const path = `body.${err.message.split(':')[0]}`;
      throw new ProblemError('invalid_input', 400, err.message, undefined, {}, { errors: [{ path, message: err.message }] });
    }
    throw err;
  };
  const eventOf = (caller: AdminCaller, type: string, details: Record<string, unknown>, accountId: string | null = caller.accountId) =>
    ({ type, accountId, clientId: caller.clientId, details: { ...details, by_account: caller.accountId, via: 'admin_api' } });
  const target = managedTarget(d.lifecycle, d.authorityOf);

  async function changeAssignment(ctx: Context, caller: AdminCaller, id: string, role: string, assign: boolean) {
    const account = await target(id, caller);
    // the role's own authority, given or taken away
    await requireCallerHoldsRoles(caller, [role], d.authorityOf);
    try {
      // the event only when the assignment changed: of operators making the same change at once, one is recorded
      await d.accounts.changeRole(account.id, role, assign, recordedIfDone({ event: eventOf(caller, assign ? 'role.assigned' : 'role.removed', { role }, account.id), from: ctx }));
    } catch (err) {
      asProblem(err);
    }
    return rolesOf(id);
  }
  async function rolesOf(id: string) {
    const { account, roles } = await d.lifecycle.show({ scope: DEFAULT_SCOPE, account: { id } });
    return { body: { assigned: account.roles, effective: roles } };
  }

  return [
    route({
      method: 'get', path: '/roles', operationId: 'roles.list', summary: 'List roles, by name', scope: 'admin:roles:read',
      query: z.object(pageQuery), response: pageOf(roleSchema),
      async handler({ query, ctx }) {
        const page = paginate(await d.roles.list(), (r) => [r.name], query, (cursor) => `${ctx.path}?limit=${query.limit}&cursor=${cursor}`);
        return { body: { items: page.items.map(view), ...(page.next ? { next: page.next } : {}) } };
      },
    }),
    route({
      method: 'post', path: '/roles', operationId: 'roles.create', summary: 'Create a role with permissions (API + scope)', scope: 'admin:roles:write',
      body: z.object({
        name: z.string().min(1).max(64),
        description: z.string().max(500).optional(),
        permissions: z.array(permissionSchema).max(500).optional(),
      }).strict(),
      response: roleSchema, status: 201,
      async handler({ body, ctx, caller }) {
        requireCallerHoldsPermissions(caller, body.permissions ?? []);
        const created = await d.roles.create(body, { event: (r) => eventOf(caller, 'role.created', { role: r.name, permissions: r.permissions.length }), from: ctx }).catch(asProblem);
        const shown = view(created);
        return { status: 201, body: shown, etag: etagOf(shown), headers: { Location: `${ctx.path}/${encodeURIComponent(created.name)}` } };
      },
    }),
    route({
      method: 'get', path: '/roles/:name', operationId: 'roles.read', summary: 'Read a role', scope: 'admin:roles:read',
      params: nameParams, response: roleSchema,
      async handler({ params }) {
        const shown = view(await current(params.name));
        return { body: shown, etag: etagOf(shown) };
      },
    }),
    route({
      method: 'patch', path: '/roles/:name', operationId: 'roles.update', summary: 'Change a role\'s description or its permissions (the whole list)', scope: 'admin:roles:write',
      params: nameParams, ifMatch: true,
      body: z.object({ description: z.string().max(500).optional(), permissions: z.array(permissionSchema).max(500).optional() }).strict(),
      response: roleSchema,
      async handler({ params, body, ctx, caller }) {
        const found = await current(params.name);
        requireIfMatch(ctx, etagOf(view(found)));
        // the authority it has, and the one it would get
        requireCallerHoldsPermissions(caller, found.permissions);
        if (body.permissions) requireCallerHoldsPermissions(caller, body.permissions);
        const updated = await d.roles.update(params.name, body, found.updatedAt, { event: eventOf(caller, 'role.updated', { role: params.name, changed: Object.keys(body) }), from: ctx }).catch(asProblem);
        if (!updated) throw new ProblemError('not_found', 404, 'No role has this name.');
        if (updated === 'stale') throw new ProblemError('precondition_failed', 412, 'The role changed since it was read; read it again.');
        const shown = view(updated);
        return { body: shown, etag: etagOf(shown) };
      },
    }),
    route({
      method: 'delete', path: '/roles/:name', operationId: 'roles.delete', summary: 'Delete a role and every assignment of it (built-in and federation-mapped roles cannot be)', scope: 'admin:roles:write',
      params: nameParams,
      async handler({ params, ctx, caller }) {
        requireCallerHoldsPermissions(caller, (await current(params.name)).permissions);
        if (!(await d.roles.delete(params.name, { event: eventOf(caller, 'role.deleted', { role: params.name }), from: ctx }).catch(asProblem))) throw new ProblemError('not_found', 404, 'No role has this name.');
        return { status: 204 };
      },
    }),
    route({
      method: 'get', path: '/roles/:name/users', operationId: 'roles.users', summary: 'The accounts holding a role (assigned or granted upstream), oldest first', scope: 'admin:users:read',
      params: nameParams, query: z.object(pageQuery), response: pageOf(userSchema),
      async handler({ params, query, ctx }) {
        await current(params.name);
        const page = await d.lifecycle.list({ scope: DEFAULT_SCOPE, query: { limit: query.limit, cursor: query.cursor ?? null, role: params.name } });
        const next = page.next ? new URLSearchParams({ limit: String(query.limit), cursor: page.next }) : undefined;
        return { body: { items: page.accounts.map(userView), ...(next ? { next: `${ctx.path}?${next}` } : {}) } };
      },
    }),
    route({
      method: 'get', path: '/users/:id/roles', operationId: 'users.roles', summary: 'A person\'s roles: assigned directly, and all they hold', scope: 'admin:users:read',
      params: z.object({ id: z.string().min(1).max(200) }), response: userRolesSchema,
      handler: ({ params }) => rolesOf(params.id),
    }),
    route({
      method: 'post', path: '/users/:id/roles', operationId: 'users.assignRole', summary: 'Assign a role to a person (no change if they have it)', scope: 'admin:users:write',
      params: z.object({ id: z.string().min(1).max(200) }), body: z.object({ role: z.string().min(1).max(64) }).strict(), response: userRolesSchema,
      handler: ({ params, body, ctx, caller }) => changeAssignment(ctx, caller, params.id, body.role, true),
    }),
    route({
      method: 'delete', path: '/users/:id/roles/:role', operationId: 'users.removeRole', summary: 'Remove a role assigned to a person directly', scope: 'admin:users:write',
      params: z.object({ id: z.string().min(1).max(200), role: z.string().min(1).max(64) }), response: userRolesSchema,
      handler: ({ params, ctx, caller }) => changeAssignment(ctx, caller, params.id, params.role, false),
    }),
  ];
}
