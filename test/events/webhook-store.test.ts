/**
 * WebhookStore, the same checks on every store: the audit row and its event are written together or not
 * at all; the fan-out is idempotent; a claim leases each delivery to one caller (two store instances on
 * one database racing), only the earliest pending one of a subject, never one of a disabled endpoint; a
 * lapsed lease can be taken over, and the old holder can no longer record an outcome.
 * MongoDB runs only when MONGODB_URI is set.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../adapters/index.js';
import type { AuditEventRecord, Store, WebhookEndpointRecord } from '../../adapters/contract.js';
import { eventMessage } from '../../src/events/event-message.js';
import { deliveryFor } from '../../src/events/delivery-worker.js';
import { startPostgres, type PostgresService } from '../helpers/services/postgres-server.js';

type Pair = { stores: [Store, Store]; close(): Promise<void> };

const audit = (id: string): AuditEventRecord => ({
  id, time: Date.now(), type: 'admin.user.created', result: 'success', accountId: 'acc-1', clientId: null, ip: null, userAgent: null, requestId: null, reason: null, details: {},
});
const endpoint = (id: string, enabled = true): WebhookEndpointRecord => ({
  id, url: 'https://hooks.example.com/', description: '', eventTypes: [], enabled, secretsCiphertext: 'x', consecutiveFailures: 0, disabledReason: null, createdAt: Date.now(), updatedAt: Date.now(), format: 'standard-webhooks', audience: null,
});

function webhookStoreSuite(name: string, open: () => Promise<Pair>): void {
  describe(`WebhookStore on ${name}`, function () {
    this.timeout(60_000);
    let pair: Pair;
    let a: Store;
    let b: Store;
    before(async () => {
      pair = await open();
      [a, b] = pair.stores;
    });
    after(() => pair?.close());

    it('writes the audit row and its event together, or neither', async () => {
      const event = eventMessage('user.created', 'user:acc-1', { user_id: 'acc-1' });
      await a.audit.append(audit(`a-${randomBytes(4).toString('hex')}`), event);
      const [queued] = (await a.webhooks.outbox(100)).filter((e) => e.id === event.id);
      assert.equal(queued?.body, event.body);
      // the same event id again: the outbox refuses it, and the audit row goes with it
      const lost = `a-${randomBytes(4).toString('hex')}`;
      await assert.rejects(a.audit.append(audit(lost), event));
      assert.equal((await a.audit.query({ accountId: 'acc-1' })).filter((r) => r.id === lost).length, 0);
      await a.webhooks.fanOut([{ eventId: event.id, deliveries: [] }]);
      assert.equal((await a.webhooks.outbox(100)).filter((e) => e.id === event.id).length, 0);
    });

    it('fans out once, leases each delivery to one caller, in order per subject', async () => {
      const ep = `ep_${randomBytes(4).toString('hex')}`;
      await a.webhooks.createEndpoint(endpoint(ep));
      const t = Date.now();
      const events = ['s1', 's1', 's2', 's3'].map((s, i) => ({ ...eventMessage('user.updated', s, {}), seq: 1000 + i }));
      for (const e of events) {
        const d = deliveryFor({ id: ep }, e, e.seq, t);
        await a.webhooks.fanOut([{ eventId: e.id, deliveries: [d] }]);
        await b.webhooks.fanOut([{ eventId: e.id, deliveries: [{ ...d, id: `${d.id}x` }] }]); // a second replica's fan-out of the same event: ignored
      }
      assert.equal((await a.webhooks.listDeliveries(ep, 50)).length, 4);
      const owners = await Promise.all([a.webhooks.claim('A', t + 1, t + 60_000, 10), b.webhooks.claim('B', t + 1, t + 60_000, 10)]);
      const claimed = owners.flat();
      assert.equal(new Set(claimed.map((d) => d.id)).size, claimed.length, 'no delivery to both');
      // s1's second event waits for its first
      assert.deepEqual(claimed.map((d) => d.eventId).sort(), [events[0]!.id, events[2]!.id, events[3]!.id].sort());
      const first = claimed.find((d) => d.eventId === events[0]!.id)!;
      const holder = owners[0].includes(first) ? 'A' : 'B';
      const other = holder === 'A' ? 'B' : 'A';
      const outcome = { status: 'succeeded' as const, attempts: 1, nextAttemptAt: t, lastAttemptAt: t, responseStatus: 200, durationMs: 3, error: null };
      assert.equal(await a.webhooks.settle(first.id, other, outcome), false, 'only the holder records the outcome');
      assert.equal(await a.webhooks.settle(first.id, holder, outcome), true);
      const [next] = await b.webhooks.claim('B', t + 2, t + 60_000, 10);
      assert.equal(next?.eventId, events[1]!.id);
      // a lease that lapsed is taken over; the old holder is then refused
      const [again] = await a.webhooks.claim('C', t + 120_000, t + 180_000, 10);
      assert.ok(again);
      assert.equal(await a.webhooks.settle(again.id, 'B', outcome), false);
      assert.equal(await a.webhooks.settle(again.id, 'C', outcome), true);
      // the retention sweep takes the settled ones and leaves the pending one
      assert.equal(await a.webhooks.deleteSettledBefore(t + 1), 2);
      assert.equal((await a.webhooks.listDeliveries(ep, 50)).length, 2);
    });

    it('claims nothing of a disabled endpoint, and deletes an endpoint with its deliveries', async () => {
      const ep = `ep_${randomBytes(4).toString('hex')}`;
      await a.webhooks.createEndpoint(endpoint(ep, false));
      const e = eventMessage('user.updated', `only-${ep}`, {});
      const t = Date.now();
      await a.webhooks.enqueue([deliveryFor({ id: ep }, e, 5000, t)]);
      assert.equal((await a.webhooks.claim('A', t + 1, t + 1000, 50)).filter((d) => d.endpointId === ep).length, 0);
      assert.equal(await a.webhooks.countFailure(ep), 1);
      assert.equal(await a.webhooks.countFailure(ep), 2);
      await a.webhooks.resetFailures(ep);
      assert.equal((await a.webhooks.findEndpoint(ep))?.consecutiveFailures, 0);
      assert.equal(await a.webhooks.deleteEndpoint(ep), true);
      assert.equal((await a.webhooks.listDeliveries(ep, 10)).length, 0);
    });

    it('erasure: deletes the settled deliveries naming the account, not its pending ones nor another account\'s', async () => {
      const ep = `ep_${randomBytes(4).toString('hex')}`;
      await a.webhooks.createEndpoint(endpoint(ep));
      const t = Date.now();
      // ids that would match more than themselves as LIKE patterns or regular expressions
      const erased = `acc_%${randomBytes(3).toString('hex')}.*`;
      const other = erased.replace('_%', 'x%').replace('.*', 'a*');
      const of = (user: string, i: number) => deliveryFor({ id: ep }, eventMessage('user.updated', `user:${user}:${i}`, { user_id: user }), 7000 + i, t);
      const [sent, failed, pending, kept] = [of(erased, 1), of(erased, 2), of(erased, 3), of(other, 4)];
      await a.webhooks.enqueue([sent, failed, pending, kept]);
      const claimed = await a.webhooks.claim('E', t + 1, t + 60_000, 50);
      for (const d of claimed.filter((c) => [sent.id, failed.id, kept.id].includes(c.id))) {
        await a.webhooks.settle(d.id, 'E', { status: d.id === failed.id ? 'failed' : 'succeeded', attempts: 1, nextAttemptAt: t, lastAttemptAt: t, responseStatus: 200, durationMs: 1, error: null });
      }
      await a.webhooks.settle(pending.id, 'E', { status: 'pending', attempts: 1, nextAttemptAt: t + 60_000, lastAttemptAt: t, responseStatus: 503, durationMs: 1, error: null });
      assert.equal(await b.webhooks.deleteSettledOfAccount(erased), 2);
      const left = (await a.webhooks.listDeliveries(ep, 10)).map((d) => d.id).sort();
      assert.deepEqual(left, [pending.id, kept.id].sort());
      await a.webhooks.deleteEndpoint(ep);
    });
  });
}

webhookStoreSuite('SQLite (two connections to one file)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-webhooks-'));
  const url = `sqlite:${join(dir, 'gatehouse.db')}`;
  const stores = [await openStore({ databaseUrl: url }), await openStore({ databaseUrl: url })] as [Store, Store];
  return { stores, close: async () => { await Promise.all(stores.map((s) => s.close())); await rm(dir, { recursive: true, force: true }); } };
});

let postgres: PostgresService | undefined;
webhookStoreSuite('PostgreSQL (two pools)', async () => {
  postgres = await startPostgres();
  const stores = [await openStore({ databaseUrl: postgres.url }), await openStore({ databaseUrl: postgres.url })] as [Store, Store];
  return { stores, close: async () => { await Promise.all(stores.map((s) => s.close())); await postgres?.stop(); } };
});

if (process.env.MONGODB_URI) {
  const uri = process.env.MONGODB_URI;
  webhookStoreSuite('MongoDB', async () => {
    const stores = [await openStore({ databaseUrl: uri }), await openStore({ databaseUrl: uri })] as [Store, Store];
    return { stores, close: async () => { await Promise.all(stores.map((s) => s.close())); } };
  });
} else {
  describe('WebhookStore on MongoDB', () => it('skipped: MONGODB_URI is not set (set MONGODB_URI=mongodb://host:27017 to run it)'));
}
