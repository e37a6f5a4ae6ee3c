/**
 * Stores and keys: the store opened from DATABASE_URL/REDIS_URL, the at-rest cipher (KEY_ENCRYPTION_KEYS,
 * or a development key under keys/) and the signing key ring, started so that the first key exists.
 */
import type { JWK } from 'jose';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { RootStore, Store } from '../../adapters/contract.js';
import { openStore } from '../../adapters/index.js';
import { createAtRestCipher, type AtRestCipher } from '../keys/at-rest-cipher.js';
import { loadOrCreateDevEncryptionKey } from '../keys/dev-encryption-key.js';
import { createKeyRing, keyTimings, type KeyRing } from '../keys/rotation.js';

export type StoresAndKeys = { store: Store; cipher: AtRestCipher; keyRing: KeyRing; signingJwks: JWK[] };

export function openConfiguredStore(config: Config, logger: Logger): Promise<RootStore> {
  return openStore({
    databaseUrl: config.DATABASE_URL,
    redisUrl: config.REDIS_URL,
    onError: (err, source) => logger.warn({ err, source }, 'store connection error (the driver reconnects)'),
  });
}

/** The at-rest cipher: KEY_ENCRYPTION_KEYS, or a development key under keys/. */
export function atRestCipherOf(o: { config: Config; keysDir: string }): AtRestCipher {
  return createAtRestCipher(o.config.KEY_ENCRYPTION_KEYS.length > 0 ? o.config.KEY_ENCRYPTION_KEYS : [loadOrCreateDevEncryptionKey(o.keysDir)]);
}

export async function buildKeys(o: { config: Config; keysDir: string }, store: Store): Promise<StoresAndKeys> {
  const { config } = o;
  const cipher = atRestCipherOf(o);
  const keyRing = createKeyRing({ keys: store.signingKeys, locks: store, cipher, timings: keyTimings(config) });
  const signingJwks = await keyRing.start();
  return { store, cipher, keyRing, signingJwks };
}

/** Builds on an open store, and closes it when building fails (a half-built context holds no connection). */
export async function withStore<T>(config: Config, logger: Logger, build: (store: RootStore) => Promise<T>): Promise<T> {
  const store = await openConfiguredStore(config, logger);
  try {
    return await build(store);
  } catch (err) {
    await store.close();
    throw err;
  }
}
