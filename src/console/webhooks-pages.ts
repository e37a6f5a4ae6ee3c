/**
 * /console/webhooks: webhook endpoints and their recent deliveries, through the endpoints service the
 * management API and `gatehouse webhooks` call (src/events/webhook-endpoints.ts): list, add (the signing
 * secret shown once, on the answer to the POST), enable / disable, rotate the secret (with an overlap),
 * delete (the URL typed), send a test event, redeliver. The API's scopes and audit event types, as the
 * operator. A delivery of another endpoint is 404, as if it did not exist (ATTACKS.md: IDOR).
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { AuditLog } from '../audit/audit-log.js';
import { EVENT_TYPES } from '../events/event-catalogue.js';
import { InvalidWebhookInput, type WebhookEndpoints } from '../events/webhook-endpoints.js';
import { NotFoundError } from '../errors/errors.js';
import { needs, operatorOf, requireTypedName, type ConsolePage } from './console-page.js';
import { OVERLAP_CHOICES, overlapOf } from './overlap-choices.js';

export type WebhooksPagesDeps = {
  page: ConsolePage;
  webhooks: Pick<WebhookEndpoints, 'list' | 'find' | 'create' | 'update' | 'rotateSecret' | 'delete' | 'test' | 'deliveries' | 'redeliver'>;
  audit: Pick<AuditLog, 'record'>;
};

const READ = 'admin:webhooks:read';
const WRITE = 'admin:webhooks:write';
const DELIVERIES_SHOWN = 25;
// each type's description in the page's locale: console.webhooks.event.<type> (English: the catalogue's own words)
const EVENT_CHOICES = Object.keys(EVENT_TYPES).map((type) => ({ type, description: `console.webhooks.event.${type}` }));

export function registerWebhooksPages(router: Router, d: WebhooksPagesDeps): void {
  const { page, webhooks } = d;
  const audited = (ctx: Context, type: string, details: Record<string, unknown>) =>
    d.audit.record({ type, accountId: operatorOf(ctx).account.id, details: { ...details, by_account: operatorOf(ctx).account.id, via: 'console' } }, ctx);
  const current = async (ctx: Context) => (await webhooks.find(String(ctx.params.id))) ?? Promise.reject(new NotFoundError());
  const back = (ctx: Context, id: string, notice: string) => ctx.redirect(`/console/webhooks/${encodeURIComponent(id)}?notice=${notice}`);
  const listPage = async (ctx: Context, extra: Record<string, unknown> = {}) => {
    const all = await webhooks.list();
    await page(ctx, 'webhooks', { key: 'console.webhooks.title' }, { endpoints: all.sort((a, b) => a.createdAt - b.createdAt), eventChoices: EVENT_CHOICES, form: { url: '', description: '', types: [] }, ...extra });
  };

  router.get('/webhooks', needs(READ), (ctx) => listPage(ctx));

  router.post('/webhooks', needs(WRITE), async (ctx) => {
    const raw = ctx.state.form as Record<string, string>;
    const types = Object.keys(raw).filter((k) => k.startsWith('type:')).map((k) => k.slice('type:'.length));
    const form = { url: String(raw.url ?? '').trim(), description: String(raw.description ?? '').trim().slice(0, 500), types };
    let created;
    try {
      created = await webhooks.create({ url: form.url, description: form.description, eventTypes: types, enabled: true });
    } catch (err) {
      if (!(err instanceof InvalidWebhookInput)) throw err;
      const field = err.message.startsWith('event_types') ? 'types' : 'url';
      ctx.status = 400;
      await listPage(ctx, { form, fieldErrors: { [field]: err.message }, error: { key: 'console.webhooks.notAdded' } });
      ctx.status = 400;
      return;
    }
    await audited(ctx, 'admin.webhook.created', { endpoint_id: created.endpoint.id, event_types: created.endpoint.eventTypes });
    await page(ctx, 'webhook-secret', { key: 'console.webhooks.addedTitle' }, { endpoint: created.endpoint, secret: created.secret, rotated: false, previousValidUntil: null });
  });

  router.get('/webhooks/:id', needs(READ), async (ctx) => {
    const endpoint = await current(ctx);
    const deliveries = (await webhooks.deliveries(endpoint.id, DELIVERIES_SHOWN)) ?? [];
    await page(ctx, 'webhook', endpoint.url, { endpoint, deliveries, overlapChoices: OVERLAP_CHOICES });
  });

  for (const [path, enabled] of [['enable', true], ['disable', false]] as const) {
    router.post(`/webhooks/:id/${path}`, needs(WRITE), async (ctx) => {
      const endpoint = await current(ctx);
      if (!(await webhooks.update(endpoint.id, { enabled }))) throw new NotFoundError();
      await audited(ctx, 'admin.webhook.updated', { endpoint_id: endpoint.id, changed: ['enabled'] });
      back(ctx, endpoint.id, enabled ? 'webhook-enabled' : 'webhook-disabled');
    });
  }

  router.post('/webhooks/:id/rotate-secret', needs(WRITE), async (ctx) => {
    const endpoint = await current(ctx);
    const overlap = overlapOf(ctx.state.form as Record<string, string>);
    const rotated = await webhooks.rotateSecret(endpoint.id, overlap);
    if (!rotated) throw new NotFoundError();
    await audited(ctx, 'admin.webhook.secret_rotated', { endpoint_id: endpoint.id, overlap_seconds: overlap });
    await page(ctx, 'webhook-secret', { key: 'console.webhooks.newSecretTitle' }, { endpoint, secret: rotated.secret, rotated: true, previousValidUntil: rotated.previousValidUntil });
  });

  router.post('/webhooks/:id/delete', needs(WRITE), async (ctx) => {
    const endpoint = await current(ctx);
    requireTypedName(ctx, endpoint.url);
    if (!(await webhooks.delete(endpoint.id))) throw new NotFoundError();
    await audited(ctx, 'admin.webhook.deleted', { endpoint_id: endpoint.id });
    ctx.redirect('/console/webhooks?notice=webhook-deleted');
  });

  router.post('/webhooks/:id/test', needs(WRITE), async (ctx) => {
    const endpoint = await current(ctx);
    const delivery = await webhooks.test(endpoint.id);
    if (!delivery) throw new NotFoundError();
    await audited(ctx, 'admin.webhook.tested', { endpoint_id: endpoint.id, delivery_id: delivery.id });
    back(ctx, endpoint.id, 'webhook-tested');
  });

  router.post('/webhooks/:id/deliveries/:deliveryId/redeliver', needs(WRITE), async (ctx) => {
    const endpoint = await current(ctx);
    const delivery = await webhooks.redeliver(endpoint.id, String(ctx.params.deliveryId));
    if (!delivery) throw new NotFoundError();
    await audited(ctx, 'admin.webhook.redelivered', { endpoint_id: endpoint.id, delivery_id: delivery.id });
    back(ctx, endpoint.id, 'webhook-redelivered');
  });
}
