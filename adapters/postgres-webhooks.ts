/**
 * Webhooks in PostgreSQL: the outbox, endpoints and deliveries (WebhookStore). The outbox row is
 * inserted by the same statement as its audit row (postgres-lifecycle.ts). A claim is one UPDATE over a
 * `FOR UPDATE SKIP LOCKED` selection: replicas claiming at once take disjoint rows, and a row another
 * replica leased meanwhile is re-checked against the lease condition and skipped.
 */
import type pg from 'pg';
import type { OutboxEventRecord, WebhookDeliveryRecord, WebhookEndpointRecord, WebhookStore } from './contract.js';
import { TABLES } from './record-schema.js';
import type { Row } from './row-mapper.js';
import { insertSql, postgresMapper } from './postgres-sql.js';
import { CLAIMABLE } from './sqlite-webhooks.js';

const endpoints = postgresMapper<WebhookEndpointRecord>(TABLES.webhookEndpoints);
const deliveries = postgresMapper<WebhookDeliveryRecord>(TABLES.webhookDeliveries);
export const outboxRows = postgresMapper<OutboxEventRecord>(TABLES.eventOutbox);

const valuesOf = <R>(mapper: { columns: readonly string[]; toRow(r: Partial<R>): Row }, record: R) => {
  const row = mapper.toRow(record);
  return mapper.columns.map((c) => row[c]);
};
const INSERT_DELIVERY = `${insertSql(TABLES.webhookDeliveries, deliveries)} ON CONFLICT (endpoint_id, event_id) DO NOTHING`;

/** One INSERT of many deliveries (one round trip for a fan-out batch). */
function insertDeliveries(list: WebhookDeliveryRecord[]): { text: string; values: unknown[] } {
  const columns = deliveries.columns;
  const values: unknown[] = [];
  const rows = list.map((d) => `(${valuesOf(deliveries, d).map((v) => `$${values.push(v)}`).join(', ')})`);
  return { text: `INSERT INTO webhook_deliveries (${columns.join(', ')}) VALUES ${rows.join(', ')} ON CONFLICT (endpoint_id, event_id) DO NOTHING`, values };
}
const CLAIM = `UPDATE webhook_deliveries SET lease_owner = $1, lease_until = $3 WHERE id IN (
  SELECT d.id FROM webhook_deliveries d WHERE ${CLAIMABLE.replaceAll(':now', '$2')} ORDER BY d.event_seq LIMIT $4 FOR UPDATE OF d SKIP LOCKED) RETURNING *`;

const fromRow = (r: Row) => {
  const d = deliveries.fromRow(r);
  return { ...d, eventSeq: Number(d.eventSeq), nextAttemptAt: Number(d.nextAttemptAt), createdAt: Number(d.createdAt), leaseUntil: d.leaseUntil === null ? null : Number(d.leaseUntil), lastAttemptAt: d.lastAttemptAt === null ? null : Number(d.lastAttemptAt) };
};
const endpointFromRow = (r: Row) => {
  const e = endpoints.fromRow(r);
  return { ...e, createdAt: Number(e.createdAt), updatedAt: Number(e.updatedAt) };
};

async function inTransaction(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<void>): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await fn(client);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

export function postgresWebhookStore(pool: pg.Pool): WebhookStore {
  return {
    async createEndpoint(e) {
      await pool.query(insertSql(TABLES.webhookEndpoints, endpoints), valuesOf(endpoints, e));
    },
    async findEndpoint(id) {
      const [r] = (await pool.query<Row>('SELECT * FROM webhook_endpoints WHERE id = $1', [id])).rows;
      return r && endpointFromRow(r);
    },
    listEndpoints: async () => (await pool.query<Row>('SELECT * FROM webhook_endpoints ORDER BY created_at, id')).rows.map(endpointFromRow),
    async updateEndpoint(id, patch) {
      const row = endpoints.toRow(patch);
      const columns = Object.keys(row);
      const sets = columns.map((c, i) => `${c} = $${i + 2}`);
      const sql = `UPDATE webhook_endpoints SET ${sets.length ? sets.join(', ') : 'id = id'} WHERE id = $1`;
      return ((await pool.query(sql, [id, ...columns.map((c) => row[c])])).rowCount ?? 0) === 1;
    },
    async deleteEndpoint(id) {
      let deleted = false;
      await inTransaction(pool, async (client) => {
        await client.query('DELETE FROM webhook_deliveries WHERE endpoint_id = $1', [id]);
        deleted = ((await client.query('DELETE FROM webhook_endpoints WHERE id = $1', [id])).rowCount ?? 0) === 1;
      });
      return deleted;
    },
    async countFailure(id) {
      const { rows } = await pool.query<{ consecutive_failures: number }>(
        'UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1, updated_at = $2 WHERE id = $1 RETURNING consecutive_failures', [id, Date.now()],
      );
      return rows[0]?.consecutive_failures ?? 0;
    },
    async resetFailures(id) {
      await pool.query('UPDATE webhook_endpoints SET consecutive_failures = 0 WHERE id = $1 AND consecutive_failures <> 0', [id]);
    },
    outbox: async (limit) =>
      (await pool.query<Row>('SELECT * FROM event_outbox ORDER BY seq LIMIT $1', [limit])).rows.map((r) => ({ ...outboxRows.fromRow(r), time: Number(r.time), seq: Number(r.seq) })),
    async fanOut(batch) {
      const all = batch.flatMap((b) => b.deliveries);
      await inTransaction(pool, async (client) => {
        if (all.length) {
          const insert = insertDeliveries(all);
          await client.query(insert.text, insert.values);
        }
        await client.query('DELETE FROM event_outbox WHERE id = ANY($1)', [batch.map((b) => b.eventId)]);
      });
    },
    async enqueue(list) {
      await inTransaction(pool, async (client) => {
        for (const d of list) await client.query(INSERT_DELIVERY, valuesOf(deliveries, d));
      });
    },
    claim: async (owner, now, until, limit) => (await pool.query<Row>(CLAIM, [owner, now, until, limit])).rows.map(fromRow),
    async settle(id, owner, o) {
      const res = await pool.query(
        `UPDATE webhook_deliveries SET status = $3, attempts = $4, next_attempt_at = $5, last_attempt_at = $6, response_status = $7, duration_ms = $8,
           error = $9, lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2`,
        [id, owner, o.status, o.attempts, o.nextAttemptAt, o.lastAttemptAt, o.responseStatus, o.durationMs, o.error],
      );
      return (res.rowCount ?? 0) === 1;
    },
    async findDelivery(id) {
      const [r] = (await pool.query<Row>('SELECT * FROM webhook_deliveries WHERE id = $1', [id])).rows;
      return r && fromRow(r);
    },
    listDeliveries: async (endpointId, limit) =>
      (await pool.query<Row>('SELECT * FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY created_at DESC, event_seq DESC LIMIT $2', [endpointId, limit])).rows.map(fromRow),
    redeliver: async (id, now) =>
      ((await pool.query(`UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $2, lease_owner = NULL, lease_until = NULL WHERE id = $1`, [id, now])).rowCount ?? 0) === 1,
    deleteSettledBefore: async (time) => (await pool.query(`DELETE FROM webhook_deliveries WHERE created_at < $1 AND status <> 'pending'`, [time])).rowCount ?? 0,
  };
}
