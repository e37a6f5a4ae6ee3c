/**
 * Single-use recovery codes: ten 80-bit random codes, shown once and stored as SHA-256 hashes. A fast
 * hash is right here: unlike passwords, the codes have too much entropy to be guessed from a hash, and
 * they are checked on the sign-in path.
 */
import { createHash, randomInt } from 'node:crypto';
import type { FactorStore } from '../../adapters/contract.js';

export const RECOVERY_CODE_COUNT = 10;
// Crockford's base32 alphabet: no I, L, O or U, so codes survive being read aloud or written down
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const GROUPS = 4;
const GROUP_LENGTH = 4; // 16 symbols × 5 bits = 80 bits

export type RecoveryCodes = ReturnType<typeof createRecoveryCodes>;

/** What the person typed, in the canonical form that was hashed: lower case, no separators, I/L→1, O→0. */
export function normaliseRecoveryCode(input: string): string {
  return input.toLowerCase().replace(/[\s-]/g, '').replace(/[il]/g, '1').replace(/o/g, '0');
}

const hash = (code: string) => createHash('sha256').update(normaliseRecoveryCode(code)).digest('hex');

function randomCode(): string {
  const groups: string[] = [];
  for (let g = 0; g < GROUPS; g++) {
    let group = '';
    for (let i = 0; i < GROUP_LENGTH; i++) group += ALPHABET[randomInt(ALPHABET.length)];
    groups.push(group);
  }
  return groups.join('-');
}

export function createRecoveryCodes(deps: {
  factors: Pick<FactorStore, 'replaceRecoveryCodes' | 'useRecoveryCode' | 'countUnusedRecoveryCodes' | 'deleteRecoveryCodes'>;
  now?: () => number;
}) {
  const { factors } = deps;
  const now = deps.now ?? Date.now;
  return {
    /** New codes for the account, replacing any it had; the plaintext is returned only here. */
    async regenerate(accountId: string): Promise<string[]> {
      const codes = Array.from({ length: RECOVERY_CODE_COUNT }, randomCode);
      await factors.replaceRecoveryCodes(accountId, codes.map(hash), now());
      return codes;
    },
    /** true once for each issued code */
    async use(accountId: string, code: string): Promise<boolean> {
      const canonical = normaliseRecoveryCode(code);
      if (canonical.length !== GROUPS * GROUP_LENGTH || ![...canonical].every((c) => ALPHABET.includes(c))) return false;
      return factors.useRecoveryCode(accountId, hash(canonical), now());
    },
    remaining: (accountId: string) => factors.countUnusedRecoveryCodes(accountId),
    remove: (accountId: string) => factors.deleteRecoveryCodes(accountId),
  };
}
