/**
 * One event as it is sent: a `msg_` id (Standard Webhooks: "the unique message identifier ... the same
 * when a message is retried", so receivers drop duplicates), and the JSON body
 * `{ type, version, timestamp, data }` ("type" / "timestamp" / "data" is the spec's recommended shape).
 */
import { randomBytes } from 'node:crypto';
import type { OutboxEventRecord } from '../../adapters/contract.js';
import { allowedData, EVENT_TYPES, type EventType } from './event-catalogue.js';

/** msg_ + 12 hex digits of milliseconds (sorts by time) + 16 random bytes in base64url. */
export const newMessageId = (time = Date.now()) => `msg_${time.toString(16).padStart(12, '0')}${randomBytes(16).toString('base64url')}`;

/** `subject` null: the event is in no order with any other (its subject is its own id). */
export function eventMessage(type: EventType, subject: string | null, source: Record<string, unknown>, time = Date.now()): OutboxEventRecord {
  const body = { type, version: EVENT_TYPES[type].version, timestamp: new Date(time).toISOString(), data: allowedData(type, source) };
  const id = newMessageId(time);
  return { id, type, subject: subject ?? `event:${id}`, time, body: JSON.stringify(body) };
}
