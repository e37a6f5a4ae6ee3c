/**
 * Development only: the key-encryption key lives in keys/dev-key-encryption.key (mode 0600) so that a
 * laptop install needs no setting. Production requires KEY_ENCRYPTION_KEYS (load-config.ts enforces it).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function loadOrCreateDevEncryptionKey(dir: string): Buffer {
  const file = join(dir, 'dev-key-encryption.key');
  if (existsSync(file)) {
    const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new Error(`${file} does not hold a base64 32-byte key; delete it to generate a new one`);
    return key;
  }
  const key = randomBytes(32);
  mkdirSync(dir, { recursive: true });
  // 'wx': never overwrite a key another process wrote meanwhile (that would orphan its ciphertexts)
  writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return key;
}
