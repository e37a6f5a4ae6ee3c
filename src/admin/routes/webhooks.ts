/**
 * /admin/v1/webhooks: webhook endpoints (URL, event type filter, enabled, a signing secret shown once),
 * their recent deliveries, a test event and redelivery, through the one endpoints service
 * (src/events/webhook-endpoints.ts) that `gatehouse webhooks` uses too. Every change is audited.
 */
import { z } from 'zod';
import type { Context } from 'koa';
import type { WebhookDeliveryRecord, WebhookEndpointRecord } from '../../../adapters/contract.js';
import type { AuditLog } from '../../audit/audit-log.js';
import { EVENT_TYPES } from '../../events/event-catalogue.js';
import { InvalidWebhookInput, MAX_SECRET_OVERLAP_SECONDS, type WebhookEndpoints } from '../../events/webhook-endpoints.js';
import { ProblemError } from '../../errors/errors.js';
import { etagOf, requireIfMatch } from '../etag.js';
import { pageOf, pageQuery, paginate } from '../pagination.js';
import { route, type AdminRoute } from '../route-table.js';
import type { AdminCaller } from '../bearer-auth.js';

export type WebhookRoutesDeps = { webhooks: WebhookEndpoints; audit: Pick<AuditLog, 'record'> };

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
const eventType = z.enum(Object.keys(EVENT_TYPES) as [string, ...string[]]);

const endpointSchema = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string(),
  event_types: z.array(z.string()).describe('the event types it receives; empty: every type'),
  enabled: z.boolean(),
  disabled_reason: z.string().nullable().describe('why Gatehouse disabled it (failures in a row); null otherwise'),
  consecutive_failures: z.number().int(),
  format: z.enum(['standard-webhooks', 'security-event-token']).describe('standard-webhooks: signed JSON; security-event-token: RFC 8417 SETs pushed per RFC 8935, signed with the issuer\'s key'),
  audience: z.string().nullable().describe('the SETs\' aud (security-event-token only)'),
  created_at: z.string(),
  updated_at: z.string(),
});
const createdSchema = endpointSchema.extend({ secret: z.string().describe('the signing secret (whsec_...), shown only in this answer; a security-event-token endpoint\'s SETs are signed with the issuer\'s key instead') });
const deliverySchema = z.object({
  id: z.string(),
  event_id: z.string().describe('the webhook-id header: the same on every attempt and redelivery'),
  event_type: z.string(),
  status: z.enum(['pending', 'succeeded', 'failed']),
  attempts: z.number().int(),
  response_status: z.number().int().nullable(),
  duration_ms: z.number().int().nullable(),
  error: z.string().nullable(),
  last_attempt_at: z.string().nullable(),
  next_attempt_at: z.string().nullable().describe('when a pending delivery is tried next'),
  created_at: z.string(),
});
const idParams = z.object({ id: z.string().min(1).max(100) });
const input = {
  url: z.string().max(2000).describe('http(s); loopback and private addresses are refused unless named in OUTBOUND_PRIVATE_HOSTS'),
  description: z.string().max(500),
  event_types: z.array(eventType).max(100),
  enabled: z.boolean(),
  audience: z.string().min(1).max(2048),
};

const view = (e: WebhookEndpointRecord) => ({
  id: e.id, url: e.url, description: e.description, event_types: e.eventTypes, enabled: e.enabled, disabled_reason: e.disabledReason,
  consecutive_failures: e.consecutiveFailures, format: e.format, audience: e.audience, created_at: iso(e.createdAt)!, updated_at: iso(e.updatedAt)!,
});
const deliveryView = (d: WebhookDeliveryRecord) => ({
  id: d.id, event_id: d.eventId, event_type: d.eventType, status: d.status, attempts: d.attempts, response_status: d.responseStatus,
  duration_ms: d.durationMs, error: d.error, last_attempt_at: iso(d.lastAttemptAt), next_attempt_at: d.status === 'pending' ? iso(d.nextAttemptAt) : null,
  created_at: iso(d.createdAt)!,
});

// an id of an endpoint that does not exist, or of a delivery of another endpoint, is 404 alike (ATTACKS.md: IDOR)
const notFound = () => new ProblemError('not_found', 404, 'No webhook endpoint (or delivery) has this id.');

async function refusalsAsProblems<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof InvalidWebhookInput) {
      throw new ProblemError('invalid_input', 400, err.message, undefined, {}, { errors: [{ path: `body.${err.message.split(':')[0]}`, message: err.message }] });
    }
    throw err;
  }
}

export function webhookRoutes(d: WebhookRoutesDeps): AdminRoute[] {
  const current = async (id: string) => (await d.webhooks.find(id)) ?? Promise.reject(notFound());
  const audited = (ctx: Context, caller: AdminCaller, type: string, details: Record<string, unknown>) =>
    d.audit.record({ type, clientId: caller.clientId, accountId: caller.accountId, details: { ...details, by_client: caller.clientId } }, ctx);

  return [
    route({
      method: 'get', path: '/webhooks', operationId: 'webhooks.list', summary: 'List webhook endpoints (oldest first; never their secrets)', scope: 'admin:webhooks:read',
      query: z.object(pageQuery), response: pageOf(endpointSchema),
      async handler({ query, ctx }) {
        const page = paginate(await d.webhooks.list(), (e) => [e.createdAt, e.id], query, (cursor) => `${ctx.path}?limit=${query.limit}&cursor=${cursor}`);
        return { body: { items: page.items.map(view), ...(page.next ? { next: page.next } : {}) } };
      },
    }),
    route({
      method: 'post', path: '/webhooks', operationId: 'webhooks.create', summary: 'Add a webhook endpoint; its signing secret is shown once', scope: 'admin:webhooks:write',
      body: z.object({
        url: input.url, description: input.description.default(''), event_types: input.event_types.default([]), enabled: input.enabled.default(true),
        format: z.enum(['standard-webhooks', 'security-event-token']).default('standard-webhooks'), audience: input.audience.optional(),
      }).strict(),
      response: createdSchema, status: 201,
      async handler({ body, ctx, caller }) {
        const { endpoint, secret } = await refusalsAsProblems(() => d.webhooks.create({
          url: body.url, description: body.description, eventTypes: body.event_types, enabled: body.enabled, format: body.format, ...(body.audience !== undefined ? { audience: body.audience } : {}),
        }));
        await audited(ctx, caller, 'admin.webhook.created', { endpoint_id: endpoint.id, event_types: endpoint.eventTypes });
        const shown = view(endpoint);
        return { status: 201, body: { ...shown, secret }, etag: etagOf(shown), headers: { Location: `${ctx.path}/${endpoint.id}` } };
      },
    }),
    route({
      method: 'get', path: '/webhooks/:id', operationId: 'webhooks.read', summary: 'Read a webhook endpoint (never its secret)', scope: 'admin:webhooks:read',
      params: idParams, response: endpointSchema,
      async handler({ params }) {
        const body = view(await current(params.id));
        return { body, etag: etagOf(body) };
      },
    }),
    route({
      method: 'patch', path: '/webhooks/:id', operationId: 'webhooks.update', summary: 'Change the URL, description, event type filter or enabled (enabling clears the failure count)', scope: 'admin:webhooks:write',
      params: idParams,
      body: z.object({ url: input.url.optional(), description: input.description.optional(), event_types: input.event_types.optional(), enabled: input.enabled.optional(), audience: input.audience.optional() }).strict(),
      response: endpointSchema, ifMatch: true,
      async handler({ params, body, ctx, caller }) {
        requireIfMatch(ctx, etagOf(view(await current(params.id))));
        const updated = await refusalsAsProblems(() => d.webhooks.update(params.id, { url: body.url, description: body.description, eventTypes: body.event_types, enabled: body.enabled, audience: body.audience }));
        if (!updated) throw notFound();
        await audited(ctx, caller, 'admin.webhook.updated', { endpoint_id: params.id, changed: Object.keys(body) });
        const shown = view(updated);
        return { body: shown, etag: etagOf(shown) };
      },
    }),
    route({
      method: 'delete', path: '/webhooks/:id', operationId: 'webhooks.delete', summary: 'Delete a webhook endpoint with its deliveries', scope: 'admin:webhooks:write',
      params: idParams,
      async handler({ params, ctx, caller }) {
        if (!(await d.webhooks.delete(params.id))) throw notFound();
        await audited(ctx, caller, 'admin.webhook.deleted', { endpoint_id: params.id });
        return { status: 204 };
      },
    }),
    route({
      method: 'post', path: '/webhooks/:id/rotate-secret', operationId: 'webhooks.rotateSecret',
      summary: 'A new signing secret, shown once; with overlap_seconds the old one signs too (two signatures) that long', scope: 'admin:webhooks:write',
      params: idParams,
      body: z.object({ overlap_seconds: z.number().int().min(0).max(MAX_SECRET_OVERLAP_SECONDS).default(0) }).strict(),
      response: z.object({ id: z.string(), secret: z.string(), previous_secret_valid_until: z.string().optional() }),
      async handler({ params, body, ctx, caller }) {
        const rotated = await d.webhooks.rotateSecret(params.id, body.overlap_seconds);
        if (!rotated) throw notFound();
        await audited(ctx, caller, 'admin.webhook.secret_rotated', { endpoint_id: params.id, overlap_seconds: body.overlap_seconds });
        return { body: { id: params.id, secret: rotated.secret, ...(rotated.previousValidUntil ? { previous_secret_valid_until: iso(rotated.previousValidUntil)! } : {}) } };
      },
    }),
    route({
      method: 'post', path: '/webhooks/:id/test', operationId: 'webhooks.test', summary: 'Send a webhook.test event to this endpoint', scope: 'admin:webhooks:write',
      params: idParams, response: deliverySchema, status: 202,
      async handler({ params, ctx, caller }) {
        const delivery = await d.webhooks.test(params.id);
        if (!delivery) throw notFound();
        await audited(ctx, caller, 'admin.webhook.tested', { endpoint_id: params.id, delivery_id: delivery.id });
        return { status: 202, body: deliveryView(delivery) };
      },
    }),
    route({
      method: 'get', path: '/webhooks/:id/deliveries', operationId: 'webhooks.deliveries', summary: 'The endpoint\'s recent deliveries, newest first: status, response code, timing', scope: 'admin:webhooks:read',
      params: idParams, query: z.object({ limit: pageQuery.limit }), response: z.object({ items: z.array(deliverySchema) }),
      async handler({ params, query }) {
        const items = await d.webhooks.deliveries(params.id, query.limit);
        if (!items) throw notFound();
        return { body: { items: items.map(deliveryView) } };
      },
    }),
    route({
      method: 'post', path: '/webhooks/:id/deliveries/:deliveryId/redeliver', operationId: 'webhooks.redeliver', summary: 'Send a delivery again, with the same webhook-id', scope: 'admin:webhooks:write',
      params: z.object({ id: idParams.shape.id, deliveryId: z.string().min(1).max(100) }), response: deliverySchema, status: 202,
      async handler({ params, ctx, caller }) {
        const delivery = await d.webhooks.redeliver(params.id, params.deliveryId);
        if (!delivery) throw notFound();
        await audited(ctx, caller, 'admin.webhook.redelivered', { endpoint_id: params.id, delivery_id: delivery.id });
        return { status: 202, body: deliveryView(delivery) };
      },
    }),
  ];
}
