/**
 * What every store must do for the account lifecycle (adapters/contract.ts: AccountTokenStore,
 * PasswordHistoryStore, AuditStore). Each adapter's test calls
 * `describeLifecycleStore(name, open)`; the postgres, mongodb and redis adapters can reuse it as is.
 */
import assert from 'node:assert/strict';
import type { AccountTokenRecord, Store } from '../../adapters/contract.js';

export function describeLifecycleStore(name: string, open: () => Promise<{ store: Store; close(): Promise<void> }>) {
  describe(`${name} store: lifecycle contract`, () => {
    let store: Store;
    let close: () => Promise<void>;
    beforeEach(async () => {
      ({ store, close } = await open());
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
}
