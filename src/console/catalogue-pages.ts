/**
 * /console/apis: the registered APIs with their scopes (read here; they are changed with the API or
 * `gatehouse resources` for now).
 */
import type Router from '@koa/router';
import type { ResourceRegistry } from '../clients/resource-registry.js';
import { needs, type ConsolePage } from './console-page.js';

export function registerCataloguePages(router: Router, d: {
  page: ConsolePage;
  resources: Pick<ResourceRegistry, 'list'>;
}): void {
  router.get('/apis', needs('admin:apis:read'), async (ctx) => {
    await d.page(ctx, 'apis', 'APIs and scopes', { apis: await d.resources.list() });
  });
}
