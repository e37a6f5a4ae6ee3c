/**
 * Webhooks in SQLite: the outbox, endpoints and deliveries (WebhookStore). better-sqlite3 runs each
 * statement and transaction to completion before any other of this process, and SQLite's write lock
 * (BEGIN IMMEDIATE) serialises writers across processes, so a claim is one UPDATE ... RETURNING that no
 * other replica can interleave with.
 */
import type Database from 'better-sqlite3';
import type { OutboxEventRecord, WebhookDeliveryRecord, WebhookEndpointRecord, WebhookStore } from './contract.js';
import { TABLES } from './record-schema.js';
import type { Row } from './row-mapper.js';
import { insertSql, sqliteMapper } from './sqlite-sql.js';

const endpoints = sqliteMapper<WebhookEndpointRecord>(TABLES.webhookEndpoints);
const deliveries = sqliteMapper<WebhookDeliveryRecord>(TABLES.webhookDeliveries);
const outboxRows = sqliteMapper<OutboxEventRecord>(TABLES.eventOutbox);

/** The claim (both SQL stores): due, not leased, of an enabled endpoint, and no earlier pending one of its subject. */
export const CLAIMABLE = `d.status = 'pending' AND d.next_attempt_at <= :now AND (d.lease_until IS NULL OR d.lease_until <= :now)
  AND EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.id = d.endpoint_id AND w.enabled)
  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.endpoint_id = d.endpoint_id AND e.subject = d.subject
                  AND e.status = 'pending' AND e.event_seq < d.event_seq)`;

/** The outbox insert, for the audit store's transaction (sqlite-lifecycle.ts). */
export function sqliteOutboxInsert(db: Database.Database): (e: OutboxEventRecord) => void {
  const insert = db.prepare(insertSql(TABLES.eventOutbox, outboxRows));
  return (e) => insert.run(outboxRows.toRow(e));
}

export function sqliteWebhookStore(db: Database.Database): WebhookStore {
  const q = {
    insertEndpoint: db.prepare(insertSql(TABLES.webhookEndpoints, endpoints)),
    endpoint: db.prepare<[string], Row>('SELECT * FROM webhook_endpoints WHERE id = ?'),
    endpoints: db.prepare<[], Row>('SELECT * FROM webhook_endpoints ORDER BY created_at, id'),
    deleteEndpoint: db.prepare('DELETE FROM webhook_endpoints WHERE id = ?'),
    deleteDeliveriesOf: db.prepare('DELETE FROM webhook_deliveries WHERE endpoint_id = ?'),
    failure: db.prepare<[number, string], { consecutive_failures: number }>(
      'UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1, updated_at = ? WHERE id = ? RETURNING consecutive_failures',
    ),
    reset: db.prepare('UPDATE webhook_endpoints SET consecutive_failures = 0 WHERE id = ? AND consecutive_failures <> 0'),
    outbox: db.prepare<[number], Row>('SELECT * FROM event_outbox ORDER BY seq LIMIT ?'),
    removeEvent: db.prepare('DELETE FROM event_outbox WHERE id = ?'),
    insertDelivery: db.prepare(insertSql(TABLES.webhookDeliveries, deliveries).replace('INSERT', 'INSERT OR IGNORE')),
    claim: db.prepare<[Record<string, unknown>], Row>(
      `UPDATE webhook_deliveries SET lease_owner = :owner, lease_until = :until WHERE id IN (
         SELECT d.id FROM webhook_deliveries d WHERE ${CLAIMABLE} ORDER BY d.event_seq LIMIT :limit) RETURNING *`,
    ),
    settle: db.prepare(
      `UPDATE webhook_deliveries SET status = @status, attempts = @attempts, next_attempt_at = @next_attempt_at, last_attempt_at = @last_attempt_at,
         response_status = @response_status, duration_ms = @duration_ms, error = @error, lease_owner = NULL, lease_until = NULL
       WHERE id = @id AND lease_owner = @owner`,
    ),
    delivery: db.prepare<[string], Row>('SELECT * FROM webhook_deliveries WHERE id = ?'),
    recent: db.prepare<[string, number], Row>('SELECT * FROM webhook_deliveries WHERE endpoint_id = ? ORDER BY created_at DESC, event_seq DESC LIMIT ?'),
    sweep: db.prepare(`DELETE FROM webhook_deliveries WHERE created_at < ? AND status <> 'pending'`),
    redeliver: db.prepare(`UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?`),
  };
  const insertAll = db.transaction((list: WebhookDeliveryRecord[]) => {
    for (const d of list) q.insertDelivery.run(deliveries.toRow(d));
  });
  const fanOut = db.transaction((batch: { eventId: string; deliveries: WebhookDeliveryRecord[] }[]) => {
    for (const { eventId, deliveries: list } of batch) {
      for (const d of list) q.insertDelivery.run(deliveries.toRow(d));
      q.removeEvent.run(eventId);
    }
  });
  const erase = db.transaction((id: string) => {
    q.deleteDeliveriesOf.run(id);
    return q.deleteEndpoint.run(id).changes === 1;
  });
  return {
    async createEndpoint(e) {
      q.insertEndpoint.run(endpoints.toRow(e));
    },
    async findEndpoint(id) {
      const r = q.endpoint.get(id);
      return r && endpoints.fromRow(r);
    },
    listEndpoints: async () => q.endpoints.all().map(endpoints.fromRow),
    async updateEndpoint(id, patch) {
      const row = endpoints.toRow(patch);
      const columns = Object.keys(row);
      if (columns.length === 0) return q.endpoint.get(id) !== undefined;
      return db.prepare(`UPDATE webhook_endpoints SET ${columns.map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id__`).run({ ...row, id__: id }).changes === 1;
    },
    deleteEndpoint: async (id) => erase(id),
    countFailure: async (id) => q.failure.get(Date.now(), id)?.consecutive_failures ?? 0,
    async resetFailures(id) {
      q.reset.run(id);
    },
    outbox: async (limit) => q.outbox.all(limit).map((r) => ({ ...outboxRows.fromRow(r), seq: r.seq as number })),
    async fanOut(batch) {
      fanOut.immediate(batch);
    },
    async enqueue(list) {
      insertAll.immediate(list);
    },
    claim: async (owner, now, until, limit) => q.claim.all({ owner, now, until, limit }).map(deliveries.fromRow),
    settle: async (id, owner, o) =>
      q.settle.run({
        id, owner, status: o.status, attempts: o.attempts, next_attempt_at: o.nextAttemptAt, last_attempt_at: o.lastAttemptAt,
        response_status: o.responseStatus, duration_ms: o.durationMs, error: o.error,
      }).changes === 1,
    async findDelivery(id) {
      const r = q.delivery.get(id);
      return r && deliveries.fromRow(r);
    },
    listDeliveries: async (endpointId, limit) => q.recent.all(endpointId, limit).map(deliveries.fromRow),
    redeliver: async (id, now) => q.redeliver.run(now, id).changes === 1,
    deleteSettledBefore: async (time) => q.sweep.run(time).changes,
  };
}
