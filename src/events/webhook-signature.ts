/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com, "Signature scheme"): the signed content
 * is `${webhook-id}.${webhook-timestamp}.${body}`, signed with HMAC-SHA256 under the secret's bytes (the
 * base64 after `whsec_`), sent as `v1,<base64>`; several signatures are space-separated, so during a
 * secret rotation the receiver may verify with either secret. Signed with node:crypto here; the tests
 * verify with the `standardwebhooks` library.
 */
import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';

/** 32 random bytes: the spec asks for secrets "between 24 bytes and 64 bytes". */
export const newWebhookSecret = () => `${PREFIX}${randomBytes(32).toString('base64')}`;

export function sign(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
}

/** The three headers of one attempt: a fresh timestamp each time (receivers refuse old ones), the same id. */
export function webhookHeaders(secrets: readonly string[], id: string, body: string, now = Date.now()): Record<string, string> {
  const timestamp = Math.floor(now / 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': secrets.map((s) => sign(s, id, timestamp, body)).join(' '),
  };
}
