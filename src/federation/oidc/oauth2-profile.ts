/**
 * Who signed in at a plain OAuth 2.0 upstream (GitHub's style): the userinfo-like endpoint describes the
 * person (GET /user: id, login, name, email), the emails endpoint lists their addresses (GET /user/emails:
 * [{ email, primary, verified }]). The email used is the primary one, verified only if the list says so;
 * without an emails endpoint, the userinfo's email is unverified unless it has an email_verified claim.
 */
import * as client from 'openid-client';
import type { OidcUpstreamConfig } from '../../config/federation/oidc-config.js';
import { OidcRejected } from './oidc-rejected.js';

type Email = { email?: unknown; primary?: unknown; verified?: unknown };

async function getJson(configuration: client.Configuration, accessToken: string, url: string, what: string): Promise<unknown> {
  let res: Response;
  try {
    // GitHub's REST API refuses requests without a User-Agent
    res = await client.fetchProtectedResource(configuration, accessToken, new URL(url), 'GET', undefined, new Headers({ accept: 'application/json', 'user-agent': 'Gatehouse' }));
  } catch (err) {
    throw new OidcRejected(`${what}: ${(err as Error).message}`, 'upstream');
  }
  if (res.status !== 200) throw new OidcRejected(`${what} answered HTTP ${res.status}`, 'upstream');
  return res.json().catch(() => {
    throw new OidcRejected(`${what} did not answer JSON`, 'malformed');
  });
}

export async function readOAuth2Profile(configuration: client.Configuration, config: OidcUpstreamConfig, accessToken: string): Promise<{ externalId: string; claims: Record<string, unknown> }> {
  const user = await getJson(configuration, accessToken, config.endpoints.userinfo!, 'userinfo endpoint');
  if (typeof user !== 'object' || user === null || Array.isArray(user)) throw new OidcRejected('userinfo endpoint did not answer an object', 'malformed');
  const claims: Record<string, unknown> = { ...(user as Record<string, unknown>) };
  const emailClaim = config.claims.email;
  const verifiedClaim = config.claims.email_verified ?? 'email_verified';
  if (config.endpoints.emails) {
    const list = await getJson(configuration, accessToken, config.endpoints.emails, 'emails endpoint');
    const primary = Array.isArray(list) ? (list as Email[]).find((e) => e && e.primary === true && typeof e.email === 'string') : undefined;
    if (primary) {
      claims[emailClaim] = primary.email;
      claims[verifiedClaim] = primary.verified === true;
    } else {
      delete claims[emailClaim];
    }
  } else if (claims[verifiedClaim] !== true) {
    claims[verifiedClaim] = false;
  }
  const subject = claims[config.claims.subject ?? 'sub'];
  if ((typeof subject !== 'string' && typeof subject !== 'number') || String(subject).length === 0 || String(subject).length > 255) {
    throw new OidcRejected(`no ${config.claims.subject ?? 'sub'} in the userinfo answer`, 'identifier');
  }
  return { externalId: String(subject), claims };
}
