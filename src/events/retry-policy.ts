/**
 * What an attempt's outcome means for the delivery: 2xx delivered; 5xx, 408, 429, a timeout or a
 * connection error retried with exponential back-off and jitter while the retry period lasts; any other
 * answer (4xx, 3xx: redirects are not followed) and a refused address end it as failed at once.
 */
import type { WebhookDeliveryOutcome, WebhookDeliveryRecord } from '../../adapters/contract.js';
import type { SendResult } from './webhook-sender.js';

export type RetryPolicy = { retryPeriodMs: number; baseDelayMs: number; maxDelayMs: number; random?: () => number };

export const retryable = (r: SendResult) => !r.refused && (r.status === null || r.status >= 500 || r.status === 408 || r.status === 429);

/** "Equal jitter": half the exponential delay, plus a random part of the other half (replicas spread out). */
export function backoffMs(attempt: number, p: RetryPolicy): number {
  const exponential = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(exponential / 2 + (p.random ?? Math.random)() * (exponential / 2));
}

export function outcomeOf(d: WebhookDeliveryRecord, r: SendResult, now: number, p: RetryPolicy): WebhookDeliveryOutcome {
  const attempts = d.attempts + 1;
  const base = { attempts, lastAttemptAt: now, responseStatus: r.status, durationMs: r.durationMs, error: r.error };
  if (r.status !== null && r.status >= 200 && r.status < 300) return { ...base, status: 'succeeded', nextAttemptAt: now };
  const next = now + backoffMs(attempts, p);
  if (retryable(r) && next - d.createdAt <= p.retryPeriodMs) return { ...base, status: 'pending', nextAttemptAt: next };
  return { ...base, status: 'failed', nextAttemptAt: now };
}
