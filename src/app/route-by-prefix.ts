/**
 * Our routers answer only under a few first path segments (/interaction, /account, /health, ...), yet
 * every request walked all of them, each matching its routes' patterns, before reaching oidc-provider.
 * This gate reads the first segments from the routers' own route table, and sends any other path (the
 * protocol endpoints: /token, /jwks, /.well-known/..., /me, ...) straight on. A router does nothing for a
 * path none of its routes match (its middleware run only with a matched route), so skipping it for such
 * a path changes nothing.
 */
import type Router from '@koa/router';
import type { Middleware } from 'koa';

/** The literal first segment of a route pattern, lower-cased; undefined when it is a parameter or pattern. */
function patternSegment(pattern: string | RegExp): string | undefined {
  if (typeof pattern !== 'string') return undefined;
  return /^\/([A-Za-z0-9._~-]+)(?=[/(]|$)/.exec(pattern)?.[1]?.toLowerCase();
}

/** The first segment of a request path, lower-cased (the routers match without case by default). */
function pathSegment(path: string): string {
  const end = path.indexOf('/', 1);
  return path.slice(1, end === -1 ? path.length : end).toLowerCase();
}

/**
 * `middleware` (the routers' routes() and allowedMethods(), in order), each run only for paths whose
 * first segment one of `routers` declares. If any route starts with a parameter or a pattern, no path
 * can be ruled out and the middleware run for every request, as before.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- routers carry their own context types
export function underRouterPrefixes(routers: Router<any, any>[], middleware: Middleware<any, any>[]): Middleware<any, any>[] {
  const segments = new Set<string>();
  for (const router of routers) {
    for (const layer of router.stack) {
      const segment = patternSegment(layer.path);
      if (segment === undefined) return middleware;
      segments.add(segment);
    }
  }
  return middleware.map((step) => (ctx, next) => (segments.has(pathSegment(ctx.path)) ? step(ctx, next) : next()));
}
