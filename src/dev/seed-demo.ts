/**
 * Development only: an empty store gets a demo public client and a demo user, and start-up prints them
 * with an authorization URL that is ready to open (PKCE verifier included, to finish the exchange by hand).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { AppContext } from '../app/context.js';

export const DEMO = {
  clientId: 'demo-app',
  redirectUri: 'http://127.0.0.1:8080/callback',
  email: 'demo@example.com',
  password: 'quiet lighthouse keeper',
};

export async function seedDemo(c: Pick<AppContext, 'accounts' | 'clients'>): Promise<void> {
  if ((await c.clients.list()).length === 0) {
    await c.clients.create({
      client_id: DEMO.clientId,
      client_name: 'Demo app',
      token_endpoint_auth_method: 'none',
      redirect_uris: [DEMO.redirectUri],
      post_logout_redirect_uris: [DEMO.redirectUri.replace('/callback', '/')],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      application_type: 'native',
    });
  }
  if (!(await c.accounts.authenticate(DEMO.email, DEMO.password))) {
    try {
      await c.accounts.create({ email: DEMO.email, password: DEMO.password, name: 'Demo User', emailVerified: true });
    } catch {
      // the demo email exists with another password: leave it as the operator set it
    }
  }
}

export function demoBanner(issuer: string): string {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const url = new URL(`${issuer}/auth`);
  url.search = new URLSearchParams({
    client_id: DEMO.clientId,
    response_type: 'code',
    scope: 'openid profile email',
    redirect_uri: DEMO.redirectUri,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: randomBytes(8).toString('hex'),
  }).toString();
  return [
    '',
    'Gatehouse is running (development mode).',
    `  Discovery:     ${issuer}/.well-known/openid-configuration`,
    `  Demo client:   ${DEMO.clientId} (public, PKCE), redirect URI ${DEMO.redirectUri}`,
    `  Demo user:     ${DEMO.email} / ${DEMO.password}`,
    `  Sign in:       ${url.toString()}`,
    `  PKCE verifier: ${verifier}`,
    '',
  ].join('\n');
}
