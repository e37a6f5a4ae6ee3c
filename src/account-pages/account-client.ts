/**
 * The account pages sign people in as a first-party relying party of this same provider: an authorization
 * request from a built-in client sends the browser through the usual login (and second-factor) prompts,
 * and the pages then read the provider's own session (`Session.get`). `response_type=none` (OAuth 2.0
 * Multiple Response Type Encoding Practices §4) because nothing needs to be issued: the session is the
 * result. The client is consented by construction, so no consent page is shown for it.
 */
import type { KoaContextWithOIDC } from 'oidc-provider';
import { ACCOUNT_CLIENT_ID } from '../oidc/account-client-id.js';

export { ACCOUNT_CLIENT_ID };
export const ACCOUNT_CALLBACK_PATH = '/account/callback';

export function accountClientMetadata(issuer: string, brandName: string) {
  return {
    client_id: ACCOUNT_CLIENT_ID,
    client_name: `${brandName} account`,
    application_type: 'web' as const,
    redirect_uris: [`${issuer}${ACCOUNT_CALLBACK_PATH}`],
    response_types: ['none' as const],
    grant_types: [],
    token_endpoint_auth_method: 'none' as const,
  };
}

/**
 * oidc-provider's `loadExistingGrant` (its default, plus a pre-consented grant for the account client):
 * the person is signing in to this provider's own pages, which need only `openid`.
 */
export async function loadExistingGrant(ctx: KoaContextWithOIDC) {
  const { client, session, result, provider } = ctx.oidc;
  if (!client || !session?.accountId) return undefined;
  const grantId = (result?.consent as { grantId?: string } | undefined)?.grantId || session.grantIdFor(client.clientId);
  if (grantId) {
    const grant = await provider.Grant.find(grantId);
    if (grant) return grant;
  }
  if (client.clientId !== ACCOUNT_CLIENT_ID) return undefined;
  const grant = new provider.Grant({ clientId: client.clientId, accountId: session.accountId });
  grant.addOIDCScope('openid');
  await grant.save();
  return grant;
}
