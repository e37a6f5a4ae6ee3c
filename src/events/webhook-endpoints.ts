/**
 * The webhook endpoints service, behind both /admin/v1/webhooks and `gatehouse webhooks`: create (the
 * secret is returned once, then only its ciphertext is kept), change, rotate the secret with an overlap,
 * delete, send a test event, list deliveries and redeliver one. URLs pass the SSRF guard here and again at
 * every delivery.
 */
import { randomUUID } from 'node:crypto';
import type { WebhookDeliveryRecord, WebhookEndpointRecord, WebhookFormat, WebhookStore } from '../../adapters/contract.js';
import type { AtRestCipher } from '../keys/at-rest-cipher.js';
import { checkWebhookUrl, RefusedWebhookUrl } from './address-guard.js';
import { openSecrets, sealSecrets } from './endpoint-secrets.js';
import { EVENT_TYPES, isEventType } from './event-catalogue.js';
import { eventMessage } from './event-message.js';
import { deliveryFor } from './delivery-worker.js';
import { newWebhookSecret } from './webhook-signature.js';
import { isSecurityEventType, SECURITY_EVENT_TYPES } from './security-event-token.js';

export class InvalidWebhookInput extends Error {}
export { RefusedWebhookUrl };

export type EndpointInput = {
  url: string; description?: string; eventTypes?: string[]; enabled?: boolean;
  /** fixed at creation (default standard-webhooks) */
  format?: WebhookFormat;
  /** a security-event-token endpoint's `aud`; required for it, refused for standard-webhooks */
  audience?: string;
};

/** The longest a previous secret keeps signing after a rotation: a week. */
export const MAX_SECRET_OVERLAP_SECONDS = 7 * 86_400;

function checkTypes(types: string[], format: WebhookFormat): string[] {
  const unknown = types.filter((t) => !isEventType(t));
  if (unknown.length) throw new InvalidWebhookInput(`event_types: unknown event types ${unknown.join(', ')} (see ${Object.keys(EVENT_TYPES).length} types in the catalogue)`);
  if (format === 'security-event-token') {
    const other = types.filter((t) => !isSecurityEventType(t));
    if (other.length) throw new InvalidWebhookInput(`event_types: ${other.join(', ')} have no Security Event Token form (these do: ${SECURITY_EVENT_TYPES.join(', ')})`);
    // every security event unless a filter is given: never "every type", which would include the others
    if (types.length === 0) return [...SECURITY_EVENT_TYPES];
  }
  return [...new Set(types)].sort();
}

/** RFC 8417 §2.2 "aud": a StringOrURI naming the receiver; at most 2,048 characters, no control characters */
function checkAudience(format: WebhookFormat, audience: string | undefined): string | null {
  if (format === 'standard-webhooks') {
    if (audience !== undefined) throw new InvalidWebhookInput('audience: only for format security-event-token');
    return null;
  }
  if (audience === undefined || audience.trim() === '') throw new InvalidWebhookInput('audience: a security-event-token endpoint needs the receiver\'s identifier (the SET\'s aud)');
  if (audience.length > 2048 || /\p{C}/u.test(audience)) throw new InvalidWebhookInput('audience: at most 2048 characters, no control characters');
  return audience.trim();
}

export function createWebhookEndpoints(d: { store: WebhookStore; cipher: Pick<AtRestCipher, 'encrypt' | 'decrypt'>; privateHosts: readonly string[]; now?: () => number }) {
  const now = d.now ?? Date.now;
  const url = async (raw: string) => {
    try {
      return (await checkWebhookUrl(raw, d.privateHosts)).href;
    } catch (err) {
      if (err instanceof RefusedWebhookUrl) throw new InvalidWebhookInput(err.message);
      throw err;
    }
  };

  return {
    async create(input: EndpointInput): Promise<{ endpoint: WebhookEndpointRecord; secret: string }> {
      const secret = newWebhookSecret();
      const t = now();
      const format = input.format ?? 'standard-webhooks';
      const endpoint: WebhookEndpointRecord = {
        id: `ep_${randomUUID().replaceAll('-', '')}`, url: await url(input.url), description: input.description ?? '', eventTypes: checkTypes(input.eventTypes ?? [], format),
        enabled: input.enabled ?? true, secretsCiphertext: sealSecrets(d.cipher, [{ secret, validUntil: null }]), consecutiveFailures: 0, disabledReason: null,
        createdAt: t, updatedAt: t, format, audience: checkAudience(format, input.audience),
      };
      await d.store.createEndpoint(endpoint);
      return { endpoint, secret };
    },
    find: (id: string) => d.store.findEndpoint(id),
    list: () => d.store.listEndpoints(),
    /** undefined when it does not exist; enabling again clears the failure count */
    async update(id: string, patch: Partial<Omit<EndpointInput, 'format'>>): Promise<WebhookEndpointRecord | undefined> {
      const existing = await d.store.findEndpoint(id);
      if (!existing) return undefined;
      const change: Partial<WebhookEndpointRecord> = { updatedAt: now() };
      if (patch.url !== undefined) change.url = await url(patch.url);
      if (patch.description !== undefined) change.description = patch.description;
      if (patch.eventTypes !== undefined) change.eventTypes = checkTypes(patch.eventTypes, existing.format);
      if (patch.audience !== undefined) change.audience = checkAudience(existing.format, patch.audience);
      if (patch.enabled !== undefined) Object.assign(change, { enabled: patch.enabled }, patch.enabled ? { consecutiveFailures: 0, disabledReason: null } : {});
      if (!(await d.store.updateEndpoint(id, change))) return undefined;
      return d.store.findEndpoint(id);
    },
    /** A new secret, returned once; the previous one keeps signing (a second signature) for `overlapSeconds`. */
    async rotateSecret(id: string, overlapSeconds: number): Promise<{ secret: string; previousValidUntil: number | null } | undefined> {
      const endpoint = await d.store.findEndpoint(id);
      if (!endpoint) return undefined;
      const t = now();
      const [current] = openSecrets(d.cipher, endpoint.secretsCiphertext);
      const secret = newWebhookSecret();
      const previousValidUntil = overlapSeconds > 0 && current ? t + overlapSeconds * 1000 : null;
      const secrets = [{ secret, validUntil: null }, ...(previousValidUntil && current ? [{ secret: current.secret, validUntil: previousValidUntil }] : [])];
      await d.store.updateEndpoint(id, { secretsCiphertext: sealSecrets(d.cipher, secrets), updatedAt: t });
      return { secret, previousValidUntil };
    },
    delete: (id: string) => d.store.deleteEndpoint(id),
    /** Queues a `webhook.test` event for this endpoint only (enabled or not, it is sent once it is enabled). */
    async test(id: string): Promise<WebhookDeliveryRecord | undefined> {
      const endpoint = await d.store.findEndpoint(id);
      if (!endpoint) return undefined;
      const t = now();
      const event = eventMessage('webhook.test', `webhook:${id}`, { endpoint_id: id }, t);
      const delivery = deliveryFor(endpoint, event, t, t);
      await d.store.enqueue([delivery]);
      return delivery;
    },
    async deliveries(id: string, limit: number): Promise<WebhookDeliveryRecord[] | undefined> {
      if (!(await d.store.findEndpoint(id))) return undefined;
      return d.store.listDeliveries(id, limit);
    },
    /** Sends a delivery of this endpoint again (same webhook-id); undefined when it is not one of its. */
    async redeliver(id: string, deliveryId: string): Promise<WebhookDeliveryRecord | undefined> {
      const delivery = await d.store.findDelivery(deliveryId);
      if (!delivery || delivery.endpointId !== id) return undefined;
      await d.store.redeliver(deliveryId, now());
      return d.store.findDelivery(deliveryId);
    },
  };
}

export type WebhookEndpoints = ReturnType<typeof createWebhookEndpoints>;
