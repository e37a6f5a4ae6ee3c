/**
 * AES-256-GCM for secrets at rest (private signing keys, client secrets, TOTP secrets). The first key
 * encrypts; every key decrypts, so the key itself can be rotated: add the new key first, re-encrypt
 * (`gatehouse keys reencrypt`, src/keys/reencrypt-secrets.ts), then drop the old one.
 * Format: `v1.<key id>.<iv>.<ciphertext>.<tag>` (base64url), where the key id is a hash prefix of the key,
 * so decryption picks the right key without trying each.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export class DecryptionError extends Error {}

export type AtRestCipher = {
  encrypt(plaintext: string): string;
  decrypt(ciphertext: string): string;
  /** true when the value is already encrypted under the first key (re-encrypting it would change nothing) */
  isCurrent(ciphertext: string): boolean;
};

const keyId = (key: Buffer) => createHash('sha256').update(key).digest('base64url').slice(0, 8);

export function createAtRestCipher(keys: Buffer[]): AtRestCipher {
  if (keys.length === 0 || keys.some((k) => k.length !== 32)) throw new Error('at-rest cipher needs 32-byte keys');
  const byId = new Map(keys.map((k) => [keyId(k), k]));
  const [primary] = keys as [Buffer, ...Buffer[]];
  const primaryId = keyId(primary);
  return {
    encrypt(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', primary, iv);
      const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return ['v1', primaryId, iv.toString('base64url'), ct.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
    },
    decrypt(ciphertext) {
      const [version, id, iv, ct, tag] = ciphertext.split('.');
      const key = id === undefined ? undefined : byId.get(id);
      if (version !== 'v1' || !key || iv === undefined || ct === undefined || tag === undefined) {
        throw new DecryptionError('none of the configured KEY_ENCRYPTION_KEYS can decrypt this value');
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        throw new DecryptionError('a value failed authentication under its KEY_ENCRYPTION_KEYS key (tampered or wrong key)');
      }
    },
    isCurrent(ciphertext) {
      const [version, id] = ciphertext.split('.');
      return version === 'v1' && id === primaryId;
    },
  };
}
