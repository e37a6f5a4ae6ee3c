/**
 * /admin/v1/tenants (issue 15 §4): the deployment's tenants, for administrators of the default tenant —
 * create, list, read, change settings and branding (If-Match), delete (every record of the tenant goes).
 * The default tenant is not listed here: its settings are the deployment's configuration.
 */
import { z } from 'zod';
import type { Context } from 'koa';
import { DuplicateError, type TenantRecord } from '../../../adapters/contract.js';
import type { AuditLog } from '../../audit/audit-log.js';
import { InvalidTenantInput, type TenantRegistry } from '../../tenants/tenant-registry.js';
import { shownSettings, tenantBrandingSchema, tenantPolicySchema } from '../../tenants/tenant-settings.js';
import { ProblemError } from '../../errors/errors.js';
import { etagOf, requireIfMatch } from '../etag.js';
import { decodeCursor, encodeCursor, pageOf, pageQuery } from '../pagination.js';
import { route, type AdminRoute } from '../route-table.js';
import type { AdminCaller } from '../bearer-auth.js';

export type TenantRoutesDeps = {
  tenants: Pick<TenantRegistry, 'list' | 'find' | 'create' | 'update' | 'delete'>;
  audit: Pick<AuditLog, 'record'>;
  /** the tenant's issuer: {ISSUER}/t/{id}, or https://{host} */
  issuerOf(t: TenantRecord): string;
};

const settingsSchema = z.object({
  policy: tenantPolicySchema,
  branding: tenantBrandingSchema,
  federation: z.object({
    providers: z.array(z.object({ id: z.string(), protocol: z.enum(['ldap', 'saml', 'oidc', 'oauth2']) })),
  }).optional().describe('its upstream providers (settings stored encrypted, never shown; README: Tenants)'),
});


const settingsInput = z.object({
  policy: z.unknown().optional(),
  branding: z.unknown().optional(),
  federation: z.unknown().optional().describe('upstream providers in the federation file\'s format, file contents inline (`ca`, `metadata`, `privateKey` ...); null removes them'),
}).strict();

const tenantSchema = z.object({
  id: z.string(),
  name: z.string(),
  host: z.string().nullable().describe('its own host name; null: it lives at {ISSUER}/t/{id}'),
  issuer: z.string().describe('its issuer (discovery at {issuer}/.well-known/openid-configuration)'),
  settings: settingsSchema,
  version: z.number().int().describe('one more on every change'),
  created_at: z.string(),
  updated_at: z.string(),
});

const idParams = z.object({ id: z.string().min(1).max(63) });

export function tenantRoutes(d: TenantRoutesDeps): AdminRoute[] {
  const view = (t: TenantRecord) => ({
    id: t.id, name: t.name, host: t.host, issuer: d.issuerOf(t), settings: shownSettings(t.settings), version: t.version,
    created_at: new Date(t.createdAt).toISOString(), updated_at: new Date(t.updatedAt).toISOString(),
  });
  const current = async (id: string) => {
    const found = await d.tenants.find(id);
    if (!found) throw new ProblemError('not_found', 404, 'No tenant has this id.');
    return found;
  };
  const asProblem = (err: unknown): never => {
    if (err instanceof DuplicateError) throw new ProblemError('conflict', 409, 'A tenant with this id or host exists.');
    if (err instanceof InvalidTenantInput) {
      throw new ProblemError('invalid_input', 400, err.message, undefined, {}, { errors: [{ path: `body.${err.path}`, message: err.message }] });
    }
    throw err;
  };
  const audited = (ctx: Context, caller: AdminCaller, type: string, details: Record<string, unknown>) =>
    d.audit.record({ type, accountId: caller.accountId, clientId: caller.clientId, details: { ...details, by_account: caller.accountId, via: 'admin_api' } }, ctx);

  return [
    route({
      method: 'get', path: '/tenants', operationId: 'tenants.list', summary: 'List tenants, by id (not the default tenant)', scope: 'admin:tenants:read',
      query: z.object(pageQuery), response: pageOf(tenantSchema),
      async handler({ query, ctx }) {
        const after = query.cursor === undefined ? null : String(decodeCursor(query.cursor)[0]);
        const page = await d.tenants.list({ limit: query.limit, after });
        const next = page.next ? `${ctx.path}?limit=${query.limit}&cursor=${encodeCursor([page.next])}` : undefined;
        return { body: { items: page.tenants.map(view), ...(next ? { next } : {}) } };
      },
    }),
    route({
      method: 'post', path: '/tenants', operationId: 'tenants.create', summary: 'Create a tenant: its own issuer, keys, users, clients, policy and branding', scope: 'admin:tenants:write',
      body: z.object({
        id: z.string().min(1).max(63).describe('a DNS label: lower-case letters, digits, hyphens; never changes'),
        name: z.string().min(1).max(100),
        host: z.string().max(253).nullable().optional().describe('its own host name instead of {ISSUER}/t/{id}'),
        settings: settingsInput.optional(),
      }).strict(),
      response: tenantSchema, status: 201,
      async handler({ body, ctx, caller }) {
        const created = await d.tenants.create(body).catch(asProblem);
        await audited(ctx, caller, 'tenant.created', { tenant: created.id });
        const shown = view(created);
        return { status: 201, body: shown, etag: etagOf(shown), headers: { Location: `${ctx.path}/${created.id}` } };
      },
    }),
    route({
      method: 'get', path: '/tenants/:id', operationId: 'tenants.read', summary: 'Read a tenant', scope: 'admin:tenants:read',
      params: idParams, response: tenantSchema,
      async handler({ params }) {
        const shown = view(await current(params.id));
        return { body: shown, etag: etagOf(shown) };
      },
    }),
    route({
      method: 'patch', path: '/tenants/:id', operationId: 'tenants.update',
      summary: 'Change a tenant\'s name, host, policy, branding or upstream providers (each of them given replaced as a whole)', scope: 'admin:tenants:write',
      params: idParams, ifMatch: true,
      body: z.object({
        name: z.string().min(1).max(100).optional(),
        host: z.string().max(253).nullable().optional(),
        settings: settingsInput.optional(),
      }).strict(),
      response: tenantSchema,
      async handler({ params, body, ctx, caller }) {
        const found = await current(params.id);
        requireIfMatch(ctx, etagOf(view(found)));
        // each of policy, branding and federation given replaces the stored one (tenant-registry.ts)
        const updated = await d.tenants.update(params.id, body, found.version).catch(asProblem);
        if (!updated) throw new ProblemError('not_found', 404, 'No tenant has this id.');
        if (updated === 'stale') throw new ProblemError('precondition_failed', 412, 'The tenant changed since it was read; read it again.');
        await audited(ctx, caller, 'tenant.updated', { tenant: updated.id, changed: Object.keys(body) });
        const shown = view(updated);
        return { body: shown, etag: etagOf(shown) };
      },
    }),
    route({
      method: 'delete', path: '/tenants/:id', operationId: 'tenants.delete', summary: 'Delete a tenant with all its data (users, clients, keys, sessions, audit log)', scope: 'admin:tenants:write',
      params: idParams,
      async handler({ params, ctx, caller }) {
        if (!(await d.tenants.delete(params.id).catch(asProblem))) throw new ProblemError('not_found', 404, 'No tenant has this id.');
        await audited(ctx, caller, 'tenant.deleted', { tenant: params.id });
        return { status: 204 };
      },
    }),
  ];
}
