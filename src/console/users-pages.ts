/**
 * /console/users: search, a person's detail (sessions, connected apps, factors, federated links, roles,
 * recent audit events) and the account lifecycle actions, through the one lifecycle service the
 * management API and the CLI call (accounts/account-lifecycle.ts), as the operator. The same scopes as
 * the API's routes, and the same no-escalation rule: acting on a person holding management authority
 * needs that authority.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { AccountStatus } from '../../adapters/contract.js';
import type { AccountLifecycle, Actor } from '../accounts/account-lifecycle.js';
import { DEFAULT_SCOPE } from '../accounts/account-lifecycle.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { SessionsAndApps } from '../oidc/sessions-and-apps.js';
import type { RoleService } from '../roles/role-service.js';
import { needs, operatorOf, requireHolds, requireTypedName, type ConsolePage } from './console-page.js';

export type UsersPagesDeps = {
  page: ConsolePage;
  lifecycle: Pick<AccountLifecycle, 'list' | 'show' | 'disable' | 'enable' | 'erase' | 'unlock' | 'resetFactors' | 'signOutEverywhere'>;
  sessionsAndApps: Pick<SessionsAndApps, 'sessions' | 'apps'>;
  roles: Pick<RoleService, 'list'>;
  /** the admin scopes these roles give */
  authorityOf(roles: readonly string[]): Promise<Set<string>>;
  /** the password reset of the forgot-password page (accounts/password-reset.ts), as if the person asked */
  sendPasswordReset(email: string, ctx: Context): Promise<void>;
  audit: Pick<AuditLog, 'query' | 'record'>;
  /** assign or remove a role directly on the account (the API's users.assignRole), audited as `by` */
  setRole(o: { accountId: string; role: string; assign: boolean; by: Actor; ctx: Context }): Promise<void>;
};

const PAGE_SIZE = 25;

export function registerUsersPages(router: Router, d: UsersPagesDeps): void {
  const { page, lifecycle } = d;
  const scope = DEFAULT_SCOPE;

  router.get('/users', needs('admin:users:read'), async (ctx) => {
    const q = typeof ctx.query.q === 'string' ? ctx.query.q.trim().slice(0, 200) : '';
    const status: AccountStatus | undefined = ctx.query.status === 'active' || ctx.query.status === 'disabled' ? ctx.query.status : undefined;
    const cursor = typeof ctx.query.cursor === 'string' ? ctx.query.cursor : null;
    const query = { limit: PAGE_SIZE, cursor, ...(status ? { status } : {}), ...(q ? (q.includes('@') || !/\s/.test(q) ? { emailPrefix: q.toLowerCase() } : { name: q }) : {}) };
    const result = await lifecycle.list({ scope, query });
    const next = result.next ? `/console/users?${new URLSearchParams({ ...(q ? { q } : {}), ...(status ? { status } : {}), cursor: result.next })}` : null;
    await page(ctx, 'users', { key: 'console.users.title' }, { q, status: status ?? '', accounts: result.accounts, next });
  });

  router.get('/users/:id', needs('admin:users:read'), async (ctx) => {
    const id = String(ctx.params.id);
    const details = await lifecycle.show({ scope, account: { id } });
    const [sessions, apps, events, roles] = await Promise.all([
      d.sessionsAndApps.sessions(id, ''),
      d.sessionsAndApps.apps(id),
      d.audit.query({ accountId: id, since: Date.now() - 30 * 86_400_000 }),
      d.roles.list(),
    ]);
    await page(ctx, 'user', details.account.email, {
      details, sessions, apps, events: events.slice(-20).reverse(), roleNames: roles.map((r) => r.name).filter((n) => !details.roles.includes(n)),
    });
  });

  /** The account, after the escalation check (a user-admin cannot act on an admin). */
  async function target(ctx: Context) {
    const id = String(ctx.params.id);
    const details = await lifecycle.show({ scope, account: { id } });
    requireHolds(operatorOf(ctx), await d.authorityOf(details.roles));
    return details.account;
  }

  const action = (path: string, scopeName: string, notice: string, run: (id: string, ctx: Context) => Promise<unknown>) =>
    router.post(`/users/:id/${path}`, needs(scopeName), async (ctx) => {
      const account = await target(ctx);
      await run(account.id, ctx);
      ctx.redirect(`/console/users/${encodeURIComponent(account.id)}?notice=${notice}`);
    });
  const by = (ctx: Context) => operatorOf(ctx).actor;

  action('disable', 'admin:users:write', 'disabled', (id, ctx) => lifecycle.disable({ scope, account: { id }, by: by(ctx), reason: 'console' }));
  action('enable', 'admin:users:write', 'enabled', (id, ctx) => lifecycle.enable({ scope, account: { id }, by: by(ctx) }));
  action('unlock', 'admin:users:write', 'unlocked', (id, ctx) => lifecycle.unlock({ scope, account: { id }, by: by(ctx) }));
  action('sign-out', 'admin:sessions:write', 'signed-out', (id, ctx) => lifecycle.signOutEverywhere({ scope, account: { id }, by: by(ctx) }));
  router.post('/users/:id/send-password-reset', needs('admin:users:write'), async (ctx) => {
    const account = await target(ctx);
    await d.sendPasswordReset(account.email, ctx);
    const actor = by(ctx);
    await d.audit.record({ type: 'admin.user.password_reset_sent', accountId: account.id, details: { via: actor.via, operator: actor.operator, actorAccountId: actor.accountId } }, ctx);
    ctx.redirect(`/console/users/${encodeURIComponent(account.id)}?notice=reset-sent`);
  });
  router.post('/users/:id/reset-factors', needs('admin:users:write'), async (ctx) => {
    const account = await target(ctx);
    requireTypedName(ctx, account.email);
    await lifecycle.resetFactors({ scope, account: { id: account.id }, by: by(ctx) });
    ctx.redirect(`/console/users/${encodeURIComponent(account.id)}?notice=factors-reset`);
  });
  router.post('/users/:id/delete', needs('admin:users:write'), async (ctx) => {
    const account = await target(ctx);
    requireTypedName(ctx, account.email);
    await lifecycle.erase({ scope, account: { id: account.id }, by: by(ctx) });
    ctx.redirect('/console/users?notice=deleted');
  });
  router.post('/users/:id/roles', needs('admin:users:write'), async (ctx) => {
    const account = await target(ctx);
    const form = ctx.state.form as Record<string, string>;
    const role = String(form.role ?? '').trim().slice(0, 64);
    const assign = form.remove !== 'yes';
    // giving (or taking) a role's management authority needs that authority
    requireHolds(operatorOf(ctx), await d.authorityOf([role]));
    await d.setRole({ accountId: account.id, role, assign, by: by(ctx), ctx });
    ctx.redirect(`/console/users/${encodeURIComponent(account.id)}?notice=${assign ? 'role-assigned' : 'role-removed'}`);
  });
}
