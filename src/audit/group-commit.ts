/**
 * Group commit: entries added during one turn of the event loop are written together, in one write,
 * after that turn (setImmediate). Under load, every request that finished in the turn shares one
 * transaction (SQLite) or one statement (PostgreSQL) instead of paying its own; at rest an entry is
 * written right after the turn that added it, before the next I/O is read, so whoever awaits `add`
 * (or reads after the response it belongs to) sees it stored.
 *
 * - Batches are written one after another, in the order they were added.
 * - `add` resolves once its batch was written (write itself must not throw: it handles its failures).
 * - Bounded: with `maxQueued` entries not yet written (the store is slow or down), `add` first waits for
 *   the writes in flight, so a caller that awaits it is slowed down rather than the queue growing.
 * - Nothing is dropped: `flush` writes everything added so far (shutdown, and readers that want to see
 *   their own events).
 * - The writes run outside the caller's async context: an entry added inside a unit of work
 *   (Store.atomically) must not be written through the unit's connection, which is gone by then.
 */
import { AsyncResource } from 'node:async_hooks';

export type GroupCommit<T> = {
  add(entry: T): Promise<void>;
  /** resolves when everything added before the call is written */
  flush(): Promise<void>;
};

type Batch<T> = { entries: T[]; written: Promise<void>; done: () => void };

function newBatch<T>(): Batch<T> {
  let done!: () => void;
  const written = new Promise<void>((resolve) => (done = resolve));
  return { entries: [], written, done };
}

export function groupCommit<T>(o: { write(entries: T[]): Promise<void>; maxBatch: number; maxQueued: number }): GroupCommit<T> {
  let open = newBatch<T>();
  let writing: Promise<void> = Promise.resolve();
  let queued = 0;

  // bound now, at creation: outside any request's or unit's async context
  const flush = AsyncResource.bind((): Promise<void> => {
    const batch = open;
    if (batch.entries.length === 0) return writing;
    open = newBatch<T>();
    writing = writing.then(async () => {
      try {
        await o.write(batch.entries);
      } catch {
        // write handles its own failures (see above); this only keeps the chain of later batches alive
      } finally {
        queued -= batch.entries.length;
        batch.done();
      }
    });
    return writing;
  });
  const flushAfterTurn = AsyncResource.bind(() => void flush());

  return {
    async add(entry) {
      if (queued >= o.maxQueued) await writing;
      const batch = open;
      batch.entries.push(entry);
      queued++;
      if (batch.entries.length === 1) setImmediate(flushAfterTurn);
      if (batch.entries.length >= o.maxBatch) void flush();
      return batch.written;
    },
    flush,
  };
}
