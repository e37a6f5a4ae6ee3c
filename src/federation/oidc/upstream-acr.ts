/**
 * The upstream's `acr`, carried into our ID token as `upstream_acr` when the provider entry has
 * `trustUpstreamAuthContext`. Our own `acr` stays ours (urn:gatehouse:acr:federated / federated-mfa,
 * assurance/acr-amr.ts ranks them and acr_values depend on it); the upstream's value is only reported.
 *
 * oidc-provider's session holds acr/amr but nothing else of a sign-in, so the value is kept beside it
 * (model OidcUpstreamAcr): by interaction uid until the resumed authorization has a session
 * (`attach`, GET /auth/:uid), then by the session's uid, bound to that session's account and sign-in
 * time. An ID token gets it only when its code or refresh token names that session, account and
 * sign-in time (`auth_time`): a later sign-in in the same browser session (another upstream, a
 * password) has another sign-in time, so it does not inherit the value. The upstream sign-in names its
 * time in its login result (`ts`), because oidc-provider applies that result again when a later prompt
 * (consent) merges with it: with the time named, that is still the same sign-in, however long the
 * person took on the consent page.
 */
import type { ShortLivedRecordStore } from '../../../adapters/contract.js';
import { AMR } from '../../assurance/acr-amr.js';

/** Printable ASCII without spaces (acr values are space-separated in acr_values, OIDC Core §3.1.2.1), bounded. */
const ACR_VALUE = /^[\x21-\x7E]{1,200}$/;

/** The upstream's acr claim when it is one usable string; anything else (long, control characters, not a string) is dropped. */
export function safeUpstreamAcr(v: unknown): string | undefined {
  return typeof v === 'string' && ACR_VALUE.test(v) ? v : undefined;
}

const PENDING_TTL = 3600;

export type UpstreamAcrSession = { uid?: string; accountId?: string; loginTs?: number; exp?: number };
/** what oidc-provider passes findAccount as the token: the code or refresh token behind the ID token */
export type UpstreamAcrToken = { sessionUid?: unknown; accountId?: unknown; authTime?: unknown; amr?: unknown };
export type UpstreamAcrs = ReturnType<typeof createUpstreamAcrs>;

export function createUpstreamAcrs(deps: { records: Pick<ShortLivedRecordStore, 'upsert' | 'find' | 'consume'> }) {
  const { records } = deps;
  return {
    /** an upstream sign-in at `loginTs` (its login result's ts) completing interaction `uid` asserted `acr` (already checked with safeUpstreamAcr) */
    async remember(uid: string, accountId: string, acr: string, loginTs: number): Promise<void> {
      await records.upsert('OidcUpstreamAcr', `pending:${uid}`, { accountId, acr, loginTs }, PENDING_TTL);
    },
    /** GET /auth/:uid signed `session` in: the interaction's upstream acr becomes that sign-in's, or the session's old one ends */
    async attach(interactionUid: string, session: UpstreamAcrSession): Promise<void> {
      if (!session.uid) return;
      const pending = await records.find('OidcUpstreamAcr', `pending:${interactionUid}`);
      const ttl = typeof session.exp === 'number' ? session.exp - Math.floor(Date.now() / 1000) : 0;
      const same = pending && !pending.consumed && pending.accountId === session.accountId && pending.loginTs === session.loginTs;
      if (same && ttl > 0 && (await records.consume('OidcUpstreamAcr', `pending:${interactionUid}`))) {
        await records.upsert('OidcUpstreamAcr', `session:${session.uid}`, { accountId: pending.accountId, acr: pending.acr, loginTs: session.loginTs }, ttl);
        return;
      }
      // another sign-in of this session ends the value; the same one again (consent merged with it, a second
      // factor added: both keep the sign-in time) keeps it
      const old = await records.find('OidcUpstreamAcr', `session:${session.uid}`);
      if (old && !old.consumed && (old.loginTs !== session.loginTs || old.accountId !== session.accountId)) await records.consume('OidcUpstreamAcr', `session:${session.uid}`);
    },
    /** the ID token's extra claim for the sign-in behind `token`, if that sign-in came from a trusted upstream with an acr */
    async idTokenClaims(token: UpstreamAcrToken | undefined): Promise<{ upstream_acr?: string }> {
      // only a sign-in at an upstream (amr "fed", a local second factor after it or not) has one: every
      // other ID token (passwords, passkeys) skips the read
      if (!token || typeof token.sessionUid !== 'string' || !Array.isArray(token.amr) || !token.amr.includes(AMR.federated)) return {};
      const r = await records.find('OidcUpstreamAcr', `session:${token.sessionUid}`);
      if (!r || r.consumed || r.accountId !== token.accountId || r.loginTs !== token.authTime) return {};
      const acr = safeUpstreamAcr(r.acr);
      return acr ? { upstream_acr: acr } : {};
    },
  };
}
