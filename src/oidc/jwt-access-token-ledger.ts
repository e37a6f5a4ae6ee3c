/**
 * oidc-provider does not store RFC 9068 (JWT) access tokens. The ledger records each one's jti with its
 * grant, expiring with the token, so introspection can tell a live token from one whose grant was
 * revoked, and revocation can withdraw one. Records carry the grantId, so revoking the grant removes them.
 */
import type { OidcModelStore } from '../../adapters/contract.js';

const MODEL = 'JwtAccessToken';

export type LedgerEntry = { grantId?: string; clientId: string };

export type JwtAccessTokenLedger = ReturnType<typeof createJwtAccessTokenLedger>;

type IssuedToken = { grantId?: string; clientId?: string };
type Parts = { payload: Record<string, unknown> };

export function createJwtAccessTokenLedger(deps: { oidc: Pick<OidcModelStore, 'upsert' | 'find' | 'destroy'> }) {
  const { oidc } = deps;
  return {
    async record(token: IssuedToken, parts: Parts): Promise<void> {
      const { jti, exp } = parts.payload;
      if (typeof jti !== 'string' || typeof exp !== 'number') return;
      const entry: LedgerEntry = { clientId: String(token.clientId), ...(token.grantId ? { grantId: token.grantId } : {}) };
      await oidc.upsert(MODEL, jti, entry, Math.max(1, exp - Math.floor(Date.now() / 1000)));
    },
    find: async (jti: string) => (await oidc.find(MODEL, jti)) as LedgerEntry | undefined,
    forget: (jti: string) => oidc.destroy(MODEL, jti),
  };
}
