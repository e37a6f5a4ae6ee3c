/** The key schedule: time alone decides which key signs, so replicas agree without coordination. */
import assert from 'node:assert/strict';
import type { SigningKeyRecord } from '../../adapters/contract.js';
import { nextKeyDue, scheduleKeys } from '../../src/keys/key-schedule.js';

const key = (kid: string, state: SigningKeyRecord['state'], activatesAt: number | null, expiresAt: number | null = null): SigningKeyRecord => ({
  kid, alg: 'RS256', state, publicJwk: {}, privateJwkCiphertext: '', createdAt: 0, activatesAt, expiresAt,
});
const H = 3_600_000;
const states = (s: ReturnType<typeof scheduleKeys>) => s.map((k) => `${k.record.kid}:${k.state}`);

describe('key schedule', () => {
  const retention = 24 * H;

  it('publishes a next key without signing with it until it activates, then retires the old one', () => {
    const keys = [key('a', 'current', 0), key('b', 'next', 10 * H)];
    assert.deepEqual(states(scheduleKeys(keys, 9 * H, retention)), ['a:current', 'b:next']);
    const after = scheduleKeys(keys, 10 * H, retention);
    assert.deepEqual(states(after), ['b:current', 'a:retired']);
    assert.equal(after[1]!.expiresAt, 10 * H + retention);
  });

  it('drops a retired key once every token it signed has expired', () => {
    const keys = [key('a', 'retired', 0, 34 * H), key('b', 'current', 10 * H)];
    assert.deepEqual(states(scheduleKeys(keys, 33 * H, retention)), ['b:current', 'a:retired']);
    assert.deepEqual(states(scheduleKeys(keys, 34 * H, retention)), ['b:current']);
  });

  it('agrees on one signing key when two were created at once (ties broken by kid)', () => {
    const keys = [key('y', 'current', 5), key('x', 'current', 5)];
    assert.deepEqual(states(scheduleKeys(keys, 6, retention)), ['y:current', 'x:retired']);
    assert.deepEqual(states(scheduleKeys([...keys].reverse(), 6, retention)), ['y:current', 'x:retired']);
  });

  it('schedules the next key KEY_PUBLISH_AHEAD before the rotation is due, once', () => {
    const t = { publishAheadMs: H, rotationIntervalMs: 30 * 24 * H, retentionMs: retention };
    const current = scheduleKeys([key('a', 'current', 0)], 0, retention);
    assert.equal(nextKeyDue(current, 30 * 24 * H - H - 1, t), undefined);
    assert.deepEqual(nextKeyDue(current, 30 * 24 * H - H, t), { activatesAt: 30 * 24 * H });
    const withNext = scheduleKeys([key('a', 'current', 0), key('b', 'next', 30 * 24 * H)], 30 * 24 * H - H, retention);
    assert.equal(nextKeyDue(withNext, 30 * 24 * H - H, t), undefined);
    assert.deepEqual(nextKeyDue([], 7, t), { activatesAt: 7 });
  });
});
