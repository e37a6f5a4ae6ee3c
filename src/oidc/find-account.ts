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
    // a disabled account is gone for the provider: refresh, userinfo and introspection of its tokens fail
    if (!account || account.disabledAt !== null) return undefined;
    return {
      accountId: account.id,
      claims: async () => ({ ...accountClaims(account), ...(deps.rolesOf ? { roles: await deps.rolesOf(account.id) } : {}) }),
    };
  };
}
