/**
 * reencryptSecrets on a real SQLite store, with writes racing it: a TOTP re-enrolment between its read and its
 * write wins; a stale write that puts the old ciphertext back (a confirmation that read the factor before the
 * re-encryption) is caught by the next pass.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EncryptedSecretStore, Store, TotpFactorRecord } from '../../adapters/contract.js';
import { openStore } from '../../adapters/index.js';
import { createAtRestCipher } from '../../src/keys/at-rest-cipher.js';
import { reencryptSecrets } from '../../src/keys/reencrypt-secrets.js';

const OLD = Buffer.alloc(32, 1);
const NEW = Buffer.alloc(32, 2);
const before = createAtRestCipher([OLD]);
const cipher = createAtRestCipher([NEW, OLD]);

describe('reencryptSecrets (SQLite, racing writes)', () => {
  let dir: string;
  let store: Store;
  const factor = (accountId: string, secret: string): TotpFactorRecord => ({ accountId, secretCiphertext: before.encrypt(secret), confirmedAt: 1, lastUsedStep: 7, createdAt: 1 });
  /** The real store, with `hook` run just before the first compare-and-set (as if another request wrote then). */
  const racing = (hook: () => Promise<void>): EncryptedSecretStore => {
    let fired = false;
    return {
      list: () => store.encryptedSecrets.list(),
      async replace(...args) {
        if (!fired) {
          fired = true;
          await hook();
        }
        return store.encryptedSecrets.replace(...args);
      },
    };
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-reencrypt-'));
    store = await openStore({ databaseUrl: `sqlite:${join(dir, 'g.db')}` });
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('never overwrites a re-enrolment that happened between its read and its write', async () => {
    await store.factors.saveTotp(factor('ada', 'OLDSECRET'));
    const reenrolled = { ...factor('ada', 'x'), secretCiphertext: cipher.encrypt('NEWSECRET'), confirmedAt: null };
    const report = await reencryptSecrets({ secrets: racing(() => store.factors.saveTotp(reenrolled)), cipher });
    assert.deepEqual(await store.factors.findTotp('ada'), reenrolled);
    assert.deepEqual(report.counts['totp-secret'], { reencrypted: 0, alreadyCurrent: 1, failed: 0 });
    assert.deepEqual(report.failures, []);
  });

  it('re-encrypts again what a stale write put back under the old key meanwhile', async () => {
    const stale = factor('grace', 'GRACESECRET');
    await store.factors.saveTotp(stale);
    await store.factors.saveTotp(factor('ada', 'ADASECRET'));
    // grace's confirmation read her factor before the re-encryption and saves it after ada's was replaced
    const report = await reencryptSecrets({ secrets: store.encryptedSecrets, cipher });
    assert.deepEqual(report.counts['totp-secret'], { reencrypted: 2, alreadyCurrent: 0, failed: 0 });
    await store.factors.saveTotp(stale);
    const second = await reencryptSecrets({ secrets: store.encryptedSecrets, cipher });
    assert.deepEqual(second.counts['totp-secret'], { reencrypted: 1, alreadyCurrent: 1, failed: 0 });

    // within one run: the stale write lands after the first replacement; the verifying pass finds and fixes it
    await store.factors.saveTotp(stale);
    await store.factors.saveTotp(factor('ada', 'ADASECRET'));
    let replaced = 0;
    const third = await reencryptSecrets({
      cipher,
      secrets: {
        list: () => store.encryptedSecrets.list(),
        async replace(...a) {
          const ok = await store.encryptedSecrets.replace(...a);
          if (ok && ++replaced === 2) await store.factors.saveTotp(stale);
          return ok;
        },
      },
    });
    assert.deepEqual(third.counts['totp-secret'], { reencrypted: 2, alreadyCurrent: 0, failed: 0 });
    for (const id of ['ada', 'grace']) assert.ok(cipher.isCurrent((await store.factors.findTotp(id))!.secretCiphertext), id);
    assert.equal(cipher.decrypt((await store.factors.findTotp('grace'))!.secretCiphertext), 'GRACESECRET');
  });
});
