/**
 * The provider's signing keys, kept in the durable store with their private halves encrypted.
 * `loadSigningJwks` returns private JWKs in the order oidc-provider should see them: the current key
 * first (oidc-provider signs with the first key that fits the algorithm), then next and retired keys,
 * which are only published in the JWKS so that tokens verify across a rotation.
 */
import { generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { SigningKeyRecord, SigningKeyStore } from '../../adapters/contract.js';
import type { AtRestCipher } from './at-rest-cipher.js';

const ORDER: Record<SigningKeyRecord['state'], number> = { current: 0, next: 1, retired: 2 };

export async function generateSigningKey(cipher: AtRestCipher, state: SigningKeyRecord['state'], now = Date.now()): Promise<SigningKeyRecord> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint({ kty: 'RSA', n: jwk.n, e: jwk.e });
  const publicJwk = { kty: 'RSA', n: jwk.n, e: jwk.e, kid, alg: 'RS256', use: 'sig' };
  return {
    kid,
    alg: 'RS256',
    state,
    publicJwk,
    privateJwkCiphertext: cipher.encrypt(JSON.stringify({ ...jwk, kid, alg: 'RS256', use: 'sig' })),
    createdAt: now,
    activatesAt: state === 'current' ? now : null,
    expiresAt: null,
  };
}

/** Ensures a current key exists (generating one on first start) and returns the private JWKs. */
export async function loadSigningJwks(store: SigningKeyStore, cipher: AtRestCipher): Promise<JWK[]> {
  let keys = await store.list();
  if (!keys.some((k) => k.state === 'current')) {
    await store.save(await generateSigningKey(cipher, 'current'));
    keys = await store.list();
  }
  return keys
    .sort((a, b) => ORDER[a.state] - ORDER[b.state] || b.createdAt - a.createdAt)
    .map((k) => JSON.parse(cipher.decrypt(k.privateJwkCiphertext)) as JWK);
}
