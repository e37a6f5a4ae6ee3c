/**
 * /console/roles and /console/apis: the roles with their permissions and holders, and the registered
 * APIs with their scopes (read here; they are changed with the API or the CLI for now).
 */
import type Router from '@koa/router';
import type { AccountLifecycle } from '../accounts/account-lifecycle.js';
import { DEFAULT_SCOPE } from '../accounts/account-lifecycle.js';
import type { ResourceRegistry } from '../clients/resource-registry.js';
import type { RoleService } from '../roles/role-service.js';
import { needs, type ConsolePage } from './console-page.js';

export function registerCataloguePages(router: Router, d: {
  page: ConsolePage;
  roles: Pick<RoleService, 'list'>;
  lifecycle: Pick<AccountLifecycle, 'list'>;
  resources: Pick<ResourceRegistry, 'list'>;
}): void {
  router.get('/roles', needs('admin:roles:read'), async (ctx) => {
    const roles = await d.roles.list();
    const holders = await Promise.all(roles.map(async (r) => (await d.lifecycle.list({ scope: DEFAULT_SCOPE, query: { limit: 10, role: r.name } })).accounts));
    await d.page(ctx, 'roles', 'Roles', { roles: roles.map((r, i) => ({ role: r, holders: holders[i] ?? [] })) });
  });
  router.get('/apis', needs('admin:apis:read'), async (ctx) => {
    await d.page(ctx, 'apis', 'APIs and scopes', { apis: await d.resources.list() });
  });
}
