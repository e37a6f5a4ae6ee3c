/**
 * Webhooks in PostgreSQL: the outbox, endpoints and deliveries (WebhookStore). The outbox row is
 * inserted by the same statement as its audit row (postgres-lifecycle.ts). A claim is one UPDATE over a
 * `FOR UPDATE SKIP LOCKED` selection: replicas claiming at once take disjoint rows, and a row another
 * replica leased meanwhile is re-checked against the lease condition and skipped. Every part is of the
 * handle's tenant ($1): a tenant's handle claims, fans out and sweeps that tenant's rows only.
 */
import type pg from 'pg';
import { accountNeedle, type OutboxEventRecord, type WebhookDeliveryRecord, type WebhookEndpointRecord, type WebhookStore } from './contract.js';
import { TABLES } from './record-schema.js';
import type { Row } from './row-mapper.js';
import { inTransaction, insertColumns, insertSql, insertValues, postgresMapper, type ForTenant } from './postgres-sql.js';
import { CLAIMABLE } from './sqlite-webhooks.js';

const endpoints = postgresMapper<WebhookEndpointRecord>(TABLES.webhookEndpoints);
const deliveries = postgresMapper<WebhookDeliveryRecord>(TABLES.webhookDeliveries);
export const outboxRows = postgresMapper<OutboxEventRecord>(TABLES.eventOutbox);

/** Inserting a delivery twice (a repeated fan-out of one event) keeps the first. */
const ON_DUPLICATE_DELIVERY = 'ON CONFLICT (tenant_id, endpoint_id, event_id) DO NOTHING';
const INSERT_DELIVERY = `${insertSql(TABLES.webhookDeliveries, deliveries)} ${ON_DUPLICATE_DELIVERY}`;

/** One INSERT of many deliveries (one round trip for a fan-out batch). */
function insertDeliveries(tenant: string, list: WebhookDeliveryRecord[]): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const rows = list.map((d) => `(${insertValues(TABLES.webhookDeliveries, deliveries, deliveries.toRow(d), tenant).map((v) => `$${values.push(v)}`).join(', ')})`);
  const columns = insertColumns(TABLES.webhookDeliveries, deliveries);
  return { text: `INSERT INTO webhook_deliveries (${columns.join(', ')}) VALUES ${rows.join(', ')} ${ON_DUPLICATE_DELIVERY}`, values };
}
// ids are unique per tenant only: the outer UPDATE names the tenant as well as the ids the selection leased
const CLAIM = `UPDATE webhook_deliveries SET lease_owner = $2, lease_until = $4 WHERE tenant_id = $1 AND id IN (
  SELECT d.id FROM webhook_deliveries d WHERE d.tenant_id = $1 AND ${CLAIMABLE.replaceAll(':now', '$3')} ORDER BY d.event_seq LIMIT $5 FOR UPDATE OF d SKIP LOCKED) RETURNING *`;

const fromRow = (r: Row) => {
  const d = deliveries.fromRow(r);
  return { ...d, eventSeq: Number(d.eventSeq), nextAttemptAt: Number(d.nextAttemptAt), createdAt: Number(d.createdAt), leaseUntil: d.leaseUntil === null ? null : Number(d.leaseUntil), lastAttemptAt: d.lastAttemptAt === null ? null : Number(d.lastAttemptAt) };
};
const endpointFromRow = (r: Row) => {
  const e = endpoints.fromRow(r);
  return { ...e, createdAt: Number(e.createdAt), updatedAt: Number(e.updatedAt) };
};

export function postgresWebhookStore(pool: pg.Pool): ForTenant<WebhookStore> {
  return (tenant) => ({
    async createEndpoint(e) {
      await pool.query(insertSql(TABLES.webhookEndpoints, endpoints), insertValues(TABLES.webhookEndpoints, endpoints, endpoints.toRow(e), tenant));
    },
    async findEndpoint(id) {
      const [r] = (await pool.query<Row>('SELECT * FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2', [tenant, id])).rows;
      return r && endpointFromRow(r);
    },
    listEndpoints: async () =>
      (await pool.query<Row>('SELECT * FROM webhook_endpoints WHERE tenant_id = $1 ORDER BY created_at, id', [tenant])).rows.map(endpointFromRow),
    async updateEndpoint(id, patch) {
      const row = endpoints.toRow(patch);
      const columns = Object.keys(row);
      const sets = columns.map((c, i) => `${c} = $${i + 3}`);
      const sql = `UPDATE webhook_endpoints SET ${sets.length ? sets.join(', ') : 'id = id'} WHERE tenant_id = $1 AND id = $2`;
      return ((await pool.query(sql, [tenant, id, ...columns.map((c) => row[c])])).rowCount ?? 0) === 1;
    },
    deleteEndpoint: (id) =>
      inTransaction(pool, async (client) => {
        await client.query('DELETE FROM webhook_deliveries WHERE tenant_id = $1 AND endpoint_id = $2', [tenant, id]);
        return ((await client.query('DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2', [tenant, id])).rowCount ?? 0) === 1;
      }),
    async countFailure(id) {
      const { rows } = await pool.query<{ consecutive_failures: number }>(
        `UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1, updated_at = $3
         WHERE tenant_id = $1 AND id = $2 RETURNING consecutive_failures`,
        [tenant, id, Date.now()],
      );
      return rows[0]?.consecutive_failures ?? 0;
    },
    async resetFailures(id) {
      await pool.query('UPDATE webhook_endpoints SET consecutive_failures = 0 WHERE tenant_id = $1 AND id = $2 AND consecutive_failures <> 0', [tenant, id]);
    },
    outbox: async (limit) =>
      (await pool.query<Row>('SELECT * FROM event_outbox WHERE tenant_id = $1 ORDER BY seq LIMIT $2', [tenant, limit])).rows
        .map((r) => ({ ...outboxRows.fromRow(r), time: Number(r.time), seq: Number(r.seq) })),
    async fanOut(batch) {
      const all = batch.flatMap((b) => b.deliveries);
      await inTransaction(pool, async (client) => {
        if (all.length) {
          const insert = insertDeliveries(tenant, all);
          await client.query(insert.text, insert.values);
        }
        await client.query('DELETE FROM event_outbox WHERE tenant_id = $1 AND id = ANY($2)', [tenant, batch.map((b) => b.eventId)]);
      });
    },
    async enqueue(list) {
      await inTransaction(pool, async (client) => {
        for (const d of list) await client.query(INSERT_DELIVERY, insertValues(TABLES.webhookDeliveries, deliveries, deliveries.toRow(d), tenant));
      });
    },
    claim: async (owner, now, until, limit) => (await pool.query<Row>(CLAIM, [tenant, owner, now, until, limit])).rows.map(fromRow),
    async settle(id, owner, o) {
      const res = await pool.query(
        `UPDATE webhook_deliveries SET status = $4, attempts = $5, next_attempt_at = $6, last_attempt_at = $7, response_status = $8, duration_ms = $9,
           error = $10, lease_owner = NULL, lease_until = NULL WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3`,
        [tenant, id, owner, o.status, o.attempts, o.nextAttemptAt, o.lastAttemptAt, o.responseStatus, o.durationMs, o.error],
      );
      return (res.rowCount ?? 0) === 1;
    },
    async findDelivery(id) {
      const [r] = (await pool.query<Row>('SELECT * FROM webhook_deliveries WHERE tenant_id = $1 AND id = $2', [tenant, id])).rows;
      return r && fromRow(r);
    },
    listDeliveries: async (endpointId, limit) =>
      (await pool.query<Row>(
        'SELECT * FROM webhook_deliveries WHERE tenant_id = $1 AND endpoint_id = $2 ORDER BY created_at DESC, event_seq DESC LIMIT $3',
        [tenant, endpointId, limit],
      )).rows.map(fromRow),
    redeliver: async (id, now) =>
      ((await pool.query(
        `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $3, lease_owner = NULL, lease_until = NULL WHERE tenant_id = $1 AND id = $2`,
        [tenant, id, now],
      )).rowCount ?? 0) === 1,
    deleteSettledBefore: async (time) =>
      (await pool.query(`DELETE FROM webhook_deliveries WHERE tenant_id = $1 AND created_at < $2 AND status <> 'pending'`, [tenant, time])).rowCount ?? 0,
    // strpos, not LIKE: the needle is matched as it is, no character of it is a wildcard
    deleteSettledOfAccount: async (accountId) =>
      (await pool.query(`DELETE FROM webhook_deliveries WHERE tenant_id = $1 AND status <> 'pending' AND strpos(body, $2) > 0`, [tenant, accountNeedle(accountId)])).rowCount ?? 0,
  });
}
