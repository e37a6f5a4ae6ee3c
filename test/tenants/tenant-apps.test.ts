/**
 * The tenant cache (src/tenants/tenant-apps.ts): built once on first use however many requests race,
 * bounded (least recently used out, and closed), refreshed when the version changed, gone when the
 * tenant was deleted, and a failed build is not kept.
 */
import assert from 'node:assert/strict';
import pino from 'pino';
import type { TenantRecord } from '../../adapters/contract.js';
import { createTenantApps, type TenantApp } from '../../src/tenants/tenant-apps.js';

const tenant = (id: string, version = 1): TenantRecord => ({ id, name: id, host: null, settings: {}, version, createdAt: 1, updatedAt: 1 });

function harness(o: { capacity?: number; freshnessMs?: number } = {}) {
  const stored = new Map<string, TenantRecord>();
  const built: string[] = [];
  const closed: string[] = [];
  let clock = 0;
  let failNext = false;
  const apps = createTenantApps({
    find: async (id) => stored.get(id),
    async build(t) {
      built.push(`${t.id}@${t.version}`);
      await Promise.resolve();
      if (failNext) {
        failNext = false;
        throw new Error('build failed');
      }
      const app: TenantApp = { handle: () => undefined, close: async () => void closed.push(`${t.id}@${t.version}`) };
      return app;
    },
    capacity: o.capacity ?? 2,
    freshnessMs: o.freshnessMs ?? 1000,
    logger: pino({ level: 'silent' }),
    now: () => clock,
  });
  return { apps, stored, built, closed, tick: (ms: number) => (clock += ms), failOnce: () => (failNext = true) };
}

describe('tenant cache', () => {
  it('builds a tenant once however many requests race for it; an unknown tenant is undefined', async () => {
    const h = harness();
    h.stored.set('a', tenant('a'));
    const apps = await Promise.all(Array.from({ length: 20 }, () => h.apps.get('a')));
    assert.equal(new Set(apps).size, 1);
    assert.deepEqual(h.built, ['a@1']);
    assert.equal(await h.apps.get('nobody'), undefined);
  });

  it('keeps at most `capacity` tenants: the least recently used is evicted and closed, and built again on its next request', async () => {
    const h = harness({ capacity: 2 });
    for (const id of ['a', 'b', 'c']) h.stored.set(id, tenant(id));
    await h.apps.get('a');
    await h.apps.get('b');
    await h.apps.get('a'); // a is now the most recent
    await h.apps.get('c'); // b goes
    await Promise.resolve();
    assert.equal(h.apps.size, 2);
    assert.deepEqual(h.closed, ['b@1']);
    await h.apps.get('b');
    assert.deepEqual(h.built, ['a@1', 'b@1', 'c@1', 'b@1']);
  });

  it('within the freshness bound it reads nothing; after it, a new version rebuilds and a deletion removes', async () => {
    const h = harness({ freshnessMs: 1000 });
    h.stored.set('a', tenant('a', 1));
    const first = await h.apps.get('a');
    h.stored.set('a', tenant('a', 2));
    assert.equal(await h.apps.get('a'), first, 'still fresh: the change is not seen yet');
    h.tick(1000);
    const second = await h.apps.get('a');
    assert.notEqual(second, first);
    assert.deepEqual(h.built, ['a@1', 'a@2']);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(h.closed, ['a@1']);
    h.tick(500);
    assert.equal(await h.apps.get('a'), second);
    h.stored.delete('a');
    h.tick(1000);
    assert.equal(await h.apps.get('a'), undefined, 'deleted: gone within the bound');
    assert.equal(h.apps.size, 0);
  });

  it('forget(): a change made in this process is served on the next request, without waiting for the bound', async () => {
    const h = harness({ freshnessMs: 60_000 });
    h.stored.set('acme', tenant('acme'));
    await h.apps.get('acme');
    h.stored.set('acme', tenant('acme', 2));
    h.apps.forget('acme');
    await h.apps.get('acme');
    assert.deepEqual(h.built, ['acme@1', 'acme@2']);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(h.closed, ['acme@1']);
    h.apps.forget('nobody');
  });

  it('does not keep a failed build: the next request builds again', async () => {
    const h = harness();
    h.stored.set('a', tenant('a'));
    h.failOnce();
    await assert.rejects(h.apps.get('a'), /build failed/);
    assert.ok(await h.apps.get('a'));
    assert.deepEqual(h.built, ['a@1', 'a@1']);
  });

  it('close() closes every cached app', async () => {
    const h = harness({ capacity: 5 });
    for (const id of ['a', 'b']) {
      h.stored.set(id, tenant(id));
      await h.apps.get(id);
    }
    await h.apps.close();
    assert.deepEqual(h.closed.sort(), ['a@1', 'b@1']);
  });
});
