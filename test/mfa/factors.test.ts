/**
 * The factor services on the real SQLite store, with the clock under the test's control: RFC 6238's
 * one-step window and one-time use (also under concurrency), recovery codes used once, and WebAuthn
 * signature counters (WebAuthn §7.2 step 22).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NobleCryptoPlugin, ScureBase32Plugin, TOTP } from 'otplib';
import { openSqliteStore } from '../../adapters/sqlite.js';
import type { Store } from '../../adapters/contract.js';
import { createAtRestCipher } from '../../src/keys/at-rest-cipher.js';
import { createTotpService } from '../../src/factors/totp.js';
import { createRecoveryCodes } from '../../src/factors/recovery-codes.js';

const generator = new TOTP({ crypto: new NobleCryptoPlugin(), base32: new ScureBase32Plugin() });
const codeAt = (secret: string, ms: number) => generator.generate({ secret, epoch: Math.floor(ms / 1000) });

describe('MFA factors on the SQLite store', () => {
  let dir: string;
  let store: Store;
  let now = Date.UTC(2030, 0, 1, 12, 0, 10); // 10 s into a 30 s step
  const clock = () => now;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-factors-'));
    store = openSqliteStore(`sqlite:${join(dir, 'f.db')}`);
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('TOTP: one step of tolerance either side, each step accepted once, never an older one', async () => {
    const totp = createTotpService({ factors: store.factors, cipher: createAtRestCipher([Buffer.alloc(32, 1)]), issuer: 'Test', now: clock });
    const enrolment = (await totp.startEnrolment('acct-1', 'a@example.test'))!;
    assert.equal((await totp.startEnrolment('acct-1', 'a@example.test'))!.secret, enrolment.secret, 'a pending enrolment keeps its secret');
    assert.match(enrolment.otpauthUri, /^otpauth:\/\/totp\/Test:a%40example\.test\?secret=[A-Z2-7]+&issuer=Test/);
    assert.equal(await totp.verify('acct-1', await codeAt(enrolment.secret, now)), false, 'not before enrolment is confirmed');
    assert.equal(await totp.confirmEnrolment('acct-1', await codeAt(enrolment.secret, now - 30_000)), true);
    assert.equal(await totp.status('acct-1'), 'active');
    assert.equal(await totp.startEnrolment('acct-1', 'a@example.test'), undefined, 'an active factor is not replaced');

    const s = enrolment.secret;
    assert.equal(await totp.verify('acct-1', await codeAt(s, now - 60_000)), false, 'two steps back: outside the window');
    assert.equal(await totp.verify('acct-1', await codeAt(s, now + 60_000)), false, 'two steps ahead: outside the window');
    assert.equal(await totp.verify('acct-1', await codeAt(s, now - 30_000)), false, 'the enrolment code was used');
    const current = await codeAt(s, now);
    // two requests race with the same code: exactly one wins
    const raced = await Promise.all([totp.verify('acct-1', current), totp.verify('acct-1', current)]);
    assert.deepEqual(raced.sort(), [false, true]);
    assert.equal(await totp.verify('acct-1', await codeAt(s, now + 30_000)), true, 'the next step, within the window');
    now += 30_000;
    assert.equal(await totp.verify('acct-1', await codeAt(s, now - 30_000)), false, 'an older step after a newer one');
    assert.equal(await totp.verify('acct-1', 'abc123'), false);
    assert.equal(await totp.verify('acct-1', '12345'), false);
  });

  it('recovery codes: each works once, also under concurrency, and regenerating replaces them', async () => {
    const codes = createRecoveryCodes({ factors: store.factors, now: clock });
    const issued = await codes.regenerate('acct-2');
    assert.equal(issued.length, 10);
    const raced = await Promise.all([codes.use('acct-2', issued[0]!), codes.use('acct-2', issued[0]!)]);
    assert.deepEqual(raced.sort(), [false, true]);
    assert.equal(await codes.use('acct-2', ` ${issued[1]!.toUpperCase().replace(/-/g, ' ')} `), true, 'case and separators do not matter');
    assert.equal(await codes.use('acct-3', issued[2]!), false, 'another account cannot use them');
    assert.equal(await codes.remaining('acct-2'), 8);
    const fresh = await codes.regenerate('acct-2');
    assert.equal(await codes.use('acct-2', issued[2]!), false, 'old codes stop working');
    assert.equal(await codes.use('acct-2', fresh[0]!), true);
  });

  it('WebAuthn: the stored signature counter only grows (a zero counter stays allowed)', async () => {
    const base = { accountId: 'acct-4', name: 'Key', publicKey: 'AA', transports: [], deviceType: 'singleDevice', backedUp: false, createdAt: now, lastUsedAt: null };
    await store.factors.createWebAuthn({ ...base, id: 'cred-counting', counter: 5 });
    await store.factors.createWebAuthn({ ...base, id: 'cred-zero', counter: 0 });
    await assert.rejects(store.factors.createWebAuthn({ ...base, id: 'cred-zero', counter: 0 }), /already exists/);
    assert.equal(await store.factors.recordWebAuthnUse('cred-counting', 6, now), true);
    assert.equal(await store.factors.recordWebAuthnUse('cred-counting', 6, now), false, 'the same counter again: a replay or a clone');
    assert.equal(await store.factors.recordWebAuthnUse('cred-counting', 3, now), false);
    assert.equal(await store.factors.recordWebAuthnUse('cred-zero', 0, now), true, 'authenticators without a counter always send 0');
    assert.equal((await store.factors.findWebAuthn('cred-zero'))!.lastUsedAt, now);
    assert.equal(await store.factors.deleteWebAuthn('acct-other', 'cred-zero'), false, 'only the owner removes it');
    assert.equal(await store.factors.deleteWebAuthn('acct-4', 'cred-zero'), true);
  });
});
