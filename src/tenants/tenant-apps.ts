/**
 * The apps of the tenants (issue 15 §5): a tenant costs nothing until a request reaches it. Its app
 * (provider, keys, pages, management API: everything the default tenant has, built from tenantConfig)
 * is built on the first request and kept in a bounded cache, least recently used first out; an evicted
 * tenant is built again on its next request. Nothing of a sign-in lives in the app (interactions and
 * sessions are in the store), so eviction drops none in progress.
 *
 * Settings changes reach every replica within `freshnessMs`: a cached app older than that re-reads the
 * tenant's version (one indexed read) on its next request and is rebuilt when it changed. A deleted
 * tenant is gone from every replica within the same bound.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { TenantRecord } from '../../adapters/contract.js';

export type TenantApp = {
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** stops its timers and closes its mail transport; requests in flight finish */
  close(): Promise<void>;
};

type Entry = { version: number; app: Promise<TenantApp>; checkedAt: number };

export type TenantApps = {
  /** The tenant's app, built or refreshed as needed; undefined when there is no such tenant. */
  get(id: string): Promise<TenantApp | undefined>;
  /** lets the tenant's cached app go (its settings changed or it was deleted here): the next request reads it again */
  forget(id: string): void;
  /** how many tenants have an app in memory */
  readonly size: number;
  close(): Promise<void>;
};

export function createTenantApps(d: {
  find(id: string): Promise<TenantRecord | undefined>;
  build(tenant: TenantRecord): Promise<TenantApp>;
  /** the most tenant apps kept in memory (TENANT_CACHE_SIZE) */
  capacity: number;
  /** how long a cached app serves before its tenant's version is read again */
  freshnessMs: number;
  logger: Logger;
  now?: () => number;
}): TenantApps {
  const cache = new Map<string, Entry>();
  const now = d.now ?? Date.now;

  const retire = (id: string, entry: Entry, why: string) => {
    if (cache.get(id) === entry) cache.delete(id);
    entry.app.then((app) => app.close()).catch((err: unknown) => d.logger.warn({ err, tenant: id }, 'closing a tenant app failed'));
    d.logger.debug({ tenant: id, why }, 'tenant app retired');
  };

  function admit(tenant: TenantRecord): Entry {
    const entry: Entry = { version: tenant.version, checkedAt: now(), app: d.build(tenant) };
    // a failed build is not cached: the next request tries again
    entry.app.catch(() => {
      if (cache.get(tenant.id) === entry) cache.delete(tenant.id);
    });
    cache.set(tenant.id, entry);
    while (cache.size > d.capacity) {
      const [oldest, old] = cache.entries().next().value as [string, Entry];
      retire(oldest, old, 'evicted');
    }
    return entry;
  }

  return {
    async get(id) {
      let entry = cache.get(id);
      if (entry && now() - entry.checkedAt >= d.freshnessMs) {
        const tenant = await d.find(id);
        const meanwhile = cache.get(id);
        if (meanwhile !== entry) {
          // another request refreshed (or retired) it while this one read the tenant
          if (!meanwhile) return tenant ? (cache.get(id) ?? admit(tenant)).app : undefined;
          return meanwhile.app;
        }
        if (!tenant) {
          retire(id, entry, 'deleted');
          return undefined;
        }
        if (tenant.version !== entry.version) {
          retire(id, entry, 'settings changed');
          entry = admit(tenant);
        } else {
          entry.checkedAt = now();
        }
      }
      if (!entry) {
        const tenant = await d.find(id);
        if (!tenant) return undefined;
        // another request may have admitted it meanwhile
        entry = cache.get(id) ?? admit(tenant);
      }
      // most recently used last: Map keeps insertion order
      cache.delete(id);
      cache.set(id, entry);
      return entry.app;
    },
    forget(id) {
      const entry = cache.get(id);
      if (entry) retire(id, entry, 'changed here');
    },
    get size() {
      return cache.size;
    },
    async close() {
      const entries = [...cache.values()];
      cache.clear();
      await Promise.allSettled(entries.map(async (e) => (await e.app).close()));
    },
  };
}
