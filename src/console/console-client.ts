/**
 * The console's own first-party client (issue 19 §1): the console signs the operator in through this
 * same provider with the authorization code flow and PKCE (RFC 7636), so login, the second factor and
 * every lockout apply to operators exactly as to everyone. Registered at start-up as a static client, a
 * public one (the code is redeemed by this server, bound to the browser by PKCE and a signed cookie),
 * and consented by construction: it asks only `openid`, for the provider's own console.
 */
import type { KoaContextWithOIDC } from 'oidc-provider';

import { CONSOLE_CLIENT_ID } from '../oidc/account-client-id.js';

export { CONSOLE_CLIENT_ID };
export const CONSOLE_PATH = '/console';
export const CONSOLE_CALLBACK_PATH = `${CONSOLE_PATH}/callback`;
export const CONSOLE_SIGNED_OUT_PATH = `${CONSOLE_PATH}/signed-out`;

export function consoleClientMetadata(issuer: string, brandName: string) {
  return {
    client_id: CONSOLE_CLIENT_ID,
    client_name: `${brandName} console`,
    application_type: 'web' as const,
    redirect_uris: [`${issuer}${CONSOLE_CALLBACK_PATH}`],
    post_logout_redirect_uris: [`${issuer}${CONSOLE_SIGNED_OUT_PATH}`],
    response_types: ['code' as const],
    grant_types: ['authorization_code' as const],
    token_endpoint_auth_method: 'none' as const,
  };
}

type LoadExistingGrant = (ctx: KoaContextWithOIDC) => Promise<unknown>;

/** oidc-provider's `loadExistingGrant`, with a pre-consented `openid` grant for the console client. */
export function withConsoleGrant(inner: LoadExistingGrant) {
  return async (ctx: KoaContextWithOIDC) => {
    const found = await inner(ctx);
    const { client, session, provider } = ctx.oidc;
    if (found || client?.clientId !== CONSOLE_CLIENT_ID || !session?.accountId) return found;
    const grant = new provider.Grant({ clientId: client.clientId, accountId: session.accountId });
    grant.addOIDCScope('openid');
    await grant.save();
    return grant;
  };
}
