/**
 * /admin/v1: the management API. Each request runs one pipeline, as a table:
 *   problem details on → match the route (404 / 405 as problems) → bearer token and scope → rate limit per
 *   client → parse path, query and body with the route's schemas (400 listing the failing fields) →
 *   If-Match (428 / 412) → handler → audit event with the acting client and person.
 * The routes themselves live in routes/, one file per area, and are the table openapi.ts documents.
 */
import type { Context, Next } from 'koa';
import { z } from 'zod';
import { ProblemError, TooManyRequestsError } from '../errors/errors.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { JwtAccessTokenVerifier } from '../oidc/jwt-access-token-verifier.js';
import { createBearerAuth, type AdminCaller } from './bearer-auth.js';
import { readJsonBody } from './json-body.js';
import { requireIfMatch } from './etag.js';
import { openApiDocument, PREFIX } from './openapi.js';
import type { AdminRoute, HttpMethod } from './route-table.js';

/** Per management client; `consume` rejects when its budget is spent (store.rateLimiter). */
export type AdminRateLimiter = { consume(key: string): Promise<unknown> };

export type AdminRouterDeps = {
  issuer: string;
  verifier: Pick<JwtAccessTokenVerifier, 'verify'>;
  /** the admin scopes a person's roles allow now (a person's token needs a role allowing the scope: bearer-auth.ts) */
  adminScopesOf(accountId: string): Promise<Set<string> | undefined>;
  audit: Pick<AuditLog, 'record'>;
  rateLimiter: AdminRateLimiter;
  routes: AdminRoute[];
};

type Compiled = { route: AdminRoute; pattern: RegExp; names: string[] };

function compile(route: AdminRoute): Compiled {
  const names: string[] = [];
  const source = route.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:([A-Za-z0-9_]+)/g, (_m, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { route, pattern: new RegExp(`^${source}/?$`), names };
}

/** zod issues as RFC 9457 extension members: where and what, never the value sent. */
function invalid(where: string, error: z.ZodError): ProblemError {
  const errors = error.issues.map((i) => ({ path: [where, ...i.path.map(String)].join('.'), message: i.message }));
  return new ProblemError('invalid_input', 400, `The request has ${errors.length} value(s) that are not accepted: ${errors.map((e) => e.path).join(', ')}.`, undefined, {}, { errors });
}

function parse(where: string, schema: z.ZodType | undefined, value: unknown): unknown {
  if (!schema) return undefined;
  const result = schema.safeParse(value);
  if (!result.success) throw invalid(where, result.error);
  return result.data;
}

/** A path segment, percent-decoded; one that does not decode (`%E0%A4%A`) names nothing here. */
function decodedSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ProblemError('not_found', 404, 'There is no such resource in this API.');
  }
}

export function createAdminApi(deps: AdminRouterDeps) {
  const authenticate = createBearerAuth({ verifier: deps.verifier, adminScopesOf: deps.adminScopesOf });
  const table = deps.routes.map(compile);
  // made on its first request: a tenant's app is built for its first request, which is rarely this one
  let document: ReturnType<typeof openApiDocument> | undefined;

  async function run(ctx: Context, path: string): Promise<void> {
    if (path === '/openapi.json' || path === '/openapi.json/') {
      if (ctx.method !== 'GET' && ctx.method !== 'HEAD') throw new ProblemError('method_not_allowed', 405, 'Only GET is allowed here.', undefined, { Allow: 'GET, HEAD' });
      ctx.body = document ??= openApiDocument(deps.routes, deps.issuer);
      return;
    }
    const matches = table.map((c) => ({ c, m: c.pattern.exec(path) })).filter((x) => x.m);
    if (!matches.length) throw new ProblemError('not_found', 404, 'There is no such resource in this API.');
    // RFC 9110 §9.3.2: HEAD is GET without the body (Koa drops it)
    const method = (ctx.method === 'HEAD' ? 'get' : ctx.method.toLowerCase()) as HttpMethod;
    const hit = matches.find((x) => x.c.route.method === method);
    if (!hit) {
      const methods = new Set(matches.map((x) => x.c.route.method.toUpperCase()));
      if (methods.has('GET')) methods.add('HEAD');
      const allow = [...methods].join(', ');
      throw new ProblemError('method_not_allowed', 405, 'This resource does not support this method.', undefined, { Allow: allow });
    }
    const { route, names } = hit.c;
    let caller: AdminCaller | undefined;
    let status = 500;
    try {
      caller = await authenticate(ctx, route.scope);
      try {
        await deps.rateLimiter.consume(caller.clientId);
      } catch (res) {
        const ms = (res as { msBeforeNext?: number }).msBeforeNext;
        if (typeof ms !== 'number') throw res;
        throw new TooManyRequestsError(Math.ceil(ms / 1000), 'Too many management requests from this client. Wait and retry.');
      }
      const rawParams = Object.fromEntries(names.map((n, i) => [n, decodedSegment(hit.m![i + 1]!)]));
      const params = parse('params', route.params, rawParams);
      const query = parse('query', route.query, ctx.query);
      const body = route.body ? parse('body', route.body, await readJsonBody(ctx)) : undefined;
      if (route.ifMatch && !ctx.get('if-match')) requireIfMatch(ctx, ''); // 428 before any read
      const answer = await route.handler({ params, query, body, caller, ctx } as never);
      status = answer.status ?? route.status ?? 200;
      ctx.status = status;
      if ('body' in answer) {
        ctx.body = answer.body;
        if (answer.etag) ctx.set('ETag', answer.etag);
        if (answer.headers) ctx.set(answer.headers);
      }
    } catch (err) {
      status = (err as { status?: number }).status ?? 500;
      throw err;
    } finally {
      // every call, refused or not, once the caller is known (a token without the scope too): who did what, and how it ended
      caller ??= ctx.state.adminCaller as AdminCaller | undefined;
      if (caller) {
        await deps.audit.record({
          type: `admin.api.${route.operationId}`,
          result: status < 400 ? 'success' : 'failure',
          clientId: caller.clientId,
          accountId: caller.accountId,
          details: { method: ctx.method, path: ctx.path.slice(0, 256), status },
        }, ctx);
      }
    }
  }

  /** The middleware for the app's table: answers everything under /admin/v1, lets the rest pass. */
  return async function adminApi(ctx: Context, next: Next): Promise<void> {
    const lower = ctx.path.toLowerCase();
    if (lower !== PREFIX && !lower.startsWith(`${PREFIX}/`)) return next();
    ctx.state.problemDetails = true;
    ctx.set('Cache-Control', 'no-store');
    await run(ctx, ctx.path.slice(PREFIX.length) || '/');
  };
}
