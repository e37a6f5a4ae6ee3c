/**
 * Store.atomically on SQLite. The store has one connection, shared by every request of the process, and
 * a transaction on it would take in whatever statement another request runs between two awaits of the
 * unit's work. So a unit takes turns with everything else: while one is open, every call of the store
 * made outside it waits (`gated`: each async method of a part awaits the unit first), and units run one
 * after another. better-sqlite3 turns a part's own transaction (db.transaction) inside the unit into a
 * savepoint, so it commits with the unit.
 *
 * A unit holds the database for as long as its work runs: give it store calls only (no mail, no HTTP,
 * no password hashing). Other processes on the same file (the CLI, a second server) wait on SQLite's own
 * lock, BEGIN IMMEDIATE, as for any write.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type Database from 'better-sqlite3';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { runAfterCommit } from './unit-callbacks.js';

type Unit = { done: Promise<void>; afterCommit: (() => void)[] };

export type SqliteUnits = {
  atomically<T>(work: () => Promise<T>): Promise<T>;
  afterCommit(fn: () => void): void;
  /** `part` with each of its async methods waiting, outside the open unit, until that unit has ended */
  gated<P extends object>(part: P): P;
};

export function sqliteUnits(db: Database.Database): SqliteUnits {
  const units = new AsyncLocalStorage<Unit>();
  let open: Unit | undefined;
  let queue: Promise<void> = Promise.resolve();
  const inside = () => open !== undefined && units.getStore() === open;

  async function waitTurn(): Promise<void> {
    while (open && units.getStore() !== open) await open.done;
  }

  return {
    async atomically(work) {
      if (inside()) return work();
      const previous = queue;
      let leave!: () => void;
      queue = new Promise((resolve) => (leave = resolve));
      await previous;
      await waitTurn();
      let end!: () => void;
      const unit: Unit = { done: new Promise((resolve) => (end = resolve)), afterCommit: [] };
      open = unit;
      try {
        db.exec('BEGIN IMMEDIATE');
        try {
          const result = await units.run(unit, work);
          db.exec('COMMIT');
          open = undefined;
          runAfterCommit(unit.afterCommit);
          return result;
        } catch (err) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw err;
        }
      } finally {
        open = undefined;
        end();
        leave();
      }
    },
    afterCommit(fn) {
      if (inside()) open!.afterCommit.push(fn);
      else fn();
    },
    gated<P extends object>(part: P): P {
      const gatedPart: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(part)) {
        gatedPart[key] = typeof value !== 'function' ? value : (...args: unknown[]) => {
          if (!open || inside()) return (value as (...a: unknown[]) => unknown).apply(part, args);
          return waitTurn().then(() => (value as (...a: unknown[]) => unknown).apply(part, args));
        };
      }
      return gatedPart as P;
    },
  };
}

/** The limiter's methods that reach the database, gated like the parts (its statements run inside them). */
const LIMITER_METHODS = ['consume', 'penalty', 'reward', 'get', 'set', 'block', 'delete'] as const;

export function gatedLimiter<L extends RateLimiterAbstract>(limiter: L, units: Pick<SqliteUnits, 'gated'>): L {
  const own = Object.fromEntries(LIMITER_METHODS.map((m) => [m, (limiter[m] as (...a: unknown[]) => unknown).bind(limiter)]));
  return Object.assign(limiter, units.gated(own));
}
