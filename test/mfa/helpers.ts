/** Shared steps for the MFA tests: TOTP codes from otplib, the account pages' sign-in, authorization URLs. */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { NobleCryptoPlugin, ScureBase32Plugin, TOTP } from 'otplib';
import { UserAgent, formAction, type Page } from '../helpers/user-agent.js';

const totp = new TOTP({ crypto: new NobleCryptoPlugin(), base32: new ScureBase32Plugin() });

/** The code an authenticator app shows `offsetSteps` 30-second steps from now. */
export function totpCode(secret: string, offsetSteps = 0): Promise<string> {
  return totp.generate({ secret, epoch: Math.floor(Date.now() / 1000) + offsetSteps * 30 });
}

/** The base32 secret shown as text on an enrolment page. */
export function secretOn(page: Page): string {
  const m = /data-testid="totp-secret">([A-Z2-7 ]+)</.exec(page.html);
  assert.ok(m, `no TOTP secret on ${page.url}`);
  return m[1]!.replace(/ /g, '');
}

export function recoveryCodesOn(page: Page): string[] {
  const list = /data-testid="recovery-codes">([\s\S]*?)<\/ol>/.exec(page.html);
  assert.ok(list, `no recovery codes on ${page.url}`);
  return [...list[1]!.matchAll(/<code>([^<]+)<\/code>/g)].map((m) => m[1]!);
}

export const isLoginPage = (p: Page) => /action="\/interaction\/[^"]+\/login"/.test(p.html);
export const isMfaPage = (p: Page) => /action="\/interaction\/[^"]+\/mfa"/.test(p.html);

/** Submits the login form on `page` (which must be the login page). */
export function submitPassword(agent: UserAgent, page: Page, user: { email: string; password: string }, stop?: (u: string) => boolean) {
  assert.ok(isLoginPage(page), `expected the login page, got ${page.status} ${page.url}: ${page.html.slice(0, 300)}`);
  return agent.submit(page, formAction(page.html, /\/login$/), { email: user.email, password: user.password }, stop);
}

/** Submits a form of the mfa prompt (method totp | recovery | enrol | unavailable). */
export function submitMfa(agent: UserAgent, page: Page, method: string, code: string, stop?: (u: string) => boolean) {
  const html = page.html.split(/<form\b/).find((f) => f.includes(`name="method" value="${method}"`));
  assert.ok(html, `no ${method} form on ${page.url}`);
  return agent.submit({ ...page, html: `<form${html}` }, formAction(`<form${html}`, /\/mfa$/), { code }, stop);
}

/** An authorization request with PKCE; returns the URL and what the callback needs. */
export async function authorizationRequest(rp: oidc.Configuration, redirectUri: string, extra: Record<string, string> = {}) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(rp, {
    redirect_uri: redirectUri, scope: 'openid email', state, nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
  });
  return { url: url.href, verifier, state, nonce };
}

/** Follows the consent page when it is shown. */
export async function consentIfAsked(agent: UserAgent, page: Page, stop: (u: string) => boolean): Promise<Page> {
  if (!page.html.includes('/consent"')) return page;
  return agent.submit(page, formAction(page.html, /\/consent$/), {}, stop);
}
