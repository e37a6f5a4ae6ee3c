/** oidc-provider's findAccount: the account behind a `sub`, as oidc-provider's Account shape. */
import type { FindAccount } from 'oidc-provider';
import type { AccountRecord } from '../../adapters/contract.js';
import { accountClaims } from './claims.js';

export function createFindAccount(deps: {
  findById(id: string): Promise<AccountRecord | undefined>;
  /** roles granted by upstream providers (FederationStore.rolesOf), released under the `roles` scope */
  rolesOf?(accountId: string): Promise<string[]>;
}): FindAccount {
  return async (_ctx, sub) => {
    const account = await deps.findById(sub);
    if (!account) return undefined;
    return {
      accountId: account.id,
      claims: async () => ({ ...accountClaims(account), ...(deps.rolesOf ? { roles: await deps.rolesOf(account.id) } : {}) }),
    };
  };
}
