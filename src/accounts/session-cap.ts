/**
 * The most browser sessions one person may hold (MAX_CONCURRENT_SESSIONS, a tenant's
 * maxConcurrentSessions): when a sign-in completes past the cap, the person's oldest sessions (by when
 * they signed in) end, as a sign-out does there: the grants they signed in with are revoked with their
 * tokens, the session is destroyed, and then their apps are told (back-channel logout). The session
 * that just signed in is never one of them.
 */
import type { OidcModelStore, OidcPayload } from '../../adapters/contract.js';
import type { EndingSession } from './sign-out-everywhere.js';

type StoredSession = EndingSession & { jti?: string; loginTs?: number };

export type SessionCap = (accountId: string, currentSessionUid: string) => Promise<number>;

export function createSessionCap(deps: {
  max: number;
  oidc: Pick<OidcModelStore, 'findByAccountId' | 'revokeByGrantId' | 'destroy'>;
  beforeSessionEnds?(accountId: string, session: EndingSession): Promise<void>;
}): SessionCap {
  const { oidc } = deps;
  return async (accountId, currentSessionUid) => {
    const sessions = (await oidc.findByAccountId('Session', accountId)) as (OidcPayload & StoredSession)[];
    if (sessions.length <= deps.max) return 0;
    // The newest `max` stay: by sign-in time (seconds), the session signing in first among equals (it
    // is the newest, whatever the clock's grain), then by uid. Sign-ins that finish at the same moment
    // may each end the other: the cap is never exceeded, and the last run keeps its own session.
    const rank = (x: StoredSession & { uid?: string }) => [x.loginTs ?? 0, x.uid === currentSessionUid ? 1 : 0] as const;
    const order = [...sessions].sort((a, b) => {
      const [ra, rb] = [rank(a), rank(b)];
      return rb[0] - ra[0] || rb[1] - ra[1] || String(b.uid ?? '').localeCompare(String(a.uid ?? ''));
    });
    const ending = order.slice(deps.max).filter((s) => typeof s.jti === 'string');
    // a grant another kept session also signed in with stays
    const kept = sessions.filter((s) => !ending.includes(s));
    const keptGrants = new Set(kept.flatMap((s) => Object.values(s.authorizations ?? {}).map((a) => a.grantId)));
    const grants = [...new Set(ending.flatMap((s) => Object.values(s.authorizations ?? {}).map((a) => a.grantId)))]
      .filter((g): g is string => typeof g === 'string' && !keptGrants.has(g));
    for (const grantId of grants) {
      await oidc.revokeByGrantId(grantId);
      await oidc.destroy('Grant', grantId);
    }
    // gone before its apps are told: an app that checks at once finds the session ended
    for (const s of ending) await oidc.destroy('Session', s.jti!);
    await Promise.all(ending.map((s) => deps.beforeSessionEnds?.(accountId, s)));
    return ending.length;
  };
}
