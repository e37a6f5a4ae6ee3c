/**
 * Which SAML sign-in a Gatehouse session came from, for SP-initiated single logout (SAML profiles §4.4.4:
 * the LogoutRequest names the principal by the NameID the IdP asserted and the SessionIndex of its
 * AuthnStatement). oidc-provider's session has no room for our data and is only created when the
 * interaction resumes (its `uid` stays the same for the session's lifetime, across identifier rotations),
 * so the sign-in is kept in two steps, both short-lived records:
 *   - `remember`, when the SAML login completes the interaction: model SamlSessionPending, by interaction uid;
 *   - `attach`, once the resumed authorization has logged the session in: model SamlSession, by session uid,
 *     for as long as the session lives (`renew` follows oidc-provider's sliding expiry on each authorization);
 *   - `peek` on the logout page (its form's CSP must allow the redirect to the IdP), `take` once the
 *     session has ended at RP-initiated logout: the record, once.
 * Only IdPs with `singleLogout` are remembered; a session that ends any other way (IdP-initiated logout,
 * "sign out everywhere") leaves a record that expires with the session's own TTL.
 */
import type { ShortLivedRecordStore } from '../../../adapters/contract.js';
import type { SamlIdentity } from './saml-logins.js';

export type SamlSessions = ReturnType<typeof createSamlSessions>;

/** what a LogoutRequest needs to name the person at the IdP */
export type SamlSessionRecord = {
  providerId: string;
  accountId: string;
  nameId: string;
  nameIdFormat?: string;
  nameQualifier?: string;
  spNameQualifier?: string;
  sessionIndex?: string;
};

/** the parts of oidc-provider's session read here (documented on interactionDetails: uid, accountId; exp of the stored model) */
export type OidcSessionView = { uid?: string; accountId?: string; exp?: number };

/** from the end of the SAML sign-in to the resume of the authorization: the person may read a notice first */
const PENDING_TTL_SECONDS = 3600;

export function createSamlSessions(deps: {
  records: Pick<ShortLivedRecordStore, 'upsert' | 'find' | 'consume'>;
  /** whether SP-initiated logout is on for this IdP (its `singleLogout`) */
  singleLogout(providerId: string): boolean;
}) {
  const { records } = deps;
  const ttlOf = (session: OidcSessionView) => (typeof session.exp === 'number' ? session.exp - Math.floor(Date.now() / 1000) : 0);

  return {
    async remember(interactionUid: string, accountId: string, identity: SamlIdentity): Promise<void> {
      if (!deps.singleLogout(identity.providerId)) return;
      const record: SamlSessionRecord = {
        providerId: identity.providerId, accountId, nameId: identity.nameId,
        ...(identity.nameIdFormat ? { nameIdFormat: identity.nameIdFormat } : {}),
        ...(identity.nameQualifier ? { nameQualifier: identity.nameQualifier } : {}),
        ...(identity.spNameQualifier ? { spNameQualifier: identity.spNameQualifier } : {}),
        ...(identity.sessionIndex ? { sessionIndex: identity.sessionIndex } : {}),
      };
      await records.upsert('SamlSessionPending', interactionUid, record, PENDING_TTL_SECONDS);
    },

    /**
     * After a resumed authorization: the SAML sign-in of this interaction becomes the session's, when the
     * session is logged in as the same account (another login, e.g. a password one in the same
     * interaction after a refused SAML account, does not inherit it).
     */
    async attach(interactionUid: string, session: OidcSessionView): Promise<boolean> {
      const pending = await records.find('SamlSessionPending', interactionUid);
      if (!pending || pending.consumed || !session.uid || pending.accountId !== session.accountId) return false;
      const ttl = ttlOf(session);
      if (ttl <= 0 || !(await records.consume('SamlSessionPending', interactionUid))) return false;
      const { consumed: _c, ...record } = pending;
      await records.upsert('SamlSession', session.uid, record, ttl);
      return true;
    },

    /** oidc-provider renews the session's expiry whenever it saves it; the record follows. */
    async renew(session: OidcSessionView): Promise<void> {
      if (!session.uid || !session.accountId) return;
      const found = await records.find('SamlSession', session.uid);
      const ttl = ttlOf(session);
      if (!found || found.consumed || found.accountId !== session.accountId || ttl <= 0) return;
      const { consumed: _c, ...record } = found;
      await records.upsert('SamlSession', session.uid, record, ttl);
    },

    /** The SAML sign-in of a live session, left in place (for the logout page, before the person confirms). */
    async peek(session: OidcSessionView): Promise<SamlSessionRecord | undefined> {
      if (!session.uid || !session.accountId) return undefined;
      const found = await records.find('SamlSession', session.uid);
      return found && !found.consumed && found.accountId === session.accountId ? (found as unknown as SamlSessionRecord) : undefined;
    },

    /** The SAML sign-in of a session that just ended, once; undefined for any other session. */
    async take(session: OidcSessionView): Promise<SamlSessionRecord | undefined> {
      if (!session.uid || !session.accountId) return undefined;
      const found = await records.find('SamlSession', session.uid);
      if (!found || found.consumed || found.accountId !== session.accountId) return undefined;
      if (!(await records.consume('SamlSession', session.uid))) return undefined;
      return found as unknown as SamlSessionRecord;
    },
  };
}
