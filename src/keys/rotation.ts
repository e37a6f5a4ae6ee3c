/**
 * The signing-key ring one replica serves from. Every replica reads the same rows (adapters SigningKeyStore)
 * and derives the same schedule from the clock (key-schedule.ts); only the replica holding the store lock
 * writes what the clock has decided (promotion, retirement, deletion) and creates the scheduled next key.
 * `refresh()` runs on a timer (KEY_REFRESH_INTERVAL) and returns new JWKs when the published set changed,
 * which the caller hands to providers.replaceKeys().
 */
import { randomUUID } from 'node:crypto';
import type { JWK } from 'jose';
import type { SigningKeyRecord, SigningKeyState, SigningKeyStore, Store } from '../../adapters/contract.js';
import type { Config } from '../config/schema.js';
import { DecryptionError, type AtRestCipher } from './at-rest-cipher.js';
import { generateSigningKey } from './keystore.js';
import { nextKeyDue, scheduleKeys, type KeyTimings, type ScheduledKey } from './key-schedule.js';

/**
 * Every token lifetime is at most 24 hours (ACCESS_TOKEN_TTL and ID_TOKEN_TTL accept up to 86400s, and so
 * does `resources create --ttl`), so a key retired 24 hours ago signed nothing that is still valid. A fixed
 * bound, rather than the longest TTL configured today, stays right when a longer-lived API is added later.
 */
const LONGEST_TOKEN_LIFETIME_MS = 86_400_000;
const LOCK = 'signing-keys';
const LOCK_TTL_SECONDS = 30;

export function keyTimings(config: Pick<Config, 'KEY_PUBLISH_AHEAD' | 'KEY_ROTATION_INTERVAL' | 'KEY_REFRESH_INTERVAL'>): KeyTimings {
  return {
    publishAheadMs: config.KEY_PUBLISH_AHEAD * 1000,
    rotationIntervalMs: config.KEY_ROTATION_INTERVAL * 1000,
    // a replica may go on signing with the old key for one refresh interval after its successor activated
    retentionMs: LONGEST_TOKEN_LIFETIME_MS + config.KEY_REFRESH_INTERVAL * 1000,
  };
}

/**
 * The JWKS Cache-Control max-age. A new key is in every replica's JWKS at most KEY_REFRESH_INTERVAL after
 * it was created and signs KEY_PUBLISH_AHEAD after it was created, so a cache no older than the difference
 * already holds it when the first token signed with it arrives.
 */
export function jwksMaxAgeSeconds(config: Pick<Config, 'KEY_PUBLISH_AHEAD' | 'KEY_REFRESH_INTERVAL'>): number {
  return Math.max(0, config.KEY_PUBLISH_AHEAD - config.KEY_REFRESH_INTERVAL);
}

export type KeyRing = {
  /** Start-up: every stored key must decrypt before anything is written; creates the first key on an empty store. */
  start(): Promise<JWK[]>;
  /** Applies the schedule; the JWKs when the published set or the signing key changed since the last call. */
  refresh(): Promise<JWK[] | undefined>;
  /** On-demand rotation: schedules a next key (KEY_PUBLISH_AHEAD ahead), or with `immediately` makes it sign now. */
  rotate(o: { immediately: boolean }): Promise<{ kid: string; activatesAt: number }>;
  /**
   * A leaked key: deleted from the store, so it leaves every replica's JWKS and stops signing at their next
   * refresh. When it is the signing key, a fresh key signs from now on first. Throws UnknownKeyError.
   */
  revoke(kid: string): Promise<{ revoked: string; state: SigningKeyState; current: string }>;
  /** Calls `listener` when this replica's schedule made a new key (the rotation interval ran out). */
  onScheduledKey(listener: (key: { kid: string; activatesAt: number }) => void): void;
};

export class UnknownKeyError extends Error {}

export type KeyRingDeps = {
  keys: SigningKeyStore;
  locks: Pick<Store, 'tryLock'>;
  cipher: AtRestCipher;
  timings: KeyTimings;
  now?: () => number;
};

export function createKeyRing(d: KeyRingDeps): KeyRing {
  const now = d.now ?? Date.now;
  const owner = randomUUID();
  const plain = new Map<string, JWK>();
  const scheduledListeners: ((key: { kid: string; activatesAt: number }) => void)[] = [];
  let published = '';
  // The lock keeps other replicas out; this keeps this replica's own calls (a slow refresh overlapping the
  // next tick, a CLI rotate) from interleaving, since the lock lets its owner in again.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };

  const decrypt = (r: SigningKeyRecord): JWK => {
    let jwk = plain.get(r.kid);
    if (!jwk) {
      try {
        jwk = JSON.parse(d.cipher.decrypt(r.privateJwkCiphertext)) as JWK;
      } catch (err) {
        if (!(err instanceof DecryptionError)) throw err;
        throw new DecryptionError(`signing key ${r.kid}: ${err.message}; nothing was changed (set KEY_ENCRYPTION_KEYS to include the key that encrypted it)`);
      }
      plain.set(r.kid, jwk);
    }
    return jwk;
  };

  // oidc-provider signs with the first key whose key_ops (if any) include 'sign' (notes §8): the current key
  // is first and complete; the others are published for verification only. RFC 7517 §4.3: use and key_ops
  // SHOULD NOT be used together, so those carry key_ops alone.
  const toJwks = (schedule: ScheduledKey[]): JWK[] =>
    schedule.map((k) => {
      const jwk = decrypt(k.record);
      if (k.state === 'current') return jwk;
      const { use: _use, ...rest } = jwk;
      return { ...rest, key_ops: ['verify'] };
    });
  const signature = (schedule: ScheduledKey[]) => schedule.map((k) => `${k.record.kid}:${k.state}`).join(',');

  async function maintain(): Promise<void> {
    if (!(await d.locks.tryLock(LOCK, LOCK_TTL_SECONDS, owner))) return;
    const t = now();
    const records = await d.keys.list();
    const schedule = scheduleKeys(records, t, d.timings.retentionMs);
    for (const k of schedule) {
      // update, not save: a key revoked since list() stays deleted
      if (k.record.state !== k.state || k.record.expiresAt !== k.expiresAt) await d.keys.update(k.record.kid, { state: k.state, activatesAt: k.record.activatesAt, expiresAt: k.expiresAt });
    }
    for (const r of records) if (!schedule.some((k) => k.record.kid === r.kid)) await d.keys.delete(r.kid);
    const due = nextKeyDue(schedule, t, d.timings);
    if (!due) return;
    const key = await generateSigningKey(d.cipher, due.activatesAt <= t ? 'current' : 'next', t, due.activatesAt);
    await d.keys.save(key);
    // the first key of an empty store is no rotation
    if (schedule.some((k) => k.state === 'current')) for (const listener of scheduledListeners) listener({ kid: key.kid, activatesAt: due.activatesAt });
  }

  async function load(): Promise<ScheduledKey[]> {
    return scheduleKeys(await d.keys.list(), now(), d.timings.retentionMs);
  }

  return {
    start: () => serial(async () => {
      for (const r of await d.keys.list()) decrypt(r);
      await maintain();
      let schedule = await load();
      if (!schedule.some((k) => k.state === 'current')) {
        // An empty store and another replica holding the lock: create a key anyway. If both replicas
        // do, the schedule keeps the later one signing and publishes the other as retired.
        await d.keys.save(await generateSigningKey(d.cipher, 'current', now()));
        schedule = await load();
      }
      published = signature(schedule);
      return toJwks(schedule);
    }),
    refresh: () => serial(async () => {
      await maintain();
      const schedule = await load();
      if (!schedule.some((k) => k.state === 'current') || signature(schedule) === published) return undefined;
      const jwks = toJwks(schedule);
      published = signature(schedule);
      return jwks;
    }),
    rotate: ({ immediately }) => serial(async () => {
      const t = now();
      const pending = (await load()).find((k) => k.state === 'next');
      if (pending && !immediately) return { kid: pending.record.kid, activatesAt: pending.record.activatesAt ?? t };
      if (pending) {
        // already published: the best key to switch to at once
        if (await d.keys.update(pending.record.kid, { state: pending.record.state, activatesAt: t, expiresAt: pending.record.expiresAt })) {
          return { kid: pending.record.kid, activatesAt: t };
        }
        // revoked meanwhile: a fresh key instead
      }
      const key = await generateSigningKey(d.cipher, 'next', t, immediately ? t : t + d.timings.publishAheadMs);
      await d.keys.save(key);
      return { kid: key.kid, activatesAt: key.activatesAt as number };
    }),
    onScheduledKey: (listener) => void scheduledListeners.push(listener),
    revoke: (kid) => serial(async () => {
      const t = now();
      const records = await d.keys.list();
      if (!records.some((r) => r.kid === kid)) throw new UnknownKeyError(`no signing key has the kid ${JSON.stringify(kid)} (see gatehouse keys list)`);
      const schedule = scheduleKeys(records, t, d.timings.retentionMs);
      // not scheduled: retired past its expiry, about to be deleted anyway
      const target = schedule.find((k) => k.record.kid === kid) ?? { state: 'retired' as const };
      if (target.state === 'current') {
        // A fresh key rather than the published next one: whatever exposed this private key may have exposed
        // that one too (revoke it as well then), and the next key keeps its own schedule. It signs from now:
        // of the active keys the one activated last signs (key-schedule.ts), on every replica.
        await d.keys.save(await generateSigningKey(d.cipher, 'current', t, t));
      }
      const current = scheduleKeys((await d.keys.list()).filter((k) => k.kid !== kid), t, d.timings.retentionMs).find((k) => k.state === 'current');
      if (!current) throw new Error(`refusing to revoke ${kid}: no other key would sign`);
      await d.keys.delete(kid);
      plain.delete(kid);
      return { revoked: kid, state: target.state, current: current.record.kid };
    }),
  };
}
