/**
 * Which signing key does what, right now: a pure function of the stored records and the clock, so every
 * replica reading the same rows at about the same time reaches the same answer without talking to the
 * others. The stored `state` is only a record of past decisions; time decides:
 *
 * - of the keys whose `activatesAt` has passed (and that are not stored as retired), the one activated
 *   last signs (ties broken by kid); every earlier one is retired from the moment its successor activated;
 * - a key whose `activatesAt` is still ahead is `next`: published, never used to sign;
 * - a retired key stays published for `retentionMs` after its successor activated (until every token it
 *   signed has expired), then it is gone.
 */
import type { SigningKeyRecord, SigningKeyState } from '../../adapters/contract.js';

export type ScheduledKey = { record: SigningKeyRecord; state: SigningKeyState; expiresAt: number | null };

export type KeyTimings = {
  /** a new key is published this long before it signs */
  publishAheadMs: number;
  /** a key signs this long before the scheduled rotation */
  rotationIntervalMs: number;
  /** a retired key stays published this long after its successor activated */
  retentionMs: number;
};

const activation = (k: SigningKeyRecord) => k.activatesAt ?? k.createdAt;

/** The keys to publish, in the order oidc-provider should see them: current, then next, then retired (newest first). */
export function scheduleKeys(records: SigningKeyRecord[], now: number, retentionMs: number): ScheduledKey[] {
  const active = records
    .filter((k) => k.state !== 'retired' && (k.activatesAt !== null || k.state === 'current') && activation(k) <= now)
    .sort((a, b) => activation(a) - activation(b) || (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0));
  const out: ScheduledKey[] = [];
  active.forEach((record, i) => {
    const successor = active[i + 1];
    out.push(successor
      ? { record, state: 'retired', expiresAt: activation(successor) + retentionMs }
      : { record, state: 'current', expiresAt: null });
  });
  for (const record of records) {
    if (active.includes(record)) continue;
    if (record.state === 'retired') out.push({ record, state: 'retired', expiresAt: record.expiresAt });
    else out.push({ record, state: 'next', expiresAt: null });
  }
  const rank: Record<SigningKeyState, number> = { current: 0, next: 1, retired: 2 };
  return out
    .filter((k) => k.state !== 'retired' || k.expiresAt === null || k.expiresAt > now)
    .sort((a, b) => rank[a.state] - rank[b.state] || activation(b.record) - activation(a.record));
}

/** When the scheduler should create the next key, given the current one (or now, when there is none). */
export function nextKeyDue(schedule: ScheduledKey[], now: number, t: KeyTimings): { activatesAt: number } | undefined {
  const current = schedule.find((k) => k.state === 'current');
  if (!current) return { activatesAt: now };
  if (schedule.some((k) => k.state === 'next')) return undefined;
  const rotatesAt = activation(current.record) + t.rotationIntervalMs;
  if (now < rotatesAt - t.publishAheadMs) return undefined;
  return { activatesAt: Math.max(rotatesAt, now + t.publishAheadMs) };
}
