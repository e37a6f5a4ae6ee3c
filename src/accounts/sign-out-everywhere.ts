/**
 * Signs an account out everywhere (a password reset, the CLI) or everywhere but one browser (a password
 * change with "sign out every other browser"): every other oidc-provider Session of the account is
 * destroyed, after its apps are told (back-channel logout, `beforeSessionEnds`), and every Grant the kept
 * session does not hold is revoked with every token issued under it (access, refresh, codes). JWT access
 * tokens are not stored, but introspection answers inactive once their grant is gone
 * (structured-token-endpoints.ts).
 */
import type { OidcModelStore, OidcPayload } from '../../adapters/contract.js';
import type { AuditEvent } from '../audit/audit-log.js';

export type SignOutOptions = {
  /** the uid of the session that stays signed in (the browser that changed the password), with its grants */
  keepSessionUid?: string;
};

export type SignOutEverywhere = (accountId: string, options?: SignOutOptions) => Promise<{ sessions: number; grants: number }>;

/**
 * The audit event of the sessions and grants a change ended (a password change or reset, disabling):
 * `session.ended` with `via` saying why, recorded after the change's own event (which is stored with the
 * change: the ending comes after, and tells its apps over the network). Undefined when nothing ended.
 */
export function sessionsEndedEvent(accountId: string, via: string, ended: { sessions: number; grants: number }): AuditEvent | undefined {
  if (ended.sessions === 0 && ended.grants === 0) return undefined;
  return { type: 'sessions.ended', accountId, details: { via, sessionsEnded: ended.sessions, grantsRevoked: ended.grants } };
}

/** The part of oidc-provider's stored Session this needs: which apps it signed in to, under which grant. */
export type EndingSession = { uid?: string; authorizations?: Record<string, { sid?: string; grantId?: string }> };

export function createSignOutEverywhere(deps: {
  oidc: Pick<OidcModelStore, 'findByAccountId' | 'revokeByGrantId' | 'destroy'>;
  /** OpenID Connect Back-Channel Logout 1.0 §2.5: tells the session's apps; never throws */
  beforeSessionEnds?(accountId: string, session: EndingSession): Promise<void>;
}): SignOutEverywhere {
  const { oidc } = deps;
  // oidc-provider keys every stored model by its `jti`
  const idOf = (p: OidcPayload) => (typeof p.jti === 'string' ? p.jti : undefined);
  return async (accountId, options = {}) => {
    const [sessions, grants] = await Promise.all([oidc.findByAccountId('Session', accountId), oidc.findByAccountId('Grant', accountId)]);
    const kept = options.keepSessionUid ? sessions.find((s) => s.uid === options.keepSessionUid) : undefined;
    const keptGrants = new Set(Object.values((kept as EndingSession | undefined)?.authorizations ?? {}).map((a) => a.grantId));
    const ending = sessions.filter((s) => s !== kept && idOf(s));
    const revoked = grants.map(idOf).filter((id): id is string => !!id && !keptGrants.has(id));
    // tokens first: an app told of the logout must find its refresh token already refused
    for (const grantId of revoked) {
      await oidc.revokeByGrantId(grantId);
      await oidc.destroy('Grant', grantId);
    }
    await Promise.all(ending.map((s) => deps.beforeSessionEnds?.(accountId, s as EndingSession)));
    for (const s of ending) await oidc.destroy('Session', idOf(s)!);
    return { sessions: ending.length, grants: revoked.length };
  };
}
