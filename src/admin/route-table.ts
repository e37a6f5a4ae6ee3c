/**
 * A management route, declared once: method, path, scope, the schemas of its parameters, query, body and
 * answer, and its handler. The router validates with these schemas, the handler receives the parsed
 * values (types from z.infer), and openapi.ts writes the OpenAPI document from the same table.
 */
import type { Context } from 'koa';
import type { z } from 'zod';
import type { AdminScope } from './admin-scopes.js';
import type { AdminCaller } from './bearer-auth.js';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

type Schema = z.ZodType;
type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export type RouteInput<P, Q, B> = { params: Out<P>; query: Out<Q>; body: Out<B>; caller: AdminCaller; ctx: Context };

/** What a handler answers: the body (checked against `response`), and optionally a status and headers. */
export type RouteAnswer<R> = { body: Out<R>; status?: number; etag?: string; headers?: Record<string, string> } | { status: 204 };

export type AdminRoute<P extends Schema | undefined = Schema | undefined, Q extends Schema | undefined = Schema | undefined, B extends Schema | undefined = Schema | undefined, R extends Schema | undefined = Schema | undefined> = {
  method: HttpMethod;
  /** Koa style, under /admin/v1: `/clients/:clientId` */
  path: string;
  operationId: string;
  summary: string;
  scope: AdminScope;
  params?: P;
  query?: Q;
  body?: B;
  /** the success body; undefined for 204 */
  response?: R;
  /** the success status (200 unless said) */
  status?: number;
  /** PATCH routes answer 428 without If-Match and 412 on a stale ETag */
  ifMatch?: boolean;
  handler(input: RouteInput<P, Q, B>): Promise<RouteAnswer<R>>;
};

/** Keeps each route's own types while the table holds them all. */
export function route<P extends Schema | undefined, Q extends Schema | undefined, B extends Schema | undefined, R extends Schema | undefined>(
  r: AdminRoute<P, Q, B, R>,
): AdminRoute {
  return r as unknown as AdminRoute;
}
