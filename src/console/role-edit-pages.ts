/**
 * /console/roles/:name: one role — change its description and its permissions (the whole list, or one
 * added / removed: the role service's update, grant and revoke, the API's PATCH and `gatehouse roles
 * grant|revoke`), and who holds it (assign to a person by email, remove from a holder: the API's
 * users.assignRole / removeRole). The no-escalation rule as in the API (management-authority.ts): the
 * operator must hold the authority the role has and the one it would get, and to change who holds it,
 * the authority of that person too. A form read before someone else changed the role is refused (lost
 * update), as the API's If-Match is.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { RolePermission, RoleRecord } from '../../adapters/contract.js';
import { DEFAULT_SCOPE, type AccountLifecycle, type Actor } from '../accounts/account-lifecycle.js';
import type { AuditLog } from '../audit/audit-log.js';
import { InvalidRoleInput, RoleProtected, type RoleService } from '../roles/role-service.js';
import { InvalidRequestError, NotFoundError } from '../errors/errors.js';
import type { Title } from '../http/render.js';
import { needs, operatorOf, requireHolds, type ConsolePage } from './console-page.js';
import { adminScopesOf, permissionsFromText, permissionsToText } from './role-permissions-text.js';

export type RoleEditPagesDeps = {
  page: ConsolePage;
  roles: Pick<RoleService, 'find' | 'update' | 'grant' | 'revoke' | 'isSystem'>;
  lifecycle: Pick<AccountLifecycle, 'list' | 'show'>;
  audit: Pick<AuditLog, 'record'>;
  authorityOf(roles: readonly string[]): Promise<Set<string>>;
  /** the API's users.assignRole / removeRole, audited as `by` */
  setRole(o: { accountId: string; role: string; assign: boolean; by: Actor; ctx: Context }): Promise<void>;
};

const HOLDERS_SHOWN = 100;

export function registerRoleEditPages(router: Router, d: RoleEditPagesDeps): void {
  const base = (name: string) => `/console/roles/${encodeURIComponent(name)}`;
  /** role.updated, stored with the change (RoleService, AuditLog.recordChange) */
  const recorded = (ctx: Context, details: Record<string, unknown>) =>
    ({ event: { type: 'role.updated', accountId: operatorOf(ctx).account.id, details: { ...details, by_account: operatorOf(ctx).account.id, via: 'console' } }, from: ctx });
  const current = async (ctx: Context) => (await d.roles.find(String(ctx.params.name))) ?? Promise.reject(new NotFoundError());
  const rolePage = async (ctx: Context, role: RoleRecord, extra: Record<string, unknown> = {}) => {
    const holders = (await d.lifecycle.list({ scope: DEFAULT_SCOPE, query: { limit: HOLDERS_SHOWN, role: role.name } })).accounts;
    await d.page(ctx, 'role', role.name, {
      role, system: role.system || d.roles.isSystem(role.name), holders,
      form: { description: role.description, permissions: permissionsToText(role.permissions), updatedAt: String(role.updatedAt), email: '' }, ...extra,
    });
  };
  /** a refusal next to its field: the console's own (a message key) or the service's (its words, as the API gives them) */
  const refusedField = async (ctx: Context, role: RoleRecord, field: string, message: Title, form?: Record<string, string>) => {
    ctx.status = 400;
    await rolePage(ctx, role, { fieldErrors: { [field]: message }, error: { key: 'console.form.nothingChanged' }, ...(form ? { form } : {}) });
    ctx.status = 400;
  };
  const refused = async (ctx: Context, role: RoleRecord, err: unknown, form?: Record<string, string>) => {
    if (err instanceof RoleProtected) throw new InvalidRequestError(err.message, 'console: protected role');
    if (!(err instanceof InvalidRoleInput)) throw err;
    const field = err.message.startsWith('description') ? 'description' : err.message.startsWith('permissions') ? 'permissions' : 'form';
    await refusedField(ctx, role, field, err.message, form);
  };
  // the authority the role has (taken away or kept) and the one it would get must be the operator's
  const holdsAll = (ctx: Context, ...lists: (readonly RolePermission[])[]) => requireHolds(operatorOf(ctx), lists.flatMap(adminScopesOf));

  router.get('/roles/:name', needs('admin:roles:read'), async (ctx) => rolePage(ctx, await current(ctx)));

  router.post('/roles/:name', needs('admin:roles:write'), async (ctx) => {
    const role = await current(ctx);
    const raw = ctx.state.form as Record<string, string>;
    const form = { description: String(raw.description ?? ''), permissions: String(raw.permissions ?? ''), updatedAt: String(raw.updated_at ?? ''), email: '' };
    const permissions = permissionsFromText(form.permissions);
    if (!Array.isArray(permissions)) return refusedField(ctx, role, 'permissions', permissions, form);
    holdsAll(ctx, role.permissions, permissions);
    let updated;
    try {
      updated = await d.roles.update(role.name, { description: form.description, permissions }, Number(form.updatedAt), recorded(ctx, { role: role.name, changed: ['description', 'permissions'] }));
    } catch (err) {
      return refused(ctx, role, err, form);
    }
    if (!updated) throw new NotFoundError();
    if (updated === 'stale') throw new InvalidRequestError('Someone changed this role after you opened it. Nothing was saved: open it again.', 'console: stale role form', 409).withPageMessage('console.role.stale');
    ctx.redirect(`${base(role.name)}?notice=role-saved`);
  });

  for (const [path, verb] of [['grant', 'grant'], ['revoke', 'revoke']] as const) {
    router.post(`/roles/:name/${path}`, needs('admin:roles:write'), async (ctx) => {
      const role = await current(ctx);
      const raw = ctx.state.form as Record<string, string>;
      const permissions = permissionsFromText(String(raw.permission ?? ''));
      if (!Array.isArray(permissions) || permissions.length !== 1) return refusedField(ctx, role, 'permissions', Array.isArray(permissions) ? { key: 'console.role.onePermission' } : permissions);
      holdsAll(ctx, role.permissions, permissions);
      let updated;
      try {
        updated = await d.roles[verb](role.name, permissions, recorded(ctx, { role: role.name, changed: ['permissions'] }));
      } catch (err) {
        return refused(ctx, role, err);
      }
      if (!updated) throw new NotFoundError();
      ctx.redirect(`${base(role.name)}?notice=${verb === 'grant' ? 'permission-added' : 'permission-removed'}`);
    });
  }

  router.post('/roles/:name/holders', needs('admin:users:write'), async (ctx) => {
    const role = await current(ctx);
    const raw = ctx.state.form as Record<string, string>;
    const assign = raw.remove !== 'yes';
    const ref = assign ? { email: String(raw.email ?? '').trim().slice(0, 320) } : { id: String(raw.account ?? '') };
    let person;
    try {
      person = await d.lifecycle.show({ scope: DEFAULT_SCOPE, account: ref });
    } catch {
      if (!assign) throw new NotFoundError();
      ctx.status = 400;
      await rolePage(ctx, role, { fieldErrors: { email: { key: 'console.roles.noSuchAccount' } }, error: { key: 'console.roles.nobodyGiven' }, form: { description: role.description, permissions: permissionsToText(role.permissions), updatedAt: String(role.updatedAt), email: ref.email } });
      ctx.status = 400;
      return;
    }
    // acting on the person needs their authority; giving or taking the role needs the role's
    requireHolds(operatorOf(ctx), await d.authorityOf(person.roles));
    requireHolds(operatorOf(ctx), adminScopesOf(role.permissions));
    await d.setRole({ accountId: person.account.id, role: role.name, assign, by: operatorOf(ctx).actor, ctx });
    ctx.redirect(`${base(role.name)}?notice=${assign ? 'role-assigned' : 'role-removed'}`);
  });
}
