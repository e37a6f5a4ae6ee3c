/**
 * /console/roles: every role with its permissions and holders; create a role (permissions one per line
 * as `API=scope`), delete one (its name typed). The role service the API and `gatehouse roles` call,
 * with the API's audit events; giving a role management authority (or deleting one that has it) needs
 * that authority (management-authority.ts). Built-in and federation-mapped roles are refused by the
 * service itself.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import { DuplicateError } from '../../adapters/contract.js';
import type { AccountLifecycle } from '../accounts/account-lifecycle.js';
import { DEFAULT_SCOPE } from '../accounts/account-lifecycle.js';
import type { AuditLog } from '../audit/audit-log.js';
import { InvalidRoleInput, RoleProtected, type RoleService } from '../roles/role-service.js';
import { InvalidRequestError, NotFoundError } from '../errors/errors.js';
import type { Title } from '../http/render.js';
import { needs, operatorOf, requireHolds, requireTypedName, type ConsolePage } from './console-page.js';
import { adminScopesOf as adminScopes, permissionsFromText as permissionsOf } from './role-permissions-text.js';

export type RolesPagesDeps = {
  page: ConsolePage;
  roles: Pick<RoleService, 'list' | 'create' | 'delete'>;
  lifecycle: Pick<AccountLifecycle, 'list'>;
  audit: Pick<AuditLog, 'record'>;
};

export function registerRolesPages(router: Router, d: RolesPagesDeps): void {
  const eventOf = (ctx: Context, type: string, details: Record<string, unknown>) =>
    ({ type, accountId: operatorOf(ctx).account.id, details: { ...details, by_account: operatorOf(ctx).account.id, via: 'console' } });
  const listPage = async (ctx: Context, extra: Record<string, unknown> = {}) => {
    const roles = await d.roles.list();
    const holders = await Promise.all(roles.map(async (r) => (await d.lifecycle.list({ scope: DEFAULT_SCOPE, query: { limit: 10, role: r.name } })).accounts));
    await d.page(ctx, 'roles', { key: 'console.roles.title' }, { roles: roles.map((r, i) => ({ role: r, holders: holders[i] ?? [] })), form: { name: '', description: '', permissions: '' }, ...extra });
  };

  router.get('/roles', needs('admin:roles:read'), (ctx) => listPage(ctx));

  router.post('/roles', needs('admin:roles:write'), async (ctx) => {
    const raw = ctx.state.form as Record<string, string>;
    const form = { name: (raw.name ?? '').trim(), description: (raw.description ?? '').trim(), permissions: raw.permissions ?? '' };
    const refuse = async (fieldErrors: Record<string, Title>) => {
      ctx.status = 400;
      await listPage(ctx, { form, fieldErrors, error: { key: 'console.roles.notCreated' } });
      ctx.status = 400;
    };
    const permissions = permissionsOf(form.permissions);
    if (!Array.isArray(permissions)) return refuse({ permissions });
    requireHolds(operatorOf(ctx), adminScopes(permissions));
    let created;
    try {
      await d.roles.create(
        { name: form.name, ...(form.description ? { description: form.description } : {}), permissions },
        { event: (r) => eventOf(ctx, 'role.created', { role: r.name, permissions: r.permissions.length }), from: ctx },
      );
    } catch (err) {
      if (err instanceof DuplicateError) return refuse({ name: { key: 'console.roles.exists' } });
      if (err instanceof InvalidRoleInput) return refuse({ [err.message.startsWith('permissions') ? 'permissions' : err.message.startsWith('description') ? 'description' : 'name']: err.message });
      throw err;
    }
    ctx.redirect('/console/roles?notice=role-created');
  });

  router.post('/roles/:name/delete', needs('admin:roles:write'), async (ctx) => {
    const name = String(ctx.params.name);
    const role = (await d.roles.list()).find((r) => r.name === name);
    if (!role) throw new NotFoundError();
    requireHolds(operatorOf(ctx), adminScopes(role.permissions));
    requireTypedName(ctx, name);
    try {
      if (!(await d.roles.delete(name, { event: eventOf(ctx, 'role.deleted', { role: name }), from: ctx }))) throw new NotFoundError();
    } catch (err) {
      if (err instanceof RoleProtected) throw new InvalidRequestError(err.message, 'console: protected role');
      throw err;
    }
    ctx.redirect('/console/roles?notice=role-deleted');
  });
}
