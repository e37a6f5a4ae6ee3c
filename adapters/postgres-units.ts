/**
 * Store.atomically on PostgreSQL: a unit of work is one transaction on one client of the pool. The
 * store's parts are given `units.pool` instead of the pool itself: inside a unit its `query` runs on the
 * unit's client, and its `connect` (inTransaction, lockedTransaction) hands out the same client with
 * BEGIN / COMMIT / ROLLBACK turned into a savepoint, so a part's own transaction nests in the unit's
 * instead of committing apart from it. Outside a unit both are the pool's own.
 *
 * The unit is found through AsyncLocalStorage, so every store call made by `work` (in any tenant's
 * handle) joins it without being handed a transaction. A unit that has ended no longer routes anything:
 * work started inside it and still running afterwards (a timer, a listener) goes back to the pool.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type pg from 'pg';
import { runAfterCommit } from './unit-callbacks.js';

type Unit = { client: pg.PoolClient; open: boolean; savepoints: number; afterCommit: (() => void)[] };

export type PostgresUnits = {
  /** the pool the store's parts use: unit-aware */
  readonly pool: pg.Pool;
  atomically<T>(work: () => Promise<T>): Promise<T>;
  afterCommit(fn: () => void): void;
};

export function postgresUnits(pool: pg.Pool): PostgresUnits {
  const units = new AsyncLocalStorage<Unit>();
  const current = () => {
    const unit = units.getStore();
    return unit?.open ? unit : undefined;
  };

  /** the unit's client, as a part that opens its own transaction sees it: a savepoint, never released */
  const nested = (unit: Unit): pg.PoolClient => {
    const name = `unit_${++unit.savepoints}`;
    const translate: Record<string, string> = { BEGIN: `SAVEPOINT ${name}`, COMMIT: `RELEASE SAVEPOINT ${name}`, ROLLBACK: `ROLLBACK TO SAVEPOINT ${name}` };
    return new Proxy(unit.client, {
      get(client, key) {
        if (key === 'release') return () => undefined;
        if (key === 'query') {
          return (text: unknown, ...rest: unknown[]) =>
            (client.query as (...a: unknown[]) => unknown)(typeof text === 'string' && Object.hasOwn(translate, text) ? translate[text] : text, ...rest);
        }
        const value = Reflect.get(client, key, client) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(client) : value;
      },
    });
  };

  const routed = new Proxy(pool, {
    get(target, key) {
      if (key === 'query') {
        return (...args: unknown[]) => {
          const unit = current();
          return ((unit ? unit.client : target).query as (...a: unknown[]) => unknown).apply(unit ? unit.client : target, args);
        };
      }
      if (key === 'connect') {
        return (...args: unknown[]) => {
          const unit = current();
          return unit ? Promise.resolve(nested(unit)) : (target.connect as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });

  return {
    pool: routed,
    async atomically(work) {
      // a unit inside a unit is the same unit: it commits with the outer one
      if (current()) return work();
      const client = await pool.connect();
      const unit: Unit = { client, open: true, savepoints: 0, afterCommit: [] };
      try {
        await client.query('BEGIN');
        const result = await units.run(unit, work);
        // a statement that failed inside (its error caught by the work) aborted the transaction, and
        // PostgreSQL answers COMMIT with ROLLBACK: the unit did not happen, whatever the work returned
        const committed = await client.query('COMMIT');
        unit.open = false;
        if (committed.command === 'ROLLBACK') throw new Error('unit of work rolled back: a write inside it failed');
        runAfterCommit(unit.afterCommit);
        return result;
      } catch (err) {
        if (unit.open) await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        unit.open = false;
        client.release();
      }
    },
    afterCommit(fn) {
      const unit = current();
      if (unit) unit.afterCommit.push(fn);
      else fn();
    },
  };
}
