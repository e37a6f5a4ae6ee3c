/**
 * Webhooks in SQLite: the outbox, endpoints and deliveries (WebhookStore). better-sqlite3 runs each
 * statement and transaction to completion before any other of this process, and SQLite's write lock
 * (BEGIN IMMEDIATE) serialises writers across processes, so a claim is one UPDATE ... RETURNING that no
 * other replica can interleave with. Every part is per tenant: a tenant's handle claims, fans out and
 * sweeps that tenant's rows only.
 */
import type Database from 'better-sqlite3';
import { accountNeedle, type OutboxEventRecord, type WebhookDeliveryRecord, type WebhookEndpointRecord, type WebhookStore } from './contract.js';
import { TABLES } from './record-schema.js';
import type { Row } from './row-mapper.js';
import { insertSql, sqliteMapper, tenantRow, type ForTenant } from './sqlite-sql.js';

const endpoints = sqliteMapper<WebhookEndpointRecord>(TABLES.webhookEndpoints);
const deliveries = sqliteMapper<WebhookDeliveryRecord>(TABLES.webhookDeliveries);
const outboxRows = sqliteMapper<OutboxEventRecord>(TABLES.eventOutbox);

/**
 * The claim (both SQL stores): due, not leased, of an enabled endpoint, and no earlier pending one of its
 * subject. The endpoint and the earlier delivery are the delivery's own tenant's (ids are unique per
 * tenant only); the caller adds which tenant's deliveries it claims.
 */
export const CLAIMABLE = `d.status = 'pending' AND d.next_attempt_at <= :now AND (d.lease_until IS NULL OR d.lease_until <= :now)
  AND EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.tenant_id = d.tenant_id AND w.id = d.endpoint_id AND w.enabled)
  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.tenant_id = d.tenant_id AND e.endpoint_id = d.endpoint_id AND e.subject = d.subject
                  AND e.status = 'pending' AND e.event_seq < d.event_seq)`;

/** The outbox insert, for the audit store's transaction (sqlite-lifecycle.ts). */
export function sqliteOutboxInsert(db: Database.Database): (tenant: string, e: OutboxEventRecord) => void {
  const insert = db.prepare(insertSql(TABLES.eventOutbox, outboxRows));
  return (tenant, e) => insert.run(tenantRow(outboxRows.toRow(e), tenant));
}

export function sqliteWebhookStore(db: Database.Database): ForTenant<WebhookStore> {
  const q = {
    insertEndpoint: db.prepare(insertSql(TABLES.webhookEndpoints, endpoints)),
    endpoint: db.prepare<[string, string], Row>('SELECT * FROM webhook_endpoints WHERE tenant_id = ? AND id = ?'),
    endpoints: db.prepare<[string], Row>('SELECT * FROM webhook_endpoints WHERE tenant_id = ? ORDER BY created_at, id'),
    deleteEndpoint: db.prepare('DELETE FROM webhook_endpoints WHERE tenant_id = ? AND id = ?'),
    deleteDeliveriesOf: db.prepare('DELETE FROM webhook_deliveries WHERE tenant_id = ? AND endpoint_id = ?'),
    failure: db.prepare<[number, string, string], { consecutive_failures: number }>(
      `UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1, updated_at = ?
       WHERE tenant_id = ? AND id = ? RETURNING consecutive_failures`,
    ),
    reset: db.prepare('UPDATE webhook_endpoints SET consecutive_failures = 0 WHERE tenant_id = ? AND id = ? AND consecutive_failures <> 0'),
    outbox: db.prepare<[string, number], Row>('SELECT * FROM event_outbox WHERE tenant_id = ? ORDER BY seq LIMIT ?'),
    removeEvent: db.prepare('DELETE FROM event_outbox WHERE tenant_id = ? AND id = ?'),
    insertDelivery: db.prepare(insertSql(TABLES.webhookDeliveries, deliveries).replace('INSERT', 'INSERT OR IGNORE')),
    claim: db.prepare<[Record<string, unknown>], Row>(
      `UPDATE webhook_deliveries SET lease_owner = :owner, lease_until = :until WHERE id IN (
         SELECT d.id FROM webhook_deliveries d WHERE d.tenant_id = :tenant AND ${CLAIMABLE} ORDER BY d.event_seq LIMIT :limit)
       AND tenant_id = :tenant RETURNING *`,
    ),
    settle: db.prepare(
      `UPDATE webhook_deliveries SET status = @status, attempts = @attempts, next_attempt_at = @next_attempt_at, last_attempt_at = @last_attempt_at,
         response_status = @response_status, duration_ms = @duration_ms, error = @error, lease_owner = NULL, lease_until = NULL
       WHERE tenant_id = @tenant AND id = @id AND lease_owner = @owner`,
    ),
    delivery: db.prepare<[string, string], Row>('SELECT * FROM webhook_deliveries WHERE tenant_id = ? AND id = ?'),
    recent: db.prepare<[string, string, number], Row>(
      'SELECT * FROM webhook_deliveries WHERE tenant_id = ? AND endpoint_id = ? ORDER BY created_at DESC, event_seq DESC LIMIT ?',
    ),
    sweep: db.prepare(`DELETE FROM webhook_deliveries WHERE tenant_id = ? AND created_at < ? AND status <> 'pending'`),
    // instr, not LIKE: the needle is matched as it is, no character of it is a wildcard
    forgetAccount: db.prepare(`DELETE FROM webhook_deliveries WHERE tenant_id = ? AND status <> 'pending' AND instr(body, ?) > 0`),
    redeliver: db.prepare(
      `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?, lease_owner = NULL, lease_until = NULL WHERE tenant_id = ? AND id = ?`,
    ),
  };
  const insertAll = db.transaction((tenant: string, list: WebhookDeliveryRecord[]) => {
    for (const d of list) q.insertDelivery.run(tenantRow(deliveries.toRow(d), tenant));
  });
  const fanOut = db.transaction((tenant: string, batch: { eventId: string; deliveries: WebhookDeliveryRecord[] }[]) => {
    for (const { eventId, deliveries: list } of batch) {
      for (const d of list) q.insertDelivery.run(tenantRow(deliveries.toRow(d), tenant));
      q.removeEvent.run(tenant, eventId);
    }
  });
  const erase = db.transaction((tenant: string, id: string) => {
    q.deleteDeliveriesOf.run(tenant, id);
    return q.deleteEndpoint.run(tenant, id).changes === 1;
  });
  return (tenant) => ({
    async createEndpoint(e) {
      q.insertEndpoint.run(tenantRow(endpoints.toRow(e), tenant));
    },
    async findEndpoint(id) {
      const r = q.endpoint.get(tenant, id);
      return r && endpoints.fromRow(r);
    },
    listEndpoints: async () => q.endpoints.all(tenant).map(endpoints.fromRow),
    async updateEndpoint(id, patch) {
      const row = endpoints.toRow(patch);
      const columns = Object.keys(row);
      if (columns.length === 0) return q.endpoint.get(tenant, id) !== undefined;
      const sql = `UPDATE webhook_endpoints SET ${columns.map((c) => `${c} = @${c}`).join(', ')} WHERE tenant_id = @tenant__ AND id = @id__`;
      return db.prepare(sql).run({ ...row, tenant__: tenant, id__: id }).changes === 1;
    },
    deleteEndpoint: async (id) => erase(tenant, id),
    countFailure: async (id) => q.failure.get(Date.now(), tenant, id)?.consecutive_failures ?? 0,
    async resetFailures(id) {
      q.reset.run(tenant, id);
    },
    outbox: async (limit) => q.outbox.all(tenant, limit).map((r) => ({ ...outboxRows.fromRow(r), seq: r.seq as number })),
    async fanOut(batch) {
      fanOut.immediate(tenant, batch);
    },
    async enqueue(list) {
      insertAll.immediate(tenant, list);
    },
    claim: async (owner, now, until, limit) => q.claim.all({ tenant, owner, now, until, limit }).map(deliveries.fromRow),
    settle: async (id, owner, o) =>
      q.settle.run({
        tenant, id, owner, status: o.status, attempts: o.attempts, next_attempt_at: o.nextAttemptAt, last_attempt_at: o.lastAttemptAt,
        response_status: o.responseStatus, duration_ms: o.durationMs, error: o.error,
      }).changes === 1,
    async findDelivery(id) {
      const r = q.delivery.get(tenant, id);
      return r && deliveries.fromRow(r);
    },
    listDeliveries: async (endpointId, limit) => q.recent.all(tenant, endpointId, limit).map(deliveries.fromRow),
    redeliver: async (id, now) => q.redeliver.run(now, tenant, id).changes === 1,
    deleteSettledBefore: async (time) => q.sweep.run(tenant, time).changes,
    deleteSettledOfAccount: async (accountId) => q.forgetAccount.run(tenant, accountNeedle(accountId)).changes,
  });
}
