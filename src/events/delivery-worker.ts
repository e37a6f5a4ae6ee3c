/**
 * The delivery worker, one per server process (started by src/app/jobs.ts, never by the CLI). Each tick:
 * 1. fan-out: the events in the outbox become one delivery per enabled endpoint whose filter matches, and
 *    leave the outbox (WebhookStore.fanOut; idempotent, so replicas doing it at once insert each once);
 * 2. deliver: claim due deliveries with a lease (each goes to one replica at a time; a replica that dies
 *    mid-attempt loses the lease and another retries: at least once), send, record the outcome.
 * A subject's deliveries go out in order (claim gives only its earliest pending one). A tick runs when the
 * poll timer fires and at once when this process recorded an event; under load, the wake-ups of
 * WAKE_SPACING_MS become one tick (a busy token endpoint records an event per token: without that, each
 * of its writes would be followed by a tick of its own).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { WebhookDeliveryRecord, WebhookEndpointRecord, WebhookStore } from '../../adapters/contract.js';
import type { AtRestCipher } from '../keys/at-rest-cipher.js';
import type { AuditLog } from '../audit/audit-log.js';
import { openSecrets, signingSecrets } from './endpoint-secrets.js';
import { outcomeOf, type RetryPolicy } from './retry-policy.js';
import { webhookHeaders } from './webhook-signature.js';
import { securityEventToken } from './security-event-token.js';
import type { JWK } from 'jose';
import type { Send } from './webhook-sender.js';

const BATCH = 50;
const WAKE_SPACING_MS = 10;

export type DeliveryWorkerDeps = {
  store: WebhookStore;
  cipher: Pick<AtRestCipher, 'decrypt'>;
  send: Send;
  audit: Pick<AuditLog, 'record'>;
  logger: Logger;
  policy: RetryPolicy;
  pollMs: number;
  /** the longest an attempt may take: the lease lasts longer, so a live replica never loses it mid-attempt */
  timeoutMs: number;
  /** failed attempts in a row that disable an endpoint (0: never) */
  disableAfter: number;
  /**
   * For security-event-token endpoints: the issuer and its current private signing key (the one the
   * provider signs with; the JWKS verifies it). Without it such deliveries fail.
   */
  securityEvents?: { issuer: string; signingKey(): JWK };
  now?: () => number;
};

export type DeliveryWorker = { wake(): void; tick(): Promise<void>; stop(): Promise<void> };

export const matches = (e: WebhookEndpointRecord, type: string) => e.enabled && type !== 'webhook.test' && (e.eventTypes.length === 0 || e.eventTypes.includes(type));

export function deliveryFor(e: { id: string }, event: { id: string; type: string; subject: string; body: string }, seq: number, now: number): WebhookDeliveryRecord {
  return {
    id: `dlv_${randomUUID().replaceAll('-', '')}`, endpointId: e.id, eventId: event.id, eventType: event.type, subject: event.subject, eventSeq: seq,
    body: event.body, status: 'pending', attempts: 0, nextAttemptAt: now, leaseOwner: null, leaseUntil: null, lastAttemptAt: null,
    responseStatus: null, durationMs: null, error: null, createdAt: now,
  };
}

export function createDeliveryWorker(d: DeliveryWorkerDeps): DeliveryWorker {
  const now = d.now ?? Date.now;
  const owner = `worker-${randomUUID()}`;
  const leaseMs = 2 * d.timeoutMs + 5000;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  /** endpoints this worker counted a failure for since it last reset them */
  const counted = new Set<string>();

  async function fanOut(): Promise<void> {
    for (;;) {
      const events = await d.store.outbox(BATCH);
      if (events.length === 0) return;
      const endpoints = await d.store.listEndpoints();
      const t = now();
      await d.store.fanOut(events.map((event) => ({ eventId: event.id, deliveries: endpoints.filter((e) => matches(e, event.type)).map((e) => deliveryFor(e, event, event.seq, t)) })));
      if (events.length < BATCH) return;
    }
  }

  /** the request of one attempt: Standard Webhooks, or an RFC 8935 push of the event's SET */
  async function request(delivery: WebhookDeliveryRecord, endpoint: WebhookEndpointRecord): Promise<{ headers: Record<string, string>; body: string }> {
    if (endpoint.format === 'security-event-token') {
      if (!d.securityEvents) throw new Error('security-event-token delivery without a signing key');
      const { issuer, signingKey } = d.securityEvents;
      const body = await securityEventToken({ issuer, audience: endpoint.audience ?? issuer, eventId: delivery.eventId, body: delivery.body, key: signingKey(), now: now() });
      return { headers: { 'content-type': 'application/secevent+jwt', accept: 'application/json' }, body };
    }
    const secrets = signingSecrets(openSecrets(d.cipher, endpoint.secretsCiphertext), now());
    return { headers: webhookHeaders(secrets, delivery.eventId, delivery.body, now()), body: delivery.body };
  }

  async function attempt(delivery: WebhookDeliveryRecord, endpoint: WebhookEndpointRecord | undefined): Promise<void> {
    if (!endpoint) return;
    const { headers, body } = await request(delivery, endpoint);
    const result = await d.send(endpoint.url, headers, body);
    const outcome = outcomeOf(delivery, result, now(), d.policy);
    if (!(await d.store.settle(delivery.id, owner, outcome))) return; // the lease lapsed: another replica has it
    d.logger.info({ delivery: delivery.id, event: delivery.eventId, type: delivery.eventType, endpoint: endpoint.id, status: outcome.status, responseStatus: result.status, ms: result.durationMs }, 'webhook attempt');
    // the count is reset only when there may be one (no write per delivery): stored, or counted here since
    if (outcome.status === 'succeeded') {
      if (endpoint.consecutiveFailures === 0 && !counted.has(endpoint.id)) return;
      counted.delete(endpoint.id);
      return d.store.resetFailures(endpoint.id);
    }
    counted.add(endpoint.id);
    const inARow = await d.store.countFailure(endpoint.id);
    // exactly one attempt reaches the threshold, so one replica disables and says so
    if (d.disableAfter > 0 && inARow === d.disableAfter) {
      await d.store.updateEndpoint(endpoint.id, { enabled: false, disabledReason: `${inARow} failed attempts in a row`, updatedAt: now() });
      await d.audit.record({ type: 'webhook.endpoint_disabled', result: 'success', details: { endpoint_id: endpoint.id, consecutive_failures: inARow } }, { userAgent: 'gatehouse-webhooks' });
    }
  }

  async function deliver(): Promise<boolean> {
    const t = now();
    const due = await d.store.claim(owner, t, t + leaseMs, BATCH);
    if (due.length === 0) return false;
    const endpoints = new Map((await d.store.listEndpoints()).map((e) => [e.id, e]));
    await Promise.all(due.map((delivery) => attempt(delivery, endpoints.get(delivery.endpointId)).catch((err: unknown) => d.logger.error({ err, delivery: delivery.id }, 'webhook attempt failed'))));
    return true;
  }

  async function tick(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await fanOut();
          // a delivery that settled may have freed the next event of its subject: claim again at once
          while (!stopped && (await deliver()));
        } while (again && !stopped);
      } catch (err) {
        d.logger.warn({ err }, 'webhook delivery tick failed (retried at the next poll)');
      } finally {
        running = undefined;
      }
    })();
    return running;
  }

  const timer = setInterval(() => void tick(), d.pollMs);
  timer.unref();
  let lastWake = -Infinity;
  let wakeTimer: NodeJS.Timeout | undefined;
  const wakeTick = () => {
    wakeTimer = undefined;
    lastWake = performance.now();
    void tick();
  };
  return {
    wake() {
      if (stopped || wakeTimer) return;
      const wait = lastWake + WAKE_SPACING_MS - performance.now();
      if (wait <= 0) return wakeTick();
      wakeTimer = setTimeout(wakeTick, wait);
      wakeTimer.unref();
    },
    tick,
    async stop() {
      stopped = true;
      clearInterval(timer);
      clearTimeout(wakeTimer);
      await running;
    },
  };
}
