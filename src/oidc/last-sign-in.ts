/**
 * AccountRecord.lastLoginAt, dated when a sign-in is complete: when an authorization succeeds for a
 * session whose authentication (its loginTs) is newer than the recorded date. A password step whose
 * second factor is still pending is not a sign-in (ATTACKS.md: half-finished sign-in), and a silent SSO
 * authorization re-uses the session's authentication, so it does not move the date. One place for every
 * method (password, passkey, LDAP, SAML), since each ends in an authorization.
 */
import type { Provider, KoaContextWithOIDC } from 'oidc-provider';
import type { AccountRecord } from '../../adapters/contract.js';

export function recordSignIns(
  provider: Provider,
  accounts: {
    findById(id: string): Promise<AccountRecord | undefined>;
    recordSignIn(account: Pick<AccountRecord, 'id' | 'updatedAt'>, at: number): Promise<void>;
  },
  onError: (err: unknown) => void,
): void {
  provider.on('authorization.success', (ctx: KoaContextWithOIDC) => {
    const session = ctx.oidc?.session as { accountId?: string; loginTs?: number } | undefined;
    const accountId = session?.accountId;
    const at = typeof session?.loginTs === 'number' ? session.loginTs * 1000 : undefined;
    if (!accountId || at === undefined) return;
    void (async () => {
      const account = await accounts.findById(accountId);
      if (account && (account.lastLoginAt ?? 0) < at) await accounts.recordSignIn(account, at);
    })().catch(onError);
  });
}
