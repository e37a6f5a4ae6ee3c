/**
 * Store.atomically, the unit of work that keeps a change and its audit row and outbox event together
 * (issue 16): on SQLite, PostgreSQL and PostgreSQL + Redis. A unit commits all its writes or none; a
 * store's own transaction inside it nests; other requests neither see its writes before it commits nor
 * get theirs swept into it (nor rolled back with it); a tenant's handle joins the same unit.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuplicateError, type AccountRecord, type AuditEventRecord, type OutboxEventRecord, type RootStore } from '../../adapters/contract.js';
import { openStore } from '../../adapters/index.js';
import { startPostgres, type PostgresService } from '../helpers/services/postgres-server.js';
import { startRedis, type RedisService } from '../helpers/services/redis-server.js';

const rand = () => randomUUID().slice(0, 8);

function person(): AccountRecord {
  const t = Date.now();
  return { id: `acc-${rand()}`, email: `unit-${rand()}@example.test`, emailVerified: true, name: null, passwordHash: null, roles: [], createdAt: t, updatedAt: t, disabledAt: null, lastLoginAt: null };
}

function auditOf(accountId: string): [AuditEventRecord, OutboxEventRecord] {
  const id = randomUUID();
  return [
    { id, time: Date.now(), type: 'admin.user.created', result: 'success', accountId, clientId: null, ip: null, userAgent: null, requestId: null, reason: null, details: {} },
    { id: `msg_${rand()}${rand()}`, type: 'user.created', subject: accountId, time: Date.now(), body: JSON.stringify({ type: 'user.created', data: { user_id: accountId } }) },
  ];
}

/** a promise and the function that settles it: lets a test hold a unit open while it looks around */
function gate(): { opened: Promise<void>; open(): void } {
  let open!: () => void;
  return { opened: new Promise((resolve) => (open = resolve)), open };
}

async function outboxHas(store: RootStore, eventId: string): Promise<boolean> {
  return (await store.webhooks.outbox(10_000)).some((e) => e.id === eventId);
}

function unitSuite(name: string, open: () => Promise<{ store: RootStore; close(): Promise<void> }>, o: { abortsOnError?: boolean } = {}) {
  describe(`Store.atomically on ${name}`, function () {
    this.timeout(60_000);
    let store: RootStore;
    let close: () => Promise<void>;
    before(async () => {
      ({ store, close } = await open());
    });
    after(() => close?.());

    it('keeps every write of a unit that commits, and runs afterCommit once it has', async () => {
      const a = person();
      const [row, event] = auditOf(a.id);
      const heard: string[] = [];
      await store.atomically(async () => {
        await store.accounts.create(a);
        await store.audit.append(row, event);
        store.afterCommit(() => heard.push('committed'));
        assert.deepEqual(heard, [], 'not before the commit');
      });
      assert.deepEqual(heard, ['committed']);
      assert.equal((await store.accounts.findById(a.id))?.email, a.email);
      assert.equal(await outboxHas(store, event.id), true);
      assert.equal((await store.audit.query({ accountId: a.id })).length, 1);
    });

    it('keeps none of them when the unit throws, not even those of a part\'s own transaction, and never runs afterCommit', async () => {
      const existing = person();
      existing.roles = ['keep'];
      await store.accounts.create(existing);
      const a = person();
      const [row, event] = auditOf(a.id);
      let heard = false;
      await assert.rejects(store.atomically(async () => {
        await store.accounts.create(a);
        await store.audit.append(row, event);
        assert.equal(await store.accounts.changeRole(existing.id, 'added', true), true, 'a part\'s own transaction, nested');
        store.afterCommit(() => (heard = true));
        throw new Error('the change fails after its writes');
      }), /the change fails/);
      assert.equal(await store.accounts.findById(a.id), undefined);
      assert.equal(await outboxHas(store, event.id), false, 'no event of a change that did not happen');
      assert.deepEqual(await store.audit.query({ accountId: a.id }), []);
      assert.deepEqual((await store.accounts.findById(existing.id))?.roles, ['keep']);
      assert.equal(heard, false);
    });

    it('rolls the unit back when a write inside it fails (a duplicate email), keeping the writes before it out', async () => {
      const first = person();
      await store.accounts.create(first);
      const a = person();
      await assert.rejects(store.atomically(async () => {
        await store.accounts.create(a);
        await store.accounts.create({ ...person(), email: first.email.toUpperCase() });
      }), (err) => err instanceof DuplicateError);
      assert.equal(await store.accounts.findById(a.id), undefined);
    });

    if (o.abortsOnError) {
      it('fails the whole unit when a write inside it failed, even when the work caught the error', async () => {
        const first = person();
        await store.accounts.create(first);
        const a = person();
        await assert.rejects(store.atomically(async () => {
          await store.accounts.create(a);
          await store.accounts.create({ ...person(), email: first.email }).catch(() => undefined);
          return 'the work thinks it went well';
        }), /rolled back/);
        assert.equal(await store.accounts.findById(a.id), undefined);
      });
    }

    it('hides its writes from other requests until it commits, and keeps theirs out of it when it rolls back', async () => {
      const inside = person();
      const outside = person();
      const hold = gate();
      let wrote!: () => void;
      const written = new Promise<void>((resolve) => (wrote = resolve));
      const unit = store.atomically(async () => {
        await store.accounts.create(inside);
        wrote();
        await hold.opened;
        throw new Error('rolled back');
      });
      await written;
      // another request, meanwhile: its read must not see the unit's row, its write must survive the rollback
      const otherRead = store.accounts.findById(inside.id);
      const otherWrite = store.accounts.create(outside);
      hold.open();
      await assert.rejects(unit, /rolled back/);
      assert.equal(await otherRead, undefined, 'an uncommitted write is never read');
      await otherWrite;
      assert.equal((await store.accounts.findById(outside.id))?.email, outside.email, 'another request\'s write is its own');
      assert.equal(await store.accounts.findById(inside.id), undefined);
    });

    it('runs many units at once, each whole, and joins a unit inside a unit', async () => {
      const people = Array.from({ length: 12 }, person);
      await Promise.all(people.map((p, i) => store.atomically(async () => {
        await store.accounts.create(p);
        await store.atomically(async () => {
          await store.accounts.update(p.id, { name: `n${i}` });
        });
        if (i % 3 === 0) throw new Error('one in three fails');
      }).catch((err: Error) => assert.match(err.message, /one in three/))));
      const found = await Promise.all(people.map((p) => store.accounts.findById(p.id)));
      found.forEach((f, i) => assert.equal(f?.name, i % 3 === 0 ? undefined : `n${i}`));
    });

    it('takes a tenant\'s handle into the same unit', async () => {
      const tenantId = `u${rand()}`;
      await store.tenants.create({ id: tenantId, name: 'Units', host: null, settings: {}, createdAt: Date.now(), updatedAt: Date.now(), version: 1 });
      const tenant = store.forTenant(tenantId);
      const a = person();
      const b = person();
      await assert.rejects(store.atomically(async () => {
        await store.accounts.create(a);
        await tenant.accounts.create(b);
        throw new Error('neither');
      }));
      assert.equal(await store.accounts.findById(a.id), undefined);
      assert.equal(await tenant.accounts.findById(b.id), undefined);
      await store.tenants.delete(tenantId);
    });
  });
}

unitSuite('SQLite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-units-'));
  const store = await openStore({ databaseUrl: `sqlite:${join(dir, 'units.db')}` });
  return { store, close: async () => { await store.close(); await rm(dir, { recursive: true, force: true }); } };
});

describe('Store.atomically on PostgreSQL, alone and with Redis', function () {
  this.timeout(60_000);
  let postgres: PostgresService;
  let redis: RedisService;
  before(async () => {
    [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
  });
  after(async () => {
    await Promise.all([postgres?.stop(), redis?.stop()]);
  });
  unitSuite('PostgreSQL', async () => {
    const store = await openStore({ databaseUrl: postgres.url });
    return { store, close: () => store.close() };
  }, { abortsOnError: true });
  unitSuite('PostgreSQL + Redis', async () => {
    const store = await openStore({ databaseUrl: postgres.url, redisUrl: redis.url });
    return { store, close: () => store.close() };
  }, { abortsOnError: true });
});

if (!process.env.MONGODB_URI) {
  describe('Store.atomically on MongoDB', () => {
    it('skipped: MONGODB_URI is not set (MongoDB has no unit of work: its writes are made one by one)');
  });
}
