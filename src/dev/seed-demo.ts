/**
 * Development only: an empty store gets a demo public client and a demo user, and start-up prints them
 * with the playground's link (playground.ts): the demo client's redirect URI is Gatehouse's own
 * /playground/callback, so the first sign-in ends on a page that shows the tokens (issue 19 §4).
 */
import type { AppContext } from '../app/context.js';
import { PLAYGROUND_CALLBACK, PLAYGROUND_PATH, playgroundLink } from './playground.js';

export const DEMO = {
  clientId: 'demo-app',
  email: 'demo@example.com',
  password: 'quiet lighthouse keeper',
};

/** The demo client's metadata: a public web client of the playground (PKCE, refresh tokens). */
export const demoClientMetadata = (issuer: string) => ({
  client_id: DEMO.clientId,
  client_name: 'Demo app',
  token_endpoint_auth_method: 'none',
  redirect_uris: [`${issuer}${PLAYGROUND_CALLBACK}`],
  post_logout_redirect_uris: [`${issuer}${PLAYGROUND_PATH}`],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  application_type: 'web',
});

export async function seedDemo(c: Pick<AppContext, 'accounts' | 'clients' | 'config'>): Promise<void> {
  const metadata = demoClientMetadata(c.config.ISSUER);
  const clients = await c.clients.list();
  if (clients.length === 0) {
    await c.clients.create(metadata);
  } else {
    // a store seeded before the playground sent the demo client to http://127.0.0.1:8080/callback, where nothing listens
    const demo = clients.find((client) => client.clientId === DEMO.clientId)?.metadata;
    const uris = Array.isArray(demo?.redirect_uris) ? (demo.redirect_uris as string[]) : [];
    if (demo && !uris.includes(metadata.redirect_uris[0] as string) && uris.every((u) => u === 'http://127.0.0.1:8080/callback')) {
      await c.clients.patchMetadata(DEMO.clientId, { redirect_uris: metadata.redirect_uris, post_logout_redirect_uris: metadata.post_logout_redirect_uris, application_type: 'web' });
    }
  }
  if (!(await c.accounts.authenticate(DEMO.email, DEMO.password))) {
    try {
      await c.accounts.create({ email: DEMO.email, password: DEMO.password, name: 'Demo User', emailVerified: true });
    } catch {
      // the demo email exists with another password: leave it as the operator set it
    }
  }
}

export function demoBanner(issuer: string, consoleEnabled = false): string {
  return [
    '',
    'Gatehouse is running (development mode).',
    `  Discovery:     ${issuer}/.well-known/openid-configuration`,
    `  Demo client:   ${DEMO.clientId} (public, PKCE), redirect URI ${issuer}${PLAYGROUND_CALLBACK}`,
    `  Demo user:     ${DEMO.email} / ${DEMO.password}`,
    `  Playground:    ${playgroundLink(issuer)}  (sign in and see the tokens, decoded)`,
    ...(consoleEnabled ? [`  Console:       ${issuer}/console  (operators: a person holding gatehouse:admin)`] : []),
    '',
  ].join('\n');
}
