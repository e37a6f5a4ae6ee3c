/** oidc-provider's findAccount: the account behind a `sub`, as oidc-provider's Account shape. */
import type { FindAccount } from 'oidc-provider';
import type { AccountRecord } from '../../adapters/contract.js';
import { accountClaims } from './claims.js';

export function createFindAccount(deps: {
  /** the account with every role (own and federated), read once per request (person-permissions.ts) */
  account(ctx: object, id: string): Promise<AccountRecord | undefined>;
  /** claims only the ID token carries, for the sign-in behind `token` (the code or refresh token): upstream_acr */
  idTokenClaims?(token: { sessionUid?: unknown; accountId?: unknown; authTime?: unknown; amr?: unknown } | undefined): Promise<Record<string, unknown>>;
}): FindAccount {
  return async (ctx, sub, token) => {
    const account = await deps.account(ctx, sub);
    // a disabled account is gone for the provider: refresh, userinfo and introspection of its tokens fail
    if (!account || account.disabledAt !== null) return undefined;
    // the `roles` claim (scope `roles`): every role the account holds, its own and its upstream providers'
    return {
      accountId: account.id,
      claims: async (use) => ({
        ...accountClaims(account), roles: account.roles,
        ...(use === 'id_token' && deps.idTokenClaims ? await deps.idTokenClaims(token as never) : {}),
      }),
    };
  };
}
