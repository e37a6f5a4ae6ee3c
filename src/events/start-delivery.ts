/** The delivery worker with the settings and the sender the server gives it (called by src/app/jobs.ts). */
import type { Logger } from 'pino';
import type { WebhookStore } from '../../adapters/contract.js';
import type { Config } from '../config/schema.js';
import type { AtRestCipher } from '../keys/at-rest-cipher.js';
import type { AuditLog } from '../audit/audit-log.js';
import { createDeliveryWorker, type DeliveryWorker, type DeliveryWorkerDeps } from './delivery-worker.js';
import { createWebhookSender } from './webhook-sender.js';

export type WebhookSettings = Pick<Config,
  'WEBHOOK_RETRY_PERIOD' | 'WEBHOOK_RETRY_BASE_MS' | 'WEBHOOK_RETRY_MAX_DELAY' | 'WEBHOOK_TIMEOUT' | 'WEBHOOK_DISABLE_AFTER' | 'WEBHOOK_POLL_INTERVAL_MS' | 'OUTBOUND_PRIVATE_HOSTS'>;

export function startDelivery(d: {
  config: WebhookSettings; store: WebhookStore; cipher: Pick<AtRestCipher, 'decrypt'>; audit: Pick<AuditLog, 'record' | 'onOutbox'>; logger: Logger;
  securityEvents?: DeliveryWorkerDeps['securityEvents'];
}): DeliveryWorker {
  const c = d.config;
  const worker = createDeliveryWorker({
    store: d.store, cipher: d.cipher, audit: d.audit, logger: d.logger,
    send: createWebhookSender({ privateHosts: c.OUTBOUND_PRIVATE_HOSTS, timeoutMs: c.WEBHOOK_TIMEOUT * 1000 }),
    policy: { retryPeriodMs: c.WEBHOOK_RETRY_PERIOD * 1000, baseDelayMs: c.WEBHOOK_RETRY_BASE_MS, maxDelayMs: c.WEBHOOK_RETRY_MAX_DELAY * 1000 },
    pollMs: c.WEBHOOK_POLL_INTERVAL_MS, timeoutMs: c.WEBHOOK_TIMEOUT * 1000, disableAfter: c.WEBHOOK_DISABLE_AFTER,
    ...(d.securityEvents ? { securityEvents: d.securityEvents } : {}),
  });
  // an event recorded here goes out without waiting for the poll; other replicas' events wait at most one poll
  d.audit.onOutbox(() => worker.wake());
  return worker;
}
