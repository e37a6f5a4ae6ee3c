/**
 * Issue 21: the audit log writes events recorded on their own by group commit (src/audit/group-commit.ts):
 * those of one turn of the event loop in one write. On real SQLite and PostgreSQL stores; the only thing
 * wrapped is the store's appendAll, to count the writes it gets.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { AuditEntry, RootStore } from '../../adapters/contract.js';
import { openStore } from '../../adapters/index.js';
import { createAuditLog, type AuditLog } from '../../src/audit/audit-log.js';
import { startPostgres, type PostgresService } from '../helpers/services/postgres-server.js';

const silent = pino({ level: 'silent' });

/** the audit log of `store`, and the sizes of the batches its store was given */
function auditOn(store: RootStore): { audit: AuditLog; batches: number[] } {
  const batches: number[] = [];
  const appendAll = store.audit.appendAll.bind(store.audit);
  const counted = { ...store.audit, append: store.audit.append.bind(store.audit), query: store.audit.query.bind(store.audit), appendAll: (entries: readonly AuditEntry[]) => (batches.push(entries.length), appendAll(entries)) };
  return { audit: createAuditLog({ store: counted, units: store, logger: silent, retentionSeconds: 86_400 }), batches };
}

function suite(name: string, open: () => Promise<RootStore>) {
  describe(`audit group commit on ${name}`, () => {
    let store: RootStore;
    before(async () => {
      store = await open();
    });
    after(() => store.close());

    it('events recorded in one turn are one write; each record resolves once its event is stored', async () => {
      const { audit, batches } = auditOn(store);
      const accountId = `acc-${Date.now()}`;
      // token.issued is a domain event too: its outbox rows go in the same write
      const recorded = Array.from({ length: 50 }, (_, i) => audit.record({ type: 'token.issued', accountId, clientId: `c-${i}`, details: { grant_type: 'client_credentials' } }));
      await Promise.all(recorded);
      assert.deepEqual(batches, [50]);
      assert.equal((await store.audit.query({ accountId })).length, 50);
      const outbox = (await store.webhooks.outbox(10_000)).filter((e) => JSON.parse(e.body).data.user_id === accountId);
      assert.equal(outbox.length, 50);
    });

    it('query and flush see what was recorded and not awaited', async () => {
      const { audit } = auditOn(store);
      const accountId = `acc-q-${Date.now()}`;
      void audit.record({ type: 'login.success', accountId });
      assert.equal((await audit.query({ accountId })).length, 1);
      void audit.record({ type: 'login.failure', result: 'failure', accountId, reason: 'wrong_password' });
      await audit.flush();
      assert.equal((await store.audit.query({ accountId })).length, 2);
    });

    it('an event recorded inside a unit of work is written outside it: the unit rolling back keeps it', async () => {
      const { audit } = auditOn(store);
      const accountId = `acc-u-${Date.now()}`;
      let recorded: Promise<void> | undefined;
      await assert.rejects(store.atomically(async () => {
        recorded = audit.record({ type: 'login.failure', result: 'failure', accountId, reason: 'wrong_password' });
        throw new Error('the unit fails');
      }), /the unit fails/);
      await recorded;
      assert.equal((await store.audit.query({ accountId })).length, 1);
    });

    it('many turns under load: every event stored once, in far fewer writes', async () => {
      const { audit, batches } = auditOn(store);
      const accountId = `acc-l-${Date.now()}`;
      const all: Promise<void>[] = [];
      for (let turn = 0; turn < 20; turn++) {
        for (let i = 0; i < 25; i++) all.push(audit.record({ type: 'login.success', accountId, details: { n: turn * 25 + i } }));
        await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all(all);
      const stored = await store.audit.query({ accountId, limit: 10_000 });
      assert.equal(stored.length, 500);
      assert.equal(new Set(stored.map((e) => e.details.n)).size, 500);
      assert.ok(batches.length <= 20, `${batches.length} writes`);
    });
  });
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-group-commit-'));
});
after(() => rm(dir, { recursive: true, force: true }));

suite('SQLite', () => openStore({ databaseUrl: `sqlite:${join(dir, 'audit.db')}` }));

describe('on PostgreSQL', function () {
  this.timeout(120_000);
  let postgres: PostgresService;
  before(async () => {
    postgres = await startPostgres();
  });
  after(() => postgres?.stop());
  suite('PostgreSQL', () => openStore({ databaseUrl: postgres.url }));
});
