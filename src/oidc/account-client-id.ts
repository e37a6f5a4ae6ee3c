/**
 * The client ids of Gatehouse's own first-party clients: the account pages' (src/account-pages/
 * account-client.ts) and the console's (src/console/console-client.ts). They live here, in the protocol
 * layer, because the services every door uses (sessions-and-apps.ts) skip them: they are this provider's
 * own pages, never a "connected app" a person or an operator can revoke.
 */
export const ACCOUNT_CLIENT_ID = 'gatehouse-account';
export const CONSOLE_CLIENT_ID = 'gatehouse-console';

export const isFirstPartyClient = (clientId: string | undefined): boolean => clientId === ACCOUNT_CLIENT_ID || clientId === CONSOLE_CLIENT_ID;
