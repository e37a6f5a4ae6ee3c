/**
 * Signs an account out everywhere: every oidc-provider Session of the account is destroyed, and every
 * Grant with every token issued under it (access, refresh, codes) is revoked. JWT access tokens are not
 * stored, but introspection answers inactive once their grant is gone (structured-token-endpoints.ts).
 */
import type { OidcModelStore } from '../../adapters/contract.js';

export type SignOutEverywhere = (accountId: string) => Promise<{ sessions: number; grants: number }>;

export function createSignOutEverywhere(deps: { oidc: Pick<OidcModelStore, 'findByAccountId' | 'revokeByGrantId' | 'destroy'> }): SignOutEverywhere {
  const { oidc } = deps;
  // oidc-provider keys every stored model by its `jti`
  const ids = async (model: string, accountId: string) =>
    (await oidc.findByAccountId(model, accountId)).map((p) => p.jti).filter((id): id is string => typeof id === 'string');
  return async (accountId) => {
    const [sessions, grants] = await Promise.all([ids('Session', accountId), ids('Grant', accountId)]);
    for (const grantId of grants) {
      await oidc.revokeByGrantId(grantId);
      await oidc.destroy('Grant', grantId);
    }
    for (const id of sessions) await oidc.destroy('Session', id);
    return { sessions: sessions.length, grants: grants.length };
  };
}
