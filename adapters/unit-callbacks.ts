/** Store.afterCommit: what runs once a unit of work (sqlite-units.ts, postgres-units.ts) has committed. */

/** the callbacks of a committed unit: each runs, whatever another one throws (the unit has committed) */
export function runAfterCommit(callbacks: (() => void)[]): void {
  for (const fn of callbacks) {
    try {
      fn();
    } catch {
      // a listener's failure is its own; the change it heard of is stored
    }
  }
}
