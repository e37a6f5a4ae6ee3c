/**
 * Password hashing with bcrypt. bcrypt reads at most 72 bytes, so every password is first reduced with
 * HMAC-SHA-384 (64 base64 characters): long passphrases keep all their entropy instead of being silently
 * truncated, and a password never reaches bcrypt's NUL-byte edge cases.
 */
import { createHmac } from 'node:crypto';
import bcrypt from 'bcrypt';

const prehash = (password: string) =>
  createHmac('sha384', 'gatehouse/bcrypt-prehash/v1').update(password.normalize('NFKC'), 'utf8').digest('base64');

export type PasswordHasher = {
  hash(password: string): Promise<string>;
  verify(password: string, hash: string): Promise<boolean>;
  /** Spends the same time as `verify` against a real hash, for unknown accounts. */
  verifyNothing(password: string): Promise<false>;
  /** True when the hash was made at a lower cost than the configured one (upgraded at the next sign-in). */
  needsRehash(hash: string): boolean;
};

export function createPasswordHasher(cost: number): PasswordHasher {
  // A fixed hash at the configured cost, so an unknown email costs exactly what a wrong password costs.
  // Made on libuv's thread pool rather than with hashSync, which held start-up for one full hash (about
  // 210 ms at cost 12 on the bench machine). Both verify paths wait for it, so they stay equal in time
  // even in the first moments after start.
  const dummy = bcrypt.hash(prehash('gatehouse-timing-equaliser'), cost);
  dummy.catch(() => undefined); // a failure surfaces where it is awaited, not as an unhandled rejection
  return {
    hash: (password) => bcrypt.hash(prehash(password), cost),
    async verify(password, hash) {
      await dummy;
      return bcrypt.compare(prehash(password), hash);
    },
    async verifyNothing(password) {
      await bcrypt.compare(prehash(password), await dummy);
      return false;
    },
    needsRehash(hash) {
      try {
        return bcrypt.getRounds(hash) < cost;
      } catch {
        return false; // not a bcrypt hash: leave it to verify() to refuse
      }
    },
  };
}
