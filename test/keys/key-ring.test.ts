/**
 * The key ring on a real SQLite store with a clock the test moves: the whole life of a key (published
 * ahead, signing, retired, deleted) and the scheduled rotation, without waiting days.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Store } from '../../adapters/contract.js';
import { openStore } from '../../adapters/index.js';
import { createAtRestCipher } from '../../src/keys/at-rest-cipher.js';
import { createKeyRing, keyTimings, UnknownKeyError } from '../../src/keys/rotation.js';

const H = 3_600_000;
const timings = keyTimings({ KEY_PUBLISH_AHEAD: 3600, KEY_ROTATION_INTERVAL: 30 * 86400, KEY_REFRESH_INTERVAL: 60 });
const cipher = createAtRestCipher([Buffer.alloc(32, 1)]);

describe('key ring (SQLite, moved clock)', () => {
  let dir: string;
  let store: Store;
  let t: number;
  const ring = () => createKeyRing({ keys: store.signingKeys, locks: store, cipher, timings, now: () => t });
  const shape = (jwks: { kid?: string; key_ops?: string[] }[]) => jwks.map((k) => [k.kid, k.key_ops?.join() ?? 'sign']);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-keyring-'));
    store = await openStore({ databaseUrl: `sqlite:${join(dir, 'g.db')}` });
    t = Date.now();
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('publishes a rotated key KEY_PUBLISH_AHEAD before it signs, retires the old one, and deletes it after its tokens expired', async () => {
    const a = ring();
    const [first] = await a.start();
    const { kid: next, activatesAt } = await a.rotate({ immediately: false });
    assert.equal(activatesAt, t + H);
    assert.deepEqual(shape((await a.refresh())!), [[first!.kid, 'sign'], [next, 'verify']]);
    assert.equal(await a.refresh(), undefined, 'nothing changed');
    assert.equal((await a.rotate({ immediately: false })).kid, next, 'a second rotate keeps the scheduled key');

    t += H;
    assert.deepEqual(shape((await a.refresh())!), [[next, 'sign'], [first!.kid, 'verify']]);
    const retired = (await store.signingKeys.list()).find((k) => k.kid === first!.kid)!;
    assert.equal(retired.state, 'retired');
    assert.equal(retired.expiresAt, t + timings.retentionMs);

    t += timings.retentionMs;
    assert.deepEqual(shape((await a.refresh())!), [[next, 'sign']]);
    assert.deepEqual((await store.signingKeys.list()).map((k) => k.kid), [next]);
  });

  it('creates the next key on schedule, once, however many replicas refresh, and says so once (the key.rotated event)', async () => {
    const [a, b] = [ring(), ring()];
    const told: string[] = [];
    for (const r of [a, b]) r.onScheduledKey(({ kid }) => told.push(kid));
    const [first] = await a.start();
    await b.start();
    t += timings.rotationIntervalMs - timings.publishAheadMs;
    await Promise.all([a.refresh(), b.refresh(), a.refresh(), b.refresh()]);
    const keys = await store.signingKeys.list();
    assert.equal(keys.length, 2);
    const scheduled = keys.find((k) => k.kid !== first!.kid)!;
    assert.equal(scheduled.activatesAt, t + timings.publishAheadMs);
    assert.deepEqual(told, [scheduled.kid]);
  });

  it('revokes the signing key: a fresh key (not the published next one) signs, and every replica drops the leaked one', async () => {
    const [a, b] = [ring(), ring()];
    const [leaked] = await a.start();
    await b.start();
    const { kid: next } = await a.rotate({ immediately: false });
    const result = await b.revoke(leaked!.kid!);
    assert.equal(result.state, 'current');
    assert.notEqual(result.current, next);
    assert.deepEqual(shape((await a.refresh())!), [[result.current, 'sign'], [next, 'verify']]);
    assert.deepEqual((await store.signingKeys.list()).map((k) => k.kid).sort(), [result.current, next].sort());
    // the scheduled rotation still happens
    t += H;
    assert.deepEqual(shape((await a.refresh())!), [[next, 'sign'], [result.current, 'verify']]);

    assert.deepEqual(await a.revoke(result.current), { revoked: result.current, state: 'retired', current: next });
    await assert.rejects(a.revoke('no-such-kid'), UnknownKeyError);
    assert.deepEqual((await store.signingKeys.list()).map((k) => k.kid), [next]);
  });

  it('refuses to start with the wrong encryption key, and writes nothing', async () => {
    await ring().start();
    const rows = await store.signingKeys.list();
    const wrong = createKeyRing({ keys: store.signingKeys, locks: store, cipher: createAtRestCipher([Buffer.alloc(32, 2)]), timings, now: () => t + 40 * 86_400_000 });
    await assert.rejects(wrong.start(), /KEY_ENCRYPTION_KEYS/);
    assert.deepEqual(await store.signingKeys.list(), rows);
  });
});
