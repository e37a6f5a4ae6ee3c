/**
 * Re-encrypts every secret stored at rest under the first KEY_ENCRYPTION_KEYS key, so the keys after it
 * can be dropped (`gatehouse keys reencrypt`). Safe while replicas run:
 * - the plaintext never changes, only its ciphertext: the key ring keeps decrypted signing keys by kid and
 *   the client registry caches decrypted secrets by ciphertext, so both stay right (a new ciphertext is a
 *   cache miss that any replica holding the new key decrypts);
 * - each value is written with a compare-and-set (EncryptedSecretStore.replace), so a TOTP re-enrolment or
 *   a key deletion racing it wins, and the value is read again;
 * - it passes over the store until a pass finds nothing left to do, which also catches a stale write that
 *   put back an old ciphertext during an earlier pass.
 * A value no configured key decrypts is left exactly as it is, and reported by kind and id.
 */
import type { EncryptedSecretKind, EncryptedSecretStore } from '../../adapters/contract.js';
import { DecryptionError, type AtRestCipher } from './at-rest-cipher.js';

export type ReencryptCounts = { reencrypted: number; alreadyCurrent: number; failed: number };

export type ReencryptReport = {
  counts: Record<EncryptedSecretKind, ReencryptCounts>;
  /** values left as they were, and why: never the secret */
  failures: { kind: EncryptedSecretKind; id: string; reason: string }[];
};

const KINDS: EncryptedSecretKind[] = ['signing-key', 'client-secret', 'totp-secret', 'webhook-secret'];
/** A value that is rewritten under us this many times in a row is reported rather than chased forever. */
const MAX_PASSES = 5;

export async function reencryptSecrets(d: { secrets: EncryptedSecretStore; cipher: AtRestCipher }): Promise<ReencryptReport> {
  const name = (kind: EncryptedSecretKind, id: string) => `${kind}\u0000${id}`;
  const replaced = new Set<string>();
  const failures = new Map<string, { kind: EncryptedSecretKind; id: string; reason: string }>();
  let pending = true;
  for (let pass = 0; pending && pass < MAX_PASSES; pass++) {
    pending = false;
    for (const s of await d.secrets.list()) {
      if (d.cipher.isCurrent(s.ciphertext) || failures.has(name(s.kind, s.id))) continue;
      let plaintext: string;
      try {
        plaintext = d.cipher.decrypt(s.ciphertext);
      } catch (err) {
        if (!(err instanceof DecryptionError)) throw err;
        failures.set(name(s.kind, s.id), { kind: s.kind, id: s.id, reason: err.message });
        continue;
      }
      if (await d.secrets.replace(s.kind, s.id, s.ciphertext, d.cipher.encrypt(plaintext))) replaced.add(name(s.kind, s.id));
      // Replaced or not, the next pass reads it again: it must then find every value current.
      pending = true;
    }
  }

  const counts = Object.fromEntries(KINDS.map((k) => [k, { reencrypted: 0, alreadyCurrent: 0, failed: 0 }])) as ReencryptReport['counts'];
  const left: ReencryptReport['failures'] = [];
  for (const s of await d.secrets.list()) {
    const c = counts[s.kind];
    const key = name(s.kind, s.id);
    if (!d.cipher.isCurrent(s.ciphertext)) {
      c.failed++;
      left.push(failures.get(key) ?? { kind: s.kind, id: s.id, reason: `rewritten under an older key again during ${MAX_PASSES} passes; run the command again` });
    } else if (replaced.has(key)) c.reencrypted++;
    else c.alreadyCurrent++;
  }
  return { counts, failures: left };
}
