/**
 * Which upstream signed a Gatehouse session in, for upstream logout (providers with `singleLogout`): the
 * sign-in is remembered by interaction uid (model OidcUpstreamSession, one hour) until the session it
 * completes exists, then by the session's uid until the session expires; RP-initiated logout takes it.
 * The upstream's ID token is kept as the id_token_hint its end_session_endpoint asks for (OpenID Connect
 * RP-Initiated Logout 1.0 §2: "RECOMMENDED").
 */
import type { ShortLivedRecordStore } from '../../../adapters/contract.js';

export type OidcSessionView = { uid?: string; accountId?: string; exp?: number };
export type OidcSessionRecord = { providerId: string; accountId: string; idToken?: string };
export type OidcSessions = ReturnType<typeof createOidcSessions>;

const PENDING_TTL = 3600;

export function createOidcSessions(deps: { records: Pick<ShortLivedRecordStore, 'upsert' | 'find' | 'consume'>; singleLogout(providerId: string): boolean }) {
  const { records } = deps;
  const ttlOf = (session: OidcSessionView) => (typeof session.exp === 'number' ? session.exp - Math.floor(Date.now() / 1000) : 0);
  return {
    async remember(uid: string, accountId: string, providerId: string, idToken: string | undefined): Promise<void> {
      if (!deps.singleLogout(providerId)) return;
      await records.upsert('OidcUpstreamSession', `pending:${uid}`, { providerId, accountId, ...(idToken ? { idToken } : {}) }, PENDING_TTL);
    },
    /** the resumed authorization created (or reused) `session` for this interaction's upstream sign-in */
    async attach(interactionUid: string, session: OidcSessionView): Promise<boolean> {
      const pending = await records.find('OidcUpstreamSession', `pending:${interactionUid}`);
      if (!pending || pending.consumed || pending.accountId !== session.accountId || !session.uid) return false;
      if (!(await records.consume('OidcUpstreamSession', `pending:${interactionUid}`))) return false;
      const ttl = ttlOf(session);
      if (ttl <= 0) return false;
      await records.upsert('OidcUpstreamSession', `session:${session.uid}`, { providerId: pending.providerId, accountId: pending.accountId, ...(pending.idToken ? { idToken: pending.idToken } : {}) }, ttl);
      return true;
    },
    async peek(session: OidcSessionView): Promise<OidcSessionRecord | undefined> {
      const r = session.uid ? await records.find('OidcUpstreamSession', `session:${session.uid}`) : undefined;
      return r && !r.consumed ? (r as unknown as OidcSessionRecord) : undefined;
    },
    async take(session: OidcSessionView): Promise<OidcSessionRecord | undefined> {
      const r = session.uid ? await records.find('OidcUpstreamSession', `session:${session.uid}`) : undefined;
      if (!r || r.consumed || !(await records.consume('OidcUpstreamSession', `session:${session.uid}`))) return undefined;
      return r as unknown as OidcSessionRecord;
    },
    /** where to continue after the upstream's logout answers (by our state) */
    async rememberReturn(state: string, next: string): Promise<void> {
      await records.upsert('OidcUpstreamSession', `logout:${state}`, { next }, 600);
    },
    async takeReturn(state: string): Promise<string | undefined> {
      if (!/^[A-Za-z0-9_-]{43}$/.test(state)) return undefined;
      const r = await records.find('OidcUpstreamSession', `logout:${state}`);
      if (!r || r.consumed || !(await records.consume('OidcUpstreamSession', `logout:${state}`))) return undefined;
      return String(r.next);
    },
  };
}
