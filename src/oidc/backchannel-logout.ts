/**
 * Back-channel logout (OpenID Connect Back-Channel Logout 1.0 §2.5): before a session ends outside
 * oidc-provider's own end_session (the account pages, a password reset or change, the CLI), every app it
 * signed in to that registered a backchannel_logout_uri is told, through oidc-provider's own Client.
 */
import type { ProviderHost } from './provider-host.js';
import type { EndingSession } from '../accounts/sign-out-everywhere.js';

/** oidc-provider's Client has this method (used by its own end_session); it is not in the typings. */
type BackchannelClient = { backchannelLogoutUri?: string; backchannelLogout?(sub: string, sid: string | undefined): Promise<void> };

export type BackchannelLogout = (accountId: string, session: EndingSession) => Promise<void>;

/** A failed delivery is reported (`onBackchannelError`), never thrown. */
export function createBackchannelLogout(deps: { providers: ProviderHost; onBackchannelError(err: unknown, clientId: string): void }): BackchannelLogout {
  return async (accountId, session) => {
    const notices = Object.entries(session.authorizations ?? {}).map(async ([clientId, authorization]) => {
      const client = (await deps.providers.current.Client.find(clientId).catch(() => undefined)) as BackchannelClient | undefined;
      if (!client?.backchannelLogoutUri || typeof client.backchannelLogout !== 'function') return;
      await client.backchannelLogout(accountId, authorization.sid).catch((err: unknown) => deps.onBackchannelError(err, clientId));
    });
    await Promise.all(notices);
  };
}
