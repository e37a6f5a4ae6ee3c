/**
 * AccountRecord.lastLoginAt, dated when a sign-in is complete: when an authorization succeeds for a
 * session whose authentication (its loginTs) is newer than the recorded date. A password step whose
 * second factor is still pending is not a sign-in (ATTACKS.md: half-finished sign-in), and a silent SSO
 * authorization re-uses the session's authentication, so it does not move the date. One place for every
 * method (password, passkey, LDAP, SAML), since each ends in an authorization. The same moment is the
 * audit event `sign_in.completed` (the `user.signed_in` webhook event), with the session's amr and acr.
 */
import type { Provider, KoaContextWithOIDC } from 'oidc-provider';
import type { AccountRecord } from '../../adapters/contract.js';
import type { AuditLog } from '../audit/audit-log.js';

/** sessions whose latest authentication this process has passed to onSignIn (a bounded memory) */
const SEEN_SESSIONS = 10_000;

export function recordSignIns(
  provider: Provider,
  accounts: {
    findById(id: string): Promise<AccountRecord | undefined>;
    recordSignIn(account: Pick<AccountRecord, 'id' | 'updatedAt'>, at: number): Promise<void>;
  },
  onError: (err: unknown) => void,
  audit?: Pick<AuditLog, 'record'>,
  /** a sign-in completed in this session (MAX_CONCURRENT_SESSIONS: accounts/session-cap.ts) */
  onSignIn?: (accountId: string, sessionUid: string) => Promise<unknown>,
): void {
  const signedInSeen = new Map<string, number>();
  provider.on('authorization.success', (ctx: KoaContextWithOIDC) => {
    const session = ctx.oidc?.session as { uid?: string; accountId?: string; loginTs?: number; amr?: string[]; acr?: string } | undefined;
    const accountId = session?.accountId;
    const at = typeof session?.loginTs === 'number' ? session.loginTs * 1000 : undefined;
    if (!accountId || at === undefined) return;
    if (onSignIn && session?.uid && signedInSeen.get(session.uid) !== at) {
      // once per authentication of a session, not for each silent authorization that re-uses it; two
      // sign-ins in one second (different browsers) each count, which the account's date cannot tell
      signedInSeen.set(session.uid, at);
      if (signedInSeen.size > SEEN_SESSIONS) signedInSeen.delete(signedInSeen.keys().next().value!);
      void onSignIn(accountId, session.uid).catch(onError);
    }
    void (async () => {
      const account = await accounts.findById(accountId);
      if (!account || (account.lastLoginAt ?? 0) >= at) return;
      await accounts.recordSignIn(account, at);
      await audit?.record({
        type: 'sign_in.completed', accountId, clientId: ctx.oidc.client?.clientId ?? null,
        details: { method: (session?.amr ?? []).join(' ') || 'unknown', acr: session?.acr },
      }, ctx);
    })().catch(onError);
  });
}
