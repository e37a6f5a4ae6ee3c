/** /admin/v1/apis: the registered APIs (resource servers), through the one resource registry. */
import { z } from 'zod';
import type { ResourceRecord } from '../../../adapters/contract.js';
import { DuplicateError } from '../../../adapters/contract.js';
import type { AuditLog } from '../../audit/audit-log.js';
import { InvalidResourceInput, MAX_ACCESS_TOKEN_TTL_SECONDS, type ResourceRegistry } from '../../clients/resource-registry.js';
import { ProblemError } from '../../errors/errors.js';
import { etagOf, requireIfMatch } from '../etag.js';
import { pageOf, pageQuery, paginate } from '../pagination.js';
import { route, type AdminRoute } from '../route-table.js';
import { ADMIN_RESOURCE } from '../admin-scopes.js';

export type ApiRoutesDeps = {
  resources: Pick<ResourceRegistry, 'create' | 'find' | 'list' | 'update'>;
  audit: Pick<AuditLog, 'record'>;
  /** ACCESS_TOKEN_TTL: the lifetime of an API created without one */
  defaultAccessTokenTtl: number;
};

const apiSchema = z.object({
  identifier: z.string(),
  name: z.string(),
  scopes: z.record(z.string(), z.string()).describe('scope → the words the consent page shows'),
  access_token_ttl: z.number().int(),
  permissions_from_roles: z.boolean().describe("a person's tokens carry only the scopes their roles grant"),
  token_claims: z.array(z.enum(['roles', 'permissions'])).describe('opt-in claims of its access tokens'),
  created_at: z.string(),
});

const tokenClaims = z.array(z.enum(['roles', 'permissions'])).max(2);

const view = (r: ResourceRecord) => ({
  identifier: r.identifier, name: r.name, scopes: r.scopes, access_token_ttl: r.accessTokenTtl,
  permissions_from_roles: r.permissionsFromRoles, token_claims: r.tokenClaims, created_at: new Date(r.createdAt).toISOString(),
});

export function apiRoutes(d: ApiRoutesDeps): AdminRoute[] {
  return [
    route({
      method: 'get', path: '/apis', operationId: 'apis.list', summary: 'List APIs', scope: 'admin:apis:read',
      query: z.object(pageQuery), response: pageOf(apiSchema),
      async handler({ query, ctx }) {
        const page = paginate(await d.resources.list(), (r) => [r.identifier], query, (cursor) => `${ctx.path}?limit=${query.limit}&cursor=${cursor}`);
        return { body: { items: page.items.map(view), ...(page.next ? { next: page.next } : {}) } };
      },
    }),
    route({
      method: 'get', path: '/apis/:identifier', operationId: 'apis.read', summary: 'Read an API (identifier percent-encoded)', scope: 'admin:apis:read',
      params: z.object({ identifier: z.string().min(1).max(2048) }), response: apiSchema,
      async handler({ params }) {
        const found = await d.resources.find(params.identifier);
        if (!found) throw new ProblemError('not_found', 404, 'No API has this identifier.');
        const body = view(found);
        return { body, etag: etagOf(body) };
      },
    }),
    route({
      method: 'patch', path: '/apis/:identifier', operationId: 'apis.update', summary: 'Change an API\'s name, scopes (the whole map) or token lifetime', scope: 'admin:apis:write',
      params: z.object({ identifier: z.string().min(1).max(2048) }), ifMatch: true,
      body: z.object({
        name: z.string().min(1).max(200).optional(),
        scopes: z.record(z.string().max(200), z.string().max(500)).optional().describe('replaces every scope of the API'),
        access_token_ttl: z.number().int().min(1).max(MAX_ACCESS_TOKEN_TTL_SECONDS).optional(),
        permissions_from_roles: z.boolean().optional(),
        token_claims: tokenClaims.optional(),
      }).strict(),
      response: apiSchema,
      async handler({ params, body, ctx }) {
        const found = await d.resources.find(params.identifier);
        if (!found) throw new ProblemError('not_found', 404, 'No API has this identifier.');
        // the management API's scopes are what its routes check: changing them here could only lock everyone out
        if (found.identifier === ADMIN_RESOURCE) throw new ProblemError('conflict', 409, `${ADMIN_RESOURCE} is Gatehouse's own API; its scopes are fixed.`);
        requireIfMatch(ctx, etagOf(view(found)));
        let updated: ResourceRecord | undefined;
        try {
          updated = await d.resources.update(params.identifier, {
            ...(body.name !== undefined ? { name: body.name } : {}), ...(body.scopes !== undefined ? { scopes: body.scopes } : {}),
            ...(body.access_token_ttl !== undefined ? { accessTokenTtl: body.access_token_ttl } : {}),
            ...(body.permissions_from_roles !== undefined ? { permissionsFromRoles: body.permissions_from_roles } : {}),
            ...(body.token_claims !== undefined ? { tokenClaims: body.token_claims } : {}),
          });
        } catch (err) {
          if (err instanceof InvalidResourceInput) throw new ProblemError('invalid_input', 400, err.message, undefined, {}, { errors: [{ path: `body.${err.message.split(':')[0]}`, message: err.message }] });
          throw err;
        }
        if (!updated) throw new ProblemError('not_found', 404, 'No API has this identifier.');
        const caller = ctx.state.adminCaller as { clientId: string; accountId: string | null };
        await d.audit.record({ type: 'admin.resource.updated', accountId: caller.accountId, details: { identifier: updated.identifier, changed: Object.keys(body), scopes: Object.keys(updated.scopes), by_client: caller.clientId } }, ctx);
        const shown = view(updated);
        return { body: shown, etag: etagOf(shown) };
      },
    }),
    route({
      method: 'post', path: '/apis', operationId: 'apis.create', summary: 'Register an API and its scopes', scope: 'admin:apis:write',
      body: z.object({
        identifier: z.string().min(1).max(2048).describe('the resource indicator: an absolute URI without a fragment (RFC 8707 §2)'),
        name: z.string().min(1).max(200).optional(),
        scopes: z.record(z.string().max(200), z.string().max(500)).default({}),
        access_token_ttl: z.number().int().min(1).max(MAX_ACCESS_TOKEN_TTL_SECONDS).optional(),
        permissions_from_roles: z.boolean().optional(),
        token_claims: tokenClaims.optional(),
      }).strict(),
      response: apiSchema, status: 201,
      async handler({ body, ctx }) {
        let created: ResourceRecord;
        try {
          created = await d.resources.create({ identifier: body.identifier, ...(body.name ? { name: body.name } : {}), scopes: body.scopes, accessTokenTtl: body.access_token_ttl ?? d.defaultAccessTokenTtl,
            ...(body.permissions_from_roles !== undefined ? { permissionsFromRoles: body.permissions_from_roles } : {}),
            ...(body.token_claims !== undefined ? { tokenClaims: body.token_claims } : {}),
          });
        } catch (err) {
          if (err instanceof DuplicateError) throw new ProblemError('conflict', 409, 'An API with this identifier exists.');
          if (err instanceof InvalidResourceInput) throw new ProblemError('invalid_input', 400, err.message, undefined, {}, { errors: [{ path: `body.${err.message.split(':')[0]}`, message: err.message }] });
          throw err;
        }
        const caller = ctx.state.adminCaller as { clientId: string; accountId: string | null };
        await d.audit.record({ type: 'admin.resource.created', accountId: caller.accountId, details: { identifier: created.identifier, scopes: Object.keys(created.scopes), by_client: caller.clientId } }, ctx);
        const shown = view(created);
        return { status: 201, body: shown, etag: etagOf(shown) };
      },
    }),
  ];
}
