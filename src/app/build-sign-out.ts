/**
 * Signing an account out everywhere (password reset, password change, CLI): its sessions end, its grants
 * are revoked, and every app it signed in to hears of it by back-channel logout first.
 */
import type { Logger } from 'pino';
import type { Store } from '../../adapters/contract.js';
import type { ProviderHost } from '../oidc/provider-host.js';
import { createSignOutEverywhere, type SignOutEverywhere } from '../accounts/sign-out-everywhere.js';
import { createBackchannelLogout, type BackchannelLogout } from '../oidc/backchannel-logout.js';

export type SignOut = { backchannelLogout: BackchannelLogout; signOutEverywhere: SignOutEverywhere };

/** `providers` gives the provider in service when a session is about to end (the CLI loads it then). */
export function buildSignOut(store: Store, providers: () => Promise<ProviderHost>, logger: Logger): SignOut {
  const onBackchannelError = (err: unknown, clientId: string) => logger.warn({ err, clientId }, 'back-channel logout failed');
  const backchannelLogout: BackchannelLogout = async (accountId, session) =>
    createBackchannelLogout({ providers: await providers(), onBackchannelError })(accountId, session);
  return { backchannelLogout, signOutEverywhere: createSignOutEverywhere({ oidc: store.oidc, beforeSessionEnds: backchannelLogout }) };
}
