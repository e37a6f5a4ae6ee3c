/** Shared set-up for the lifecycle tests: Gatehouse sending to a real SMTP server, and a relying party. */
import * as oidc from 'openid-client';
import { bootGatehouse, type BootOptions, type TestGatehouse } from '../helpers/gatehouse.js';
import { startMailCatcher, type MailCatcher } from '../helpers/services/mail-catcher.js';

export const REDIRECT_URI = 'http://127.0.0.1:9/callback';

export type LifecycleHarness = { gh: TestGatehouse; mail: MailCatcher; close(): Promise<void> };

export async function bootWithMail(env: Record<string, string> = {}, options: BootOptions = {}): Promise<LifecycleHarness> {
  const mail = await startMailCatcher();
  const { SMTP_POOL, ...rest } = env;
  // pool=true (a nodemailer option in the URL) keeps one SMTP connection open instead of one per message
  const smtpUrl = SMTP_POOL ? `${mail.url}/?pool=true` : mail.url;
  const gh = await bootGatehouse({ SMTP_URL: smtpUrl, MAIL_FROM: 'Gatehouse <no-reply@gatehouse.test>', REGISTRATION_ENABLED: 'true', ...rest }, options);
  return {
    gh,
    mail,
    async close() {
      await gh.close();
      await mail.close();
    },
  };
}

export type RelyingParty = { clientId: string; secret: string; config: oidc.Configuration };

export async function registerRelyingParty(gh: TestGatehouse, extra: Record<string, unknown> = {}): Promise<RelyingParty> {
  const client = await gh.context.clients.create({
    client_name: 'Example RP',
    redirect_uris: [REDIRECT_URI],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...extra,
  });
  const secret = String(client.client_secret);
  const config = await oidc.discovery(new URL(gh.issuer), client.client_id, secret, undefined, { execute: [oidc.allowInsecureRequests] });
  return { clientId: client.client_id, secret, config };
}

/** An authorization request with PKCE; `finish(callback)` exchanges the code. */
export async function authorization(rp: RelyingParty, extra: Record<string, string> = {}) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(rp.config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid email profile',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...extra,
  });
  return {
    url: url.href,
    finish: (callback: string) => oidc.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state }),
  };
}

export const atClient = (url: string) => url.startsWith(REDIRECT_URI);

/** The visible text of a page, for assertions that read like what a person sees. */
export const textOf = (html: string) =>
  html.replace(/<style[\s\S]*?<\/style>/g, '').replace(/<[^>]+>/g, ' ').replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&').replace(/\s+/g, ' ').trim();
