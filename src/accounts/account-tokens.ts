/**
 * Single-use, expiring tokens for links sent by email. A token is 256 random bits (base64url, 43
 * characters); only its SHA-256 is stored, so a copy of the store opens no link. Issuing a token
 * supersedes the account's earlier ones of the same purpose, so only the newest link works.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { AccountRecord, AccountTokenPurpose, AccountTokenRecord, AccountTokenStore } from '../../adapters/contract.js';

/** Why a link does (not) work, each shown as its own page. */
export type TokenState = 'valid' | 'expired' | 'used' | 'superseded' | 'unknown';

export type TokenCheck = { state: TokenState; record?: AccountTokenRecord };

export type AccountTokens = ReturnType<typeof createAccountTokens>;

const FORMAT = /^[A-Za-z0-9_-]{43}$/;

export const hashToken = (token: string) => createHash('sha256').update(token).digest('base64url');

export function createAccountTokens(deps: { store: AccountTokenStore; now?: () => number }) {
  const { store } = deps;
  const now = deps.now ?? Date.now;

  function stateOf(record: AccountTokenRecord | undefined, purpose: AccountTokenPurpose, at: number): TokenState {
    if (!record || record.purpose !== purpose) return 'unknown';
    if (record.consumedAt !== null) return 'used';
    if (record.supersededAt !== null) return 'superseded';
    if (record.expiresAt <= at) return 'expired';
    return 'valid';
  }

  async function inspect(token: string, purpose: AccountTokenPurpose): Promise<TokenCheck> {
    if (!FORMAT.test(token)) return { state: 'unknown' };
    const record = await store.find(hashToken(token));
    return { state: stateOf(record, purpose, now()), record: record?.purpose === purpose ? record : undefined };
  }

  return {
    async issue(input: { purpose: AccountTokenPurpose; account: AccountRecord; ttlSeconds: number; interactionUid?: string | null; email?: string }): Promise<string> {
      const token = randomBytes(32).toString('base64url');
      const at = now();
      await store.issue({
        tokenHash: hashToken(token),
        purpose: input.purpose,
        accountId: input.account.id,
        email: input.email ?? input.account.email,
        interactionUid: input.interactionUid ?? null,
        createdAt: at,
        expiresAt: at + input.ttlSeconds * 1000,
        consumedAt: null,
        supersededAt: null,
      });
      return token;
    },

    /** The token's state, without using it up. */
    inspect,

    /** Uses the token up; `valid` means this caller, and only this one, got it. */
    async consume(token: string, purpose: AccountTokenPurpose): Promise<TokenCheck> {
      const check = await inspect(token, purpose);
      if (check.state !== 'valid') return check;
      if (await store.consume(hashToken(token), now())) return check;
      return inspect(token, purpose); // lost a race: report what the winner left behind
    },

    supersedeAll: (accountId: string, purpose: AccountTokenPurpose) => store.supersedeAll(accountId, purpose, now()),

    /** Deletes tokens that expired more than `graceSeconds` ago (kept that long so a late click gets a clear page). */
    sweep: (graceSeconds: number) => store.deleteExpiredBefore(now() - graceSeconds * 1000),
  };
}
