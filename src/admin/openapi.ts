/**
 * The OpenAPI 3.1 document, written from the route table (one source: the zod schemas that validate the
 * requests). OpenAPI 3.1's schema dialect is JSON Schema 2020-12, which z.toJSONSchema targets.
 */
import { z } from 'zod';
import { PROBLEM_TYPES } from '../errors/errors.js';
import { ADMIN_RESOURCE, ADMIN_SCOPES } from './admin-scopes.js';
import type { AdminRoute } from './route-table.js';

export const PREFIX = '/admin/v1';

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Record<string, unknown>;

/** RFC 9457 §3: the members every problem has; extensions (errors, scope) are allowed. */
export const problemSchema = z.object({
  type: z.enum(Object.values(PROBLEM_TYPES).map((p) => p.type) as [string, ...string[]]),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  scope: z.string().optional(),
  reason: z.enum(['unreachable', 'refused']).optional().describe('upstream-unusable: the upstream could not be reached, or answered with something that cannot be used'),
});

const oasPath = (path: string) => PREFIX + path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

function parameters(r: AdminRoute): unknown[] {
  const out: unknown[] = [];
  for (const [where, schema] of [['path', r.params], ['query', r.query]] as const) {
    if (!schema) continue;
    const s = jsonSchema(schema, 'input') as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
    for (const [name, prop] of Object.entries(s.properties ?? {})) {
      const { description, ...rest } = prop;
      out.push({ name, in: where, required: where === 'path' || (s.required ?? []).includes(name), schema: rest, ...(description ? { description } : {}) });
    }
  }
  return out;
}

export function openApiDocument(routes: AdminRoute[], issuer: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const problem = { description: 'a problem (RFC 9457)', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
  for (const r of routes) {
    const status = String(r.status ?? (r.response ? 200 : 204));
    const responses: Record<string, unknown> = {
      [status]: r.response
        ? { description: 'success', content: { 'application/json': { schema: jsonSchema(r.response, 'output') } }, ...(r.ifMatch || r.method === 'get' ? { headers: { ETag: { schema: { type: 'string' } } } } : {}) }
        : { description: 'success, no body' },
      '400': problem, '401': problem, '403': problem, '404': problem, '429': problem,
      ...(r.body ? { '409': problem, '415': problem } : {}),
      ...(r.ifMatch ? { '412': problem, '428': problem } : {}),
    };
    (paths[oasPath(r.path)] ??= {})[r.method] = {
      operationId: r.operationId,
      summary: r.summary,
      security: [{ gatehouse: [r.scope] }],
      parameters: [...parameters(r), ...(r.ifMatch ? [{ name: 'If-Match', in: 'header', required: true, schema: { type: 'string' } }] : [])],
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(r.body, 'input') } } } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: { title: 'Gatehouse management API', version: '1' },
    servers: [{ url: issuer + PREFIX }],
    paths: Object.fromEntries(Object.entries(paths).map(([p, ops]) => [p.slice(PREFIX.length), ops])),
    components: {
      schemas: { Problem: jsonSchema(problemSchema, 'output') },
      securitySchemes: {
        gatehouse: {
          type: 'oauth2',
          description: `RFC 9068 JWT access tokens for the resource ${ADMIN_RESOURCE}`,
          flows: { clientCredentials: { tokenUrl: `${issuer}/token`, scopes: ADMIN_SCOPES } },
        },
      },
    },
  };
}
