/**
 * /console: the operators' pages (issue 19), a door onto the same domain services as the management API
 * (one implementation, two doors). Sign-in through Gatehouse itself (console-auth.ts); every page needs
 * the operator's permission for it (console-page.ts `needs`), every form is CSRF-protected, every change
 * is audited as the operator by the service that makes it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import type { Renderer } from '../http/render.js';
import type { createConsoleAuth } from './console-auth.js';
import { consolePage } from './console-page.js';
import { CONSOLE_PATH } from './console-client.js';
import { registerDashboard, type DashboardDeps } from './dashboard-page.js';
import { registerUsersPages, type UsersPagesDeps } from './users-pages.js';
import { registerClientsPages, type ClientsPagesDeps } from './clients-pages.js';
import { registerKeysPages, type KeysPagesDeps } from './keys-pages.js';
import { registerAuditPage } from './audit-page.js';
import { registerApisPages, type ApisPagesDeps } from './apis-pages.js';
import { registerRolesPages, type RolesPagesDeps } from './roles-pages.js';
import { registerRoleEditPages, type RoleEditPagesDeps } from './role-edit-pages.js';
import { registerWebhooksPages, type WebhooksPagesDeps } from './webhooks-pages.js';

type WithoutPage<T> = Omit<T, 'page'>;

export type ConsoleDeps = {
  viewsDir: string;
  render: Renderer;
  csrf: (ctx: Context, next: Next) => Promise<void>;
  auth: ReturnType<typeof createConsoleAuth>;
  dashboard: WithoutPage<DashboardDeps>;
  users: WithoutPage<UsersPagesDeps>;
  clients: WithoutPage<ClientsPagesDeps>;
  keys: WithoutPage<KeysPagesDeps>;
  roles: RolesPagesDeps['roles'] & RoleEditPagesDeps['roles'];
  apis: WithoutPage<ApisPagesDeps>;
  webhooks: WebhooksPagesDeps['webhooks'];
};

export function createConsoleRouter(deps: ConsoleDeps) {
  const { render, auth } = deps;
  const page = consolePage(render);
  const router = new Router({ prefix: CONSOLE_PATH });
  const css = readFileSync(join(deps.viewsDir, 'console', 'console.css'));

  router.get('/console.css', (ctx) => {
    ctx.type = 'text/css';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = css;
  });
  router.get('/callback', (ctx) => auth.callback(ctx));
  router.get('/signed-out', (ctx) => render(ctx, 'console/signed-out', { title: { key: 'console.signedOut.title' } }));

  router.use(deps.csrf, auth.requireOperator);
  router.post('/sign-out', (ctx) => auth.signOut(ctx));

  registerDashboard(router, { ...deps.dashboard, page });
  registerUsersPages(router, { ...deps.users, page });
  registerRolesPages(router, { page, roles: deps.roles, lifecycle: deps.users.lifecycle, audit: deps.users.audit });
  registerRoleEditPages(router, { page, roles: deps.roles, lifecycle: deps.users.lifecycle, audit: deps.users.audit, authorityOf: deps.users.authorityOf, setRole: deps.users.setRole });
  registerApisPages(router, { ...deps.apis, page });
  registerClientsPages(router, { ...deps.clients, page });
  registerAuditPage(router, { page, audit: deps.users.audit });
  registerKeysPages(router, { ...deps.keys, page });
  registerWebhooksPages(router, { page, webhooks: deps.webhooks, audit: deps.users.audit });
  return router;
}
