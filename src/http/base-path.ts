/**
 * Gatehouse under a path: ISSUER=https://id.example.com/auth serves the whole app under /auth (a reverse
 * proxy's sub-path, or later one tenant's app at {ISSUER}/t/{tenant}). The base path is the issuer's URL
 * path without its trailing slash, '' when the issuer has none; then none of this is in the table.
 *
 * Inside the app every path is app-relative: routers match `/token`, `/account`, ..., our redirects and
 * cookies name `/account`, `/interaction/...`. `mountAtBasePath` is the one place that translates:
 *  - a request outside the base is a 404 before anything else runs;
 *  - under it, the base is taken off `ctx.path` for everything downstream (and put back after), and
 *    `ctx.mountPath` is set, which is how oidc-provider is told where it is mounted (koa-mount's
 *    convention: `ctx.oidc.urlFor` builds discovery's endpoints, `Location`s and cookie paths from
 *    `ctx.mountPath` + its route, so they come out as `{ISSUER}/token`);
 *  - a redirect to a path (`ctx.redirect('/account')`) gets the base in front. Absolute URLs are left as
 *    they are (oidc-provider's own redirects are absolute, built from ISSUER).
 * Cookies are not rewritten here: each cookie's path is set where the cookie is (`cookiePath` below,
 * oidc-provider's `cookies.long.path` in oidc/provider.ts).
 */
import type { Context, Next } from 'koa';

type Mounted = Context & { mountPath?: string };

/** The issuer's URL path without a trailing slash: '' for https://id.example.com, '/auth' for https://id.example.com/auth/. */
export function basePathOf(issuer: string): string {
  return new URL(issuer).pathname.replace(/\/+$/, '');
}

/** An app-relative path (`/account`) as the browser must see it; absolute and scheme-relative URLs unchanged. */
export function underBase(base: string, path: string): string {
  return base && path.startsWith('/') && !path.startsWith('//') ? base + path : path;
}

/** `underBase` for this request: the base `mountAtBasePath` recorded (for a path sent in a JSON answer, which no redirect rewrites). */
export function browserPath(ctx: Context, path: string): string {
  return underBase((ctx as Mounted).mountPath ?? '', path);
}

/** The Path attribute for a cookie of the app-relative `path`: `/` is the base itself. */
export function cookiePath(base: string, path: string): string {
  if (!base) return path;
  return path === '/' ? base : base + path;
}

/**
 * First in the app's table when the base is not ''. `alsoAtRoot`: exact paths (the probes' and scrapers'
 * /health/live, /health/ready, /metrics) also answered at the host's root, unchanged, so an orchestrator
 * that talks to the pod directly need not know the issuer's path.
 */
export function mountAtBasePath(base: string, options: { alsoAtRoot?: readonly string[] } = {}) {
  if (!base.startsWith('/') || base.endsWith('/')) throw new TypeError(`base path must start with '/' and not end with it: ${JSON.stringify(base)}`);
  const atRoot = new Set(options.alsoAtRoot ?? []);
  const prefix = `${base}/`;
  return async function mountAtBase(ctx: Mounted, next: Next): Promise<void> {
    const path = ctx.path;
    if (atRoot.has(path)) return next();
    if (path !== base && !path.startsWith(prefix)) {
      // plain, before the error handler and the security headers: nothing of the app answers out here
      ctx.status = 404;
      ctx.type = 'text/plain';
      ctx.body = 'Not Found';
      return;
    }
    ctx.path = path.slice(base.length) || '/';
    ctx.mountPath = base;
    const response = ctx.response;
    const redirect = response.redirect;
    // ctx.redirect delegates to ctx.response.redirect; an own property of this request's response shadows it
    response.redirect = function redirectUnderBase(this: typeof response, url: string) {
      return redirect.call(response, underBase(base, url));
    };
    try {
      await next();
    } finally {
      ctx.path = path;
    }
  };
}
