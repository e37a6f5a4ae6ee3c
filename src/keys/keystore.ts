/**
 * The provider's signing keys, kept in the durable store with their private halves encrypted. Which key
 * signs and which are only published is decided by key-schedule.ts; rotation.ts serves them.
 */
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { SigningKeyRecord } from '../../adapters/contract.js';
import type { AtRestCipher } from './at-rest-cipher.js';

const generateRsaKeyPair = promisify(generateKeyPair);

export async function generateSigningKey(cipher: AtRestCipher, state: SigningKeyRecord['state'], now = Date.now(), activatesAt: number | null = state === 'current' ? now : null): Promise<SigningKeyRecord> {
  // on libuv's thread pool: an RSA key takes ~140 ms to find, which would otherwise stall every request
  // (a rotation, a new tenant's first key)
  const { privateKey } = await generateRsaKeyPair('rsa', { modulusLength: 2048 });
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
    activatesAt,
    expiresAt: null,
  };
}
