/** oidc-provider's findAccount: the account behind a `sub`, as oidc-provider's Account shape. */
import type { FindAccount } from 'oidc-provider';
import type { AccountRecord } from '../../adapters/contract.js';
import { accountClaims } from './claims.js';

export function createFindAccount(deps: { findById(id: string): Promise<AccountRecord | undefined> }): FindAccount {
  return async (_ctx, sub) => {
    const account = await deps.findById(sub);
    if (!account) return undefined;
    return { accountId: account.id, claims: async () => accountClaims(account) };
  };
}
