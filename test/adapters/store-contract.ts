/**
 * The one contract suite for every store (adapters/contract.ts): each adapter's test file calls
 * `describeStoreContract` with functions that open a store on its real server. `open` is called
 * more than once; every store it returns must share the same server (that is how replicas share state).
 * `openEmpty` opens a store with nothing in it (a database of its own), for the account lifecycle
 * checks that count what a sweep or a query returns.
 *
 * Models are chosen so that a split store (split-store.ts) is exercised on both sides: AuthorizationCode,
 * Session, DeviceCode (short-lived, Redis) and AccessToken, RefreshToken (durable).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { DuplicateError, InvalidCursorError, type AccountTokenRecord, type OidcPayload, type ResourceRecord, type RoleRecord, type Store } from '../../adapters/contract.js';

export type OpenedStore = {
  store: Store;
  /** Restarts the server under the store, keeping its data. */
  restartServer?(): Promise<void>;
  /** Takes the server off the network (the store's connections reset, new ones refused); the result brings it back. */
  takeServerDown?(): Promise<() => Promise<void>>;
  close(): Promise<void>;
};

const SHORT = 'AuthorizationCode';
const DURABLE = 'AccessToken';
const rand = () => randomBytes(12).toString('base64url');

/** Polls `check` until it holds; there is no event for "a TTL has passed". */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

/** A settled result within `ms`, so a store that hangs fails the test instead of stalling it. */
function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const token = (extra: Record<string, unknown> = {}): OidcPayload => ({
  jti: rand(), kind: 'Token', iat: Math.floor(Date.now() / 1000), accountId: 'acct-1', clientId: 'client-1', ...extra,
});

export type StoreOpeners = {
  open(): Promise<OpenedStore>;
  openEmpty(): Promise<{ store: Store; close(): Promise<void> }>;
};

export function describeStoreContract(name: string, { open, openEmpty }: StoreOpeners): void {
  describe(`${name} store (contract)`, function () {
    this.timeout(30_000);
    let a: OpenedStore;
    let b: OpenedStore;

    before(async () => {
      a = await open();
      b = await open();
    });
    after(async () => {
      await a?.close();
      await b?.close();
    });

    it('forgets a record once its TTL has passed, by every lookup', async () => {
      const started = Date.now();
      const uid = rand();
      const userCode = rand();
      const short = [
        { model: SHORT, id: rand(), payload: token() },
        { model: 'Session', id: rand(), payload: token({ uid }) },
        { model: 'DeviceCode', id: rand(), payload: token({ userCode }) },
        { model: DURABLE, id: rand(), payload: token() },
      ];
      const person = rand();
      short.push({ model: 'Session', id: rand(), payload: token({ accountId: person }) }, { model: 'Grant', id: rand(), payload: token({ accountId: person }) });
      const lasting = { model: DURABLE, id: rand(), payload: token() };
      await Promise.all([
        ...short.map((r) => a.store.oidc.upsert(r.model, r.id, r.payload, 1)),
        a.store.oidc.upsert(lasting.model, lasting.id, lasting.payload, 600),
      ]);
      for (const r of short) assert.deepEqual(await a.store.oidc.find(r.model, r.id), r.payload, `${r.model} right after saving`);

      await until(async () => (await Promise.all(short.map((r) => b.store.oidc.find(r.model, r.id)))).every((p) => p === undefined), 'expired');
      assert.ok(Date.now() - started >= 950, 'nothing expires before its TTL');
      assert.equal(await b.store.oidc.findByUid('Session', uid), undefined);
      assert.equal(await b.store.oidc.findByUserCode('DeviceCode', userCode), undefined);
      assert.deepEqual(await b.store.oidc.findByAccountId('Session', person), [], 'an expired session is not listed');
      assert.deepEqual(await b.store.oidc.findByAccountId('Grant', person), [], 'an expired grant is not listed');
      assert.equal(await b.store.oidc.consume(SHORT, short[0]!.id), false, 'an expired record cannot be consumed');
      assert.deepEqual(await b.store.oidc.find(lasting.model, lasting.id), lasting.payload);
    });

    it('treats expiresIn 0 as expired now, never as "no expiry"', async () => {
      const id = rand();
      await a.store.oidc.upsert(SHORT, id, token(), 0);
      await until(async () => (await b.store.oidc.find(SHORT, id)) === undefined, 'a zero lifetime to be over');
    });

    it('finds by id, uid and user code, within the model asked for', async () => {
      const id = rand();
      const uid = rand();
      const userCode = `${rand()}-WDJB-MJHT`;
      const session = token({ uid, kind: 'Session' });
      const device = token({ userCode, kind: 'DeviceCode' });
      await a.store.oidc.upsert('Session', id, session, 60);
      await a.store.oidc.upsert('DeviceCode', id, device, 60);
      await a.store.oidc.upsert(DURABLE, id, token({ uid }), 60);

      assert.deepEqual(await b.store.oidc.find('Session', id), session);
      assert.deepEqual(await b.store.oidc.find('DeviceCode', id), device, 'the same id under another model is another record');
      assert.deepEqual(await b.store.oidc.findByUid('Session', uid), session);
      assert.deepEqual(await b.store.oidc.findByUserCode('DeviceCode', userCode), device);
      assert.equal(await b.store.oidc.findByUid('DeviceCode', uid), undefined);
      assert.equal(await b.store.oidc.findByUserCode('Session', userCode), undefined);

      // Lookups with anything a client can send answer "not found" rather than fail.
      for (const odd of ['', 'nul\0byte', 'lone \ud800 surrogate', 'x'.repeat(10_000), rand()]) {
        assert.equal(await b.store.oidc.find(SHORT, odd), undefined);
        assert.equal(await b.store.oidc.find(DURABLE, odd), undefined);
        assert.equal(await b.store.oidc.findByUid('Session', odd), undefined);
        assert.equal(await b.store.oidc.findByUserCode('DeviceCode', odd), undefined);
        assert.equal(await b.store.oidc.consume(SHORT, odd), false);
        await b.store.oidc.destroy(DURABLE, odd);
        await b.store.oidc.revokeByGrantId(odd);
      }

      await b.store.oidc.destroy('Session', id);
      assert.equal(await a.store.oidc.find('Session', id), undefined);
      assert.equal(await a.store.oidc.findByUid('Session', uid), undefined);
      assert.deepEqual(await a.store.oidc.find('DeviceCode', id), device, 'destroy removes only that model\'s record');
    });

    for (const model of [SHORT, 'RefreshToken']) {
      it(`consumes a ${model} exactly once under 50 concurrent attempts from two instances`, async () => {
        const id = rand();
        const payload = token({ grantId: rand() });
        await a.store.oidc.upsert(model, id, payload, 60);
        const attempts = Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).store.oidc.consume(model, id));
        const wins = (await Promise.all(attempts)).filter(Boolean).length;
        assert.equal(wins, 1);

        const stored = await a.store.oidc.find(model, id);
        assert.equal(typeof stored?.consumed, 'number');
        assert.ok(Math.abs((stored!.consumed as number) - Date.now() / 1000) < 60, 'consumed is epoch seconds');
        assert.deepEqual({ ...stored, consumed: undefined }, { ...payload, consumed: undefined });

        // Saving the record again does not make it usable again.
        await b.store.oidc.upsert(model, id, payload, 60);
        assert.equal(typeof (await a.store.oidc.find(model, id))?.consumed, 'number');
        assert.equal(await a.store.oidc.consume(model, id), false);
        assert.equal(await a.store.oidc.consume(model, rand()), false, 'a missing record is not consumed');
      });
    }

    it('revokes by grant: every artifact of that grant, of every model, and nothing else; an interaction naming the grant stays', async () => {
      const [revoked, kept] = [rand(), rand()];
      const models = [SHORT, DURABLE, 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest', 'JwtAccessToken'];
      const make = (grantId: string | undefined) =>
        models.map((model) => ({ model, id: rand(), payload: token({ ...(grantId ? { grantId } : {}), userCode: rand() }) }));
      const gone = make(revoked);
      // oidc-provider resumes this interaction after revoking the grant it names (grantOf: an account switch)
      const interaction = { model: 'Interaction', id: rand(), payload: token({ grantId: revoked, userCode: rand() }) };
      const stays = [...make(kept), ...make(undefined), interaction];
      await Promise.all([...gone, ...stays].map((r) => a.store.oidc.upsert(r.model, r.id, r.payload, 300)));

      await b.store.oidc.revokeByGrantId(revoked);

      for (const r of gone) {
        assert.equal(await a.store.oidc.find(r.model, r.id), undefined, `${r.model} of the revoked grant`);
        assert.equal(await a.store.oidc.findByUserCode(r.model, r.payload.userCode!), undefined);
      }
      for (const r of stays) assert.deepEqual(await a.store.oidc.find(r.model, r.id), r.payload, `${r.model} of another grant`);
      await b.store.oidc.revokeByGrantId(revoked); // again: nothing left, no error
    });

    it('round-trips a 1 MB payload and unusual unicode exactly', async () => {
      const alphabet = 'aZ09 -_.~/+=é中👩🏽‍💻\n\t"\\\'<>&';
      const chars = [...alphabet];
      const big: string[] = [];
      for (let size = 0; size < 1024 * 1024; size += 8) big.push(chars[(size * 7) % chars.length]!.repeat(4));
      const payload = token({
        blob: big.join(''),
        unicode: {
          emoji: '👩🏽‍💻🏳️‍🌈', cjk: '認証', rtl: 'مرحبا בעולם', combining: 'e\u0301', zeroWidth: 'a\u200db\ufeff',
          separators: '\u2028\u2029', control: '\u0000\u0001\u001f\u007f', lone: '\ud800 \udfff', escaped: '\\u0000 \\\\u0000',
        },
        'https://api.example.test': 'a resource indicator as a key',
        'key.with.dots': { $where: 'not a query', '': 'empty key', 'nul\u0000key': 1 },
        numbers: [0, -1, 0.1, 1e-7, 2 ** 53 - 1, -(2 ** 31)],
        flags: [true, false, null],
        nested: { deep: [[[{ x: [] }]], {}] },
      });
      for (const model of [SHORT, DURABLE]) {
        const id = rand();
        await a.store.oidc.upsert(model, id, payload, 60);
        assert.deepEqual(await b.store.oidc.find(model, id), payload, model);
      }
    });

    it('ends concurrent saves of one id in one whole record, with its own lookups', async () => {
      for (const model of ['Session', DURABLE]) {
        const id = rand();
        const versions = Array.from({ length: 20 }, (_, n) => token({ n, uid: `${rand()}-${n}`, grantId: 'g', filler: String(n).repeat(2000) }));
        await Promise.all(versions.map((p, n) => (n % 2 ? a : b).store.oidc.upsert(model, id, p, 60)));
        const final = await a.store.oidc.find(model, id);
        const winner = versions.find((v) => v.n === final?.n);
        assert.ok(winner, 'one of the saved versions');
        assert.deepEqual(final, winner, 'not a mix of two');
        for (const v of versions) {
          assert.deepEqual(await b.store.oidc.findByUid(model, v.uid!), v === winner ? winner : undefined, `uid of version ${String(v.n)}`);
        }
      }
    });

    it('finds the live sessions and grants of an account, with their consumed state', async () => {
      const [ada, grace] = [rand(), rand()];
      const byN = (list: OidcPayload[]) => [...list].sort((x, y) => Number(x.n) - Number(y.n));
      for (const model of ['Session', 'Grant']) {
        const grantId = rand();
        const mine = Array.from({ length: 3 }, (_, n) => ({ id: rand(), payload: token({ n, accountId: ada, ...(n === 2 ? { grantId } : {}) }) }));
        const others = [
          { model, id: rand(), payload: token({ n: 10, accountId: grace }) },
          { model, id: rand(), payload: token({ n: 11, accountId: undefined }) },
          { model: model === 'Session' ? 'Interaction' : DURABLE, id: rand(), payload: token({ n: 12, accountId: ada }) },
        ];
        await Promise.all([...mine.map((r) => a.store.oidc.upsert(model, r.id, r.payload, 300)), ...others.map((r) => a.store.oidc.upsert(r.model, r.id, r.payload, 300))]);
        assert.deepEqual(byN(await b.store.oidc.findByAccountId(model, ada)), mine.map((r) => r.payload), `${model}: only that account's, only that model`);
        assert.deepEqual(await b.store.oidc.findByAccountId(model, rand()), []);
        assert.deepEqual(await b.store.oidc.findByAccountId(model, 'nul\0id'), []);

        assert.equal(await a.store.oidc.consume(model, mine[0]!.id), true);
        const [first] = byN(await b.store.oidc.findByAccountId(model, ada));
        assert.equal(typeof first?.consumed, 'number', 'consumed as in find');

        await b.store.oidc.destroy(model, mine[1]!.id);
        await b.store.oidc.revokeByGrantId(grantId);
        assert.deepEqual((await a.store.oidc.findByAccountId(model, ada)).map((p) => p.n), [0], `${model}: destroyed and revoked ones go`);

        // Re-saved for another account (say, a session after signing in as someone else): it moves.
        await a.store.oidc.upsert(model, mine[0]!.id, { ...mine[0]!.payload, accountId: grace }, 300);
        assert.deepEqual(await b.store.oidc.findByAccountId(model, ada), []);
        assert.deepEqual(byN(await b.store.oidc.findByAccountId(model, grace)).map((p) => p.n), [0, 10]);
      }
    });

    it('finds the live records of a client by model (a deleted client\'s grants), with their consumed state', async () => {
      const [app, other] = [rand(), rand()];
      const byN = (list: OidcPayload[]) => [...list].sort((x, y) => Number(x.n) - Number(y.n));
      for (const model of ['Grant', 'RefreshToken', SHORT]) {
        const mine = Array.from({ length: 3 }, (_, n) => ({ id: rand(), payload: token({ n, clientId: app, accountId: rand() }) }));
        const others = [
          { model, id: rand(), payload: token({ n: 10, clientId: other }) },
          { model, id: rand(), payload: token({ n: 11 }) },
          { model: model === 'Grant' ? DURABLE : 'Interaction', id: rand(), payload: token({ n: 12, clientId: app }) },
        ];
        await Promise.all([...mine.map((r) => a.store.oidc.upsert(model, r.id, r.payload, 300)), ...others.map((r) => a.store.oidc.upsert(r.model, r.id, r.payload, 300))]);
        assert.deepEqual(byN(await b.store.oidc.findByClientId(model, app)), mine.map((r) => r.payload), `${model}: only that client's, only that model`);
        assert.deepEqual(await b.store.oidc.findByClientId(model, rand()), []);
        assert.deepEqual(await b.store.oidc.findByClientId(model, 'nul\0id'), []);

        assert.equal(await a.store.oidc.consume(model, mine[0]!.id), true);
        assert.equal(typeof byN(await b.store.oidc.findByClientId(model, app))[0]?.consumed, 'number', 'consumed as in find');
        await b.store.oidc.destroy(model, mine[1]!.id);
        assert.deepEqual(byN(await a.store.oidc.findByClientId(model, app)).map((p) => p.n), [0, 2], `${model}: a destroyed one goes`);
        // Re-saved for another client: it moves.
        await a.store.oidc.upsert(model, mine[2]!.id, { ...mine[2]!.payload, clientId: other }, 300);
        assert.deepEqual(byN(await b.store.oidc.findByClientId(model, app)).map((p) => p.n), [0]);
        assert.deepEqual(byN(await b.store.oidc.findByClientId(model, other)).map((p) => p.n), [2, 10]);
      }
    });

    it('counts the live records of one model, consumed or not (the console\'s active sessions)', async () => {
      // counted relative to what the shared server already holds; Session is on Redis in a split store, Grant durable
      for (const model of ['Session', 'Grant']) {
        const before = await b.store.oidc.countLive(model);
        const ids = [rand(), rand(), rand()];
        await Promise.all(ids.map((id) => a.store.oidc.upsert(model, id, token(), 300)));
        await a.store.oidc.upsert(model, rand(), token(), 1);
        await a.store.oidc.upsert(model === 'Session' ? 'Interaction' : DURABLE, rand(), token(), 300);
        assert.equal(await b.store.oidc.countLive(model), before + 4, `${model}: only this model's`);
        assert.equal(await a.store.oidc.consume(model, ids[0]!), true);
        await a.store.oidc.destroy(model, ids[1]!);
        assert.equal(await b.store.oidc.countLive(model), before + 3, `${model}: a consumed one counts, a destroyed one does not`);
        await until(async () => (await b.store.oidc.countLive(model)) === before + 2, `the one-second ${model} expired`);
      }
    });

    it('keeps a TOTP factor and accepts each time step once, however many requests race', async () => {
      const accountId = rand();
      const pending = { accountId, secretCiphertext: `v1.${rand()}`, confirmedAt: null, lastUsedStep: null, createdAt: Date.now() };
      await a.store.factors.saveTotp(pending);
      assert.deepEqual(await b.store.factors.findTotp(accountId), pending);
      assert.equal(await b.store.factors.findTotp(rand()), undefined);
      assert.equal(await b.store.factors.useTotpStep(accountId, 100), false, 'not before enrolment is confirmed');
      assert.equal(await b.store.factors.useTotpStep(rand(), 100), false, 'no factor');

      const confirmed = { ...pending, secretCiphertext: `v1.${rand()}`, confirmedAt: Date.now() };
      await b.store.factors.saveTotp(confirmed);
      assert.deepEqual(await a.store.factors.findTotp(accountId), confirmed, 'saving again replaces');
      const step = 57_000_000;
      const wins = (await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).store.factors.useTotpStep(accountId, step)))).filter(Boolean);
      assert.equal(wins.length, 1, 'one code, one acceptance');
      assert.equal((await a.store.factors.findTotp(accountId))?.lastUsedStep, step);
      assert.equal(await a.store.factors.useTotpStep(accountId, step - 1), false, 'an earlier step is refused too');
      assert.equal(await a.store.factors.useTotpStep(accountId, step + 1), true);

      // Different later steps racing: exactly the ones that raise the high-water mark win, and it ends at the highest.
      const steps = Array.from({ length: 10 }, (_, i) => step + 2 + i);
      await Promise.all(steps.map((s, i) => (i % 2 ? a : b).store.factors.useTotpStep(accountId, s)));
      assert.equal((await b.store.factors.findTotp(accountId))?.lastUsedStep, step + 11);

      await b.store.factors.deleteTotp(accountId);
      assert.equal(await a.store.factors.findTotp(accountId), undefined);
      assert.equal(await a.store.factors.useTotpStep(accountId, step + 100), false);
    });

    it('confirms a pending TOTP enrolment once, only that enrolment, and leaves its secret alone', async () => {
      const accountId = rand();
      const createdAt = Date.now();
      const pending = { accountId, secretCiphertext: `v1.${rand()}`, confirmedAt: null, lastUsedStep: null, createdAt };
      await a.store.factors.saveTotp(pending);
      assert.equal(await b.store.factors.confirmTotp(accountId, createdAt - 1, createdAt + 5, 700), false, 'another enrolment');
      assert.equal(await b.store.factors.confirmTotp(rand(), createdAt, createdAt + 5, 700), false, 'no factor');
      // the secret was re-encrypted meanwhile: the confirmation must not write the old ciphertext back
      const reencrypted = `v1.${rand()}`;
      assert.equal(await a.store.encryptedSecrets.replace('totp-secret', accountId, pending.secretCiphertext, reencrypted), true);
      const wins = (await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).store.factors.confirmTotp(accountId, createdAt, createdAt + 5, 700)))).filter(Boolean);
      assert.equal(wins.length, 1, 'confirmed once');
      assert.deepEqual(await b.store.factors.findTotp(accountId), { ...pending, secretCiphertext: reencrypted, confirmedAt: createdAt + 5, lastUsedStep: 700 });
      assert.equal(await b.store.factors.useTotpStep(accountId, 700), false, 'the confirming code is used');
    });

    it('keeps WebAuthn credentials and stores each counter value once', async () => {
      const accountId = rand();
      const t = Date.now();
      const credential = (id: string, createdAt: number, counter: number) => ({
        id, accountId, name: 'YubiKey 5 — Büro 🔑', publicKey: rand() + rand(), counter, transports: ['usb', 'nfc'],
        deviceType: 'singleDevice', backedUp: false, createdAt, lastUsedAt: null,
      });
      const key = credential(`cred-b-${rand()}`, t, 5);
      const passkey = { ...credential(`cred-a-${rand()}`, t + 1, 0), deviceType: 'multiDevice', backedUp: true, transports: [] };
      await a.store.factors.createWebAuthn(key);
      await a.store.factors.createWebAuthn(passkey);
      await assert.rejects(b.store.factors.createWebAuthn({ ...key, accountId: rand() }), DuplicateError);
      assert.deepEqual(await b.store.factors.findWebAuthn(key.id), key);
      assert.deepEqual(await b.store.factors.listWebAuthn(accountId), [key, passkey], 'listed by creation time');
      assert.deepEqual(await b.store.factors.listWebAuthn(rand()), []);
      for (const odd of ['', 'nul\0id', rand()]) assert.equal(await b.store.factors.findWebAuthn(odd), undefined);

      // Two requests replaying one assertion (same counter): one is stored, the other refused.
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).store.factors.recordWebAuthnUse(key.id, 9, t + 10)));
      assert.equal(results.filter(Boolean).length, 1);
      assert.deepEqual(await a.store.factors.findWebAuthn(key.id), { ...key, counter: 9, lastUsedAt: t + 10 });
      assert.equal(await a.store.factors.recordWebAuthnUse(key.id, 7, t + 11), false, 'a counter that went back');
      assert.equal(await a.store.factors.recordWebAuthnUse(key.id, 0, t + 11), false, 'zero after a non-zero counter');
      assert.equal(await a.store.factors.recordWebAuthnUse(rand(), 50, t + 11), false, 'no such credential');
      // Authenticators without a counter always send 0 (WebAuthn §6.1.1).
      assert.equal(await a.store.factors.recordWebAuthnUse(passkey.id, 0, t + 12), true);
      assert.equal(await b.store.factors.recordWebAuthnUse(passkey.id, 0, t + 13), true);
      assert.equal((await a.store.factors.findWebAuthn(passkey.id))?.lastUsedAt, t + 13);

      assert.equal(await a.store.factors.deleteWebAuthn(rand(), key.id), false, "another account's credential stays");
      assert.equal(await a.store.factors.deleteWebAuthn(accountId, key.id), true);
      assert.equal(await b.store.factors.deleteWebAuthn(accountId, key.id), false);
      assert.deepEqual(await b.store.factors.listWebAuthn(accountId), [{ ...passkey, lastUsedAt: t + 13 }]);
    });

    it('keeps recovery codes; each is used once, however many requests race', async () => {
      const [accountId, other] = [rand(), rand()];
      const hashes = Array.from({ length: 10 }, () => randomBytes(32).toString('hex'));
      await a.store.factors.replaceRecoveryCodes(accountId, hashes, Date.now());
      await a.store.factors.replaceRecoveryCodes(other, hashes.slice(0, 2), Date.now());
      assert.equal(await b.store.factors.countUnusedRecoveryCodes(accountId), 10);

      const wins = (await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).store.factors.useRecoveryCode(accountId, hashes[0]!, Date.now())))).filter(Boolean);
      assert.equal(wins.length, 1);
      assert.equal(await b.store.factors.countUnusedRecoveryCodes(accountId), 9);
      assert.equal(await b.store.factors.countUnusedRecoveryCodes(other), 2, "another account's copy of the code is untouched");
      assert.equal(await b.store.factors.useRecoveryCode(accountId, randomBytes(32).toString('hex'), Date.now()), false, 'an unknown code');
      assert.equal(await b.store.factors.useRecoveryCode(rand(), hashes[1]!, Date.now()), false, "another account's code");

      // Two different codes used at once: both count.
      const both = await Promise.all([a.store.factors.useRecoveryCode(accountId, hashes[1]!, Date.now()), b.store.factors.useRecoveryCode(accountId, hashes[2]!, Date.now())]);
      assert.deepEqual(both, [true, true]);
      assert.equal(await a.store.factors.countUnusedRecoveryCodes(accountId), 7);

      // Two replacements racing leave one whole set, not a mix.
      const [setA, setB] = [0, 1].map(() => Array.from({ length: 10 }, () => randomBytes(32).toString('hex')));
      await Promise.all([a.store.factors.replaceRecoveryCodes(accountId, setA!, Date.now()), b.store.factors.replaceRecoveryCodes(accountId, setB!, Date.now())]);
      assert.equal(await a.store.factors.countUnusedRecoveryCodes(accountId), 10);
      const inA = await Promise.all(setA!.map((h) => a.store.factors.useRecoveryCode(accountId, h, Date.now())));
      assert.ok(inA.every(Boolean) || !inA.some(Boolean), 'all of one set');
      assert.equal(await a.store.factors.useRecoveryCode(accountId, hashes[3]!, Date.now()), false, 'old codes are gone');

      await b.store.factors.deleteRecoveryCodes(accountId);
      assert.equal(await a.store.factors.countUnusedRecoveryCodes(accountId), 0);
      assert.equal(await a.store.factors.countUnusedRecoveryCodes(other), 2);
    });

    it('keeps federated links, one account per upstream identity', async () => {
      const t = Date.now();
      const account = async () => {
        const id = rand();
        await a.store.accounts.create({ id, email: `fed-${rand()}@example.test`, emailVerified: true, name: null, passwordHash: null, roles: [], createdAt: t, updatedAt: t, disabledAt: null, lastLoginAt: null });
        return id;
      };
      const [ada, grace] = [await account(), await account()];
      const ldap = { providerId: 'ldap.corp', externalId: `uuid-${rand()}`, accountId: ada, createdAt: t, lastLoginAt: t };
      const saml = { providerId: 'saml-okta', externalId: `NameID ${rand()} é`, accountId: ada, createdAt: t + 1, lastLoginAt: t + 1 };
      await a.store.federation.createLink(saml);
      await a.store.federation.createLink(ldap);
      assert.deepEqual(await b.store.federation.findLink(ldap.providerId, ldap.externalId), ldap);
      assert.equal(await b.store.federation.findLink('saml-okta', ldap.externalId), undefined, 'the pair, not the id alone');
      for (const odd of ['', 'nul\0id', rand()]) assert.equal(await b.store.federation.findLink(ldap.providerId, odd), undefined);

      const racing = await Promise.allSettled([
        a.store.federation.createLink({ ...ldap, accountId: grace }),
        b.store.federation.createLink({ ...ldap, accountId: grace }),
      ]);
      assert.ok(racing.every((r) => r.status === 'rejected' && r.reason instanceof DuplicateError), 'an identity links one account');
      const fresh = { ...ldap, externalId: `uuid-${rand()}`, accountId: grace };
      const once = await Promise.allSettled([a.store.federation.createLink(fresh), b.store.federation.createLink(fresh)]);
      assert.equal(once.filter((r) => r.status === 'fulfilled').length, 1, 'two first logins at once: one link');

      await b.store.federation.touchLink(ldap.providerId, ldap.externalId, t + 99);
      assert.deepEqual(await a.store.federation.linksOf(ada), [{ ...ldap, lastLoginAt: t + 99 }, saml], 'by creation time');
      assert.deepEqual(await a.store.federation.linksOf(grace), [fresh]);
      assert.deepEqual(await a.store.federation.linksOf(rand()), []);

      // removeLink (issue 17, /account/linked): only that account's link, once
      assert.equal(await b.store.federation.removeLink(grace, ldap.providerId, ldap.externalId), false, "another account's link is not removed");
      assert.equal(await b.store.federation.removeLink(ada, saml.providerId, saml.externalId), true);
      assert.equal(await a.store.federation.removeLink(ada, saml.providerId, saml.externalId), false, 'already removed');
      assert.equal(await a.store.federation.findLink(saml.providerId, saml.externalId), undefined);
      assert.deepEqual(await a.store.federation.linksOf(ada), [{ ...ldap, lastLoginAt: t + 99 }]);
    });

    it('keeps roles per source: a source replaces only its own, atomically', async () => {
      const t = Date.now();
      const id = rand();
      await a.store.accounts.create({ id, email: `roles-${rand()}@example.test`, emailVerified: true, name: null, passwordHash: null, roles: ['local'], createdAt: t, updatedAt: t, disabledAt: null, lastLoginAt: null });
      assert.deepEqual(await b.store.federation.rolesOf(id), []);
      await a.store.federation.setRoles(id, 'ldap.corp', ['staff', 'admins', 'staff']);
      await a.store.federation.setRoles(id, 'saml-okta', ['staff', 'Zeta', 'émigré']);
      assert.deepEqual(await b.store.federation.rolesOf(id), ['Zeta', 'admins', 'staff', 'émigré'], 'distinct, sorted by code point');

      await b.store.federation.setRoles(id, 'ldap.corp', ['ops']);
      assert.deepEqual(await a.store.federation.rolesOf(id), ['Zeta', 'ops', 'staff', 'émigré'], "the other source's roles stay");
      assert.deepEqual(await b.store.federation.sourcedRolesOf(id), [
        { source: 'ldap.corp', role: 'ops' }, { source: 'saml-okta', role: 'Zeta' }, { source: 'saml-okta', role: 'staff' }, { source: 'saml-okta', role: 'émigré' },
      ], 'per source, in (source, role) code-point order');
      await b.store.federation.setRoles(id, 'saml-okta', []);
      assert.deepEqual(await a.store.federation.rolesOf(id), ['ops'], 'an empty list removes them');

      // Logins through one source racing: the account ends with one of the lists, never a mix.
      const lists = Array.from({ length: 12 }, (_, n) => Array.from({ length: 5 }, (_, k) => `role-${n}-${k}`));
      await Promise.all(lists.map((roles, n) => (n % 2 ? a : b).store.federation.setRoles(id, 'ldap.corp', roles)));
      const final = await a.store.federation.rolesOf(id);
      assert.ok(lists.some((l) => JSON.stringify([...l].sort()) === JSON.stringify(final)), `one whole list: ${final.join(' ')}`);
      assert.deepEqual((await a.store.accounts.findById(id))?.roles, ['local'], 'the account record keeps its own roles');
      assert.deepEqual(await a.store.federation.rolesOf(rand()), []);
    });

    it('changes one direct role atomically: racing assignments of different roles all stay, of the same role one wins', async () => {
      const t = Date.now();
      const id = rand();
      await a.store.accounts.create({ id, email: `direct-${rand()}@example.test`, emailVerified: true, name: null, passwordHash: null, roles: ['local'], createdAt: t, updatedAt: t, disabledAt: null, lastLoginAt: null });
      const roles = Array.from({ length: 16 }, (_, n) => `r${String(n).padStart(2, '0')}`);
      const added = await Promise.all(roles.map((role, n) => (n % 2 ? a : b).store.accounts.changeRole(id, role, true)));
      assert.deepEqual(added, roles.map(() => true));
      assert.deepEqual((await a.store.accounts.findById(id))?.roles, ['local', ...roles], 'every one kept, sorted');
      const same = await Promise.all(Array.from({ length: 10 }, (_, n) => (n % 2 ? a : b).store.accounts.changeRole(id, 'Zeta', true)));
      assert.equal(same.filter(Boolean).length, 1, 'exactly one caller added it');
      const removed = await Promise.all(roles.slice(0, 8).map((role, n) => (n % 2 ? a : b).store.accounts.changeRole(id, role, false)));
      assert.deepEqual(removed, roles.slice(0, 8).map(() => true));
      assert.deepEqual((await b.store.accounts.findById(id))?.roles, ['Zeta', 'local', ...roles.slice(8)]);
      assert.equal(await a.store.accounts.changeRole(id, 'r00', false), false, 'not there any more');
      assert.equal(await a.store.accounts.changeRole(rand(), 'x', true), false, 'no such account');
    });

    it('keeps accounts, with one account per email whatever its case', async () => {
      const before = await a.store.accounts.count();
      const email = `Ada.${rand()}@Example.Test`;
      const account = {
        id: rand(), email, emailVerified: false, name: 'Ada Lovelace 👩🏽‍💻', passwordHash: '$2b$04$abc', roles: ['admin', 'ops'], createdAt: Date.now(), updatedAt: Date.now(), disabledAt: null, lastLoginAt: null, locale: null,
      };
      await a.store.accounts.create(account);
      assert.deepEqual(await b.store.accounts.findById(account.id), account);
      assert.deepEqual(await b.store.accounts.findByEmail(email.toLowerCase()), account);
      assert.deepEqual(await b.store.accounts.findByEmail(email.toUpperCase()), account);
      assert.equal(await b.store.accounts.findByEmail(`nobody-${rand()}@example.test`), undefined);
      assert.equal(await b.store.accounts.findByEmail('nul\0@example.test'), undefined);
      assert.equal(await b.store.accounts.findById(rand()), undefined);

      await assert.rejects(b.store.accounts.create({ ...account, id: rand(), email: email.toUpperCase() }), DuplicateError);
      await assert.rejects(a.store.accounts.create({ ...account, email: `other-${rand()}@example.test` }), DuplicateError, 'same id');

      const other = { ...account, id: rand(), email: `grace.${rand()}@example.test`, name: null, passwordHash: null, roles: [] };
      await b.store.accounts.create(other);
      assert.equal(await a.store.accounts.count(), before + 2);

      assert.deepEqual((await b.store.accounts.findById(other.id))?.roles, []);
      await a.store.accounts.update(account.id, { emailVerified: true, name: 'Ada King', passwordHash: '$2b$04$def', roles: ['auditor'], updatedAt: account.updatedAt + 5 });
      assert.deepEqual(await b.store.accounts.findById(account.id), {
        ...account, emailVerified: true, name: 'Ada King', passwordHash: '$2b$04$def', roles: ['auditor'], updatedAt: account.updatedAt + 5,
      });
      await a.store.accounts.update(account.id, { roles: [] });
      assert.deepEqual((await b.store.accounts.findById(account.id))?.roles, []);
      // the person's language (issue 20): kept, and cleared again
      await a.store.accounts.update(account.id, { locale: 'ar' });
      assert.equal((await b.store.accounts.findById(account.id))?.locale, 'ar');
      await a.store.accounts.update(account.id, { locale: null });
      assert.equal((await b.store.accounts.findById(account.id))?.locale, null);
      await assert.rejects(a.store.accounts.update(other.id, { email: email.toLowerCase() }), DuplicateError);
      await a.store.accounts.update(other.id, { email: `Grace.New.${rand()}@Example.Test` });
      const moved = await b.store.accounts.findById(other.id);
      assert.deepEqual(await b.store.accounts.findByEmail(moved!.email.toLowerCase()), moved);
      assert.ok(moved!.updatedAt >= other.updatedAt, 'update stamps updatedAt');
    });

    it('lists accounts in pages, oldest first, with no duplicate or gap while accounts are being created', async () => {
      const hex = () => randomBytes(6).toString('hex');
      const tag = `page${hex()}`;
      const t = Date.now();
      const make = (i: number, createdAt: number) => ({
        id: `${tag}${String(i).padStart(4, '0')}${hex()}`, email: `${tag}.${i}@Example.Test`, emailVerified: false, name: i % 2 ? `Odd ${i}` : `Even ${i}`,
        passwordHash: null, roles: i % 3 === 0 ? ['ops'] : [], createdAt, updatedAt: createdAt, disabledAt: i % 5 === 0 ? createdAt : null, lastLoginAt: null,
      });
      // several share a createdAt: the id breaks the tie
      const existing = Array.from({ length: 57 }, (_, i) => make(i, t - 1000 + Math.floor(i / 4)));
      for (const acc of existing) await a.store.accounts.create(acc);
      const seen: string[] = [];
      let cursor: string | null = null;
      let extra = 0;
      do {
        const page: Awaited<ReturnType<Store['accounts']['list']>> = await b.store.accounts.list({ limit: 7, cursor, emailPrefix: `${tag.toUpperCase()}.` });
        assert.ok(page.accounts.length <= 7);
        seen.push(...page.accounts.map((x) => x.id));
        cursor = page.next;
        // created while the listing runs: later than every existing one
        await a.store.accounts.create(make(1000 + extra++, Date.now() + 1));
      } while (cursor);
      const expected = existing.map((x) => x.id);
      assert.equal(new Set(seen).size, seen.length, 'no account listed twice');
      assert.deepEqual(seen.filter((id) => expected.includes(id)), expected, 'every existing account, in order, none missing');
      const ordered = [...existing].sort((x, y) => x.createdAt - y.createdAt || (x.id < y.id ? -1 : 1)).map((x) => x.id);
      assert.deepEqual(expected, ordered);
      const all = async (q: Omit<Parameters<Store['accounts']['list']>[0], 'limit'>) =>
        (await b.store.accounts.list({ limit: 1000, emailPrefix: `${tag}.`, ...q })).accounts.filter((x) => expected.includes(x.id)).map((x) => x.id);
      assert.deepEqual(await all({ status: 'disabled' }), existing.filter((x) => x.disabledAt !== null).map((x) => x.id));
      assert.deepEqual(await all({ status: 'active' }), existing.filter((x) => x.disabledAt === null).map((x) => x.id));
      assert.deepEqual(await all({ role: 'ops' }), existing.filter((x) => x.roles.includes('ops')).map((x) => x.id));
      assert.deepEqual(await all({ name: 'oDD 1' }), existing.filter((x) => x.name.toLowerCase().includes('odd 1')).map((x) => x.id));
      assert.deepEqual(await all({ createdAfter: t - 990, createdBefore: t - 985 }), existing.filter((x) => x.createdAt >= t - 990 && x.createdAt < t - 985).map((x) => x.id));
      await a.store.federation.setRoles(existing[1]!.id, 'ldap', ['ops']);
      assert.ok((await all({ role: 'ops' })).includes(existing[1]!.id), 'a role granted upstream counts');
      assert.deepEqual(await all({ emailPrefix: `${tag}_` }), [], 'LIKE wildcards in the prefix are literal');
      await assert.rejects(b.store.accounts.list({ limit: 5, cursor: 'not-a-cursor' }), InvalidCursorError);
      await assert.rejects(b.store.accounts.list({ limit: 5, cursor: Buffer.from('["x","y"]').toString('base64url') }), InvalidCursorError);
    });

    it('erases an account with everything that is only its own, and nothing of anyone else', async () => {
      const t = Date.now();
      const mk = (tag: string) => ({ id: `${tag}-${rand()}`, email: `${tag}-${rand()}@example.test`, emailVerified: true, name: null, passwordHash: null, roles: [], createdAt: t, updatedAt: t, disabledAt: null, lastLoginAt: null });
      const gone = mk('gone');
      const kept = mk('kept');
      for (const acc of [gone, kept]) {
        await a.store.accounts.create(acc);
        await a.store.factors.saveTotp({ accountId: acc.id, secretCiphertext: 'v1.x', confirmedAt: t, lastUsedStep: null, createdAt: t });
        await a.store.factors.createWebAuthn({ id: `cred-${rand()}`, accountId: acc.id, name: 'key', publicKey: 'pk', counter: 0, transports: [], deviceType: 'singleDevice', backedUp: false, createdAt: t, lastUsedAt: null });
        await a.store.factors.replaceRecoveryCodes(acc.id, [`h-${rand()}`], t);
        await a.store.federation.createLink({ providerId: 'ldap', externalId: `ext-${rand()}`, accountId: acc.id, createdAt: t, lastLoginAt: t });
        await a.store.federation.setRoles(acc.id, 'ldap', ['ops']);
        await a.store.passwordHistory.add(acc.id, { passwordHash: 'h', createdAt: t }, 5);
        await a.store.accountTokens.issue({ tokenHash: `tok-${rand()}`, purpose: 'reset-password', accountId: acc.id, email: acc.email, interactionUid: null, createdAt: t, expiresAt: t + 60_000, consumedAt: null, supersededAt: null });
      }
      assert.equal(await b.store.accounts.delete(gone.id), true);
      assert.equal(await b.store.accounts.delete(gone.id), false, 'a second delete finds nothing');
      assert.equal(await a.store.accounts.findById(gone.id), undefined);
      assert.equal(await a.store.accounts.findByEmail(gone.email), undefined);
      assert.equal(await a.store.factors.findTotp(gone.id), undefined);
      assert.deepEqual(await a.store.factors.listWebAuthn(gone.id), []);
      assert.equal(await a.store.factors.countUnusedRecoveryCodes(gone.id), 0);
      assert.deepEqual(await a.store.federation.linksOf(gone.id), []);
      assert.deepEqual(await a.store.federation.rolesOf(gone.id), []);
      assert.deepEqual(await a.store.passwordHistory.recent(gone.id, 5), []);
      // the other account is untouched
      assert.ok(await a.store.accounts.findById(kept.id));
      assert.ok(await a.store.factors.findTotp(kept.id));
      assert.equal((await a.store.factors.listWebAuthn(kept.id)).length, 1);
      assert.equal(await a.store.factors.countUnusedRecoveryCodes(kept.id), 1);
      assert.equal((await a.store.federation.linksOf(kept.id)).length, 1);
      assert.deepEqual(await a.store.federation.rolesOf(kept.id), ['ops']);
      assert.equal((await a.store.passwordHistory.recent(kept.id, 5)).length, 1);
      // the email can be registered again
      await a.store.accounts.create({ ...mk('again'), email: gone.email });
    });

    it('pseudonymises an account\'s audit events and leaves the others', async () => {
      const id = `audited-${rand()}`;
      const other = `other-${rand()}`;
      const event = (accountId: string) => ({
        id: rand(), time: Date.now(), type: 'login.success', result: 'success' as const, accountId, clientId: 'c', ip: '192.0.2.1',
        userAgent: 'UA', requestId: 'r', reason: null, details: { email: 'ada@example.test' },
      });
      await a.store.audit.append(event(id));
      await a.store.audit.append(event(other));
      const pseudonym = `erased-${rand()}`;
      assert.equal(await b.store.audit.pseudonymise(id, pseudonym), 1);
      assert.deepEqual(await a.store.audit.query({ accountId: id }), []);
      const [kept] = await a.store.audit.query({ accountId: pseudonym });
      assert.equal(kept?.type, 'login.success');
      assert.equal(kept?.ip, null);
      assert.equal(kept?.userAgent, null);
      assert.deepEqual(kept?.details, {});
      assert.equal((await a.store.audit.query({ accountId: other }))[0]?.ip, '192.0.2.1');
    });

    it('keeps clients', async () => {
      const t = Date.now();
      const first = { clientId: `c1-${rand()}`, metadata: { client_name: 'Ünïcode RP ✓', redirect_uris: ['https://rp.example.test/cb'], jwks: { keys: [{ kty: 'EC', crv: 'P-256' }] } }, secretCiphertext: 'v1.ciphertext', createdAt: t };
      const second = { clientId: `c0-${rand()}`, metadata: { client_name: 'Public' }, secretCiphertext: null, createdAt: t + 1 };
      await a.store.clients.create(second);
      await a.store.clients.create(first);
      assert.deepEqual(await b.store.clients.find(first.clientId), first);
      await assert.rejects(b.store.clients.create({ ...first, createdAt: t + 2 }), DuplicateError);
      const ours = (await b.store.clients.list()).filter((c) => c.clientId === first.clientId || c.clientId === second.clientId);
      assert.deepEqual(ours, [first, second], 'listed by creation time');
      await b.store.clients.delete(first.clientId);
      assert.equal(await a.store.clients.find(first.clientId), undefined);
      assert.equal(await a.store.clients.find('nul\0id'), undefined);
      assert.ok(!(await a.store.clients.list()).some((c) => c.clientId === first.clientId));
    });

    it('updates a client in place: metadata and secret change, id and creation time stay', async () => {
      const t = Date.now();
      const client = { clientId: `cu-${rand()}`, metadata: { client_name: 'Before', scope: 'a b' }, secretCiphertext: 'v1.old', createdAt: t };
      await a.store.clients.create(client);
      assert.equal(await a.store.clients.update(client.clientId, { metadata: { client_name: 'Äfter ✓', grant_types: ['client_credentials'] }, secretCiphertext: 'v1.new' }), true);
      assert.deepEqual(await b.store.clients.find(client.clientId), { ...client, metadata: { client_name: 'Äfter ✓', grant_types: ['client_credentials'] }, secretCiphertext: 'v1.new' });
      assert.equal(await a.store.clients.update(client.clientId, { metadata: {}, secretCiphertext: null }), true);
      assert.deepEqual(await b.store.clients.find(client.clientId), { ...client, metadata: {}, secretCiphertext: null });
      assert.equal(await a.store.clients.update(`missing-${rand()}`, { metadata: {}, secretCiphertext: null }), false);
      assert.equal(await a.store.clients.update('nul\0id', { metadata: {}, secretCiphertext: null }), false);
      assert.equal(await b.store.clients.find(`missing-${rand()}`), undefined, 'update never creates');
      await a.store.clients.delete(client.clientId);
    });

    it('keeps resources (APIs)', async () => {
      const base = `https://api-${rand().toLowerCase()}.example.test`;
      const api: ResourceRecord = {
        identifier: `${base}/b`, name: 'Things API', scopes: { 'read:things': 'Read your things', 'https://x.test/scope.with.dots': 'Dotted ✓' },
        accessTokenTtl: 600, permissionsFromRoles: true, tokenClaims: ['roles', 'permissions'], createdAt: Date.now(),
      };
      const other: ResourceRecord = { ...api, identifier: `${base}/a`, name: 'Another', scopes: {}, permissionsFromRoles: false, tokenClaims: [] };
      await a.store.resources.create(api);
      await a.store.resources.create(other);
      assert.deepEqual(await b.store.resources.find(api.identifier), api);
      await assert.rejects(b.store.resources.create(api), DuplicateError);
      const ours = (await b.store.resources.list()).filter((r) => r.identifier.startsWith(base));
      assert.deepEqual(ours, [other, api], 'listed by identifier');
      const changes = { name: 'Renamed ✓', scopes: { 'write:things': 'Change your things' }, accessTokenTtl: 300, permissionsFromRoles: false, tokenClaims: ['permissions' as const] };
      assert.equal(await a.store.resources.update(api.identifier, changes), true);
      assert.deepEqual(await b.store.resources.find(api.identifier), { ...api, ...changes }, 'identifier and creation time stay');
      const back = { name: 'Another', scopes: {}, accessTokenTtl: 600, permissionsFromRoles: true, tokenClaims: [] };
      assert.equal(await b.store.resources.update(other.identifier, back), true);
      assert.deepEqual(await a.store.resources.find(other.identifier), { ...other, ...back }, 'permissionsFromRoles turned on, no claims');
      assert.equal(await a.store.resources.update(`${base}/missing`, changes), false);
      assert.equal(await a.store.resources.update('nul\0id', changes), false);
      assert.equal(await b.store.resources.find(`${base}/missing`), undefined, 'update never creates');
    });

    it('keeps roles: found one, many or all in code-point order, one per name', async () => {
      const p = `r${randomBytes(4).toString('hex')}:`;
      const t = Date.now();
      const role = (name: string, extra: Partial<RoleRecord> = {}): RoleRecord => ({
        name: `${p}${name}`, description: `The ${name} role ✓`, system: false, createdAt: t, updatedAt: t,
        permissions: [{ resource: 'https://api.example.test/v1.dots', scope: 'read:things' }, { resource: 'urn:gatehouse:admin', scope: 'admin:users' }],
        ...extra,
      });
      const [zeta, admins, emigre] = [role('Zeta'), role('admins', { system: true, permissions: [] }), role('émigré')];
      await a.store.roles.create(emigre);
      await b.store.roles.create(zeta);
      await a.store.roles.create(admins);
      assert.deepEqual(await b.store.roles.find(zeta.name), zeta);
      assert.deepEqual(await b.store.roles.find(admins.name), admins, 'system flag and an empty permission list');
      assert.equal(await b.store.roles.find(`${p}missing`), undefined);
      assert.equal(await b.store.roles.find('nul\0role'), undefined);
      await assert.rejects(b.store.roles.create({ ...zeta, description: 'again' }), (err) => err instanceof DuplicateError && err.message.includes('role'));
      assert.deepEqual(await b.store.roles.find(zeta.name), zeta, 'the duplicate changed nothing');

      assert.deepEqual(await a.store.roles.findMany([emigre.name, `${p}missing`, zeta.name, 'nul\0role', admins.name]), [zeta, admins, emigre],
        'unknown names skipped, in code-point order');
      assert.deepEqual(await a.store.roles.findMany([admins.name]), [admins]);
      assert.deepEqual(await a.store.roles.findMany([]), []);
      const ours = (await b.store.roles.list()).filter((r) => r.name.startsWith(p));
      assert.deepEqual(ours.map((r) => r.name), [zeta.name, admins.name, emigre.name], "code-point order: 'Zeta' < 'admins' < 'émigré'");
      assert.deepEqual(ours, [zeta, admins, emigre]);
    });

    it('updates a role in place, and only from the expected version when one is given', async () => {
      const t = Date.now();
      const role: RoleRecord = { name: `r${randomBytes(4).toString('hex')}:editors`, description: 'Editors', permissions: [], system: false, createdAt: t, updatedAt: t };
      await a.store.roles.create(role);
      const v2 = { description: 'Editors ✓', permissions: [{ resource: 'https://api.example.test', scope: 'write:things' }], updatedAt: t + 1 };
      assert.equal(await b.store.roles.update(role.name, v2), true);
      assert.deepEqual(await a.store.roles.find(role.name), { ...role, ...v2 }, 'name, system and creation time stay');

      const v3 = { description: 'Editors v3', permissions: [], updatedAt: t + 2 };
      assert.equal(await a.store.roles.update(role.name, v3, t), false, 'stale: the stored updatedAt is t + 1');
      assert.deepEqual(await b.store.roles.find(role.name), { ...role, ...v2 }, 'a stale update changes nothing');
      assert.equal(await a.store.roles.update(role.name, v3, t + 1), true);
      assert.deepEqual(await b.store.roles.find(role.name), { ...role, ...v3 });

      // two writers holding the same version: exactly one wins
      const racing = await Promise.all([a, b, a, b].map((s, n) => s.store.roles.update(role.name, { description: `racer ${n}`, permissions: [], updatedAt: t + 10 + n }, t + 2)));
      assert.equal(racing.filter(Boolean).length, 1, `one winner: ${racing.join(' ')}`);
      const winner = racing.indexOf(true);
      assert.deepEqual(await a.store.roles.find(role.name), { ...role, description: `racer ${winner}`, permissions: [], updatedAt: t + 10 + winner });

      assert.equal(await a.store.roles.update(`${role.name}-missing`, v3), false);
      assert.equal(await a.store.roles.update(`${role.name}-missing`, v3, t), false);
      assert.equal(await a.store.roles.update('nul\0role', v3), false);
      assert.equal(await b.store.roles.find(`${role.name}-missing`), undefined, 'update never creates');
    });

    it('keeps run-time settings by name: each write from the version it read, one winner of a race', async () => {
      const name = `federation-${randomBytes(4).toString('hex')}`;
      assert.equal(await a.store.settings.find(name), undefined);
      const first = await a.store.settings.save(name, '{"v":1} ✓', 0, 1000);
      assert.deepEqual(first, { name, value: '{"v":1} ✓', version: 1, updatedAt: 1000 });
      assert.equal(await b.store.settings.save(name, 'again', 0, 1001), undefined, 'a second first write loses');
      assert.equal(await b.store.settings.save(name, 'stale', 2, 1001), undefined, 'a version not stored loses');
      assert.deepEqual(await b.store.settings.find(name), first, 'a lost write changes nothing');
      const racing = await Promise.all([a, b, a, b].map((s, n) => s.store.settings.save(name, `racer ${n}`, 1, 2000 + n)));
      assert.equal(racing.filter(Boolean).length, 1, 'one winner');
      const winner = racing.findIndex(Boolean);
      assert.deepEqual(await a.store.settings.find(name), { name, value: `racer ${winner}`, version: 2, updatedAt: 2000 + winner });
      assert.equal(await a.store.settings.find('nul\0name'), undefined);
    });

    it('deletes a role with every assignment of it: accounts and per-source roles', async () => {
      const p = `r${randomBytes(4).toString('hex')}:`;
      const t = Date.now();
      const [gone, kept] = [`${p}gone`, `${p}kept`];
      for (const name of [gone, kept]) await a.store.roles.create({ name, description: name, permissions: [], system: false, createdAt: t, updatedAt: t });
      const account = (id: string, roles: string[]) => a.store.accounts.create({
        id, email: `${id}@example.test`, emailVerified: true, name: null, passwordHash: null, roles: [], createdAt: t, updatedAt: t, disabledAt: null, lastLoginAt: null,
      }).then(() => a.store.accounts.update(id, { roles, updatedAt: t }));
      const [ada, bob, eve] = [`ada-${rand()}`, `bob-${rand()}`, `eve-${rand()}`];
      await account(ada, ['local', gone, kept]);
      await account(bob, [gone]);
      await account(eve, ['local']);
      await a.store.federation.setRoles(ada, 'ldap.corp', [gone, 'staff']);
      await a.store.federation.setRoles(bob, 'ldap.corp', [gone]);
      await a.store.federation.setRoles(bob, 'saml-okta', [kept, gone]);

      const holders = async (role: string) => (await b.store.accounts.list({ limit: 10, role })).accounts.map((x) => x.id);
      assert.deepEqual(await holders(gone), [ada, bob], 'listed under it: set on the account or granted by a source');
      assert.deepEqual(await holders(kept), [ada, bob]);

      assert.equal(await b.store.roles.delete(gone), true);
      assert.equal(await a.store.roles.find(gone), undefined);
      assert.deepEqual((await a.store.roles.find(kept))?.name, kept, 'the other role stays');
      assert.deepEqual((await b.store.accounts.findById(ada))?.roles, ['local', kept], 'removed from the account, the rest in order');
      assert.deepEqual((await b.store.accounts.findById(bob))?.roles, []);
      assert.deepEqual((await b.store.accounts.findById(eve))?.roles, ['local'], 'an account without it is untouched');
      assert.deepEqual(await b.store.federation.rolesOf(ada), ['staff'], 'removed from every source');
      assert.deepEqual(await b.store.federation.rolesOf(bob), [kept]);
      assert.deepEqual(await holders(gone), [], 'no account is listed under it any more');
      assert.deepEqual(await holders(kept), [ada, bob]);

      // a source that then replaces its roles still works (MongoDB: its emptied document is gone)
      await a.store.federation.setRoles(bob, 'ldap.corp', ['ops']);
      assert.deepEqual(await b.store.federation.rolesOf(bob), ['ops', kept]);

      assert.equal(await b.store.roles.delete(gone), false, 'the second time there is no such role');
      assert.equal(await a.store.roles.delete(`${p}never`), false);
      assert.equal(await a.store.roles.delete('nul\0role'), false);
    });

    it('keeps signing keys through their life cycle', async () => {
      const t = Date.now();
      const key = (kid: string, createdAt: number) => ({
        kid, alg: 'RS256', state: 'next' as const, publicJwk: { kty: 'RSA', n: 'AQAB'.repeat(64), e: 'AQAB', kid },
        privateJwkCiphertext: `v1.${rand()}`, createdAt, activatesAt: createdAt + 1000, expiresAt: null,
      });
      const [k1, k2] = [key(`k-${rand()}`, t), key(`k-${rand()}`, t + 1)];
      await a.store.signingKeys.save(k1);
      await a.store.signingKeys.save(k2);
      const current = { ...k1, state: 'current' as const, activatesAt: t };
      await b.store.signingKeys.save(current);
      const retired = { ...k2, state: 'retired' as const, expiresAt: t + 86_400_000 };
      await b.store.signingKeys.save(retired);
      const ours = () => a.store.signingKeys.list().then((ks) => ks.filter((k) => k.kid === k1.kid || k.kid === k2.kid));
      assert.deepEqual(await ours(), [current, retired]);
      await b.store.signingKeys.delete(k2.kid);
      assert.deepEqual(await ours(), [current]);

      // update: the life-cycle fields of a stored key only, and never a deleted key back
      const promoted = { ...current, state: 'retired' as const, expiresAt: t + 5 };
      assert.equal(await b.store.signingKeys.update(k1.kid, { state: 'retired', activatesAt: t, expiresAt: t + 5 }), true);
      assert.deepEqual(await ours(), [promoted]);
      assert.equal(await b.store.signingKeys.update(k2.kid, { state: 'retired', activatesAt: t, expiresAt: t + 5 }), false, 'a deleted key');
      assert.deepEqual(await ours(), [promoted], 'stays deleted');
      await a.store.signingKeys.save({ ...promoted, privateJwkCiphertext: 'v1.other' });
      assert.deepEqual(await ours(), [promoted], "a re-save keeps the stored key's ciphertext");
      await a.store.signingKeys.delete(k1.kid);
    });

    it('lists every encrypted secret and replaces one only while it is unchanged (compare-and-set)', async () => {
      const t = Date.now();
      const [kid, clientId, publicClient, accountId] = [`k-${rand()}`, `c-${rand()}`, `p-${rand()}`, `a-${rand()}`];
      const key = { kid, alg: 'RS256', state: 'current' as const, publicJwk: { kid }, privateJwkCiphertext: `v1.A.${rand()}`, createdAt: t, activatesAt: t, expiresAt: null };
      const client = { clientId, metadata: { client_name: 'Secretive' }, secretCiphertext: `v1.A.${rand()}`, createdAt: t };
      const totp = { accountId, secretCiphertext: `v1.A.${rand()}`, confirmedAt: t, lastUsedStep: 1234, createdAt: t };
      await a.store.signingKeys.save(key);
      await a.store.clients.create(client);
      await a.store.clients.create({ clientId: publicClient, metadata: {}, secretCiphertext: null, createdAt: t });
      await a.store.factors.saveTotp(totp);
      const mine = new Set([kid, clientId, publicClient, accountId]);
      const ours = async (s: Store) => (await s.encryptedSecrets.list()).filter((x) => mine.has(x.id)).sort((x, y) => x.kind.localeCompare(y.kind));
      assert.deepEqual(await ours(b.store), [
        { kind: 'client-secret', id: clientId, ciphertext: client.secretCiphertext },
        { kind: 'signing-key', id: kid, ciphertext: key.privateJwkCiphertext },
        { kind: 'totp-secret', id: accountId, ciphertext: totp.secretCiphertext },
      ], 'a client without a secret is not listed');

      // A stale `previous` (someone wrote meanwhile) changes nothing.
      for (const x of await ours(b.store)) assert.equal(await b.store.encryptedSecrets.replace(x.kind, x.id, `${x.ciphertext}-stale`, 'v1.B.new'), false, x.kind);
      assert.equal(await b.store.encryptedSecrets.replace('totp-secret', rand(), totp.secretCiphertext, 'v1.B.new'), false, 'no such record');
      assert.equal(await b.store.encryptedSecrets.replace('signing-key', clientId, client.secretCiphertext, 'v1.B.new'), false, 'the id of another kind');
      assert.deepEqual(await a.store.factors.findTotp(accountId), totp);

      // Of 20 concurrent replacements from the same read, exactly one wins, and only the ciphertext changes.
      for (const x of await ours(a.store)) {
        const wins = (await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).store.encryptedSecrets.replace(x.kind, x.id, x.ciphertext, `v1.B.${x.kind}-${i}`)))).filter(Boolean);
        assert.equal(wins.length, 1, x.kind);
      }
      const after = await ours(a.store);
      assert.ok(after.every((x) => /^v1\.B\./.test(x.ciphertext)), 'every value replaced');
      const ct = (kind: string) => after.find((x) => x.kind === kind)!.ciphertext;
      assert.deepEqual(await b.store.factors.findTotp(accountId), { ...totp, secretCiphertext: ct('totp-secret') });
      assert.deepEqual(await b.store.clients.find(clientId), { ...client, secretCiphertext: ct('client-secret') });
      assert.deepEqual((await b.store.signingKeys.list()).find((k) => k.kid === kid), { ...key, privateJwkCiphertext: ct('signing-key') });

      await a.store.signingKeys.delete(kid);
      assert.equal(await b.store.encryptedSecrets.replace('signing-key', kid, ct('signing-key'), 'v1.C.x'), false, 'a deleted key stays deleted');
      assert.deepEqual((await ours(b.store)).map((x) => x.kind), ['client-secret', 'totp-secret']);
    });

    it('counts rate limits across two store instances on one server', async () => {
      const options = { keyPrefix: `test-${rand()}`, points: 5, duration: 60, blockDuration: 60 };
      const [la, lb] = [a.store.rateLimiter(options), b.store.rateLimiter(options)];
      for (const key of ['ada@example.test', `${'x'.repeat(254)}@example.test`, 'nul\0key', '2001:db8::1']) {
        for (let i = 0; i < 3; i++) await la.consume(key);
        for (let i = 0; i < 2; i++) await lb.consume(key);
        assert.equal((await la.get(key))?.consumedPoints, 5, key.slice(0, 20));
        const refused = await lb.consume(key).then(() => undefined, (res: unknown) => res);
        assert.ok(refused instanceof RateLimiterRes, 'the sixth attempt is refused');
        assert.ok(refused.msBeforeNext > 0 && refused.msBeforeNext <= 60_000);
        await la.delete(key);
        assert.equal(await lb.get(key), null, 'deleted for both');
      }
    });

    it('sweeps expired records and keeps live ones', async () => {
      const expired = Array.from({ length: 3 }, () => ({ id: rand(), payload: token() }));
      const live = { id: rand(), payload: token() };
      await Promise.all(expired.map((r) => a.store.oidc.upsert(DURABLE, r.id, r.payload, 1)));
      await a.store.oidc.upsert(DURABLE, live.id, live.payload, 600);
      await until(async () => (await a.store.oidc.find(DURABLE, expired[0]!.id)) === undefined, 'expired');
      const swept = await b.store.sweepExpired();
      assert.ok(swept >= expired.length, `swept ${swept}`);
      for (const r of expired) assert.equal(await a.store.oidc.find(DURABLE, r.id), undefined);
      assert.deepEqual(await a.store.oidc.find(DURABLE, live.id), live.payload);
      assert.equal(typeof (await b.store.sweepExpired()), 'number');
    });

    it('keeps our short-lived records: read back, consumed once however many race, expired by their TTL', async () => {
      const id = rand();
      await a.store.records.upsert('SamlRequest', id, { uid: 'interaction-1', providerId: 'idp', relayState: 'r' }, 600);
      assert.deepEqual(await b.store.records.find('SamlRequest', id), { uid: 'interaction-1', providerId: 'idp', relayState: 'r' });
      assert.equal(await b.store.records.find('SamlRelayState', id), undefined, 'kinds are apart');
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).store.records.consume('SamlRequest', id)));
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(typeof (await a.store.records.find('SamlRequest', id))?.consumed, 'number');
      assert.equal(await a.store.records.consume('WebAuthnChallenge', rand()), false, 'a missing record is not consumed');

      const brief = rand();
      await a.store.records.upsert('WebAuthnChallenge', brief, { purpose: 'register' }, 1);
      await until(async () => (await b.store.records.find('WebAuthnChallenge', brief)) === undefined, 'the challenge expired');
      assert.equal(await b.store.records.consume('WebAuthnChallenge', brief), false);
    });

    it('refuses a short-lived record without an expiry, or of a kind not in the registry', async () => {
      await assert.rejects(a.store.records.upsert('SamlLogin', rand(), {}, 0), /TTL above 0/);
      await assert.rejects(a.store.records.upsert('SamlLogin', rand(), {}, Number.NaN), /TTL above 0/);
      await assert.rejects(a.store.records.upsert('Session' as 'SamlLogin', rand(), {}, 60), /not a short-lived record kind/);
    });

    it('answers ping while the server is up', async () => {
      await a.store.ping();
      await b.store.ping();
    });

    describe('when the server goes away', () => {
      let c: OpenedStore;
      before(async function () {
        c = await open();
        if (!c.restartServer || !c.takeServerDown) {
          console.log(`      ${name}: no server for the test to take down or restart here; outage checks not run`);
          this.skip();
        }
      });
      after(() => c?.close());

      it('fails ping while the server is unreachable, and recovers when it is back', async () => {
        await c.store.ping();
        const restore = await c.takeServerDown!();
        try {
          await assert.rejects(within(15_000, c.store.ping()));
        } finally {
          await restore();
        }
        await until(() => c.store.ping().then(() => true, () => false), 'ping works again', 15_000);
      });

      it('reconnects after a restart; acknowledged writes survive, none is silently lost', async () => {
        const acknowledged: { model: string; id: string; payload: OidcPayload }[] = [];
        let failed = 0;
        const write = async (n: number) => {
          const record = { model: n % 2 ? SHORT : DURABLE, id: rand(), payload: token({ n }) };
          try {
            // A write may wait for a reconnect, but it must settle: hanging forever is not "clear".
            await within(20_000, c.store.oidc.upsert(record.model, record.id, record.payload, 600));
            acknowledged.push(record);
          } catch (err) {
            assert.ok(err instanceof Error, 'a failed write rejects with an Error');
            failed++;
          }
        };
        const account = { id: rand(), email: `restart-${rand()}@example.test`, emailVerified: true, name: null, passwordHash: null, roles: [], createdAt: Date.now(), updatedAt: Date.now(), disabledAt: null, lastLoginAt: null, locale: null };
        await c.store.accounts.create(account);
        for (let n = 0; n < 10; n++) await write(n);
        assert.equal(acknowledged.length, 10);

        let writing = true;
        let n = 10;
        const writer = (async () => {
          while (writing) {
            await write(n++);
            await sleep(10); // paces the loop while writes fail fast
          }
        })();
        await c.restartServer!();
        const afterRestart = acknowledged.length;
        await until(async () => acknowledged.length > afterRestart + 5, 'writes succeed again after the restart', 20_000);
        writing = false;
        await writer;

        for (const r of acknowledged) {
          assert.deepEqual(await c.store.oidc.find(r.model, r.id), r.payload, `acknowledged write ${String(r.payload.n)} (${r.model})`);
        }
        assert.deepEqual(await c.store.accounts.findById(account.id), account);
        await c.store.ping();
        console.log(`      ${name}: ${acknowledged.length} writes acknowledged across the restart (all present), ${failed} refused during it`);
      });
    });

    describe('account lifecycle (an empty store each)', () => {
      let store: Store;
      let close: () => Promise<void>;
      beforeEach(async () => {
        ({ store, close } = await openEmpty());
      });
      afterEach(() => close());

      const token = (hash: string, extra: Partial<AccountTokenRecord> = {}): AccountTokenRecord => ({
        tokenHash: hash, purpose: 'reset-password', accountId: 'acc-1', email: 'a@example.test', interactionUid: null,
        createdAt: Date.now(), expiresAt: Date.now() + 60_000, consumedAt: null, supersededAt: null, ...extra,
      });

      it('issues tokens, superseding older unconsumed ones of the same purpose and account only', async () => {
        await store.accountTokens.issue(token('h1'));
        await store.accountTokens.issue(token('v1', { purpose: 'verify-email' }));
        await store.accountTokens.issue(token('o1', { accountId: 'acc-2' }));
        await store.accountTokens.issue(token('h2', { interactionUid: 'uid-1' }));
        assert.ok((await store.accountTokens.find('h1'))!.supersededAt);
        assert.equal((await store.accountTokens.find('v1'))!.supersededAt, null);
        assert.equal((await store.accountTokens.find('o1'))!.supersededAt, null);
        const h2 = (await store.accountTokens.find('h2'))!;
        assert.equal(h2.supersededAt, null);
        assert.equal(h2.interactionUid, 'uid-1');
        assert.equal(await store.accountTokens.find('nope'), undefined);
      });

      it('consumes a live token exactly once, however many race', async () => {
        await store.accountTokens.issue(token('race'));
        const results = await Promise.all(Array.from({ length: 10 }, () => store.accountTokens.consume('race', Date.now())));
        assert.equal(results.filter(Boolean).length, 1);
        assert.ok((await store.accountTokens.find('race'))!.consumedAt);
      });

      it('does not consume expired or superseded tokens, and sweeps expired ones', async () => {
        await store.accountTokens.issue(token('old', { expiresAt: Date.now() - 1000 }));
        assert.equal(await store.accountTokens.consume('old', Date.now()), false);
        await store.accountTokens.issue(token('first', { accountId: 'acc-3' }));
        await store.accountTokens.supersedeAll('acc-3', 'reset-password', Date.now());
        assert.equal(await store.accountTokens.consume('first', Date.now()), false);
        assert.equal(await store.accountTokens.deleteExpiredBefore(Date.now()), 1);
        assert.equal(await store.accountTokens.find('old'), undefined);
        assert.ok(await store.accountTokens.find('first'));
      });

      it('keeps the most recent password hashes, newest first', async () => {
        for (let i = 1; i <= 5; i++) await store.passwordHistory.add('acc-1', { passwordHash: `hash-${i}`, createdAt: 1000 + i }, 3);
        await store.passwordHistory.add('acc-2', { passwordHash: 'other', createdAt: 1 }, 3);
        assert.deepEqual((await store.passwordHistory.recent('acc-1', 10)).map((e) => e.passwordHash), ['hash-5', 'hash-4', 'hash-3']);
        assert.deepEqual(await store.passwordHistory.recent('acc-1', 1), [{ passwordHash: 'hash-5', createdAt: 1005 }]);
        assert.deepEqual(await store.passwordHistory.recent('nobody', 5), []);
      });

      it('appends and queries audit events by account, time and type (prefixes end in a dot)', async () => {
        const base = { result: 'success' as const, clientId: 'c', ip: '127.0.0.1', userAgent: 'ua', requestId: 'r', reason: null, details: { n: 1 } };
        await store.audit.append({ ...base, id: 'e1', time: 1000, type: 'login.success', accountId: 'acc-1' });
        await store.audit.append({ ...base, id: 'e2', time: 2000, type: 'login.failure', accountId: 'acc-1', result: 'failure', reason: 'wrong_password' });
        await store.audit.append({ ...base, id: 'e3', time: 3000, type: 'password.reset', accountId: 'acc-1' });
        await store.audit.append({ ...base, id: 'e4', time: 4000, type: 'login_x', accountId: 'acc-2' });
        const ids = async (q: Parameters<Store['audit']['query']>[0]) => (await store.audit.query(q)).map((e) => e.id);
        assert.deepEqual(await ids({}), ['e1', 'e2', 'e3', 'e4']);
        assert.deepEqual(await ids({ accountId: 'acc-1', since: 2000 }), ['e2', 'e3']);
        assert.deepEqual(await ids({ until: 2000 }), ['e1']);
        assert.deepEqual(await ids({ types: ['login.'] }), ['e1', 'e2']);
        assert.deepEqual(await ids({ types: ['password.reset', 'login.failure'] }), ['e2', 'e3']);
        assert.deepEqual(await ids({ limit: 2 }), ['e1', 'e2']);
        const [e2] = await store.audit.query({ types: ['login.failure'] });
        assert.deepEqual(e2, { ...base, id: 'e2', time: 2000, type: 'login.failure', accountId: 'acc-1', result: 'failure', reason: 'wrong_password' });
        assert.equal(await store.audit.deleteOlderThan(3000), 2);
        assert.deepEqual(await ids({}), ['e3', 'e4']);
      });
    });
  });
}
