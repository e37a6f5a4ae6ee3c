/**
 * The account's provider sessions (each browser it is signed in on) and connected apps (its grants),
 * read from the store by account and changed through oidc-provider's own models: a session is signed out
 * by destroying it, after telling its apps through back-channel logout (OpenID Connect Back-Channel
 * Logout 1.0 §2.5); an app is disconnected by revoking every token of its grants and destroying them.
 */
import type { OidcModelStore } from '../../adapters/contract.js';
import type { ProviderHost } from './provider-host.js';
import type { EndingSession, SignOutEverywhere } from '../accounts/sign-out-everywhere.js';
import type { BackchannelLogout } from './backchannel-logout.js';
import { isFirstPartyClient } from './account-client-id.js';

export type SessionView = { uid: string; loginTs: number | undefined; expiresAt: number | undefined; amr: string[]; apps: string[]; current: boolean };
export type AppView = { clientId: string; name: string; scopes: string[]; grantedAt: number | undefined };

type SessionPayload = { uid?: string; loginTs?: number; exp?: number; amr?: string[]; accountId?: string; authorizations?: Record<string, { sid?: string }> };
type GrantPayload = { jti?: string; clientId?: string; iat?: number; openid?: { scope?: string }; resources?: Record<string, string> };

export type SessionsAndApps = ReturnType<typeof createSessionsAndApps>;

export function createSessionsAndApps(deps: {
  oidc: Pick<OidcModelStore, 'findByAccountId'>;
  providers: ProviderHost;
  backchannelLogout: BackchannelLogout;
  signOutEverywhere: SignOutEverywhere;
}) {
  const { providers } = deps;

  async function clientName(clientId: string): Promise<string> {
    const client = await providers.current.Client.find(clientId).catch(() => undefined);
    return client?.clientName ?? clientId;
  }

  async function grantsOf(accountId: string): Promise<GrantPayload[]> {
    return (await deps.oidc.findByAccountId('Grant', accountId)) as GrantPayload[];
  }

  /** Signs out one of the account's sessions; false when it is not the account's (or is gone). */
  async function signOut(accountId: string, uid: string): Promise<boolean> {
    const session = await providers.current.Session.findByUid(uid);
    if (!session || session.accountId !== accountId) return false;
    await deps.backchannelLogout(accountId, { authorizations: session.authorizations as EndingSession['authorizations'] });
    await session.destroy();
    return true;
  }

  return {
    async sessions(accountId: string, currentUid: string): Promise<SessionView[]> {
      const payloads = (await deps.oidc.findByAccountId('Session', accountId)) as SessionPayload[];
      const views = await Promise.all(
        payloads.filter((p) => p.uid).map(async (p) => ({
          uid: p.uid as string,
          loginTs: p.loginTs,
          expiresAt: p.exp,
          amr: p.amr ?? [],
          apps: await Promise.all(Object.keys(p.authorizations ?? {}).filter((id) => !isFirstPartyClient(id)).map(clientName)),
          current: p.uid === currentUid,
        })),
      );
      return views.sort((a, b) => Number(b.current) - Number(a.current) || (b.loginTs ?? 0) - (a.loginTs ?? 0));
    },

    signOut,

    /**
     * Signs out every session of the account but `currentUid` (back-channel logout to their apps), and
     * revokes every grant, with its refresh and access tokens, that the current session does not hold:
     * what a password reset does, but for this browser. How many sessions ended.
     */
    async signOutOthers(accountId: string, currentUid: string): Promise<{ sessions: number; grants: number }> {
      return deps.signOutEverywhere(accountId, { keepSessionUid: currentUid });
    },

    async apps(accountId: string): Promise<AppView[]> {
      const byClient = new Map<string, AppView>();
      for (const grant of await grantsOf(accountId)) {
        if (!grant.clientId || isFirstPartyClient(grant.clientId)) continue;
        const view = byClient.get(grant.clientId) ?? { clientId: grant.clientId, name: await clientName(grant.clientId), scopes: [], grantedAt: grant.iat };
        const scopes = [grant.openid?.scope ?? '', ...Object.values(grant.resources ?? {})].join(' ').split(' ').filter(Boolean);
        view.scopes = [...new Set([...view.scopes, ...scopes])];
        view.grantedAt = Math.min(view.grantedAt ?? Infinity, grant.iat ?? Infinity);
        byClient.set(grant.clientId, view);
      }
      return [...byClient.values()].sort((a, b) => a.name.localeCompare(b.name));
    },

    /** Revokes every grant the account gave this client, with all their tokens; false when there was none. */
    async revokeApp(accountId: string, clientId: string): Promise<boolean> {
      if (isFirstPartyClient(clientId)) return false;
      const grants = (await grantsOf(accountId)).filter((g) => g.clientId === clientId && g.jti);
      const { Grant, AccessToken } = providers.current;
      for (const { jti } of grants) {
        // revokeByGrantId removes every artifact of the grant (codes, access and refresh tokens) in our store
        await AccessToken.revokeByGrantId(jti as string);
        const grant = await Grant.find(jti as string);
        await grant?.destroy();
      }
      return grants.length > 0;
    },
  };
}
