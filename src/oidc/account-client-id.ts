/**
 * The client id of the account pages' own first-party client (src/account-pages/account-client.ts). It
 * lives here, in the protocol layer, because the services every door uses (sessions-and-apps.ts) skip that
 * client: it is this provider's own pages, never a "connected app" a person or an operator can revoke.
 */
export const ACCOUNT_CLIENT_ID = 'gatehouse-account';
