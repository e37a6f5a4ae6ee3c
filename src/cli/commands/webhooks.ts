/** gatehouse webhooks create | list | update | delete | test | deliveries | redeliver */
import { Option } from 'commander';
import { group, leaf, required, type CliCommand, type CliContext, type CliDeps } from '../command-tree.js';
import { NotFoundError, UsageError } from '../exit-codes.js';
import { collect, integerFrom1To, overlap } from '../option-values.js';
import { audited } from '../audited.js';
import type { WebhookDeliveryRecord, WebhookEndpointRecord, WebhookFormat } from '../../../adapters/contract.js';
import { createWebhookEndpoints, InvalidWebhookInput } from '../../events/webhook-endpoints.js';

const COLUMNS = ['id', 'url', 'event_types', 'enabled', 'consecutive_failures', 'disabled_reason'];
const DELIVERY_COLUMNS = ['id', 'event_id', 'event_type', 'status', 'attempts', 'response_status', 'duration_ms', 'created_at'];
const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

const endpointsOf = (c: CliContext) => createWebhookEndpoints({ store: c.store.webhooks, cipher: c.cipher, privateHosts: c.config.OUTBOUND_PRIVATE_HOSTS });
const row = (e: WebhookEndpointRecord) => ({
  id: e.id, url: e.url, description: e.description, event_types: e.eventTypes.length ? e.eventTypes : ['(all)'], enabled: e.enabled,
  consecutive_failures: e.consecutiveFailures, disabled_reason: e.disabledReason, format: e.format, audience: e.audience, created_at: iso(e.createdAt),
});
const deliveryRow = (d: WebhookDeliveryRecord) => ({
  id: d.id, event_id: d.eventId, event_type: d.eventType, status: d.status, attempts: d.attempts, response_status: d.responseStatus,
  duration_ms: d.durationMs, error: d.error, created_at: iso(d.createdAt), next_attempt_at: d.status === 'pending' ? iso(d.nextAttemptAt) : null,
});

/** The service's refusals (a private address, an unknown event type) are usage errors (exit 2). */
async function checked<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof InvalidWebhookInput) throw new UsageError(err.message);
    throw err;
  }
}

const found = <T>(value: T | undefined, id: string): T => {
  if (value === undefined) throw new NotFoundError(`no webhook endpoint (or delivery of it) ${id}`);
  return value;
};

export function webhooksCommands(program: CliCommand, deps: CliDeps): void {
  const webhooks = group(program, 'webhooks', 'webhook endpoints: signed event deliveries (Standard Webhooks) to other systems');
  const events = () => new Option('--event <type>', 'an event type it receives (repeat for more; none: every type)').argParser(collect);

  leaf(webhooks, {
    name: 'create',
    description: 'add an endpoint; its signing secret (whsec_...) is shown only once (exit 2 for a private address or an unknown event type)',
    options: [
      required('--url <url>', 'the receiver (http or https; private addresses only if named in OUTBOUND_PRIVATE_HOSTS)'), events(), new Option('--description <text>', 'what it is for'),
      new Option('--disabled', 'create it disabled').default(false),
      new Option('--format <format>', 'standard-webhooks (signed JSON) or security-event-token (RFC 8417 SETs pushed per RFC 8935)').choices(['standard-webhooks', 'security-event-token']).default('standard-webhooks'),
      new Option('--audience <aud>', 'with --format security-event-token: the receiver\'s identifier, the SETs\' aud'),
    ],
    example: 'gatehouse webhooks create --url https://crm.example.com/hooks/gatehouse --event user.created --event user.deleted',
    plan(o) {
      return async (c, out) => {
        const { endpoint, secret } = await checked(() => endpointsOf(c).create({
          url: o.url as string, eventTypes: (o.event as string[] | undefined) ?? [], description: (o.description as string | undefined) ?? '', enabled: o.disabled !== true,
          format: o.format as WebhookFormat, ...(o.audience !== undefined ? { audience: o.audience as string } : {}),
        }));
        await audited(c, { type: 'admin.webhook.created', details: { endpoint_id: endpoint.id, event_types: endpoint.eventTypes } });
        out.record({ ...row(endpoint), secret }, { shownOnce: ['secret'] });
        out.note('The secret is shown only now; it is stored encrypted. Receivers verify the webhook-signature header with it.');
      };
    },
  }, deps);

  leaf(webhooks, {
    name: 'list',
    description: 'list the endpoints (never their secrets)',
    example: 'gatehouse webhooks list --output json',
    plan() {
      return async (c, out) => out.list((await endpointsOf(c).list()).map(row), COLUMNS);
    },
  }, deps);

  leaf(webhooks, {
    name: 'update',
    description: 'change an endpoint\'s URL, event types, description or enabled, or rotate its secret (exit 3 for an unknown id)',
    argument: ['<id>', 'the endpoint id (see gatehouse webhooks list)'],
    options: [
      new Option('--url <url>', 'a new receiver URL'), events(), new Option('--all-events', 'receive every event type'),
      new Option('--description <text>', 'what it is for'), new Option('--enable', 'enable it (clears the failure count)'), new Option('--disable', 'disable it'),
      new Option('--audience <aud>', 'a security-event-token endpoint\'s new aud'),
      new Option('--rotate-secret', 'a new signing secret, shown once'), new Option('--overlap <duration>', 'with --rotate-secret: how long the old secret signs too (two signatures), e.g. 1h').argParser(overlap),
    ],
    example: 'gatehouse webhooks update ep_0123 --rotate-secret --overlap 24h',
    plan(o, [id]) {
      if (o.enable && o.disable) throw new UsageError('--enable and --disable exclude each other');
      if (o.event && o.allEvents) throw new UsageError('--event and --all-events exclude each other');
      if (o.overlap !== undefined && !o.rotateSecret) throw new UsageError('--overlap goes with --rotate-secret');
      const eventTypes = o.allEvents ? [] : (o.event as string[] | undefined);
      return async (c, out) => {
        const service = endpointsOf(c);
        const patch = { url: o.url as string | undefined, description: o.description as string | undefined, eventTypes, enabled: o.enable ? true : o.disable ? false : undefined, audience: o.audience as string | undefined };
        const updated = found(await checked(() => service.update(id!, patch)), id!);
        const changed = Object.entries(patch).filter(([, v]) => v !== undefined).map(([k]) => k);
        if (changed.length) await audited(c, { type: 'admin.webhook.updated', details: { endpoint_id: id, changed } });
        if (!o.rotateSecret) return out.record(row(updated));
        const rotated = found(await service.rotateSecret(id!, (o.overlap as number | undefined) ?? 0), id!);
        await audited(c, { type: 'admin.webhook.secret_rotated', details: { endpoint_id: id, overlap_seconds: o.overlap ?? 0 } });
        out.record({ ...row(updated), secret: rotated.secret, previous_secret_valid_until: iso(rotated.previousValidUntil) }, { shownOnce: ['secret'] });
        out.note('The new secret is shown only now.');
      };
    },
  }, deps);

  leaf(webhooks, {
    name: 'delete',
    description: 'delete an endpoint with its deliveries (exit 3 for an unknown id)',
    argument: ['<id>', 'the endpoint id'],
    example: 'gatehouse webhooks delete ep_0123',
    plan(_o, [id]) {
      return async (c, out) => {
        if (!(await endpointsOf(c).delete(id!))) throw new NotFoundError(`no webhook endpoint ${id}`);
        await audited(c, { type: 'admin.webhook.deleted', details: { endpoint_id: id } });
        out.record({ id, deleted: true });
      };
    },
  }, deps);

  leaf(webhooks, {
    name: 'test',
    description: 'queue a webhook.test event for this endpoint (a running server sends it)',
    argument: ['<id>', 'the endpoint id'],
    example: 'gatehouse webhooks test ep_0123',
    plan(_o, [id]) {
      return async (c, out) => {
        const delivery = found(await endpointsOf(c).test(id!), id!);
        await audited(c, { type: 'admin.webhook.tested', details: { endpoint_id: id, delivery_id: delivery.id } });
        out.record(deliveryRow(delivery));
      };
    },
  }, deps);

  leaf(webhooks, {
    name: 'deliveries',
    description: 'the endpoint\'s recent deliveries, newest first: status, attempts, response code, timing',
    argument: ['<id>', 'the endpoint id'],
    options: [new Option('--limit <n>', 'how many (1 to 200)').argParser(integerFrom1To(200)).default(50)],
    example: 'gatehouse webhooks deliveries ep_0123 --limit 20',
    plan(o, [id]) {
      return async (c, out) => out.list(found(await endpointsOf(c).deliveries(id!, o.limit as number), id!).map(deliveryRow), DELIVERY_COLUMNS);
    },
  }, deps);

  leaf(webhooks, {
    name: 'redeliver',
    description: 'send one delivery again, with the same webhook-id (exit 3 when it is not a delivery of this endpoint)',
    argument: ['<id>', 'the endpoint id'],
    options: [required('--delivery <delivery-id>', 'the delivery (see gatehouse webhooks deliveries)')],
    example: 'gatehouse webhooks redeliver ep_0123 --delivery dlv_4567',
    plan(o, [id]) {
      return async (c, out) => {
        const delivery = found(await endpointsOf(c).redeliver(id!, o.delivery as string), o.delivery as string);
        await audited(c, { type: 'admin.webhook.redelivered', details: { endpoint_id: id, delivery_id: delivery.id } });
        out.record(deliveryRow(delivery));
      };
    },
  }, deps);
}
