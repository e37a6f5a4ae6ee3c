/** /admin/v1/clients: the client lifecycle, through the one client registry (as the CLI does). */
import { z } from 'zod';
import type { Context } from 'koa';
import type { ClientRecord } from '../../../adapters/contract.js';
import { DuplicateError } from '../../../adapters/contract.js';
import type { AuditLog } from '../../audit/audit-log.js';
import type { ClientRegistry } from '../../clients/client-registry.js';
import { InvalidClientSecret } from '../../clients/client-registry.js';
import { InvalidClientScope } from '../../clients/client-scope.js';
import { ProblemError } from '../../errors/errors.js';
import { etagOf, requireIfMatch } from '../etag.js';
import { pageOf, pageQuery, paginate } from '../pagination.js';
import { route, type AdminRoute } from '../route-table.js';
import { requireCallerHoldsClientScopes } from '../escalation.js';

export type ClientRoutesDeps = {
  clients: Pick<ClientRegistry, 'create' | 'find' | 'list' | 'patchMetadata' | 'rotateSecret' | 'delete'>;
  audit: Pick<AuditLog, 'record'>;
};

const metadataSchema = z.record(z.string(), z.unknown()).describe('OpenID Connect / RFC 7591 client metadata');
const clientSchema = z.object({
  client_id: z.string(),
  metadata: metadataSchema,
  created_at: z.string().describe('ISO 8601'),
  has_secret: z.boolean(),
});
const createdSchema = clientSchema.extend({ client_secret: z.string().optional().describe('shown only in this answer') });
const idParams = z.object({ clientId: z.string().min(1).max(200) });

const view = (r: ClientRecord) => ({
  client_id: r.clientId,
  metadata: r.metadata,
  created_at: new Date(r.createdAt).toISOString(),
  has_secret: r.secretCiphertext !== null,
});

/** The longest overlap a rotation may give the old secret: a week, time enough to roll any deployment. */
export const MAX_OVERLAP_SECONDS = 7 * 86_400;

const notFound = () => new ProblemError('not_found', 404, 'No client has this client_id.');

/** The registry's and oidc-provider's refusals of metadata, as 400 / 409 problems. */
async function refusalsAsProblems<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof DuplicateError) throw new ProblemError('conflict', 409, 'A client with this client_id exists.');
    if (err instanceof InvalidClientScope || err instanceof InvalidClientSecret) throw new ProblemError('invalid_input', 400, err.message, undefined, {}, { errors: [{ path: `body.${err.message.split(':')[0]}`, message: err.message }] });
    const e = err as { error?: string; error_description?: string };
    if (e?.error === 'invalid_client_metadata' || e?.error === 'invalid_redirect_uri') {
      const message = e.error_description ?? 'The client metadata is not accepted.';
      throw new ProblemError('invalid_input', 400, message, undefined, {}, { errors: [{ path: 'body', message }] });
    }
    throw err;
  }
}

export function clientRoutes(d: ClientRoutesDeps): AdminRoute[] {
  const current = async (clientId: string) => {
    const record = await d.clients.find(clientId);
    if (!record) throw notFound();
    return record;
  };
  const eventOf = (ctx: Context, type: string, clientId: string, details: Record<string, unknown> = {}) =>
    ({ type, clientId, accountId: (ctx.state.adminCaller as { accountId: string | null }).accountId, details: { ...details, by_client: (ctx.state.adminCaller as { clientId: string }).clientId } });
  /** the audit event of a change, stored with it (AuditLog.recordChange, through the registry) */
  const recorded = (ctx: Context, type: string, clientId: string, details: Record<string, unknown> = {}) => ({ event: eventOf(ctx, type, clientId, details), from: ctx });

  return [
    route({
      method: 'get', path: '/clients', operationId: 'clients.list', summary: 'List clients (oldest first)', scope: 'admin:clients:read',
      query: z.object(pageQuery), response: pageOf(clientSchema),
      async handler({ query, ctx }) {
        const all = await d.clients.list();
        const page = paginate(all, (r) => [r.createdAt, r.clientId], query, (cursor) => `${ctx.path}?limit=${query.limit}&cursor=${cursor}`);
        return { body: { items: page.items.map(view), ...(page.next ? { next: page.next } : {}) } };
      },
    }),
    route({
      method: 'get', path: '/clients/:clientId', operationId: 'clients.read', summary: 'Read a client (never its secret)', scope: 'admin:clients:read',
      params: idParams, response: clientSchema,
      async handler({ params }) {
        const body = view(await current(params.clientId));
        return { body, etag: etagOf(body) };
      },
    }),
    route({
      method: 'post', path: '/clients', operationId: 'clients.create', summary: 'Register a client; a generated secret is shown once (or send client_secret to import one)', scope: 'admin:clients:write',
      body: metadataSchema, response: createdSchema, status: 201,
      async handler({ body, ctx, caller }) {
        requireCallerHoldsClientScopes(caller, body.scope);
        const created = await refusalsAsProblems(() => d.clients.create(body, { event: (id: string) => eventOf(ctx, 'admin.client.created', id), from: ctx }));
        const record = await current(created.client_id);
        const shown = view(record);
        return { status: 201, body: { ...shown, ...(typeof created.client_secret === 'string' ? { client_secret: created.client_secret } : {}) }, etag: etagOf(shown), headers: { Location: `${ctx.path}/${encodeURIComponent(created.client_id)}` } };
      },
    }),
    route({
      method: 'patch', path: '/clients/:clientId', operationId: 'clients.update',
      summary: 'Change a client\'s metadata (JSON merge patch, RFC 7396; null removes a member), validated as at creation', scope: 'admin:clients:write',
      params: idParams, body: metadataSchema, response: createdSchema, ifMatch: true,
      async handler({ params, body, ctx, caller }) {
        const record = await current(params.clientId);
        requireIfMatch(ctx, etagOf(view(record)));
        // both the authority the client has and the one it would get
        requireCallerHoldsClientScopes(caller, record.metadata.scope);
        requireCallerHoldsClientScopes(caller, body.scope);
        if ('client_id' in body || 'client_secret' in body) {
          throw new ProblemError('invalid_input', 400, 'client_id and client_secret cannot be changed here (rotate the secret instead).', undefined, {}, {
            errors: ['client_id', 'client_secret'].filter((k) => k in body).map((k) => ({ path: `body.${k}`, message: 'not changeable' })),
          });
        }
        const updated = await refusalsAsProblems(() => d.clients.patchMetadata(params.clientId, body, recorded(ctx, 'admin.client.updated', params.clientId, { changed: Object.keys(body) })));
        if (!updated) throw notFound();
        const shown = view(await current(params.clientId));
        return { body: { ...shown, ...(typeof updated.client_secret === 'string' ? { client_secret: updated.client_secret } : {}) }, etag: etagOf(shown) };
      },
    }),
    route({
      method: 'delete', path: '/clients/:clientId', operationId: 'clients.delete', summary: 'Delete a client with every grant people gave it and every token issued to it', scope: 'admin:clients:write',
      params: idParams,
      async handler({ params, ctx, caller }) {
        requireCallerHoldsClientScopes(caller, (await current(params.clientId)).metadata.scope);
        await d.clients.delete(params.clientId, recorded(ctx, 'admin.client.deleted', params.clientId));
        return { status: 204 };
      },
    }),
    route({
      method: 'post', path: '/clients/:clientId/rotate-secret', operationId: 'clients.rotateSecret',
      summary: 'Give the client a new generated secret, shown once; with overlap_seconds the old one keeps working that long (HTTP Basic)', scope: 'admin:clients:write',
      params: idParams,
      body: z.object({ overlap_seconds: z.number().int().min(0).max(MAX_OVERLAP_SECONDS).default(0).describe(`how long the old secret still works (0 to ${MAX_OVERLAP_SECONDS})`) }).strict(),
      response: z.object({ client_id: z.string(), client_secret: z.string(), previous_secret_valid_until: z.string().optional() }),
      async handler({ params, body, ctx, caller }) {
        // a new secret is the client's authority in the caller's hands
        requireCallerHoldsClientScopes(caller, (await current(params.clientId)).metadata.scope);
        const rotated = await refusalsAsProblems(() => d.clients.rotateSecret(params.clientId, { overlapSeconds: body.overlap_seconds }, recorded(ctx, 'admin.client.secret_rotated', params.clientId, { overlap_seconds: body.overlap_seconds })));
        if (!rotated) throw notFound();
        return { body: { client_id: params.clientId, client_secret: rotated.client_secret, ...(rotated.previous_valid_until ? { previous_secret_valid_until: new Date(rotated.previous_valid_until).toISOString() } : {}) } };
      },
    }),
  ];
}
